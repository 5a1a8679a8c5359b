"""`/metrics`: Prometheus text with route templates as labels, never a BSN or an id."""

from __future__ import annotations

import aiohttp

from tests.conftest import BSN_CHILD, example


async def test_metrics_count_requests_by_route_template_without_personal_data(running, clients):
    provider = clients("zorg-noord")
    team = clients("swt-denhelder")
    sent = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    message = (await team.inbox())["messages"][0]
    await team.ack(message["id"])
    async with (
        aiohttp.ClientSession() as session,
        session.get(running.url + "/metrics") as response,
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


async def test_methods_outside_http_s_usual_seven_share_one_label(running):
    # The HTTP parser refuses methods it does not know (400); those it knows reach the app.
    async with aiohttp.ClientSession() as session:
        for method in ("PURGE", "MKCOL", "LINK"):
            async with session.request(method, running.url + "/v1/purposes") as response:
                assert response.status == 405, (method, await response.text())
        async with session.get(running.url + "/metrics") as response:
            text = await response.text()
    assert 'method="other",route="unmatched",status="405"} 3.0' in text
    for method in ("PURGE", "MKCOL", "LINK"):
        assert method not in text
