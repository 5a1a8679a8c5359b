"""The limits' own rules, with time passed in."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.errors import InvalidRequest, RateLimited
from gateway.web.limits import (
    FailedAssertions,
    InFlight,
    Rate,
    RateLimiter,
    TokenBucket,
    check_json_shape,
    shed_load,
)
from gateway.web.middleware import error_middleware


def test_a_bucket_allows_its_burst_then_the_sustained_rate():
    bucket = TokenBucket(Rate(per_second=2, burst=3), tokens=3, stamp=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0
    assert bucket.take(0.5) > 0


def test_the_partner_limit_and_the_actor_limit_both_hold():
    limiter = RateLimiter({"school": Rate(10, 2)}, actor_rate=Rate(10, 5))
    limiter.check("school-a", "school", "ib-1", 0.0)
    limiter.check("school-a", "school", "ib-2", 0.0)
    with pytest.raises(RateLimited) as refused:
        limiter.check("school-a", "school", "ib-3", 0.0)
    assert refused.value.extra["retry_after"] == 1
    limiter.check("school-b", "school", "ib-1", 0.0)  # another partner has its own bucket
    actors = RateLimiter({}, actor_rate=Rate(1, 1))
    actors.check("p", "care_provider", "a", 0.0)
    with pytest.raises(RateLimited):
        actors.check("p", "care_provider", "a", 0.1)
    actors.check("p", "care_provider", "b", 0.1)


def test_failed_assertions_are_logged_one_by_one_then_summarised_per_window():
    failures = FailedAssertions(window_s=60, log_each=3)
    outcomes = [failures.record("swt-x", "bad_signature", float(t)) for t in range(6)]
    assert outcomes[:3] == [(True, 0)] * 3
    assert all(not log and wait > 0 for log, wait in outcomes[3:])
    assert failures.flush(30.0) == []
    assert failures.flush(61.0) == [("swt-x", 3, {"bad_signature": 3})]
    assert failures.flush(200.0) == []
    assert failures.record("swt-x", "expired", 300.0) == (True, 0)


def test_json_deeper_or_wider_than_allowed_is_refused():
    check_json_shape({"a": [{"b": 1}]}, max_depth=3, max_items=5)
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    with pytest.raises(InvalidRequest, match="nested deeper"):
        check_json_shape(deep, max_depth=32, max_items=1000)
    with pytest.raises(InvalidRequest, match="more than 1000"):
        check_json_shape({"a": list(range(1001))}, max_depth=32, max_items=1000)


async def test_requests_beyond_the_cap_get_a_fast_503_with_retry_after():
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"ok": True})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(middlewares=[error_middleware, shed_load(InFlight(cap=2))])
    app.router.add_get("/slow", slow)
    app.router.add_get("/healthz", health)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        busy = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
        await asyncio.sleep(0.1)
        refused = await client.get("/slow")
        assert refused.status == 503
        assert refused.headers["Retry-After"] == "1"
        assert (await refused.json())["error"]["code"] == "overloaded"
        assert (await client.get("/healthz")).status == 200
        release.set()
        assert [r.status for r in await asyncio.gather(*busy)] == [200, 200]
