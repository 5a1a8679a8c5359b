"""Limits over real HTTP: rate limits, failed-assertion bursts, JSON shape (body size: test_exchange_errors)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.client.assertion import make_client_assertion
from gateway.client.http import GatewayClientError
from gateway.clock import FixedClock
from gateway.runtime import build_gateway
from gateway.web import create_app
from tests.conftest import BSN_CHILD, Running, copy_config
from tests.helpers import Http, signing_jwk


@pytest.fixture
async def strict(
    tmp_path: Path, clock: FixedClock, storage_url: str | None
) -> AsyncIterator[Running]:
    """A gateway with tight limits, to reach them quickly."""
    config = copy_config(tmp_path / "config")
    with (config / "gateway.toml").open("a") as fh:
        fh.write(
            "max_json_depth = 8\n"
            "max_json_items = 50\n"
            "[rate_limits]\n"
            "failed_assertions_per_minute = 3\n"
            "school = { per_second = 0.5, burst = 3 }\n"
        )
    gw = build_gateway(config, tmp_path / "data", storage_url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    yield Running(gw, server, clock)
    await server.close()


async def test_a_partner_over_its_rate_gets_429_with_retry_after(strict: Running) -> None:
    school = strict.client("school-de-es")
    try:
        for _ in range(3):
            await school.request("GET", "/v1/inbox")
        with pytest.raises(GatewayClientError) as refused:
            await school.request("GET", "/v1/inbox")
    finally:
        await school.close()
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    assert refused.value.details["retry_after"] >= 1
    team = strict.client("swt-denhelder")  # another partner is not affected
    try:
        for _ in range(5):
            await team.request("GET", "/v1/inbox")
    finally:
        await team.close()


async def test_a_burst_of_failed_assertions_is_slowed_down_and_logged_once(strict: Running) -> None:
    async with aiohttp.ClientSession() as session:
        http = Http(strict, session)
        statuses = []
        for _ in range(7):
            bad = make_client_assertion(
                signing_jwk("zorg-noord"),
                partner_id="zorg-noord",
                audience="https://elsewhere.example/v1/token",
                actor_id="zorg-noord-actor",
                actor_role="casusregisseur",
                now=strict.clock.now(),
            )
            statuses.append((await http.post_token(bad)).status)
    assert statuses == [400, 400, 400, 429, 429, 429, 429]
    rows = await strict.gw.storage.log_rows(0, await strict.gw.storage.log_size())
    refused = [r.entry for r in rows if r.entry.decision == "token_refused"]
    assert len(refused) == 3, "one entry per attempt only up to the threshold"
    # When the window closes, the rest of the burst is logged as one entry.
    closed = strict.gw.failed_assertions.flush(float("inf"))
    assert closed == [("zorg-noord", 4, {"wrong_audience": 4})]


async def test_json_nested_too_deep_or_too_wide_is_refused_and_changes_nothing(
    strict: Running,
) -> None:
    team = strict.client("swt-denhelder")
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(10):
        cursor["x"] = {}
        cursor = cursor["x"]  # type: ignore[assignment]
    try:
        before = await strict.gw.storage.log_size()
        for payload in (deep, {"goals": [{"goal_id": "G1"}] * 60}):
            with pytest.raises(GatewayClientError) as refused:
                await team.send("evaluation-feedback", "swt-denhelder", BSN_CHILD, payload)
            assert (refused.value.status, refused.value.code) == (400, "invalid_request")
        assert await strict.gw.storage.log_size() == before
    finally:
        await team.close()
