"""Limits that keep one partner, one actor or one flood from taking the gateway down.

- `RateLimiter`, `FailedAssertions` (from `gateway.limits`, re-exported here): token buckets per
  partner and actor, and failed token requests per claimed client id.
- `shed_load`: a cap on requests in flight per worker; beyond it a fast `503` with Retry-After
  instead of an unbounded queue. A request takes a slot only once its whole body has arrived,
  so clients trickling bodies (bounded by `read_timeout_s`) cannot take every slot;
  `InFlight` holds the count, which `/readyz` reports.
- `check_json_shape`: nesting depth and array lengths of a parsed body.

All counters live in the worker's memory: with several workers or instances the limits hold per
worker (docs/deploy.md says so). Time is passed in as `now` (monotonic seconds).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from aiohttp.typedefs import Middleware

from gateway.errors import GatewayError, InvalidRequest
from gateway.limits import FailedAssertions, Rate, RateLimiter, TokenBucket

__all__ = [
    "EXEMPT_PATHS",
    "IN_FLIGHT",
    "FailedAssertions",
    "InFlight",
    "Overloaded",
    "Rate",
    "RateLimiter",
    "TokenBucket",
    "check_json_shape",
    "shed_load",
]

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


class Overloaded(GatewayError):
    code = "overloaded"
    status = 503
    default_how_to_fix = "The gateway is at capacity; retry after the seconds in Retry-After."


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class InFlight:
    """The requests this worker is handling now, against its cap (`max_in_flight`)."""

    cap: int
    count: int = 0

    @property
    def shedding(self) -> bool:
        """True while a new request would be refused with `503 overloaded`."""
        return self.count >= self.cap


IN_FLIGHT = web.AppKey("in_flight", InFlight)


def shed_load(in_flight: InFlight) -> Middleware:
    """Middleware: refuse quickly (503, Retry-After: 1) beyond `in_flight.cap` requests.

    The body is read whole before a slot is taken: a request whose body is still arriving
    waits for it without a slot (bounded by `read_timeout_s`, then 408), so half-sent bodies
    cannot turn complete requests away. aiohttp keeps what was read, for the handler; a
    handler asks `request.body_exists` whether there is a body (`can_read_body` is False once
    it has been read).
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in EXEMPT_PATHS:
            return await handler(request)
        if request.body_exists:
            await request.read()  # RequestTimeout (408) or 413 while reading; no slot held
        if in_flight.shedding:
            raise Overloaded("the gateway is handling as many requests as it can", retry_after=1)
        in_flight.count += 1
        try:
            return await handler(request)
        finally:
            in_flight.count -= 1

    return cast(Middleware, middleware)


def check_json_shape(value: Any, *, max_depth: int, max_items: int) -> None:
    """Refuse bodies nested deeper than `max_depth` or with arrays/objects over `max_items`."""
    if not isinstance(value, dict | list):
        return
    # Only containers go on the stack: the scalars, most of a body, are looked at once.
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise InvalidRequest(
                f"the JSON body is nested deeper than {max_depth} levels",
                "Send the flat structure the API documents.",
            )
        if len(item) > max_items:
            raise InvalidRequest(
                f"the JSON body has an array or object with more than {max_items} members",
                "Send at most the number of items the purpose's schema allows.",
            )
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
