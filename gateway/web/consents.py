"""`/v1/consents`: record, list and withdraw consent; records are sealed at rest.

Who may see or change a consent: the partner that recorded it and the partners in its scope
(`from` and `to`). Withdrawal is for the recorder and the senders: they act for the person.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from aiohttp import web

from consent import (
    ConsentRecord,
    Evidence,
    Giver,
    consent_body_from_fhir,
    consent_to_fhir,
    parse_consent_request,
    status,
    withdraw,
)
from gateway.clock import DUTCH_TIME
from gateway.errors import Forbidden, InvalidRequest, NotFound
from gateway.log.entry import LogEntry, Sender, format_time, parse_time
from gateway.policy.decision import Caller
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import StoredConsent
from gateway.subject import parse_subject, parse_subject_query, require_accepted
from gateway.web.common import authenticate, gateway, new_id, read_json
from gateway.web.context import Gateway

__all__ = ["load_consents", "routes"]

routes = web.RouteTableDef()


def record_to_json(record: ConsentRecord) -> dict[str, Any]:
    """The full record (as sealed at rest); names and birth date stay inside the seal."""
    return {
        "consent_id": record.consent_id,
        "subject": record.subject,
        "birth_date": None if record.birth_date is None else record.birth_date.isoformat(),
        "given_by": [{"role": g.role, "name": g.name} for g in record.given_by],
        "purposes": sorted(record.purposes),
        "from": sorted(record.senders),
        "to": sorted(record.recipients),
        "valid_from": record.valid_from.isoformat(),
        "valid_until": None if record.valid_until is None else record.valid_until.isoformat(),
        "evidence": {"method": record.evidence.method, "reference": record.evidence.reference},
        "recorded_by": record.recorded_by,
        "recorded_at": format_time(record.recorded_at),
        "withdrawn_at": None if record.withdrawn_at is None else format_time(record.withdrawn_at),
        "subject_system": record.subject_system,
    }


def record_from_json(obj: dict[str, Any]) -> ConsentRecord:
    return ConsentRecord(
        consent_id=obj["consent_id"],
        subject=obj["subject"],
        birth_date=None if obj["birth_date"] is None else date.fromisoformat(obj["birth_date"]),
        given_by=tuple(Giver(role=g["role"], name=g["name"]) for g in obj["given_by"]),
        purposes=frozenset(obj["purposes"]),
        senders=frozenset(obj["from"]),
        recipients=frozenset(obj["to"]),
        valid_from=date.fromisoformat(obj["valid_from"]),
        valid_until=None if obj["valid_until"] is None else date.fromisoformat(obj["valid_until"]),
        evidence=Evidence(method=obj["evidence"]["method"], reference=obj["evidence"]["reference"]),
        recorded_by=obj["recorded_by"],
        recorded_at=parse_time(obj["recorded_at"]),
        withdrawn_at=None if obj["withdrawn_at"] is None else parse_time(obj["withdrawn_at"]),
        # Records sealed before subjects without a BSN existed have no such key.
        subject_system=obj.get("subject_system"),
    )


def _seal(gw: Gateway, record: ConsentRecord) -> StoredConsent:
    plaintext = json.dumps(record_to_json(record), separators=(",", ":")).encode()
    return StoredConsent(
        consent_id=record.consent_id,
        subject=record.subject,
        recorded_by=record.recorded_by,
        sealed_record=gw.cipher.seal(plaintext, b"consent:" + record.consent_id.encode()),
    )


def _unseal(gw: Gateway, stored: StoredConsent) -> ConsentRecord:
    plaintext = gw.cipher.open(stored.sealed_record, b"consent:" + stored.consent_id.encode())
    return record_from_json(json.loads(plaintext))


async def load_consents(gw: Gateway, subject: str) -> list[ConsentRecord]:
    """Every consent record of the subject behind this pseudonym."""
    return [_unseal(gw, s) for s in await gw.storage.consents_for_subject(subject)]


def _public(record: ConsentRecord, now: datetime) -> dict[str, Any]:
    """A record as the API shows it: no birth date, no names (they stay in the seal)."""
    out = record_to_json(record)
    del out["birth_date"], out["subject"], out["subject_system"]
    out["given_by"] = [{"role": g.role} for g in record.given_by]
    out["status"] = status(record, now)
    return out


def _involved(record: ConsentRecord, caller: Caller) -> bool:
    pid = caller.partner.id
    return (
        record.recorded_by == pid
        or pid in record.senders
        or pid in record.recipients
        or f"kind:{caller.partner.kind}" in record.recipients
    )


def _entry(now: datetime, decision: str, caller: Caller, record: ConsentRecord) -> LogEntry:
    return LogEntry(
        time=now,
        decision=decision,
        consent_id=record.consent_id,
        sender=Sender(caller.partner.id, caller.actor_id, caller.actor_role),
        subject=record.subject,
        subject_system=record.subject_system,
        trace=current_trace_json(),
        details={
            "purposes": sorted(record.purposes),
            "from": sorted(record.senders),
            "to": sorted(record.recipients),
            "given_by": sorted({g.role for g in record.given_by}),
        },
    )


@routes.post("/v1/consents")
async def record_consent(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    return await _record(gw, caller, await read_json(request))


@routes.post("/v1/consents/fhir")
async def record_fhir_consent(request: web.Request) -> web.Response:
    """An HL7 FHIR R4 Consent in, recorded with the same rules as POST /v1/consents."""
    gw = gateway(request)
    caller = authenticate(request)
    resource = await read_json(request)
    by_agb = {p.identifiers["agb"]: p.id for p in gw.partners if "agb" in p.identifiers}
    body = consent_body_from_fhir(
        resource,
        partner_by_agb=by_agb.get,
        identifier_systems=frozenset(gw.catalogue.identifier_systems),
    )
    return await _record(gw, caller, body)


@routes.get("/v1/consents/{consent_id}/fhir")
async def fhir_consent(request: web.Request) -> web.Response:
    """The consent as an HL7 FHIR R4 Consent (the person by pseudonym: the BSN is not kept)."""
    gw = gateway(request)
    caller = authenticate(request)
    record = await _involved_record(gw, caller, request.match_info["consent_id"])

    def agb_of(partner_id: str) -> str | None:
        partner = gw.partners.get(partner_id)
        return None if partner is None else partner.identifiers.get("agb")

    resource = consent_to_fhir(record, now=gw.now(), agb_of=agb_of)
    return web.json_response(resource, content_type="application/fhir+json")


async def _involved_record(gw: Gateway, caller: Caller, consent_id: str) -> ConsentRecord:
    stored = await gw.storage.get_consent(consent_id)
    record = None if stored is None else _unseal(gw, stored)
    if record is None or not _involved(record, caller):
        raise NotFound(
            "no such consent",
            "Check the consent id (GET /v1/consents?bsn=... or "
            "?identifier_system=...&identifier_value=...).",
        )
    return record


async def _record(gw: Gateway, caller: Caller, body: Any) -> web.Response:
    now = gw.now()
    draft = parse_consent_request(
        body,
        recorded_by=caller.partner.id,
        now=now.astimezone(DUTCH_TIME),
        new_id=lambda: new_id("con"),
        known_purposes=frozenset(p.id for p in gw.catalogue if p.consent_required),
    )
    systems = gw.catalogue.identifier_systems
    named = {k: v for k, v in body["subject"].items() if k != "birth_date"}
    subject = parse_subject(named, systems)
    require_accepted(subject, draft.purposes, systems)
    record = draft.to_record(gw.pseudonymiser.pseudonym_of(subject), subject.system)
    index = await gw.storage.add_consent(
        _seal(gw, record), _entry(now, "consent_recorded", caller, record)
    )
    return web.json_response(
        {"consent_id": record.consent_id, "status": status(record, now), "log_index": index},
        status=201,
    )


@routes.get("/v1/consents")
async def list_consents(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    named = parse_subject_query(request.query, gw.catalogue.identifier_systems)
    if named is None:
        raise InvalidRequest(
            "query parameter 'bsn' (or 'identifier_system' with 'identifier_value') is required",
            "Call GET /v1/consents?bsn=... or ?identifier_system=...&identifier_value=...",
        )
    subject = gw.pseudonymiser.pseudonym_of(named)
    now = gw.now()
    records = sorted(
        (r for r in await load_consents(gw, subject) if _involved(r, caller)),
        key=lambda r: (r.recorded_at, r.consent_id),
    )
    return web.json_response({"consents": [_public(r, now) for r in records]})


@routes.post("/v1/consents/{consent_id}/withdraw")
async def withdraw_consent(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    record = await _involved_record(gw, caller, request.match_info["consent_id"])
    if caller.partner.id != record.recorded_by and caller.partner.id not in record.senders:
        raise Forbidden(
            "only the partner that recorded a consent, or a sender it names, may withdraw it",
            f"Ask {record.recorded_by} to record the withdrawal.",
        )
    now = gw.now()
    if record.withdrawn_at is not None:
        return web.json_response(_public(record, now))
    withdrawn = withdraw(record, now=now)
    await gw.storage.replace_consent(
        _seal(gw, withdrawn), _entry(now, "consent_withdrawn", caller, withdrawn)
    )
    return web.json_response(_public(withdrawn, now))
