"""`GET /v1/inbox` and `POST /v1/inbox/{id}/ack` over real HTTP: paging, acks, sealing, purge."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.client.http import GatewayClientError
from gateway.service.inbox import purge_entry
from tests.conftest import BSN_CHILD, Running, example, private_jwks
from tests.helpers import (
    ClockedClient,
    ClockedClients,
    Http,
    assert_contract_error,
    log_entries,
    relate_client,
)

SUITE = "DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/AES-256-GCM"


@pytest.fixture
async def clocked(running: Running) -> AsyncIterator[ClockedClients]:
    pool = ClockedClients(running)
    # The provider's relation to the child its feedback is about (issue 19).
    await relate_client(pool("swt-denhelder"), "zorg-noord", BSN_CHILD)
    yield pool
    await pool.close()


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


def feedback(weeks: int) -> dict[str, Any]:
    payload = example("evaluation-feedback")
    payload["expected_duration_weeks"] = weeks
    return payload


async def send_feedback(provider: ClockedClient, weeks: int = 12) -> dict[str, Any]:
    result: dict[str, Any] = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, feedback(weeks)
    )
    return result


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def test_inbox_pages_oldest_first_by_cursor_until_next_is_null(
    clocked: ClockedClients,
) -> None:
    provider, team = clocked("zorg-noord"), clocked("swt-denhelder")
    sent = [(await send_feedback(provider, weeks))["exchange_id"] for weeks in range(5)]
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    for _ in range(3):
        page = await team.inbox(limit=2, after=cursor)
        pages.append(page["messages"])
        cursor = page["next"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert cursor is None
    received = [m for p in pages for m in p]
    assert [m["exchange_id"] for m in received] == sent
    assert [m["payload"]["expected_duration_weeks"] for m in received] == [0, 1, 2, 3, 4]


async def test_ack_answers_204_and_a_second_ack_404(
    running: Running, clocked: ClockedClients, http: Http
) -> None:
    provider = clocked("zorg-noord")
    result = await send_feedback(provider)
    token = await http.token("swt-denhelder")
    page = await http.call("GET", "/v1/inbox", token=token)
    message = page.body["messages"][0]
    before = await running.gw.storage.log_size()
    first = await http.call("POST", f"/v1/inbox/{message['id']}/ack", token=token)
    assert first.status == 204
    assert first.text == ""
    second = await http.call("POST", f"/v1/inbox/{message['id']}/ack", token=token)
    assert_contract_error(second, 404, "not_found")
    entries = await log_entries(running, before)
    assert [e.decision for e in entries] == ["delivered"]
    assert entries[0].disclosure_id == result["disclosures"][0]["disclosure_id"]
    assert entries[0].exchange_id == result["exchange_id"]
    assert entries[0].details["message_id"] == message["id"]
    assert (await http.call("GET", "/v1/inbox", token=token)).body["messages"] == []


async def test_message_is_visible_and_acknowledgeable_only_by_its_recipient(
    running: Running, clocked: ClockedClients, http: Http
) -> None:
    provider = clocked("zorg-noord")
    await send_feedback(provider)
    team = clocked("swt-denhelder")
    message_id = (await team.inbox())["messages"][0]["id"]
    for other in ("zorg-noord", "gi-noordholland", "school-de-es"):
        token = await http.token(other)
        page = await http.call("GET", "/v1/inbox", token=token)
        assert page.status == 200
        assert page.body["messages"] == []
        ack = await http.call("POST", f"/v1/inbox/{message_id}/ack", token=token)
        assert_contract_error(ack, 404, "not_found")
    assert [m["id"] for m in (await team.inbox())["messages"]] == [message_id]


async def test_recipient_with_an_encryption_key_gets_only_sealed_subject_and_payload(
    clocked: ClockedClients, http: Http
) -> None:
    await send_feedback(clocked("zorg-noord"))
    page = await http.call("GET", "/v1/inbox", token=await http.token("swt-denhelder"))
    assert page.status == 200
    message = page.body["messages"][0]
    assert "subject" not in message
    assert "payload" not in message
    assert message["sealed"]["suite"] == SUITE
    ciphertext = b64url_decode(message["sealed"]["ciphertext"])
    assert len(ciphertext) > 32
    assert BSN_CHILD not in page.text
    assert example("evaluation-feedback")["advice"] not in page.text

    # Opened independently, as CONTRACT.md describes it: RFC 9180 base mode, empty aad.
    enc = next(k for k in private_jwks("swt-denhelder")["keys"] if k.get("use") == "enc")
    private_key = X25519PrivateKey.from_private_bytes(b64url_decode(enc["d"]))
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    info = b"social-domain-gateway/v1:" + message["id"].encode()
    opened = json.loads(suite.decrypt(ciphertext, private_key, info=info))
    assert opened["subject"] == {"bsn": BSN_CHILD}
    assert opened["payload"] == feedback(12)


async def test_partner_client_opens_a_sealed_message_to_the_original_payload(
    clocked: ClockedClients,
) -> None:
    await send_feedback(clocked("zorg-noord"))
    message = (await clocked("swt-denhelder").inbox())["messages"][0]
    assert message["subject"] == {"bsn": BSN_CHILD}
    assert message["payload"] == feedback(12)
    assert message["from"] == {"partner": "zorg-noord", "actor_role": "casusregisseur"}
    assert message["purpose"] == "evaluation-feedback"


async def test_unacknowledged_message_is_purged_after_retention_and_the_purge_is_logged(
    running: Running, clocked: ClockedClients
) -> None:
    provider, team = clocked("zorg-noord"), clocked("swt-denhelder")
    start = running.clock.now()
    old = await send_feedback(provider, 1)
    running.clock.moment = start + timedelta(days=20)
    young = await send_feedback(provider, 2)
    old_message = old["disclosures"][0]["message_id"]

    running.clock.moment = start + timedelta(days=30) - timedelta(seconds=1)
    now = running.clock.now()
    assert await running.gw.storage.purge_expired(now, purge_entry(now)) == 0

    running.clock.moment = start + timedelta(days=30, seconds=1)
    now = running.clock.now()
    before = await running.gw.storage.log_size()
    assert await running.gw.storage.purge_expired(now, purge_entry(now)) == 1
    waiting = (await team.inbox())["messages"]
    assert [m["exchange_id"] for m in waiting] == [young["exchange_id"]]
    entries = await log_entries(running, before)
    assert [(e.decision, e.reason) for e in entries] == [("purged", "retention_expired")]
    assert entries[0].details["message_id"] == old_message
    assert entries[0].disclosure_id == old["disclosures"][0]["disclosure_id"]
    assert entries[0].recipient == "swt-denhelder"
    with pytest.raises(GatewayClientError) as gone:
        await team.ack(old_message)
    assert gone.value.code == "not_found"
