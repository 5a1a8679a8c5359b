"""Logboek Dataverwerkingen (LDV 1.0): disclosure-log entries as LDV records, sent as OTLP spans.

LDV records are OpenTelemetry spans: `trace_id`, `span_id`, `parent_span_id`, `name`, start and
end time, `status` and the `dpl.core.*` attributes. One record per data subject; the data
subject is named by its pseudonym (`dpl.core.data_subject_id_type` says which kind), never by
the BSN. Entries logged before the gateway kept a trace get a trace id derived from their
exchange id, so every record of one exchange still shares one trace.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from google.protobuf import json_format  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from gateway.log.entry import parse_time

__all__ = [
    "ATTR_DATA_SUBJECT_ID",
    "ATTR_DATA_SUBJECT_ID_TYPE",
    "ATTR_FOREIGN_PROCESSOR",
    "ATTR_FOREIGN_SPAN_ID",
    "ATTR_PROCESSING_ACTIVITY_ID",
    "LdvRecord",
    "ldv_records",
    "otlp_json",
    "otlp_request",
    "subject_id_type",
]

ATTR_PROCESSING_ACTIVITY_ID = "dpl.core.processing_activity_id"
ATTR_DATA_SUBJECT_ID = "dpl.core.data_subject_id"
ATTR_DATA_SUBJECT_ID_TYPE = "dpl.core.data_subject_id_type"
ATTR_FOREIGN_SPAN_ID = "dpl.core.foreign_operation.span_id"
ATTR_FOREIGN_PROCESSOR = "dpl.core.foreign_operation.processor"

# LDV's status values and their OTLP codes. A refusal is the processing working as meant, so
# it is `Unset` (LDV reserves `Error` for failures inside the system); a disclosure is `Ok`.
_STATUS = {"Unset": Status.STATUS_CODE_UNSET, "Ok": Status.STATUS_CODE_OK}
SCOPE_NAME = "social-domain-gateway"
SUBJECT_ID_TYPE_BSN = "pseudonym:bsn"


def subject_id_type(subject_system: object) -> str:
    """`pseudonym:bsn`, or `pseudonym:<system URI>` for a subject named by a declared identifier.

    An entry records `subject_system` only for a subject without a BSN (older entries never do).
    """
    if isinstance(subject_system, str) and subject_system:
        return "pseudonym:" + subject_system
    return SUBJECT_ID_TYPE_BSN


@dataclass(frozen=True, slots=True)
class LdvRecord:
    """One LDV record: one processing of one data subject's data."""

    trace_id: str  # 32 hex
    span_id: str  # 16 hex
    parent_span_id: str | None
    name: str
    start_time: datetime
    end_time: datetime
    status: str  # "Unset" | "Ok"
    attributes: Mapping[str, str] = field(default_factory=dict)


def _hex(seed: str, size: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[: size * 2]


def ldv_records(
    index: int,
    entry: Mapping[str, Any],
    *,
    processing_activity: Callable[[str], str | None],
    processor_of: Callable[[str], str],
    gateway_id: str,
) -> list[LdvRecord]:
    """The LDV records of one log entry (`entry` as `LogEntry.to_json()` gives it).

    `processing_activity(purpose)` gives the purpose's register URI (an entry that names one
    itself wins); `processor_of(partner)` the URL or URN of the partner on the other side. An
    entry without a data subject, or whose purpose names no processing activity, gives none.
    """
    subject = entry.get("subject")
    purpose = entry.get("purpose")
    if not subject or not purpose:
        return []
    activity = entry.get("processing_activity") or processing_activity(purpose)
    if not activity:
        return []
    trace = entry.get("trace") or {}
    seed = entry.get("exchange_id") or f"{gateway_id}:{index}"
    trace_id = trace.get("trace_id") or _hex("trace:" + seed, 16)
    exchange_span = trace.get("span_id")
    attributes: dict[str, str] = {
        ATTR_PROCESSING_ACTIVITY_ID: activity,
        ATTR_DATA_SUBJECT_ID: subject,
        ATTR_DATA_SUBJECT_ID_TYPE: subject_id_type(entry.get("subject_system")),
    }
    other = _other_side(entry)
    if other is not None:
        attributes[ATTR_FOREIGN_PROCESSOR] = processor_of(other)
        caller_span = trace.get("parent_span_id")
        if caller_span and other == (entry.get("sender") or {}).get("partner"):
            attributes[ATTR_FOREIGN_SPAN_ID] = caller_span
    moment = parse_time(entry["time"])
    return [
        LdvRecord(
            trace_id=trace_id,
            # One record per entry: several recipients of one exchange are several records,
            # children of the exchange's span.
            span_id=_hex(f"span:{gateway_id}:{index}", 8),
            parent_span_id=exchange_span,
            name=f"{purpose}:{entry['decision']}",
            start_time=moment,
            end_time=moment,
            status="Ok" if entry["decision"] in ("disclosed", "delivered") else "Unset",
            attributes=attributes,
        )
    ]


def _other_side(entry: Mapping[str, Any]) -> str | None:
    """The partner on the other side of the gateway: the sender, or else the recipient."""
    sender = entry.get("sender") or {}
    partner = sender.get("partner")
    if isinstance(partner, str):
        return partner
    recipient = entry.get("recipient")
    return recipient if isinstance(recipient, str) else None


def _nanos(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _span(record: LdvRecord) -> Span:
    return Span(
        trace_id=bytes.fromhex(record.trace_id),
        span_id=bytes.fromhex(record.span_id),
        parent_span_id=b""
        if record.parent_span_id is None
        else bytes.fromhex(record.parent_span_id),
        name=record.name,
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=_nanos(record.start_time),
        end_time_unix_nano=_nanos(record.end_time),
        attributes=[
            KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in record.attributes.items()
        ],
        status=Status(code=_STATUS[record.status]),
    )


def otlp_request(records: Iterable[LdvRecord], *, service_name: str) -> ExportTraceServiceRequest:
    """The OTLP trace export request (protobuf) carrying these records."""
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(
                    attributes=[
                        KeyValue(key="service.name", value=AnyValue(string_value=service_name))
                    ]
                ),
                scope_spans=[
                    ScopeSpans(
                        scope=InstrumentationScope(name=SCOPE_NAME),
                        spans=[_span(r) for r in records],
                    )
                ],
            )
        ]
    )


_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """OTLP/JSON of a request: protobuf's JSON mapping, with ids as hex as OTLP prescribes."""
    body: dict[str, Any] = json_format.MessageToDict(request)
    for resource in body.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            spans: Sequence[dict[str, Any]] = scope.get("spans", [])
            for span in spans:
                for key in _ID_FIELDS:
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return body
