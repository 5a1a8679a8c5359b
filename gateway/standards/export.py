"""Export log rows in a standard's shape: LDV records as OTLP/JSON, or FHIR AuditEvents."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.config import Catalogue, PartnerRegistry
from gateway.standards.fhir_audit import PARTNER_SYSTEM, audit_event
from gateway.standards.ldv import LdvRecord, ldv_records, otlp_json, otlp_request
from gateway.store.base import LogRow

__all__ = ["fhir_bundle", "ldv_export", "ldv_for_rows", "processor_of"]


def processor_of(partners: PartnerRegistry, partner_id: str) -> str:
    """How an LDV record points at a partner: its OIN as a URN, else its gateway id."""
    partner = partners.get(partner_id)
    oin = None if partner is None else partner.identifiers.get("oin")
    return f"urn:oin:{oin}" if oin else f"{PARTNER_SYSTEM}:{partner_id}"


def ldv_for_rows(
    rows: Iterable[LogRow], catalogue: Catalogue, partners: PartnerRegistry, gateway_id: str
) -> list[LdvRecord]:
    records: list[LdvRecord] = []
    for row in rows:
        records += ldv_records(
            row.index,
            row.entry.to_json(),
            processing_activity=lambda pid: _activity(catalogue, pid),
            processor_of=lambda partner: processor_of(partners, partner),
            gateway_id=gateway_id,
        )
    return records


def _activity(catalogue: Catalogue, purpose_id: str) -> str | None:
    purpose = catalogue.get(purpose_id)
    return None if purpose is None else purpose.processing_activity or None


def ldv_export(
    rows: Iterable[LogRow], catalogue: Catalogue, partners: PartnerRegistry, gateway_id: str
) -> dict[str, Any]:
    """One OTLP/JSON ExportTraceServiceRequest holding the LDV records of these rows."""
    records = ldv_for_rows(rows, catalogue, partners, gateway_id)
    return otlp_json(otlp_request(records, service_name=gateway_id))


def fhir_bundle(rows: Iterable[LogRow], gateway_id: str) -> dict[str, Any]:
    """A FHIR R4 `collection` Bundle of one AuditEvent per row."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": audit_event(row.index, row.entry.to_json(), gateway_id=gateway_id)}
            for row in rows
        ],
    }
