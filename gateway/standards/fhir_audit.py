"""HL7 FHIR R4 AuditEvent: a disclosure-log entry as the resource health systems audit with.

The subject appears as the gateway's pseudonym (an identifier in the gateway's own system),
never as a BSN; the payload never appears, only the names of its fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PARTNER_SYSTEM", "PSEUDONYM_SYSTEM", "audit_event"]

DCM = "http://dicom.nema.org/resources/ontology/DCM"
PARTNER_SYSTEM = "urn:social-domain-gateway:partner"
PSEUDONYM_SYSTEM = "urn:social-domain-gateway:subject-pseudonym"
DECISION_SYSTEM = "urn:social-domain-gateway:decision"
PURPOSE_SYSTEM = "urn:social-domain-gateway:purpose"
ACTOR_SYSTEM = "urn:social-domain-gateway:actor"

_TYPE = {
    "disclosed": ("110106", "Export"),
    "delivered": ("110106", "Export"),
    "refused": ("110106", "Export"),
    "audit_access": ("110112", "Query"),
    "token_issued": ("110114", "User Authentication"),
    "token_refused": ("110114", "User Authentication"),
    "officer_signed_in": ("110114", "User Authentication"),
    "officer_signed_out": ("110114", "User Authentication"),
}
# FHIR's AuditEvent.action: C create, R read, U update, D delete, E execute.
_ACTION = {
    "consent_recorded": "C",
    "consent_withdrawn": "U",
    "birth_date_corrected": "U",
    "purged": "D",
    "audit_access": "R",
    "break_glass_reviewed": "U",
    "case_opened": "C",
    "case_member_added": "C",
    "case_member_changed": "U",
    "case_member_removed": "D",
    "case_closed": "U",
    "case_reopened": "U",
    "procesregie_handed_over": "U",
    "child_direction_set": "U",
    "household_child_registered": "C",
    "records_removed": "D",
    "subject_link_erased": "D",
}
_FAILED = frozenset({"refused", "token_refused", "partners_reload_failed"})


def _partner(
    partner: str, *, requestor: bool, actor: str | None, role: str | None
) -> dict[str, Any]:
    agent: dict[str, Any] = {
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                    "code": "datacollector" if requestor else "dataprocessor",
                }
            ]
        },
        "who": {"identifier": {"system": PARTNER_SYSTEM, "value": partner}},
        "requestor": requestor,
    }
    if actor:
        agent["altId"] = actor
    if role:
        agent["role"] = [{"coding": [{"system": ACTOR_SYSTEM, "code": role}]}]
    return agent


def audit_event(index: int, entry: Mapping[str, Any], *, gateway_id: str) -> dict[str, Any]:
    """The AuditEvent resource (as JSON) for the entry at `index` (`LogEntry.to_json()`)."""
    decision = entry["decision"]
    code, display = _TYPE.get(decision, ("110100", "Application Activity"))
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"log-{index}",
        "type": {"system": DCM, "code": code, "display": display},
        "subtype": [{"system": DECISION_SYSTEM, "code": decision}],
        "action": _ACTION.get(decision, "E"),
        "recorded": entry["time"],
        "outcome": "4" if decision in _FAILED else "0",
        "source": {
            "observer": {"display": gateway_id},
            "type": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "code": "4",
                    "display": "Application Server",
                }
            ],
        },
        "agent": [],
    }
    if entry.get("reason"):
        event["outcomeDesc"] = entry["reason"]
    purpose = entry.get("purpose")
    if purpose:
        basis = entry.get("legal_basis") or {}
        purpose_of_event: dict[str, Any] = {"coding": [{"system": PURPOSE_SYSTEM, "code": purpose}]}
        if basis.get("reference"):
            purpose_of_event["text"] = basis["reference"]
        event["purposeOfEvent"] = [purpose_of_event]
    sender = entry.get("sender")
    if sender:
        event["agent"].append(
            _partner(
                sender["partner"],
                requestor=True,
                actor=sender.get("actor"),
                role=sender.get("role"),
            )
        )
    if entry.get("recipient"):
        event["agent"].append(_partner(entry["recipient"], requestor=False, actor=None, role=None))
    if not event["agent"]:
        # AuditEvent needs an agent; with no partner involved the gateway itself acted.
        event["agent"].append({"who": {"display": gateway_id}, "requestor": False})
    entity: list[dict[str, Any]] = []
    if entry.get("subject"):
        entity.append(
            {
                "what": {"identifier": {"system": PSEUDONYM_SYSTEM, "value": entry["subject"]}},
                "type": {
                    "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                    "code": "1",
                    "display": "Person",
                },
                "role": {
                    "system": "http://terminology.hl7.org/CodeSystem/object-role",
                    "code": "1",
                    "display": "Patient",
                },
            }
        )
    if entry.get("fields") or entry.get("payload_sha256"):
        data: dict[str, Any] = {
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": "2",
                "display": "System Object",
            },
            "description": "fields disclosed: " + ", ".join(entry.get("fields") or ()),
        }
        if entry.get("exchange_id"):
            data["what"] = {"identifier": {"value": entry["exchange_id"]}}
        if entry.get("payload_sha256"):
            data["detail"] = [{"type": "payload_sha256", "valueString": entry["payload_sha256"]}]
        entity.append(data)
    if entity:
        event["entity"] = entity
    return event
