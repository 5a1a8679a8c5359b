"""Exchanges: decide, plan everything an allowed one writes, commit it once, answer.

One pass: the purpose is looked up in the catalogue once, the sender's open expectations are
read at most once, the trace is settled once, and every log entry, sealed message, expectation
effect, break-glass record and outbox item is planned (`ExchangePlan`) before the single
`record_exchange` commit. Nothing is acknowledged before that commit.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog

from gateway.config import Purpose
from gateway.container import Gateway
from gateway.delivery import sealed
from gateway.delivery.outbox import vng_outbox_items
from gateway.errors import GatewayError, InvalidRequest, UnknownCase, UnknownCaseNetwork
from gateway.ids import new_id, random_bytes
from gateway.log.entry import LogEntry, Sender, canonical_json, format_time
from gateway.policy import CaseNetworkTarget, ExchangeRequest, allowed_fields, decide
from gateway.policy.cases import is_member, reachable_members
from gateway.policy.decision import Caller, Decision, RecipientDecision
from gateway.policy.workflow import check_reply, plan_effects
from gateway.service.birth_dates import held_birth_date
from gateway.service.consents import load_consents
from gateway.standards.tracecontext import TraceContext, child_of, current_trace
from gateway.store.base import (
    BreakGlassRecord,
    CaseStore,
    ExchangeEffects,
    Expectation,
    ExpectationStore,
    OutboxItem,
    StoredMessage,
)

__all__ = ["check_exchange", "execute_exchange"]

log = structlog.get_logger("gateway.exchange")

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


@dataclass(frozen=True, slots=True)
class Disclosed:
    """One recipient's disclosure, as the answer names it (its log index comes with the commit)."""

    disclosure_id: str
    recipient: str
    message_id: str


@dataclass(frozen=True, slots=True)
class ExchangePlan:
    """Everything an allowed exchange writes, planned before its one commit."""

    entries: tuple[LogEntry, ...]
    messages: tuple[StoredMessage, ...]
    effects: ExchangeEffects
    outbox: tuple[OutboxItem, ...]
    disclosed: tuple[Disclosed, ...]
    warnings: tuple[str, ...]


class _OwedBySender:
    """The sender's open expectations of the exchange's purpose, read at most once."""

    __slots__ = ("_owed", "_partner", "_purpose", "_store")

    def __init__(self, store: ExpectationStore, partner: str, purpose: str) -> None:
        self._store = store
        self._partner = partner
        self._purpose = purpose
        self._owed: list[Expectation] | None = None

    async def read(self) -> list[Expectation]:
        if self._owed is None:
            self._owed = await self._store.open_expectations(
                owed_by=self._partner, purpose=self._purpose
            )
        return self._owed


@dataclass(frozen=True, slots=True)
class _Exchange:
    """What every step of one exchange refers to, settled once at its start."""

    gw: Gateway
    caller: Caller
    parsed: ExchangeRequest
    purpose: Purpose | None  # the catalogue's entry, None for a purpose outside it
    subject: str  # the pseudonym
    sender: Sender
    exchange_id: str
    now: datetime
    trace: TraceContext

    @classmethod
    def settle(
        cls,
        gw: Gateway,
        caller: Caller,
        parsed: ExchangeRequest,
        trace: TraceContext | None,
        *,
        exchange_id: str,
    ) -> _Exchange:
        """The exchange's facts: its purpose looked up once, its trace settled once (the given
        one, else the call's, else a new one outside a call)."""
        return cls(
            gw=gw,
            caller=caller,
            parsed=parsed,
            purpose=gw.catalogue.get(parsed.purpose),
            subject=gw.pseudonymiser.pseudonym_of(parsed.subject),
            sender=Sender(caller.partner.id, caller.actor_id, caller.actor_role),
            exchange_id=exchange_id,
            now=gw.now(),
            trace=trace or current_trace() or child_of(None),
        )

    def standards(self) -> dict[str, Any]:
        """Every entry's trace and its purpose's processing activity and confidentiality."""
        return {
            "trace": self.trace.to_json(),
            "processing_activity": None
            if self.purpose is None
            else self.purpose.processing_activity,
            "confidentiality": None if self.purpose is None else self.purpose.confidentiality,
        }


