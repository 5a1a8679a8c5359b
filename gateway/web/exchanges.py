"""`POST /v1/exchanges` and `POST /v1/exchanges/check`: decide, record durably, deliver."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from aiohttp import web

from gateway.config import Purpose
from gateway.container import Gateway
from gateway.delivery import sealed
from gateway.delivery.outbox import vng_outbox_items
from gateway.errors import GatewayError, InvalidRequest, UnknownCase, UnknownCaseNetwork
from gateway.log.entry import LogEntry, Sender, canonical_json, format_time
from gateway.policy import (
    CaseNetworkTarget,
    ExchangeRequest,
    allowed_fields,
    decide,
    parse_exchange_request,
)
from gateway.policy.cases import is_member, reachable_members
from gateway.policy.decision import Caller, Decision
from gateway.policy.workflow import check_reply, plan_effects
from gateway.standards.tracecontext import (
    TraceContext,
    child_of,
    current_trace,
)
from gateway.store.base import BreakGlassRecord, ExchangeEffects, Expectation, StoredMessage
from gateway.web.birth_dates import held_birth_date
from gateway.web.common import (
    authenticate,
    gateway,
    json_answer,
    new_id,
    random_bytes,
    read_json,
)
from gateway.web.consents import load_consents

__all__ = ["routes"]

log = structlog.get_logger("gateway.exchange")
routes = web.RouteTableDef()

# Refusals below this line of the decision order are logged; a body that is not even a request
# (invalid_request, invalid_subject) is answered but changes nothing, the log included.
_LOGGED_REFUSALS = frozenset(
    {
        "unknown_purpose",
        "sender_not_allowed",
        "recipient_not_allowed",
        "unknown_recipient",
        "consent_required",
        "break_glass_not_allowed",
        "schema_violation",
        "payload_not_minimal",
        "invalid_request",  # only raised past parsing: a reply that answers no open request
        "not_found",  # a case_id naming no case the sender is a member of
    }
)


async def _recipients(
    gw: Gateway, request: ExchangeRequest, caller: Caller
) -> tuple[list[str], bool]:
    if isinstance(request.to, CaseNetworkTarget):
        members = await gw.storage.case_network(request.to.case_id)
        if not is_member(members, caller.partner.id):
            # A non-member learns nothing: the same refusal as for a case that does not exist,
            # naming no member (and logged without a recipient or the id).
            raise UnknownCaseNetwork()
        # The sender is in its own network but not a recipient of what it sends; the send
        # reaches only the members it may see and that may see it ([case_network_visibility]).
        reached = reachable_members(
            members,
            sender=caller.partner,
            partners=gw.partners,
            visibility=gw.catalogue.case_network_visibility,
        )
        return reached, True
    return list(request.to), False


async def _verify_case(gw: Gateway, caller: Caller, request: ExchangeRequest) -> None:
    """Return when the exchange names no case, or a case its sender is a member of.

    Checked before anything else, so no refusal is logged with a case id: an id that is not the
    sender's case is the caller's own text, and naming someone else's case would tie this
    exchange to a family the sender was never let into.
    """
    if request.case_id is None:
        return
    members = await gw.storage.case_network(request.case_id)
    if not is_member(members, caller.partner.id):
        raise UnknownCase()


async def _decide(
    gw: Gateway, caller: Caller, request: ExchangeRequest, subject: str, now: datetime
) -> tuple[Decision, list[str]]:
    recipients, fan_out = await _recipients(gw, request, caller)
    purpose = gw.catalogue.get(request.purpose)
    # Only a consent-based purpose without break-glass reads consents: a statutory exchange
    # spares its storage round trip (the decision never looks at them there).
    needs_consent = purpose is not None and purpose.consent_required and request.break_glass is None
    consents = await load_consents(gw, subject) if needs_consent else []
    held = await held_birth_date(gw, subject) if needs_consent else None
    decision = decide(
        request,
        caller=caller,
        recipients=recipients,
        fan_out=fan_out,
        catalogue=gw.catalogue,
        partners=gw.partners,
        consents=consents,
        now=now,
        held_birth_date=held,
    )
    return decision, recipients


def _payload_digest(payload: Any, salt: bytes) -> str:
    """SHA-256 over a per-exchange salt and the canonical payload.

    The salt keeps low-entropy payloads (a status code) from being guessed from the log; the
    recipient receives it with the message and can recompute the digest.
    """
    return hashlib.sha256(salt + canonical_json(payload)).hexdigest()


@routes.post("/v1/exchanges")
async def send(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    body = await read_json(request)
    parsed = parse_exchange_request(
        body, payload_required=True, identifier_systems=gw.catalogue.identifier_systems
    )
    trace = current_trace()
    assert trace is not None, "trace_middleware sets the call's trace context"
    return json_answer(await execute_exchange(gw, caller, parsed, trace), status=201)


async def _check_reply(gw: Gateway, caller: Caller, parsed: ExchangeRequest, subject: str) -> None:
    """Refuse a reply purpose that answers no open request of the caller, or more than it asked."""
    purpose = gw.catalogue.get(parsed.purpose)
    if purpose is None or purpose.reply_to is None:
        return
    request = None
    if parsed.in_reply_to is not None:
        owed = await gw.storage.open_expectations(owed_by=caller.partner.id, purpose=purpose.id)
        request = next((e for e in owed if e.origin_exchange_id == parsed.in_reply_to), None)
    asked = None
    if request is not None and request.constraints is not None:
        asked = json.loads(gw.cipher.open(request.constraints, request.expectation_id.encode()))
    recipients = list(parsed.to) if isinstance(parsed.to, tuple) else []
    check_reply(
        purpose,
        subject=subject,
        in_reply_to=parsed.in_reply_to,
        recipients=recipients,
        request=request,
        asked=asked,
        payload=parsed.payload,
    )


async def _closable(
    gw: Gateway, caller: Caller, parsed: ExchangeRequest, purpose: Purpose
) -> list[Expectation]:
    """The sender's open expectations this exchange could close: same purpose, and tied to it.

    plan_effects closes only those of this purpose that answer `in_reply_to` or share the case,
    so an exchange naming neither closes nothing and needs no storage read.
    """
    if parsed.in_reply_to is None and parsed.case_id is None:
        return []
    return await gw.storage.open_expectations(owed_by=caller.partner.id, purpose=purpose.id)


async def _effects(
    warnings: list[str],
    gw: Gateway,
    caller: Caller,
    parsed: ExchangeRequest,
    decision: Decision,
    subject: str,
    exchange_id: str,
    now: datetime,
) -> ExchangeEffects:
    assert parsed.payload is not None
    purpose = decision.purpose
    per_child = any(e.per_child for e in purpose.expects_reply)
    household = (
        await gw.storage.household(parsed.case_id)
        if parsed.case_id is not None and per_child
        else []
    )
    planned = plan_effects(
        purpose=purpose,
        exchange_id=exchange_id,
        sender=caller.partner.id,
        recipients=[r.recipient for r in decision.allowed],
        case_id=parsed.case_id,
        subject=subject,
        payload=parsed.payload,
        in_reply_to=parsed.in_reply_to,
        owed_by_sender=await _closable(gw, caller, parsed, purpose),
        household=household,
        now=now,
        seal=lambda data, eid: gw.cipher.seal(data, eid.encode()),
        new_id=lambda: new_id("exp"),
    )
    if per_child and not household:
        warnings.append(
            "no household is registered for this case: only the referred child is expected to "
            "get a safety assessment; register every child with PUT /v1/cases/{case_id}/household "
            "so none is missed"
        )
    if parsed.break_glass is None:
        return planned
    record = BreakGlassRecord(
        exchange_id=exchange_id,
        sender=caller.partner.id,
        purpose=purpose.id,
        created_at=now,
        sealed=gw.cipher.seal(
            json.dumps({**parsed.break_glass.to_json(), "actor": caller.actor_id}).encode(),
            b"break-glass:" + exchange_id.encode(),
        ),
    )
    return replace(planned, break_glass=record)


async def execute_exchange(
    gw: Gateway, caller: Caller, parsed: ExchangeRequest, trace: TraceContext | None = None
) -> dict[str, Any]:
    """Decide, and when allowed record and deliver durably; answer the contract's 201 body.

    Refusals are raised (and logged where the request was a real one); nothing is acknowledged
    before the log entries, the sealed messages and the expectations are committed together.
    Every entry names the exchange's W3C trace (a new one when the caller sent none).
    """
    trace = trace or current_trace() or child_of(None)
    now = gw.now()
    subject = gw.pseudonymiser.pseudonym_of(parsed.subject)
    sender = Sender(caller.partner.id, caller.actor_id, caller.actor_role)
    exchange_id = new_id("ex")
    # A purpose outside the catalogue is the caller's text: log lines say only that it was one.
    known_purpose = parsed.purpose if gw.catalogue.get(parsed.purpose) is not None else "unknown"
    structlog.contextvars.bind_contextvars(partner=caller.partner.id, purpose=known_purpose)
    try:
        await _verify_case(gw, caller, parsed)
        await _check_reply(gw, caller, parsed, subject)
        decision, _ = await _decide(gw, caller, parsed, subject, now)
    except GatewayError as refusal:
        if refusal.code in _LOGGED_REFUSALS:
            await gw.storage.append_log(
                [
                    _standards(
                        gw,
                        trace,
                        _refusal_entry(gw, now, exchange_id, parsed, sender, subject, refusal),
                    )
                ]
            )
        raise
    assert parsed.payload is not None
    salt = random_bytes(16)
    digest = _payload_digest(parsed.payload, salt)
    entries: list[LogEntry] = []
    messages: list[StoredMessage] = []
    disclosures: list[dict[str, Any]] = []
    standards = _standards_fields(gw, trace, decision.purpose.id)
    for outcome in decision.recipients:
        if outcome.refusal is not None:
            entries.append(
                _refusal_entry(
                    gw, now, exchange_id, parsed, sender, subject, outcome.refusal.to_error()
                )
            )
            continue
        assert outcome.legal_basis is not None
        disclosure_id = new_id("dis")
        message_id = new_id("msg")
        entries.append(
            LogEntry(
                time=now,
                decision="disclosed",
                reason=outcome.legal_basis.type,
                exchange_id=exchange_id,
                disclosure_id=disclosure_id,
                purpose=decision.purpose.id,
                legal_basis=outcome.legal_basis.to_json(),
                consent_id=outcome.consent_id,
                sender=sender,
                recipient=outcome.recipient,
                subject=subject,
                subject_system=parsed.subject.system,
                case_id=parsed.case_id,
                fields=decision.fields,
                payload_sha256=digest,
                break_glass=decision.break_glass,
                details={
                    "message_id": message_id,
                    **({"review": "pending"} if decision.break_glass else {}),
                },
                **standards,
            )
        )
        messages.append(
            _message(
                gw,
                decision.purpose,
                parsed,
                caller,
                now,
                (exchange_id, disclosure_id, message_id),
                outcome.recipient,
                salt,
                trace,
                subject,
            )
        )
        disclosures.append(
            {
                "disclosure_id": disclosure_id,
                "recipient": outcome.recipient,
                "message_id": message_id,
            }
        )
    warnings: list[str] = []
    effects = await _effects(warnings, gw, caller, parsed, decision, subject, exchange_id, now)
    entries = [e if e.trace is not None else _standards(gw, trace, e) for e in entries]
    outbox = vng_outbox_items(gw, entries, _subject_as_given(parsed))
    indices = await gw.storage.record_exchange(entries, messages, effects, outbox)
    by_disclosure = {e.disclosure_id: i for e, i in zip(entries, indices, strict=True)}
    for item in disclosures:
        item["log_index"] = by_disclosure[item["disclosure_id"]]
    first_basis = decision.allowed[0].legal_basis
    assert first_basis is not None
    # Debug level: at info it cost about 8% of an exchange's CPU, and the disclosure log holds
    # every exchange anyway (metrics count them).
    log.debug("exchange_disclosed", recipients=len(disclosures), refused=len(decision.refused))
    answer: dict[str, Any] = {
        "exchange_id": exchange_id,
        "purpose": decision.purpose.id,
        "legal_basis": first_basis.to_json(),
        "consent_id": decision.allowed[0].consent_id,
        "disclosures": disclosures,
        "payload_sha256": digest,
        "trace": {"traceparent": trace.traceparent(), **trace.to_json()},
    }
    if decision.refused:
        answer["refused"] = [
            {"recipient": r.recipient, **(r.refusal.to_body()["error"] if r.refusal else {})}
            for r in decision.refused
        ]
    if effects.open:
        answer["expectations_opened"] = [
            {
                "expectation_id": e.expectation_id,
                "purpose": e.purpose,
                "owed_by": e.owed_by,
                "due_at": format_time(e.due_at),
                "child_ref": e.child_ref,
            }
            for e in effects.open
        ]
    if effects.close:
        answer["expectations_closed"] = list(effects.close)
    if decision.break_glass:
        answer["break_glass"] = {"review": "pending"}
    if warnings:
        answer["warnings"] = warnings
    return answer


def _message(
    gw: Gateway,
    purpose: Purpose,
    parsed: ExchangeRequest,
    caller: Caller,
    now: datetime,
    ids: tuple[str, str, str],
    recipient: str,
    salt: bytes,
    trace: TraceContext,
    subject: str,
) -> StoredMessage:
    """The recipient's message, sealed before it is stored: HPKE to its key, else at rest."""
    exchange_id, disclosure_id, message_id = ids
    plaintext = orjson.dumps(
        {
            "subject": parsed.subject.to_json(),
            "payload": parsed.payload,
            "payload_salt": base64.urlsafe_b64encode(salt).decode().rstrip("="),
            # W3C Trace Context passed on, so the recipient continues the same trace.
            "traceparent": trace.traceparent(),
            **({"tracestate": trace.tracestate} if trace.tracestate is not None else {}),
        }
    )
    partner = gw.partners.get(recipient)
    enc = None if partner is None else partner.keys.encryption
    if enc is not None:
        sealing, body = "hpke", sealed.seal(plaintext, enc.public_key, message_id)
    else:
        sealing, body = "at-rest", gw.cipher.seal(plaintext, message_id.encode())
    return StoredMessage(
        message_id=message_id,
        recipient=recipient,
        subject=subject,
        exchange_id=exchange_id,
        disclosure_id=disclosure_id,
        purpose=purpose.id,
        sender_partner=caller.partner.id,
        sender_role=caller.actor_role,
        case_id=parsed.case_id,
        in_reply_to=parsed.in_reply_to,
        sent_at=now,
        retain_until=now + timedelta(days=purpose.inbox_retention_days),
        sealing=sealing,
        body=body,
        subject_system=parsed.subject.system,
    )


