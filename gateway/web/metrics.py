"""`/metrics` for Prometheus: request counts and latency by route.

Labels are route templates, methods and status codes: never a
path with an id in it, never a BSN or a payload value. Counters are per worker process; run one
worker per container (and scale with instances) to scrape them whole.

`/metrics` is served by an application of its own (`metrics_app`) on its own listen address
(`metrics_listen` in gateway.toml, loopback by default), never on the API port: what the
gateway is doing, and how much, is for its operator, not for every caller of the API.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["METRICS", "Metrics", "metrics_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """The gateway's metrics in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_http_request_seconds",
            "Time to answer a request",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        # Destinations are "ldv" and "vng:<partner id>": configuration, never personal data.
        self.outbox_deliveries = Counter(
            "gateway_outbox_deliveries",
            "Outbox deliveries to outside logs, by destination and outcome (accepted, failed)",
            ["destination", "outcome"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "gateway_outbox_backlog",
            "Deliveries waiting in the outbox, by destination (sampled once a minute)",
            ["destination"],
            registry=self.registry,
        )

    def middleware(self) -> Middleware:
        # The labelled children, looked up once per label set: labels() takes a lock and
        # builds its key on every call, a noticeable share of a fast request.
        counted: dict[tuple[str, str, str], Any] = {}
        timed: dict[str, Any] = {}

        @web.middleware
        async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                resource = request.match_info.route.resource
                route = resource.canonical if resource is not None else "unmatched"
                # Any token is a method to HTTP: unknown ones share a label, so a client cannot
                # grow the metrics without bound.
                method = request.method if request.method in _METHODS else "other"
                key = (method, route, str(status))
                counter = counted.get(key)
                if counter is None:
                    counter = counted[key] = self.requests.labels(*key)
                histogram = timed.get(route)
                if histogram is None:
                    histogram = timed[route] = self.latency.labels(route)
                counter.inc()
                histogram.observe(time.perf_counter() - started)

        return cast(Middleware, measure)

    async def serve(self, request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(self.registry))
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response


METRICS = web.AppKey("metrics", Metrics)


def metrics_app(metrics: Metrics) -> web.Application:
    """The application on the metrics listen address: `GET /metrics` and nothing else."""
    app = web.Application()
    app.router.add_get("/metrics", metrics.serve)
    return app
