"""Consents: record, list and withdraw them; records are sealed at rest.

Who may record a consent: a partner for exchanges it sends itself, or the social team that directs
a case for exchanges between the case's members (`consent.scope`); anything else is refused and
logged. Who may see or change one: the partner that recorded it and the partners its `from` and
`to` name by id, when they may know of every other party it names (`shown`); the givers' names
only the recorder. Withdrawal is for the recorder and the
senders: they act for the person. The subject's birth date is held once (`service.birth_dates`).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from consent import (
    Authority,
    CaseScope,
    ConsentDraft,
    ConsentRecord,
    Evidence,
    Giver,
    MinorDecision,
    consent_to_fhir,
    giver_names_shown_to,
    parse_consent_request,
    shown_to,
    status,
    verify_givers,
    verify_recording_scope,
    withdraw,
)
from gateway.clock import DUTCH_TIME
from gateway.config.purposes import Catalogue
from gateway.delivery.atrest import AtRestCipher
from gateway.errors import (
    BirthDateMismatch,
    ConsentInvalid,
    ConsentScopeNotAllowed,
    Forbidden,
    GatewayError,
    NotFound,
)
from gateway.ids import new_id
from gateway.log.entry import LogEntry, Sender, format_time, parse_time
from gateway.policy.cases import directs
from gateway.policy.decision import Caller
from gateway.policy.retention import consent_retained_until
from gateway.policy.visibility import knows_of
from gateway.service.birth_dates import claim_birth_date, held_birth_date
from gateway.service.deps import ConsentContext, Settled
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import ConsentStore, StoredConsent
from gateway.store.links import find_pseudonym, pseudonym_for
from gateway.subject import Subject, parse_subject, require_accepted

__all__ = [
    "avg_consent_purposes",
    "consent_term",
    "fhir_consent",
    "involved_record",
    "list_consents",
    "load_consents",
    "public",
    "record_consent",
    "record_from_json",
    "record_to_json",
    "shown",
    "withdraw_consent",
]


def record_to_json(record: ConsentRecord) -> dict[str, Any]:
    """The full record (as sealed at rest); names and birth date stay inside the seal."""
    return {
        "consent_id": record.consent_id,
        "subject": record.subject,
        "birth_date": None if record.birth_date is None else record.birth_date.isoformat(),
        "given_by": [_giver_to_json(g) for g in record.given_by],
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
        given_by=tuple(_giver_from_json(g) for g in obj["given_by"]),
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


def _giver_to_json(giver: Giver) -> dict[str, Any]:
    out: dict[str, Any] = {"role": giver.role, "name": giver.name}
    if giver.authority is not None:
        out["authority"] = {
            "established_by": giver.authority.established_by,
            "reference": giver.authority.reference,
        }
    if giver.decides_alone is not None:
        out["decides_alone"] = {
            "ground": giver.decides_alone.ground,
            "reference": giver.decides_alone.reference,
        }
    return out


def _giver_without_names(giver: Giver) -> dict[str, Any]:
    """A giver as a party other than the recorder sees it: the role, and the kind of evidence
    for a representative's authority or a child's own decision, never names or references."""
    out: dict[str, Any] = {"role": giver.role}
    if giver.authority is not None:
        out["authority"] = {"established_by": giver.authority.established_by}
    if giver.decides_alone is not None:
        out["decides_alone"] = {"ground": giver.decides_alone.ground}
    return out


def _giver_from_json(obj: dict[str, Any]) -> Giver:
    # Records sealed before representation was recorded have neither key.
    authority = obj.get("authority")
    decision = obj.get("decides_alone")
    return Giver(
        role=obj["role"],
        name=obj["name"],
        authority=None
        if authority is None
        else Authority(
            established_by=authority["established_by"], reference=authority["reference"]
        ),
        decides_alone=None
        if decision is None
        else MinorDecision(ground=decision["ground"], reference=decision["reference"]),
    )


def _seal(cipher: AtRestCipher, record: ConsentRecord, catalogue: Catalogue) -> StoredConsent:
    plaintext = json.dumps(record_to_json(record), separators=(",", ":")).encode()
    return StoredConsent(
        consent_id=record.consent_id,
        subject=record.subject,
        recorded_by=record.recorded_by,
        sealed_record=cipher.seal(plaintext, b"consent:" + record.consent_id.encode()),
        retain_until=_retained_until(record, catalogue),
    )


def _retained_until(record: ConsentRecord, catalogue: Catalogue) -> datetime | None:
    return consent_retained_until(
        withdrawn_at=record.withdrawn_at,
        valid_until=record.valid_until,
        purposes=record.purposes,
        catalogue=catalogue,
    )


def consent_term(
    cipher: AtRestCipher, stored: StoredConsent, catalogue: Catalogue
) -> datetime | None:
    """When a stored consent's retention ends, from its sealed record (for consents recorded
    before the end was stored beside it)."""
    return _retained_until(_unseal(cipher, stored), catalogue)


def _unseal(cipher: AtRestCipher, stored: StoredConsent) -> ConsentRecord:
    plaintext = cipher.open(stored.sealed_record, b"consent:" + stored.consent_id.encode())
    return record_from_json(json.loads(plaintext))


async def load_consents(
    store: ConsentStore, cipher: AtRestCipher, subject: str
) -> list[ConsentRecord]:
    """Every consent record of the subject behind this pseudonym."""
    return [_unseal(cipher, s) for s in await store.consents_for_subject(subject)]


def avg_consent_purposes(catalogue: Catalogue, record: ConsentRecord) -> list[str]:
    """The record's purposes whose ground, for some direction, rests on AVG art. 6(1)(a).

    For those purposes the agreement is also the AVG consent; for every other purpose it is the
    client's agreement that professional secrecy asks for, and the AVG ground is another one
    (docs/legal-basis.md section 8.1). The shipped catalogue has no such purpose.
    """
    found = []
    for purpose_id in sorted(record.purposes):
        purpose = catalogue.get(purpose_id)
        if purpose is None:
            continue
        grounds = (purpose.ground, *purpose.direction_grounds)
        if any("a" in ground.avg_art6 for ground in grounds):
            found.append(purpose_id)
    return found


def public(
    record: ConsentRecord, now: datetime, viewer: str, catalogue: Catalogue | None = None
) -> dict[str, Any]:
    """A record as the API shows it to ``viewer``: no birth date; givers' names to the recorder.

    The same rule decides the FHIR form's names (`giver_names_shown_to`). With the catalogue,
    ``avg_consent_purposes`` names the purposes for which the agreement is also AVG consent.
    """
    out = record_to_json(record)
    del out["birth_date"], out["subject"], out["subject_system"]
    if not giver_names_shown_to(record, viewer):
        out["given_by"] = [_giver_without_names(g) for g in record.given_by]
    else:
        # The recorder took the agreement down and holds its evidence: names and the evidence
        # of authority and of a child's own decision are shown to it, roles only to the others.
        out["given_by"] = [
            {k: v for k, v in _giver_to_json(g).items() if v is not None} for g in record.given_by
        ]
    out["status"] = status(record, now.astimezone(DUTCH_TIME))  # validity days are Dutch dates
    if catalogue is not None:
        out["avg_consent_purposes"] = avg_consent_purposes(catalogue, record)
    return out


def shown(gw: Settled, record: ConsentRecord, caller: Caller) -> bool:
    """Whether the caller may learn of the record at all (`consent.shown_to`).

    The recorder may. A partner named in it by id may when its kind may know of every other
    party ([case_network_visibility]): a director's consent for a case names its members, and a
    school must not learn from it that a certified institution or a care provider is involved,
    as the case network itself would not tell it; the record is then as absent as one it has no
    part in, rather than shown with a gap. A partner that a `kind:` entry covers is no party: a
    care provider's consent for `kind:school` tells no school that it was recorded.
    """
    sees = knows_of(caller.partner, gw.partners, gw.catalogue.case_network_visibility)
    return shown_to(record, caller.partner.id, sees)


def _entry(
    now: datetime,
    decision: str,
    caller: Caller,
    record: ConsentRecord,
    *,
    case_id: str | None = None,
) -> LogEntry:
    return LogEntry(
        time=now,
        decision=decision,
        consent_id=record.consent_id,
        sender=Sender(caller.partner.id, caller.actor_id, caller.actor_role),
        subject=record.subject,
        subject_system=record.subject_system,
        case_id=case_id,
        trace=current_trace_json(),
        details={
            "purposes": sorted(record.purposes),
            "from": sorted(record.senders),
            "to": sorted(record.recipients),
            "given_by": sorted({g.role for g in record.given_by}),
        },
    )


def _refused_entry(
    now: datetime, caller: Caller, record: ConsentRecord, refusal: GatewayError
) -> LogEntry:
    """A refused recording: who tried, about whom (pseudonym), which purposes, and why.

    No consent id (nothing was recorded), no date, no parties or case id as the caller wrote them.
    """
    field = refusal.extra.get("field")
    return LogEntry(
        time=now,
        decision="refused",
        reason=refusal.code,
        sender=Sender(caller.partner.id, caller.actor_id, caller.actor_role),
        subject=record.subject,
        subject_system=record.subject_system,
        trace=current_trace_json(),
        details={
            "act": "record_consent",
            "purposes": sorted(record.purposes),
            **({"field": field} if isinstance(field, str) else {}),
        },
    )


async def involved_record(gw: ConsentContext, caller: Caller, consent_id: str) -> ConsentRecord:
    stored = await gw.storage.get_consent(consent_id)
    record = None if stored is None else _unseal(gw.cipher, stored)
    if record is None or not shown(gw, record, caller):
        raise NotFound(
            "no such consent",
            "Check the consent id (GET /v1/consents?bsn=... or "
            "?identifier_system=...&identifier_value=...).",
        )
    return record


async def record_consent(gw: ConsentContext, caller: Caller, body: Any) -> dict[str, Any]:
    """Record a consent from its request body (JSON or converted FHIR); answer the 201 body."""
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
    record = draft.to_record(
        await pseudonym_for(gw.storage, gw.pseudonymiser, subject, now), subject.system
    )
    try:
        case_id = await _verify_scope(gw, caller, draft, record.subject)
        await _settle_birth_date(gw, draft, record, now)
    except (ConsentScopeNotAllowed, BirthDateMismatch, ConsentInvalid) as refusal:
        # Each of these may answer a probe about the person (is a birth date held, which age
        # band): every such answer is a logged refusal an officer sees.
        await gw.storage.append_log([_refused_entry(now, caller, record, refusal)])
        raise
    index = await gw.storage.add_consent(
        _seal(gw.cipher, record, gw.catalogue),
        _entry(now, "consent_recorded", caller, record, case_id=case_id),
    )
    return {
        "consent_id": record.consent_id,
        "status": status(record, now.astimezone(DUTCH_TIME)),
        "log_index": index,
    }


async def _verify_scope(
    gw: ConsentContext, caller: Caller, draft: ConsentDraft, subject: str
) -> str | None:
    """Refuse a scope the caller may not record; answer the case it records for, if any."""
    case = None
    if draft.case_id is not None:
        recorded = await gw.storage.get_case(draft.case_id)
        members = await gw.storage.case_network(draft.case_id)
        partners = [gw.partners.get(m.partner_id) for m in members]
        case = CaseScope(
            directors=frozenset(p.id for p in partners if p is not None and directs(recorded, p)),
            members=frozenset(m.partner_id for m in members),
            household=frozenset(c.subject for c in await gw.storage.household(draft.case_id)),
        )

    def kind_of(partner_id: str) -> str | None:
        partner = gw.partners.get(partner_id)
        return None if partner is None else partner.kind

    verify_recording_scope(
        draft.scope,
        recorder=caller.partner.id,
        recorder_kind=caller.partner.kind,
        kind_of=kind_of,
        sender_kinds={p.id: p.sender_kinds for p in gw.catalogue},
        case=case,
        subject=subject,
    )
    return draft.case_id


async def _settle_birth_date(
    gw: ConsentContext, draft: ConsentDraft, record: ConsentRecord, now: datetime
) -> None:
    """Hold the consent's birth date if none is held; refuse one that contradicts the held date.

    Without a birth date of its own the consent's givers are checked against the held date too.
    Messages name no other record, no recorder and not the held date.
    """
    held = await held_birth_date(gw.storage, gw.cipher, record.subject)
    if held is None:
        # A subject with consents from before the gateway held birth dates: one date agreed on
        # by all its records is taken as held.
        consents = await load_consents(gw.storage, gw.cipher, record.subject)
        known = {r.birth_date for r in consents if r.birth_date}
        if draft.birth_date is not None and known and draft.birth_date not in known:
            raise _mismatch()
        first = draft.birth_date or (next(iter(known)) if len(known) == 1 else None)
        if first is not None:
            held = await claim_birth_date(gw.storage, gw.cipher, record.subject, first, now)
    if held is None:
        return
    if draft.birth_date is not None and draft.birth_date != held:
        raise _mismatch()
    if draft.birth_date is None:
        try:
            verify_givers(held, draft.given_by, now.astimezone(DUTCH_TIME).date())
        except ConsentInvalid:
            # Not the age band: the caller gave no birth date, so it is not told the held one's.
            raise ConsentInvalid(
                "The givers do not satisfy the age rules for this subject's birth date as the "
                "gateway holds it.",
                "Give subject.birth_date and the givers the age rules require for it (under 12: "
                "a custodian; 12 to 15: the subject and a custodian; 16 or older: the subject).",
                field="/given_by",
            ) from None


def _mismatch() -> BirthDateMismatch:
    return BirthDateMismatch(
        "Field /subject/birth_date differs from the birth date the gateway holds for this "
        "subject; the consent is not recorded.",
        "Check the birth date with the family or the Basisregistratie Personen. If the date the "
        "gateway holds is wrong, the social team that directs a case of the child corrects it "
        "(POST /v1/subjects/birth-date).",
        field="/subject/birth_date",
    )


async def list_consents(gw: ConsentContext, caller: Caller, named: Subject) -> list[dict[str, Any]]:
    """The subject's consents the caller is a party to, oldest first, as the caller may see them."""
    subject = await find_pseudonym(gw.storage, gw.pseudonymiser, named)
    now = gw.now()
    held = [] if subject is None else await load_consents(gw.storage, gw.cipher, subject)
    records = sorted(
        (r for r in held if shown(gw, r, caller)),
        key=lambda r: (r.recorded_at, r.consent_id),
    )
    return [public(r, now, caller.partner.id, gw.catalogue) for r in records]