async def execute_exchange(
    gw: Gateway, caller: Caller, parsed: ExchangeRequest, trace: TraceContext | None = None
) -> dict[str, Any]:
    """Decide, and when allowed record and deliver durably; answer the contract's 201 body.

    Refusals are raised (and logged where the request was a real one); nothing is acknowledged
    before the log entries, the sealed messages and the expectations are committed together.
    Every entry names the exchange's W3C trace (the call's, or a new one outside a call).
    """
    ex = _Exchange.settle(gw, caller, parsed, trace, exchange_id=new_id("ex"))
    purpose = ex.purpose
    # A purpose outside the catalogue is the caller's text: log lines say only that it was one.
    known_purpose = parsed.purpose if purpose is not None else "unknown"
    structlog.contextvars.bind_contextvars(partner=caller.partner.id, purpose=known_purpose)
    owed = None if purpose is None else _OwedBySender(gw.storage, caller.partner.id, purpose.id)
    try:
        await _verify_case(gw.storage, caller, parsed)
        await _check_reply(ex, owed)
        decision = await _decide(ex)
    except GatewayError as refusal:
        if refusal.code in _LOGGED_REFUSALS:
            await gw.storage.append_log([_refusal_entry(ex, refusal)])
        raise
    assert owed is not None  # a decision was made, so the purpose is the catalogue's
    salt = random_bytes(16)
    digest = _payload_digest(parsed.payload, salt)
    plan = await _plan(ex, decision, salt, digest, owed)
    indices = await gw.storage.record_exchange(
        plan.entries, plan.messages, plan.effects, plan.outbox
    )
    # Debug level: at info it cost about 8% of an exchange's CPU, and the disclosure log holds
    # every exchange anyway (metrics count them).
    log.debug("exchange_disclosed", recipients=len(plan.disclosed), refused=len(decision.refused))
    return _answer(ex, decision, plan, indices, digest)