def _subject_as_given(parsed: ExchangeRequest) -> dict[str, Any]:
    """The subject as the sender named it (what a partner's own processing log records)."""
    return dict(parsed.subject.to_json())


def _standards(gw: Gateway, trace: TraceContext, entry: LogEntry) -> LogEntry:
    """The entry with its trace and its purpose's processing activity and confidentiality."""
    return replace(entry, **_standards_fields(gw, trace, entry.purpose))


def _standards_fields(gw: Gateway, trace: TraceContext, purpose_id: str | None) -> dict[str, Any]:
    """An entry's trace and its purpose's processing activity and confidentiality, as fields."""
    purpose = gw.catalogue.get(purpose_id) if purpose_id is not None else None
    return {
        "trace": trace.to_json(),
        "processing_activity": None if purpose is None else purpose.processing_activity,
        "confidentiality": None if purpose is None else purpose.confidentiality,
    }


def _refusal_entry(
    gw: Gateway,
    now: datetime,
    exchange_id: str,
    parsed: ExchangeRequest,
    sender: Sender,
    subject: str,
    refusal: GatewayError,
) -> LogEntry:
    # Whatever refused the exchange (and checks run in an order), the log takes a purpose only
    # from the catalogue and a recipient only from the partner registry: anything else is the
    # caller's own text (a BSN, a name), which never enters the log.
    recipient = refusal.extra.get("recipient")
    if recipient is None and isinstance(parsed.to, tuple) and len(parsed.to) == 1:
        recipient = parsed.to[0]
    if not isinstance(recipient, str) or gw.partners.get(recipient) is None:
        recipient = None
    missing = refusal.extra.get("missing_consent")
    details: dict[str, Any] = {}
    if missing is not None:
        details["missing_consent"] = missing
    violations = refusal.extra.get("violations")
    if violations:
        details["violation_paths"] = [v["path"] for v in violations]
    # A case id that is not the caller's case is the caller's text: kept out like the rest.
    case_known = not isinstance(refusal, UnknownCase | UnknownCaseNetwork)
    if isinstance(parsed.to, CaseNetworkTarget) and case_known:
        details["case_network"] = parsed.to.case_id
    return LogEntry(
        time=now,
        decision="refused",
        reason=refusal.code,
        exchange_id=exchange_id,
        purpose=parsed.purpose if gw.catalogue.get(parsed.purpose) is not None else None,
        sender=sender,
        recipient=recipient,
        subject=subject,
        subject_system=parsed.subject.system,
        case_id=parsed.case_id if case_known else None,
        break_glass=parsed.break_glass is not None,
        details=details,
    )


