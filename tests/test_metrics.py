"""`/metrics`: Prometheus text with route templates as labels, never a BSN or an id.

`/metrics` is served by an application of its own on its own address (`metrics_app`, see
tests/test_metrics_listen.py for `gateway serve`); here it runs beside the API on loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.web.metrics import METRICS, metrics_app
from tests.conftest import BSN_CHILD, Running, example
from tests.helpers import seed_referral


@pytest.fixture
async def metrics_url(running: Running) -> AsyncIterator[str]:
    """Where this gateway's `/metrics` is served: a listen address of its own."""
    assert running.server.app is not None
    server = TestServer(metrics_app(running.server.app[METRICS]), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/metrics"))
    finally:
        await server.close()


async def test_metrics_count_requests_by_route_template_without_personal_data(
    running, clients, metrics_url
):
    # The provider's relation to the children (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    provider = clients("zorg-noord")
    team = clients("swt-denhelder")
    sent = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    message = (await team.inbox())["messages"][0]
    await team.ack(message["id"])
    async with (
        aiohttp.ClientSession() as session,
        session.get(metrics_url) as response,
    ):
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    assert (
        'gateway_http_requests_total{method="POST",route="/v1/exchanges",status="201"} 1.0' in text
    )
    assert 'route="/v1/inbox/{message_id}/ack",status="204"' in text
    assert "gateway_http_request_seconds_bucket" in text
    for secret in (BSN_CHILD, message["id"], sent["exchange_id"]):
        assert secret not in text


async def test_methods_outside_http_s_usual_seven_share_one_label(running, metrics_url):
    # The HTTP parser refuses methods it does not know (400); those it knows reach the app.
    async with aiohttp.ClientSession() as session:
        for method in ("PURGE", "MKCOL", "LINK"):
            async with session.request(method, running.url + "/v1/purposes") as response:
                assert response.status == 405, (method, await response.text())
        async with session.get(metrics_url) as response:
            text = await response.text()
    assert 'method="other",route="unmatched",status="405"} 3.0' in text
    for method in ("PURGE", "MKCOL", "LINK"):
        assert method not in text


async def test_metrics_are_not_served_on_the_api_port(running):
    """What the gateway is doing, and how much, is for its operator, not for API callers."""
    async with aiohttp.ClientSession() as session:
        for method in ("GET", "HEAD"):
            async with session.request(method, running.url + "/metrics") as response:
                assert response.status == 404