async def check_exchange(gw: Gateway, caller: Caller, parsed: ExchangeRequest) -> dict[str, Any]:
    """Whether this exchange would be allowed now, and on which basis: nothing is written."""
    ex = _Exchange.settle(gw, caller, parsed, None, exchange_id="")  # nothing is recorded
    purpose = ex.purpose
    fields = list(allowed_fields(purpose.schema)) if purpose is not None else []
    try:
        await _verify_case(gw.storage, caller, parsed)
        decision = await _decide(ex)
    except GatewayError as refusal:
        if isinstance(refusal, InvalidRequest):
            raise
        return {
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
    first = decision.allowed[0]
    return {
        "allowed": True,
        "code": "allowed",
        "purpose": decision.purpose.id,
        "legal_basis": None if first.legal_basis is None else first.legal_basis.to_json(),
        "consent_id": first.consent_id,
        "allowed_fields": fields,
        "missing_consent": None,
        "recipients": [_recipient_check(r) for r in decision.recipients],
        "explanation": _explain_allowed(decision),
        "checked_at": format_time(ex.now),
    }


async def _verify_case(store: CaseStore, caller: Caller, request: ExchangeRequest) -> None:
    """Return when the exchange names no case, or a case its sender is a member of.

    Checked before anything else, so no refusal is logged with a case id: an id that is not the
    sender's case is the caller's own text, and naming someone else's case would tie this
    exchange to a family the sender was never let into.
    """
    if request.case_id is None:
        return
    members = await store.case_network(request.case_id)
    if not is_member(members, caller.partner.id):
        raise UnknownCase()


async def _check_reply(ex: _Exchange, owed: _OwedBySender | None) -> None:
    """Refuse a reply purpose that answers no open request of the caller, or more than it asked."""
    purpose, parsed = ex.purpose, ex.parsed
    if purpose is None or purpose.reply_to is None:
        return
    assert owed is not None
    request = None
    if parsed.in_reply_to is not None:
        request = next(
            (e for e in await owed.read() if e.origin_exchange_id == parsed.in_reply_to), None
        )
    asked = None
    if request is not None and request.constraints is not None:
        asked = json.loads(ex.gw.cipher.open(request.constraints, request.expectation_id.encode()))
    recipients = list(parsed.to) if isinstance(parsed.to, tuple) else []
    check_reply(
        purpose,
        subject=ex.subject,
        in_reply_to=parsed.in_reply_to,
        recipients=recipients,
        request=request,
        asked=asked,
        payload=parsed.payload,
    )


async def _recipients(ex: _Exchange) -> tuple[list[str], bool]:
    """The partner ids the request names; or, sent to a case network, the members it reaches."""
    gw, request, caller = ex.gw, ex.parsed, ex.caller
    if not isinstance(request.to, CaseNetworkTarget):
        return list(request.to), False
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


async def _decide(ex: _Exchange) -> Decision:
    gw, purpose = ex.gw, ex.purpose
    recipients, fan_out = await _recipients(ex)
    # Only a consent-based purpose without break-glass reads consents: a statutory exchange
    # spares its storage round trip (the decision never looks at them there).
    needs_consent = (
        purpose is not None and purpose.consent_required and ex.parsed.break_glass is None
    )
    consents = await load_consents(gw.storage, gw.cipher, ex.subject) if needs_consent else []
    held = await held_birth_date(gw.storage, gw.cipher, ex.subject) if needs_consent else None
    return decide(
        ex.parsed,
        caller=ex.caller,
        recipients=recipients,
        fan_out=fan_out,
        catalogue=gw.catalogue,
        partners=gw.partners,
        consents=consents,
        now=ex.now,
        held_birth_date=held,
    )


def _payload_digest(payload: Any, salt: bytes) -> str:
    """SHA-256 over a per-exchange salt and the canonical payload.

    The salt keeps low-entropy payloads (a status code) from being guessed from the log; the
    recipient receives it with the message and can recompute the digest.
    """
    return hashlib.sha256(salt + canonical_json(payload)).hexdigest()


async def _plan(
    ex: _Exchange, decision: Decision, salt: bytes, digest: str, owed: _OwedBySender
) -> ExchangePlan:
    """Every entry, message, expectation effect, break-glass record and outbox item to commit."""
    standards = ex.standards()
    entries: list[LogEntry] = []
    messages: list[StoredMessage] = []
    disclosed: list[Disclosed] = []
    for outcome in decision.recipients:
        if outcome.refusal is not None:
            entries.append(_refusal_entry(ex, outcome.refusal.to_error()))
            continue
        assert outcome.legal_basis is not None
        item = Disclosed(new_id("dis"), outcome.recipient, new_id("msg"))
        entries.append(_disclosed_entry(ex, decision, outcome, item, digest, standards))
        messages.append(_message(ex, decision.purpose, item, salt))
        disclosed.append(item)
    effects, warnings = await _effects(ex, decision, owed)
    return ExchangePlan(
        entries=tuple(entries),
        messages=tuple(messages),
        effects=effects,
        outbox=tuple(vng_outbox_items(ex.gw, entries, _subject_as_given(ex.parsed))),
        disclosed=tuple(disclosed),
        warnings=tuple(warnings),
    )


def _disclosed_entry(
    ex: _Exchange,
    decision: Decision,
    outcome: RecipientDecision,
    item: Disclosed,
    digest: str,
    standards: dict[str, Any],
) -> LogEntry:
    assert outcome.legal_basis is not None
    return LogEntry(
        time=ex.now,
        decision="disclosed",
        reason=outcome.legal_basis.type,
        exchange_id=ex.exchange_id,
        disclosure_id=item.disclosure_id,
        purpose=decision.purpose.id,
        legal_basis=outcome.legal_basis.to_json(),
        consent_id=outcome.consent_id,
        sender=ex.sender,
        recipient=outcome.recipient,
        subject=ex.subject,
        subject_system=ex.parsed.subject.system,
        case_id=ex.parsed.case_id,
        fields=decision.fields,
        payload_sha256=digest,
        break_glass=decision.break_glass,
        details={
            "message_id": item.message_id,
            **({"review": "pending"} if decision.break_glass else {}),
        },
        **standards,
    )


async def _effects(
    ex: _Exchange, decision: Decision, owed: _OwedBySender
) -> tuple[ExchangeEffects, list[str]]:
    """The expectations this exchange opens and closes, its break-glass record, and warnings."""
    gw, parsed, purpose = ex.gw, ex.parsed, decision.purpose
    assert parsed.payload is not None
    per_child = any(e.per_child for e in purpose.expects_reply)
    household = (
        await gw.storage.household(parsed.case_id)
        if parsed.case_id is not None and per_child
        else []
    )
    # plan_effects closes only expectations of this purpose that answer `in_reply_to` or share
    # the case, so an exchange naming neither closes nothing and needs no storage read.
    closable = [] if parsed.in_reply_to is None and parsed.case_id is None else await owed.read()
    planned = plan_effects(
        purpose=purpose,
        exchange_id=ex.exchange_id,
        sender=ex.caller.partner.id,
        recipients=[r.recipient for r in decision.allowed],
        case_id=parsed.case_id,
        subject=ex.subject,
        payload=parsed.payload,
        in_reply_to=parsed.in_reply_to,
        owed_by_sender=closable,
        household=household,
        now=ex.now,
        seal=lambda data, eid: gw.cipher.seal(data, eid.encode()),
        new_id=lambda: new_id("exp"),
    )
    warnings = []
    if per_child and not household:
        warnings.append(
            "no household is registered for this case: only the referred child is expected to "
            "get a safety assessment; register every child with PUT /v1/cases/{case_id}/household "
            "so none is missed"
        )
    effects = ExchangeEffects(
        open=planned.open,
        close=planned.close,
        closed_by=planned.closed_by,
        closed_at=planned.closed_at,
        break_glass=_break_glass_record(ex),
    )
    return effects, warnings


def _break_glass_record(ex: _Exchange) -> BreakGlassRecord | None:
    """The sealed reason for a break-glass exchange, for the officer's review; else None."""
    parsed = ex.parsed
    if parsed.break_glass is None:
        return None
    assert ex.purpose is not None
    return BreakGlassRecord(
        exchange_id=ex.exchange_id,
        sender=ex.caller.partner.id,
        purpose=ex.purpose.id,
        created_at=ex.now,
        sealed=ex.gw.cipher.seal(
            json.dumps({**parsed.break_glass.to_json(), "actor": ex.caller.actor_id}).encode(),
            b"break-glass:" + ex.exchange_id.encode(),
        ),
    )


def _answer(
    ex: _Exchange, decision: Decision, plan: ExchangePlan, indices: Sequence[int], digest: str
) -> dict[str, Any]:
    """The contract's 201 body, with the log index each disclosure got in the commit."""
    by_disclosure = {e.disclosure_id: i for e, i in zip(plan.entries, indices, strict=True)}
    first_basis = decision.allowed[0].legal_basis
    assert first_basis is not None
    answer: dict[str, Any] = {
        "exchange_id": ex.exchange_id,
        "purpose": decision.purpose.id,
        "legal_basis": first_basis.to_json(),
        "consent_id": decision.allowed[0].consent_id,
        "disclosures": [
            {
                "disclosure_id": d.disclosure_id,
                "recipient": d.recipient,
                "message_id": d.message_id,
                "log_index": by_disclosure[d.disclosure_id],
            }
            for d in plan.disclosed
        ],
        "payload_sha256": digest,
        "trace": {"traceparent": ex.trace.traceparent(), **ex.trace.to_json()},
    }
    if decision.refused:
        answer["refused"] = [
            {"recipient": r.recipient, **(r.refusal.to_body()["error"] if r.refusal else {})}
            for r in decision.refused
        ]
    effects = plan.effects
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
    if plan.warnings:
        answer["warnings"] = list(plan.warnings)
    return answer


def _message(ex: _Exchange, purpose: Purpose, item: Disclosed, salt: bytes) -> StoredMessage:
    """The recipient's message, sealed before it is stored: HPKE to its key, else at rest."""
    parsed, trace, now = ex.parsed, ex.trace, ex.now
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
    partner = ex.gw.partners.get(item.recipient)
    enc = None if partner is None else partner.keys.encryption
    if enc is not None:
        sealing, body = "hpke", sealed.seal(plaintext, enc.public_key, item.message_id)
    else:
        sealing, body = "at-rest", ex.gw.cipher.seal(plaintext, item.message_id.encode())
    return StoredMessage(
        message_id=item.message_id,
        recipient=item.recipient,
        subject=ex.subject,
        exchange_id=ex.exchange_id,
        disclosure_id=item.disclosure_id,
        purpose=purpose.id,
        sender_partner=ex.caller.partner.id,
        sender_role=ex.caller.actor_role,
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


def _refusal_entry(ex: _Exchange, refusal: GatewayError) -> LogEntry:
    """A refused exchange (or one refused recipient of it), with nothing the caller made up.

    Whatever refused the exchange (and checks run in an order), the log takes a purpose only
    from the catalogue and a recipient only from the partner registry: anything else is the
    caller's own text (a BSN, a name), which never enters the log.
    """
    parsed = ex.parsed
    recipient = refusal.extra.get("recipient")
    if recipient is None and isinstance(parsed.to, tuple) and len(parsed.to) == 1:
        recipient = parsed.to[0]
    if not isinstance(recipient, str) or ex.gw.partners.get(recipient) is None:
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
        time=ex.now,
        decision="refused",
        reason=refusal.code,
        exchange_id=ex.exchange_id,
        purpose=None if ex.purpose is None else parsed.purpose,
        sender=ex.sender,
        recipient=recipient,
        subject=ex.subject,
        subject_system=parsed.subject.system,
        case_id=parsed.case_id if case_known else None,
        break_glass=parsed.break_glass is not None,
        details=details,
        **ex.standards(),
    )


def _recipient_check(outcome: RecipientDecision) -> dict[str, Any]:
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
