"""Standards over real HTTP: a traceparent followed end to end, FHIR AuditEvents, LDV export."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from gateway.standards.export import ldv_export
from tests.conftest import BSN_CHILD, Running, example, private_jwks
from tests.helpers import Http, log_entries, seed_referral

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"
FSC_TRANSACTION_ID = "0189f7e5-c883-7106-8272-ccb7fcba0575"  # a UUID v7, as FSC defines it


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    # The provider's relation to the child (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


def _open_sealed(message: dict[str, object]) -> dict[str, object]:
    sealed = message["sealed"]
    assert isinstance(sealed, dict)
    text = sealed["ciphertext"]
    ciphertext = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    enc = next(k for k in private_jwks("swt-denhelder")["keys"] if k.get("use") == "enc")
    key = X25519PrivateKey.from_private_bytes(
        base64.urlsafe_b64decode(enc["d"] + "=" * (-len(enc["d"]) % 4))
    )
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    info = b"social-domain-gateway/v1:" + str(message["id"]).encode()
    opened: dict[str, object] = json.loads(suite.decrypt(ciphertext, key, info=info))
    return opened


async def _send(http: Http, headers: dict[str, str]) -> tuple[dict[str, object], str]:
    token = await http.token("zorg-noord")
    answer = await http.call(
        "POST",
        "/v1/exchanges",
        token=token,
        headers=headers,
        json_body={
            "purpose": "evaluation-feedback",
            "to": "swt-denhelder",
            "subject": {"bsn": BSN_CHILD},
            "payload": example("evaluation-feedback"),
        },
    )
    assert answer.status == 201, answer.text
    return answer.body, answer.headers["traceparent"]


async def test_a_traceparent_is_followed_into_log_entries_inbox_and_ldv_export(
    http: Http, running: Running
) -> None:
    before = await running.gw.storage.log_size()
    body, returned = await _send(
        http, {"traceparent": TRACEPARENT, "Fsc-Transaction-Id": FSC_TRANSACTION_ID}
    )
    trace = body["trace"]
    assert isinstance(trace, dict)
    assert trace["trace_id"] == TRACE_ID
    assert trace["parent_span_id"] == CALLER_SPAN
    assert returned == trace["traceparent"] == f"00-{TRACE_ID}-{trace['span_id']}-01"
    # The log entries of the exchange carry the trace and the purpose's processing activity.
    (entry,) = [e for e in await log_entries(running, before) if e.decision == "disclosed"]
    assert entry.trace is not None
    assert entry.trace["trace_id"] == TRACE_ID
    assert entry.trace["fsc_transaction_id"] == FSC_TRANSACTION_ID
    purpose = running.gw.catalogue.get("evaluation-feedback")
    assert purpose is not None
    assert entry.processing_activity == purpose.processing_activity
    assert entry.confidentiality == purpose.confidentiality
    # The recipient's message passes the context on (inside what is sealed to the recipient).
    inbox = await http.call("GET", "/v1/inbox", token=await http.token("swt-denhelder"))
    (message,) = [m for m in inbox.body["messages"] if m["exchange_id"] == body["exchange_id"]]
    opened = message if "sealed" not in message else _open_sealed(message)
    assert opened["traceparent"] == returned
    # The LDV export names the same trace, with the caller's span as the foreign operation.
    rows = await running.gw.storage.log_rows(before, await running.gw.storage.log_size())
    export = ldv_export(rows, running.gw.catalogue, running.gw.partners, running.gw.settings.id)
    json_format.Parse(json.dumps(export), ExportTraceServiceRequest())
    spans = export["resourceSpans"][0]["scopeSpans"][0]["spans"]
    (span,) = [s for s in spans if s["name"] == "evaluation-feedback:disclosed"]
    assert span["traceId"] == TRACE_ID
    assert span["parentSpanId"] == trace["span_id"]
    attributes = {a["key"]: a["value"]["stringValue"] for a in span["attributes"]}
    assert attributes["dpl.core.foreign_operation.span_id"] == CALLER_SPAN
    assert attributes["dpl.core.data_subject_id"] == entry.subject
    assert BSN_CHILD not in json.dumps(export)


async def test_an_exchange_without_a_traceparent_starts_a_trace_of_its_own(http: Http) -> None:
    body, returned = await _send(http, {"traceparent": "not-a-traceparent"})
    trace = body["trace"]
    assert isinstance(trace, dict)
    assert "parent_span_id" not in trace
    assert returned.startswith(f"00-{trace['trace_id']}-")


async def test_an_officer_fetches_a_log_entry_as_a_fhir_audit_event(
    http: Http, running: Running
) -> None:
    body, _ = await _send(http, {})
    disclosures = body["disclosures"]
    assert isinstance(disclosures, list)
    index = disclosures[0]["log_index"]
    answer = await http.call(
        "GET", f"/v1/audit/entries/{index}/fhir", token=await http.token("fg-denhelder")
    )
    assert answer.status == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/fhir+json")
    event = AuditEvent.parse_obj(answer.body)
    assert event.id == f"log-{index}"
    assert BSN_CHILD not in answer.text
    refused = await http.call(
        "GET", f"/v1/audit/entries/{index}/fhir", token=await http.token("zorg-noord")
    )
    assert refused.status == 403


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["ldv", "fhir"])
async def test_log_export_writes_standard_documents_without_a_bsn(
    http: Http, running: Running, tmp_path: Path, fmt: str, storage_url: str | None
) -> None:
    await _send(http, {"traceparent": TRACEPARENT})
    out = tmp_path / f"export.{fmt}.json"
    storage = [] if storage_url is None else ["--storage", storage_url]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "log",
        "export",
        "--format",
        fmt,
        "--config",
        str(running.gw.config_dir),
        "--data",
        str(running.gw.data.path),
        *storage,
        "--out",
        str(out),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    text = out.read_text(encoding="utf-8")
    assert BSN_CHILD not in text
    document = json.loads(text)
    if fmt == "ldv":
        json_format.Parse(text, ExportTraceServiceRequest())
        spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
        assert TRACE_ID in {s["traceId"] for s in spans}
    else:
        bundle = Bundle.parse_obj(document)
        assert bundle.entry
        assert all(e.resource.resource_type == "AuditEvent" for e in bundle.entry)


async def test_every_call_continues_the_callers_trace_and_its_log_entries_name_it(
    http: Http, running: Running
) -> None:
    """Not only exchanges: recording consent, acknowledging a message and an officer's search
    each answer with the caller's trace continued, and the entries they log carry it."""
    team = await http.token("swt-denhelder")
    consent = await http.call(
        "POST",
        "/v1/consents",
        token=team,
        headers={"traceparent": TRACEPARENT},
        json_body={
            "subject": {"bsn": BSN_CHILD, "birth_date": "2016-03-14"},
            "given_by": [{"role": "custodian", "name": "Ouder"}],
            "purposes": ["closure-notice"],
            "to": ["school-de-es"],
            "evidence": {"method": "written", "reference": "dossier-1"},
        },
    )
    assert consent.status == 201, consent.text
    sent = await _send(http, {})
    message_id = sent[0]["disclosures"][0]["message_id"]
    ack = await http.call(
        "POST",
        f"/v1/inbox/{message_id}/ack",
        token=team,
        headers={"traceparent": TRACEPARENT},
    )
    assert ack.status == 204, ack.text
    search = await http.call(
        "GET",
        "/v1/audit/entries",
        token=await http.token("fg-denhelder"),
        headers={"traceparent": TRACEPARENT},
        params={"bsn": BSN_CHILD},
    )
    assert search.status == 200, search.text
    for answer in (consent, ack, search):
        version, trace_id, span_id, flags = answer.headers["traceparent"].split("-")
        assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
        assert span_id != CALLER_SPAN  # the gateway's own span, the caller's as its parent
    traced = {
        e.decision: e.trace
        for e in await log_entries(running)
        if e.decision in ("consent_recorded", "delivered", "audit_access")
    }
    assert set(traced) == {"consent_recorded", "delivered", "audit_access"}
    for decision, trace in traced.items():
        assert trace is not None, decision
        assert (trace["trace_id"], trace["parent_span_id"]) == (TRACE_ID, CALLER_SPAN)
    # Without a traceparent a call starts a trace of its own, and still says so.
    plain = await http.call("GET", "/v1/inbox", token=team)
    assert plain.headers["traceparent"].split("-")[1] != TRACE_ID


async def test_an_error_answer_carries_the_trace_too(http: Http) -> None:
    answer = await http.call(
        "GET", "/v1/inbox", headers={"traceparent": TRACEPARENT, "Authorization": "Bearer x"}
    )
    assert answer.status == 401
    assert answer.headers["traceparent"].split("-")[1] == TRACE_ID
