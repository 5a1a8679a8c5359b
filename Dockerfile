# The gateway on a slim Python base, run as a non-root user with its data folder as a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Installed the same way `make run` does: the project with pip, editable so config/ and
# schemas/ stay beside the code.
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY consent ./consent
COPY schemas ./schemas
COPY config ./config
RUN pip install -e . \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin gateway \
    && mkdir -p /data && chown gateway /data && chmod 0700 /data

USER gateway
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"

ENTRYPOINT ["gateway"]
CMD ["serve", "--config", "/app/config", "--data", "/data", "--host", "0.0.0.0", "--port", "8080"]
