"""The plan of one exchange: what it writes, built before its single commit.

`Exchange` holds the facts every step refers to, settled once (the purpose from the catalogue,
the pseudonym, the sender, the ids, the time, the trace); `plan_exchange` turns an allowed
decision into every log entry, sealed message, expectation effect, break-glass record and outbox
item, reading nothing from storage; `refusal_entry` is the one log entry of a refusal.
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

from gateway.config import Purpose
from gateway.delivery import sealed
from gateway.delivery.outbox import vng_outbox_items
from gateway.errors import GatewayError, UnknownCase, UnknownCaseNetwork
from gateway.ids import new_id
from gateway.log.entry import LogEntry, Sender, canonical_json
from gateway.policy import CaseNetworkTarget, ExchangeRequest
from gateway.policy.decision import Caller, Decision, RecipientDecision
from gateway.policy.workflow import plan_effects
from gateway.service.deps import ExchangeContext
from gateway.standards.tracecontext import TraceContext, child_of, current_trace
from gateway.store.base import (
    BreakGlassRecord,
    ExchangeEffects,
    Expectation,
    HouseholdChild,
    OutboxItem,
    StoredMessage,
)

__all__ = [
    "Disclosed",
    "Exchange",
    "ExchangePlan",
    "payload_digest",
    "plan_exchange",
    "refusal_entry",
    "wants_household",
]


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


@dataclass(frozen=True, slots=True)
class Exchange:
    """What every step of one exchange refers to, settled once at its start."""

    gw: ExchangeContext
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
        gw: ExchangeContext,
        caller: Caller,
        parsed: ExchangeRequest,
        trace: TraceContext | None,
        *,
        exchange_id: str,
        subject: str,
    ) -> Exchange:
        """The exchange's facts: its purpose looked up once, its trace settled once (the given
        one, else the call's, else a new one outside a call)."""
        return cls(
            gw=gw,
            caller=caller,
            parsed=parsed,
            purpose=gw.catalogue.get(parsed.purpose),
            subject=subject,
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


def payload_digest(payload: Any, salt: bytes) -> str:
    """SHA-256 over a per-exchange salt and the canonical payload.

    The salt keeps low-entropy payloads (a status code) from being guessed from the log; the
    recipient receives it with the message and can recompute the digest.
    """
    return hashlib.sha256(salt + canonical_json(payload)).hexdigest()


def plan_exchange(
    ex: Exchange,
    decision: Decision,
    salt: bytes,
    digest: str,
    *,
    household: Sequence[HouseholdChild],
    closable: Sequence[Expectation],
) -> ExchangePlan:
    """Every entry, message, expectation effect, break-glass record and outbox item to commit.

    `household` is the case's children when the purpose expects a reply per child, and
    `closable` the sender's open expectations this exchange could close: read by the caller,
    so planning itself reads nothing.
    """
    standards = ex.standards()
    entries: list[LogEntry] = []
    messages: list[StoredMessage] = []
    disclosed: list[Disclosed] = []
    for outcome in decision.recipients:
        if outcome.refusal is not None:
            entries.append(refusal_entry(ex, outcome.refusal.to_error()))
            continue
        assert outcome.legal_basis is not None
        item = Disclosed(new_id("dis"), outcome.recipient, new_id("msg"))
        entries.append(_disclosed_entry(ex, decision, outcome, item, digest, standards))
        messages.append(_message(ex, decision.purpose, item, salt))
        disclosed.append(item)
    effects, warnings = _effects(ex, decision, household, closable)
    return ExchangePlan(
        entries=tuple(entries),
        messages=tuple(messages),
        effects=effects,
        outbox=tuple(
            vng_outbox_items(ex.gw.partners, ex.gw.cipher, entries, _subject_as_given(ex.parsed))
        ),
        disclosed=tuple(disclosed),
        warnings=tuple(warnings),
    )


def _disclosed_entry(
    ex: Exchange,
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


def _effects(
    ex: Exchange,
    decision: Decision,
    household: Sequence[HouseholdChild],
    closable: Sequence[Expectation],
) -> tuple[ExchangeEffects, list[str]]:
    """The expectations this exchange opens and closes, its break-glass record, and warnings."""
    gw, parsed, purpose = ex.gw, ex.parsed, decision.purpose
    assert parsed.payload is not None
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
    if _owes_every_child(purpose) and not household:
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


def _break_glass_record(ex: Exchange) -> BreakGlassRecord | None:
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


def _message(ex: Exchange, purpose: Purpose, item: Disclosed, salt: bytes) -> StoredMessage:
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


def refusal_entry(ex: Exchange, refusal: GatewayError) -> LogEntry:
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
    relations = refusal.extra.get("missing_relation")
    if relations:
        # Relation names from the catalogue's fixed vocabulary: what the sender lacked.
        details["missing_relation"] = list(relations)
    passed_over = refusal.extra.get("ground_not_met")
    if passed_over:
        # Catalogue references and condition names: which statutory ground did not hold, and why.
        details["ground_not_met"] = list(passed_over)
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


def wants_household(purpose: Purpose) -> bool:
    """Whether the purpose expects a reply per child, so its plan needs the case's household."""
    return any(e.per_child for e in purpose.expects_reply)


def _owes_every_child(purpose: Purpose) -> bool:
    """Whether the purpose always expects a reply per child (not only for children a condition
    names), so a case without a registered household is worth a warning."""
    return any(e.per_child and e.condition is None for e in purpose.expects_reply)