@routes.post("/v1/exchanges/check")
async def check(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    body = await read_json(request)
    parsed = parse_exchange_request(
        body, payload_required=False, identifier_systems=gw.catalogue.identifier_systems
    )
    now = gw.now()
    subject = gw.pseudonymiser.pseudonym_of(parsed.subject)
    purpose = gw.catalogue.get(parsed.purpose)
    fields = list(allowed_fields(purpose.schema)) if purpose is not None else []
    try:
        await _verify_case(gw, caller, parsed)
        decision, _ = await _decide(gw, caller, parsed, subject, now)
    except GatewayError as refusal:
        if isinstance(refusal, InvalidRequest):
            raise
        return web.json_response(
            {
                "allowed": False,
                "code": refusal.code,
                "purpose": parsed.purpose,
                "legal_basis": None if purpose is None else purpose.legal_basis.to_json(),
                "consent_id": None,
                "allowed_fields": fields,
                "missing_consent": refusal.extra.get("missing_consent"),
                "violations": refusal.extra.get("violations"),
                "explanation": refusal.message,
                "how_to_fix": refusal.how_to_fix,
            }
        )
    first = decision.allowed[0]
    return web.json_response(
        {
            "allowed": True,
            "code": "allowed",
            "purpose": decision.purpose.id,
            "legal_basis": None if first.legal_basis is None else first.legal_basis.to_json(),
            "consent_id": first.consent_id,
            "allowed_fields": fields,
            "missing_consent": None,
            "recipients": [_recipient_check(r) for r in decision.recipients],
            "explanation": _explain_allowed(decision),
            "checked_at": format_time(now),
        }
    )


def _recipient_check(outcome: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "recipient": outcome.recipient,
        "allowed": outcome.allowed,
        "legal_basis": None if outcome.legal_basis is None else outcome.legal_basis.to_json(),
        "consent_id": outcome.consent_id,
    }
    if outcome.refusal is not None:
        out["code"] = outcome.refusal.code
        out["missing_consent"] = outcome.refusal.extra.get("missing_consent")
    return out


def _explain_allowed(decision: Decision) -> str:
    parts: Sequence[str] = [
        f"{r.recipient}: on {r.legal_basis.type} ({r.legal_basis.reference})"
        + (f", consent {r.consent_id}" if r.consent_id else "")
        for r in decision.allowed
        if r.legal_basis is not None
    ]
    return f"Purpose '{decision.purpose.id}' may be shared with " + "; ".join(parts) + "."