async def withdraw_consent(gw: ConsentContext, caller: Caller, consent_id: str) -> dict[str, Any]:
    """The recorder or a sender withdraws a consent (again: the same answer, nothing logged)."""
    record = await involved_record(gw, caller, consent_id)
    if caller.partner.id != record.recorded_by and caller.partner.id not in record.senders:
        raise Forbidden(
            "only the partner that recorded a consent, or a sender it names, may withdraw it",
            f"Ask {record.recorded_by} to record the withdrawal.",
        )
    now = gw.now()
    if record.withdrawn_at is not None:
        return public(record, now, caller.partner.id, gw.catalogue)
    withdrawn = withdraw(record, now=now)
    await gw.storage.replace_consent(
        _seal(gw.cipher, withdrawn, gw.catalogue),
        _entry(now, "consent_withdrawn", caller, withdrawn),
    )
    return public(withdrawn, now, caller.partner.id, gw.catalogue)


async def fhir_consent(gw: ConsentContext, caller: Caller, consent_id: str) -> dict[str, Any]:
    """The consent as an HL7 FHIR R4 Consent (the person by pseudonym: the BSN is not kept)."""
    record = await involved_record(gw, caller, consent_id)

    def agb_of(partner_id: str) -> str | None:
        partner = gw.partners.get(partner_id)
        return None if partner is None else partner.identifiers.get("agb")

    return consent_to_fhir(
        record,
        now=gw.now().astimezone(DUTCH_TIME),  # validity days are Dutch dates
        agb_of=agb_of,
        show_giver_names=giver_names_shown_to(record, caller.partner.id),
    )
