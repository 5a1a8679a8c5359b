"""Webhook notifications: signed, free of personal data, retried until the receiver is back."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.clock import FixedClock
from gateway.delivery.notify import dispatch_once, notification_signer
from gateway.runtime import build_gateway
from gateway.web import create_app
from tests.conftest import BSN_CHILD, Running, copy_config, example
from tests.helpers import seed_referral


class Receiver:
    """A partner's webhook endpoint: records what arrives, or answers 503 while 'down'."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str, bytes]] = []
        self.down = False
        self.app = web.Application()
        self.app.router.add_post("/hook", self.hook)

    async def hook(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        body = await request.read()
        self.received.append((json.loads(body), request.headers["Gateway-Signature"], body))
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    server = TestServer(rec.app, host="127.0.0.1")
    await server.start_server()
    yield rec, str(server.make_url("/hook"))
    await server.close()


@pytest.fixture
async def hooked(
    tmp_path: Path, clock: FixedClock, receiver: tuple[Receiver, str]
) -> AsyncIterator[Running]:
    """A gateway whose social team has a webhook pointing at the receiver."""
    config = copy_config(tmp_path / "config")
    partners = (config / "partners.toml").read_text()
    partners = partners.replace(
        'jwks = "keys/swt-denhelder.jwks.json"',
        f'jwks = "keys/swt-denhelder.jwks.json"\nwebhook = "{receiver[1]}"',
    )
    (config / "partners.toml").write_text(partners)
    gw = build_gateway(config, tmp_path / "data", clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    # The provider's relation to the child its feedback is about (issue 19).
    await seed_referral(gw, "zorg-noord", BSN_CHILD)
    yield Running(gw, server, clock)
    await server.close()


def verify_signature(header: str, body: bytes, jwk: dict[str, str]) -> None:
    parts = dict(item.split("=", 1) for item in header.split(","))
    assert parts["kid"] == jwk["kid"]
    x = base64.urlsafe_b64decode(jwk["x"] + "==")
    signature = base64.urlsafe_b64decode(parts["ed25519"] + "==")
    Ed25519PublicKey.from_public_bytes(x).verify(signature, parts["t"].encode() + b"." + body)


async def test_new_messages_poke_is_signed_and_carries_no_personal_data(hooked, receiver):
    rec, _ = receiver
    provider = hooked.client("zorg-noord")
    try:
        for _ in range(3):
            await provider.send(
                "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
            )
    finally:
        await provider.close()
    async with aiohttp.ClientSession() as session:
        keys = await (await session.get(hooked.url + "/v1/notifications/keys")).json()
        delivered = await dispatch_once(hooked.gw, session, notification_signer(hooked.gw.data))
    assert delivered == 1, "a burst of three messages is one poke"
    body, header, raw = rec.received[0]
    assert body["event"] == "new_messages"
    assert body["partner"] == "swt-denhelder"
    assert body["count"] == 3
    verify_signature(header, raw, keys["keys"][0])
    assert BSN_CHILD.encode() not in raw
    for value in ("Dagritme", "scale_down", "achieved"):
        assert value.encode() not in raw


async def test_a_receiver_that_is_down_gets_the_poke_once_it_is_back(hooked, receiver):
    rec, _ = receiver
    rec.down = True
    provider = hooked.client("zorg-noord")
    try:
        await provider.send(
            "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
        )
    finally:
        await provider.close()
    signer = notification_signer(hooked.gw.data)
    async with aiohttp.ClientSession() as session:
        assert await dispatch_once(hooked.gw, session, signer) == 0
        # Still inside the backoff window: nothing is attempted.
        hooked.clock.moment += timedelta(milliseconds=500)
        assert await dispatch_once(hooked.gw, session, signer) == 0
        rec.down = False
        hooked.clock.moment += timedelta(seconds=31)
        assert await dispatch_once(hooked.gw, session, signer) == 1
        hooked.clock.moment += timedelta(seconds=60)
        assert await dispatch_once(hooked.gw, session, signer) == 0, "delivered once, not again"
    assert [b["event"] for b, _, _ in rec.received] == ["new_messages"]


async def test_an_overdue_expectation_is_announced_to_the_partner_owed(hooked, receiver):
    rec, _ = receiver
    team = hooked.client("swt-denhelder")
    # The 5 days are working days (a local agreement), counted from the clock's real date.
    purpose = hooked.gw.catalogue.get("waiting-list-status")
    assert purpose is not None
    due = purpose.gi_join_due("beschermingstafel", hooked.clock.moment)
    try:
        case_id = (await team.open_case())["case_id"]
        await team.register_member(
            case_id, "gi-noordholland", role="involved", reported_via="beschermingstafel"
        )
    finally:
        await team.close()
    signer = notification_signer(hooked.gw.data)
    async with aiohttp.ClientSession() as session:
        await dispatch_once(hooked.gw, session, signer)
        assert rec.received == []
        hooked.clock.moment = due + timedelta(days=1)
        assert await dispatch_once(hooked.gw, session, signer) == 1
    body = rec.received[0][0]
    assert body == {
        "event": "expectation_overdue",
        "partner": "swt-denhelder",
        "count": 1,
        "time": body["time"],
    }
