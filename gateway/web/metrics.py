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
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.metrics import Metrics

__all__ = ["METRICS", "Metrics", "measure_requests", "metrics_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def measure_requests(metrics: Metrics) -> Middleware:
    """Middleware: count every answer and time it, by method, route template and status."""
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
                counter = counted[key] = metrics.requests.labels(*key)
            histogram = timed.get(route)
            if histogram is None:
                histogram = timed[route] = metrics.latency.labels(route)
            counter.inc()
            histogram.observe(time.perf_counter() - started)

    return cast(Middleware, measure)


def _serve(metrics: Metrics) -> Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        response = web.Response(body=generate_latest(metrics.registry))
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response

    return serve


METRICS = web.AppKey("metrics", Metrics)


def metrics_app(metrics: Metrics) -> web.Application:
    """The application on the metrics listen address: `GET /metrics` and nothing else."""
    app = web.Application()
    app.router.add_get("/metrics", _serve(metrics))
    return app
