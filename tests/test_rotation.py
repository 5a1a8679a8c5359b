"""Key rotation without downtime: partners' signing keys, and the gateway's own keys."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.client.keygen import generate_partner_jwks
from gateway.clock import FixedClock
from gateway.log.verify import verify_log
from gateway.reload import reload_partners_and_keys
from gateway.runtime import build_gateway
from gateway.web import create_app
from tests.conftest import BSN_CHILD, Running, copy_config, example, private_jwks
from tests.helpers import seed_referral


@pytest.fixture
async def editable(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Running]:
    """A gateway on a config copy that the test may edit and reload."""
    config = copy_config(tmp_path / "config")
    gw = build_gateway(config, tmp_path / "data", clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    # The provider's relation to the child its feedback is about (issue 19).
    await seed_referral(gw, "zorg-noord", BSN_CHILD)
    yield Running(gw, server, clock)
    await server.close()


def client(running: Running, keys: dict[str, Any]) -> PartnerClient:
    return PartnerClient(
        running.url,
        partner_id="zorg-noord",
        private_jwks=keys,
        actor_id="zorg-noord-actor",
        actor_role="casusregisseur",
        audience=running.gw.settings.id,
    )


def jwks_file(running: Running) -> Path:
    return running.gw.config_dir / "keys" / "zorg-noord.jwks.json"


def new_key(running: Running) -> tuple[dict[str, Any], dict[str, Any]]:
    private, public = generate_partner_jwks(
        "zorg-noord", now=running.clock.now(), with_encryption=False
    )
    return private["keys"][0], public["keys"][0]


async def send_feedback(c: PartnerClient) -> dict[str, Any]:
    result: dict[str, Any] = await c.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    return result


async def test_old_and_new_signing_keys_both_work_during_the_overlap(editable):
    old_private = private_jwks("zorg-noord")
    new_private, new_public = new_key(editable)
    published = json.loads(jwks_file(editable).read_text())
    published["keys"].append(new_public)
    jwks_file(editable).write_text(json.dumps(published))
    assert await reload_partners_and_keys(editable.gw)

    old = client(editable, old_private)
    new = client(editable, {"keys": [new_private, *old_private["keys"][1:]]})
    try:
        await send_feedback(old)
        await send_feedback(new)
    finally:
        await old.close()
        await new.close()
    entries = [r.entry for r in await editable.gw.storage.log_rows(0, 100)]
    [reloaded] = [e for e in entries if e.decision == "partners_reloaded"]
    assert reloaded.details["keys_added"] == [f"zorg-noord:{new_public['kid']}"]


async def test_a_removed_key_is_refused_at_once_also_for_tokens_already_issued(editable):
    old_private = private_jwks("zorg-noord")
    old = client(editable, old_private)
    try:
        await send_feedback(old)  # holds a valid access token now
        new_private, new_public = new_key(editable)
        published = json.loads(jwks_file(editable).read_text())
        published["keys"] = [new_public, *[k for k in published["keys"] if k["use"] == "enc"]]
        jwks_file(editable).write_text(json.dumps(published))
        assert await reload_partners_and_keys(editable.gw)

        with pytest.raises(GatewayClientError) as bearer:
            await send_feedback(old)
        assert (bearer.value.status, bearer.value.code) == (401, "invalid_token")
        with pytest.raises(GatewayClientError) as fresh:
            await old.token(force=True)
        assert (fresh.value.status, fresh.value.code) == (400, "invalid_client")
    finally:
        await old.close()
    new = client(editable, {"keys": [new_private]})
    try:
        await send_feedback(new)
    finally:
        await new.close()


async def test_a_broken_partners_file_keeps_the_old_registry_and_logs_why(editable):
    (editable.gw.config_dir / "partners.toml").write_text("[[partner]]\nid = 'x'\n")
    assert not await reload_partners_and_keys(editable.gw)
    c = client(editable, private_jwks("zorg-noord"))
    try:
        await send_feedback(c)
    finally:
        await c.close()
    entries = [r.entry for r in await editable.gw.storage.log_rows(0, 100)]
    assert [e.decision for e in entries if e.decision.startswith("partners_")] == [
        "partners_reload_failed"
    ]


async def test_checkpoints_signed_before_a_gateway_key_rotation_still_verify(editable):
    gw = editable.gw
    c = client(editable, private_jwks("zorg-noord"))
    team = editable.client("swt-denhelder")
    try:
        await send_feedback(c)
        await gw.sequencer().integrate()
        before = await gw.storage.latest_checkpoint()
        await team.record_consent(
            {
                # A child: an adult's evaluation feedback would need the adult's agreement.
                "subject": {"bsn": BSN_CHILD, "birth_date": "2016-03-01"},
                "given_by": [{"role": "custodian"}],
                "purposes": ["closure-notice"],
                "to": ["school-de-es"],
                "evidence": {"method": "written", "reference": "form 1"},
            }
        )
        for name in ("log-signing", "at-rest", "access-token"):
            gw.data.rotate(name)
        assert await reload_partners_and_keys(gw)
        editable.clock.moment += timedelta(seconds=1)
        await send_feedback(c)  # the access token from before the rotation still works
        await gw.sequencer().integrate()
        after = await gw.storage.latest_checkpoint()
        consents = await team.request("GET", "/v1/consents", params={"bsn": BSN_CHILD})
    finally:
        await c.close()
        await team.close()
    assert before is not None
    assert after is not None
    assert before.note.split("\n")[-2] != after.note.split("\n")[-2], "signed by different keys"
    report = await verify_log(gw.storage, gw.log_verifiers, gw.settings.log_origin)
    assert report.checkpoints >= 3
    assert [x["status"] for x in consents["consents"]] == ["active"], "sealed with the old key"
