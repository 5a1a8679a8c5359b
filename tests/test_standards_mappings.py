"""The standards mappings, checked against the standards' own schemas and messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from gateway.log.entry import LogEntry, Sender
from gateway.standards.fhir_audit import PSEUDONYM_SYSTEM, audit_event
from gateway.standards.ldv import ldv_records, otlp_json, otlp_request
from gateway.standards.tracecontext import child_of, parse_traceparent, trace_from_headers
from gateway.standards.verwerkingenlogging import ActivityTerms, verwerkingsactie
from tests.standards_helpers import LDV, verwerkingsactie_validator

NOW = datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC)
ACTIVITY = "https://register.example.org/verwerkingsactiviteiten/evaluatie-jeugdhulp"
PSEUDONYM = "ab" * 32
BSN = "999992351"
TRACE = {
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7",
    "parent_span_id": "b7ad6b7169203331",
}


def _entry(decision: str = "disclosed", **extra: Any) -> dict[str, Any]:
    entry = LogEntry(
        time=NOW,
        decision=decision,
        reason="statute" if decision == "disclosed" else "consent_required",
        exchange_id="ex_1",
        disclosure_id="dis_1",
        purpose="evaluation-feedback",
        legal_basis={"type": "statute", "reference": "Jeugdwet art. 7.4.0 lid 2"},
        sender=Sender("zorg-noord", "actor-7", "casusregisseur"),
        recipient="swt-denhelder",
        subject=PSEUDONYM,
        fields=("goals[].result", "advice"),
        payload_sha256="cd" * 32,
    ).to_json()
    entry.update(extra)
    return entry


def _records(entry: dict[str, Any], index: int = 7) -> list[Any]:
    return ldv_records(
        index,
        entry,
        processing_activity=lambda purpose: ACTIVITY,
        processor_of=lambda partner: f"urn:social-domain-gateway:partner:{partner}",
        gateway_id="gw-denhelder",
    )


# -- W3C Trace Context ----------------------------------------------------------------------------


def test_a_valid_traceparent_puts_the_exchange_in_the_callers_trace() -> None:
    trace = trace_from_headers(
        {
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "tracestate": "k=v",
        }
    )
    assert trace.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace.parent_span_id == "00f067aa0ba902b7"
    assert trace.span_id != "00f067aa0ba902b7"
    assert trace.tracestate == "k=v"
    assert trace.traceparent() == f"00-{trace.trace_id}-{trace.span_id}-01"


@pytest.mark.parametrize(
    "header",
    [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero span id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # version 00 with more
        "garbage",
    ],
)
def test_an_invalid_traceparent_starts_a_new_trace(header: str) -> None:
    assert parse_traceparent(header) is None
    trace = trace_from_headers({"traceparent": header, "tracestate": "k=v"})
    assert trace.parent_span_id is None
    assert trace.tracestate is None
    assert len(trace.trace_id) == 32
    assert len(trace.span_id) == 16


def test_a_later_traceparent_version_is_read_for_its_known_fields() -> None:
    parent = parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-future")
    assert parent is not None
    assert not child_of(parent).sampled


def test_an_fsc_transaction_id_is_kept_with_the_trace() -> None:
    trace = trace_from_headers({"Fsc-Transaction-Id": "01890a5d-ac96-774b-b4a3-1c2e5e8f8c6a"})
    assert trace.to_json()["fsc_transaction_id"] == "01890a5d-ac96-774b-b4a3-1c2e5e8f8c6a"


# -- Logboek Dataverwerkingen -----------------------------------------------------------------------


def test_ldv_records_carry_the_required_dpl_attributes_and_never_the_bsn() -> None:
    (record,) = _records(_entry(trace=TRACE))
    assert set(LDV["attributes"]["required"]) <= set(record.attributes)
    assert record.attributes["dpl.core.data_subject_id"] == PSEUDONYM
    assert record.attributes["dpl.core.processing_activity_id"] == ACTIVITY
    assert record.trace_id == TRACE["trace_id"]
    assert record.parent_span_id == TRACE["span_id"]
    assert record.attributes["dpl.core.foreign_operation.span_id"] == TRACE["parent_span_id"]
    assert record.attributes["dpl.core.foreign_operation.processor"].endswith(":zorg-noord")
    assert record.status in LDV["record_fields"]["status"]
    assert BSN not in json.dumps(record.attributes)


def test_ldv_otlp_json_parses_into_the_otlp_trace_export_request() -> None:
    records = _records(_entry(trace=TRACE)) + _records(_entry("refused"), index=8)
    body = otlp_json(otlp_request(records, service_name="gw-denhelder"))
    # Unknown or misspelt fields make Parse fail: the JSON follows the proto exactly.
    json_format.Parse(json.dumps(body), ExportTraceServiceRequest())
    spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert [len(s["traceId"]) for s in spans] == [2 * LDV["record_fields"]["trace_id_bytes"]] * 2
    assert [len(s["spanId"]) for s in spans] == [2 * LDV["record_fields"]["span_id_bytes"]] * 2
    assert spans[0]["traceId"] == TRACE["trace_id"]
    assert spans[0]["status"] == {"code": "STATUS_CODE_OK"}
    for span in spans:
        keys = {a["key"] for a in span["attributes"]}
        assert set(LDV["attributes"]["required"]) <= keys


def test_ldv_protobuf_round_trips_with_the_same_ids() -> None:
    (record,) = _records(_entry(trace=TRACE))
    wire = otlp_request([record], service_name="gw").SerializeToString()
    parsed = ExportTraceServiceRequest.FromString(wire)
    span = parsed.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == TRACE["trace_id"]
    assert span.span_id.hex() == record.span_id


def test_entries_of_one_exchange_without_a_trace_share_a_derived_trace() -> None:
    first, second = _records(_entry(), 1)[0], _records(_entry(), 2)[0]
    assert first.trace_id == second.trace_id
    assert first.span_id != second.span_id


def test_entries_without_a_subject_give_no_ldv_record() -> None:
    assert _records(_entry(subject=None)) == []


# -- VNG Verwerkingenlogging ---------------------------------------------------------------------


TERMS = ActivityTerms(ACTIVITY, "vertrouwelijk", 20, "Evaluatie jeugdhulp")


def test_verwerkingsactie_is_valid_against_the_vng_write_api_schema() -> None:
    body = verwerkingsactie(
        _entry(),
        bsn=BSN,
        terms=TERMS,
        sender_identifiers={"oin": "00000001821002193000"},
        recipient_identifiers={"oin": "00000001002564440000"},
        system="gw-denhelder",
    )
    verwerkingsactie_validator().validate(body)
    assert body["vertrouwelijkheid"] == "vertrouwelijk"
    assert body["bewaartermijn"] == "P20Y"
    assert body["uitvoerder"] == "00000001821002193000"
    assert body["afnemerId"] == "00000001002564440000"
    assert body["verwerkteObjecten"][0]["soortObjectId"] == "BSN"
    assert body["verwerkteObjecten"][0]["objectId"] == BSN


def test_the_vng_schema_refuses_a_verwerkingsactie_with_a_wrong_confidentiality() -> None:
    body = verwerkingsactie(
        _entry(),
        bsn=BSN,
        terms=TERMS,
        sender_identifiers=None,
        recipient_identifiers=None,
        system="gw",
    )
    body["vertrouwelijkheid"] = "geheim"
    assert list(verwerkingsactie_validator().iter_errors(body))


def test_a_partner_without_an_oin_is_left_out_rather_than_sent_malformed() -> None:
    body = verwerkingsactie(
        _entry(),
        bsn=BSN,
        terms=TERMS,
        sender_identifiers={"agb": "12345678"},
        recipient_identifiers=None,
        system="gw",
    )
    verwerkingsactie_validator().validate(body)
    assert "uitvoerder" not in body
    assert "afnemerId" not in body


# -- FHIR AuditEvent ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "decision", ["disclosed", "refused", "consent_recorded", "purged", "token_refused"]
)
def test_audit_event_is_a_valid_fhir_r4_resource(decision: str) -> None:
    entry = _entry(decision)
    if decision == "token_refused":
        entry.update(
            subject=None, purpose=None, recipient=None, sender=None, fields=[], payload_sha256=None
        )
    event = audit_event(3, entry, gateway_id="gw-denhelder")
    parsed = AuditEvent.parse_obj(event)
    assert parsed.recorded is not None
    assert parsed.outcome == ("4" if decision in ("refused", "token_refused") else "0")


def test_audit_event_names_the_subject_by_pseudonym_with_purpose_and_agents() -> None:
    event = audit_event(3, _entry(), gateway_id="gw-denhelder")
    assert event["entity"][0]["what"]["identifier"] == {
        "system": PSEUDONYM_SYSTEM,
        "value": PSEUDONYM,
    }
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "evaluation-feedback"
    assert event["purposeOfEvent"][0]["text"] == "Jeugdwet art. 7.4.0 lid 2"
    assert [a["requestor"] for a in event["agent"]] == [True, False]
    assert event["subtype"][0]["code"] == "disclosed"
    assert BSN not in json.dumps(event)
