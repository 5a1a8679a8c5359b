"""Exchanges: decide, plan everything an allowed one writes, commit it once, answer.

One pass: the purpose is looked up in the catalogue once, the sender's open expectations are
read at most once, the trace is settled once, and every log entry, sealed message, expectation
effect, break-glass record and outbox item is planned (`ExchangePlan`) before the single
`record_exchange` commit. Nothing is acknowledged before that commit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import date
from typing import Any

import structlog

from gateway.clock import DUTCH_TIME
from gateway.config import LegalBasis
from gateway.errors import GatewayError, UnknownCase, UnknownCaseNetwork
from gateway.ids import new_id, random_bytes
from gateway.log.entry import format_time
from gateway.policy import CaseNetworkTarget, ExchangeRequest, allowed_fields, decide
from gateway.policy.cases import is_member, reachable_members
from gateway.policy.decision import Caller, Decision, RecipientDecision
from gateway.policy.grounds import NO_FACTS, GroundFacts, choose_ground
from gateway.policy.lifecycle import verify_may_name
from gateway.policy.relations import NO_TIES, RELATION_RULES, SubjectTies, Tie
from gateway.policy.workflow import check_reply
from gateway.service.birth_dates import held_birth_date
from gateway.service.consents import load_consents
from gateway.service.deps import ExchangeContext
from gateway.service.exchange_plan import (
    Exchange,
    ExchangePlan,
    payload_digest,
    plan_exchange,
    refusal_entry,
    wants_household,
)
from gateway.standards.tracecontext import TraceContext
from gateway.store.base import CaseStore, Expectation, ExpectationStore, RelationStore
from gateway.store.links import find_pseudonym, pseudonym_for

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
        "relation_required",
        "schema_violation",
        "payload_not_minimal",
        "invalid_request",  # only raised past parsing: a reply that answers no open request
        "not_found",  # a case_id naming no case the sender is a member of
    }
)


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


async def execute_exchange(
    gw: ExchangeContext, caller: Caller, parsed: ExchangeRequest, trace: TraceContext | None = None
) -> dict[str, Any]:
    """Decide, and when allowed record and deliver durably; answer the contract's 201 body.

    Refusals are raised (and logged where the request was a real one); nothing is acknowledged
    before the log entries, the sealed messages and the expectations are committed together.
    Every entry names the exchange's W3C trace (the call's, or a new one outside a call).
    """
    subject = await pseudonym_for(gw.storage, gw.pseudonymiser, parsed.subject, gw.now())
    ex = Exchange.settle(gw, caller, parsed, trace, exchange_id=new_id("ex"), subject=subject)
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
            await gw.storage.append_log([refusal_entry(ex, refusal)])
        raise
    assert owed is not None  # a decision was made, so the purpose is the catalogue's
    salt = random_bytes(16)
    digest = payload_digest(parsed.payload, salt)
    household = (
        await gw.storage.household(parsed.case_id)
        if parsed.case_id is not None and wants_household(decision.purpose)
        else []
    )
    # plan_effects closes only expectations of this purpose that answer `in_reply_to` or share
    # the case, so an exchange naming neither closes nothing and needs no storage read.
    closable = [] if parsed.in_reply_to is None and parsed.case_id is None else await owed.read()
    plan = plan_exchange(ex, decision, salt, digest, household=household, closable=closable)
    indices = await gw.storage.record_exchange(
        plan.entries, plan.messages, plan.effects, plan.outbox
    )
    # Debug level: at info it cost about 8% of an exchange's CPU, and the disclosure log holds
    # every exchange anyway (metrics count them).
    log.debug("exchange_disclosed", recipients=len(plan.disclosed), refused=len(decision.refused))
    return _answer(ex, decision, plan, indices, digest)


async def check_exchange(
    gw: ExchangeContext, caller: Caller, parsed: ExchangeRequest
) -> dict[str, Any]:
    """Whether this exchange would be allowed now, and on which basis: nothing is written.

    The same checks as `execute_exchange`, in the same order (the case, a reply's open request,
    the decision); a refusal send would answer is answered here as `allowed: false`.
    """
    # Nothing is recorded, so no link is made: a person the gateway holds nothing about is
    # checked under a pseudonym that matches no record.
    subject = await find_pseudonym(gw.storage, gw.pseudonymiser, parsed.subject)
    ex = Exchange.settle(
        gw, caller, parsed, None, exchange_id="", subject=subject or secrets.token_hex(32)
    )
    purpose = ex.purpose
    fields = list(allowed_fields(purpose.schema)) if purpose is not None else []
    owed = None if purpose is None else _OwedBySender(gw.storage, caller.partner.id, purpose.id)
    try:
        await _verify_case(gw.storage, caller, parsed)
        # Past parsing, invalid_request is this check's: a reply to no open request of the caller.
        await _check_reply(ex, owed)
        decision = await _decide(ex)
    except GatewayError as refusal:
        basis = await _ground_shown(ex, refusal)
        return {
            "allowed": False,
            "code": refusal.code,
            "purpose": parsed.purpose,
            "legal_basis": None if basis is None else basis.to_json(),
            "consent_id": None,
            "allowed_fields": fields,
            "missing_consent": refusal.extra.get("missing_consent"),
            "missing_relation": refusal.extra.get("missing_relation"),
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


async def _ground_shown(ex: Exchange, refusal: GatewayError) -> LegalBasis | None:
    """The basis a refused check names: the ground of the direction the request asked about.

    The direction runs from the sender's kind to the kind of the refused recipient (else of the
    first recipient the request names), its ground chosen on the exchange's facts as the
    decision chooses it; a recipient that is not registered has no kind, and then the purpose's
    default ground is shown. None for a purpose outside the catalogue.
    """
    purpose, parsed = ex.purpose, ex.parsed
    if purpose is None:
        return None
    named = refusal.extra.get("recipient")
    if not isinstance(named, str) and isinstance(parsed.to, tuple) and parsed.to:
        named = parsed.to[0]
    recipient = ex.gw.partners.get(named) if isinstance(named, str) else None
    if recipient is None:
        return purpose.legal_basis
    facts = await _ground_facts(ex, [recipient.id])
    today = ex.now.astimezone(DUTCH_TIME).date()
    return choose_ground(purpose, ex.caller.partner.kind, recipient, facts, today).ground.basis


async def _verify_case(store: CaseStore, caller: Caller, request: ExchangeRequest) -> None:
    """Return when the exchange names no case, or an active case its sender is a member of.

    Checked before anything else, so no refusal is logged with a case id: an id that is not the
    sender's case is the caller's own text, and naming someone else's case would tie this
    exchange to a family the sender was never let into. A closed case is named only by what
    tells of its end (`verify_may_name`); that refusal, like a closed case's network send, is
    answered and not logged.
    """
    if request.case_id is None:
        return
    members = await store.case_network(request.case_id)
    if not is_member(members, caller.partner.id):
        raise UnknownCase()
    case = await store.get_case(request.case_id)
    if case is not None:
        verify_may_name(case, request.purpose, request.payload)


async def _check_reply(ex: Exchange, owed: _OwedBySender | None) -> None:
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


async def _recipients(ex: Exchange) -> tuple[list[str], bool]:
    """The partner ids the request names; or, sent to a case network, the members it reaches."""
    gw, request, caller = ex.gw, ex.parsed, ex.caller
    if not isinstance(request.to, CaseNetworkTarget):
        return list(request.to), False
    members = await gw.storage.case_network(request.to.case_id)
    if not is_member(members, caller.partner.id):
        # A non-member learns nothing: the same refusal as for a case that does not exist,
        # naming no member (and logged without a recipient or the id).
        raise UnknownCaseNetwork()
    # A closed case's network is told only that the case closed (docs/workflows.md).
    case = await gw.storage.get_case(request.to.case_id)
    if case is not None:
        verify_may_name(case, request.purpose, request.payload)
    # The sender is in its own network but not a recipient of what it sends; the send
    # reaches only the members it may see and that may see it ([case_network_visibility]).
    reached = reachable_members(
        members,
        sender=caller.partner,
        partners=gw.partners,
        visibility=gw.catalogue.case_network_visibility,
    )
    return reached, True


async def _decide(ex: Exchange) -> Decision:
    gw, purpose = ex.gw, ex.purpose
    recipients, fan_out = await _recipients(ex)
    # Only a consent-based purpose without break-glass reads consents: a statutory exchange
    # spares its storage round trip (the decision never looks at them there).
    needs_consent = (
        purpose is not None and purpose.consent_required and ex.parsed.break_glass is None
    )
    consents = await load_consents(gw.storage, gw.cipher, ex.subject) if needs_consent else []
    held = await held_birth_date(gw.storage, gw.cipher, ex.subject) if needs_consent else None
    ties = await _ties(gw.storage, ex, recipients)
    facts = await _ground_facts(ex, recipients, held_read=needs_consent, held=held)
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
        ties=ties,
        facts=facts,
    )


async def _ground_facts(
    ex: Exchange, recipients: Sequence[str], *, held_read: bool = False, held: date | None = None
) -> GroundFacts:
    """The facts the conditions of the purpose's grounds look at, read once per exchange and
    only those some ground asks for: the subject's held birth date (unless already read), and
    which recipient certified institutions carry out a measure for the subject."""
    purpose, gw = ex.purpose, ex.gw
    if purpose is None or ex.parsed.break_glass is not None:
        return NO_FACTS
    conditions = [g.conditions for g in purpose.direction_grounds]
    birth_date = held
    if any(c.subjects is not None for c in conditions) and not held_read:
        birth_date = await held_birth_date(gw.storage, gw.cipher, ex.subject)
    holders: set[str] = set()
    if any(c.requires_measure is not None for c in conditions):
        for rid in dict.fromkeys(recipients):
            partner = gw.partners.get(rid)
            # A certified institution enters a case network as the holder of a measure; the
            # network does not record the measure's kind, so membership counts as the OTS
            # (docs/legal-basis.md section 4.2).
            institution = partner is not None and partner.kind == "certified_institution"
            if institution and await gw.storage.in_case_of(rid, ex.subject):
                holders.add(rid)
    return GroundFacts(birth_date, frozenset(holders))


async def _ties(store: RelationStore, ex: Exchange, recipients: Sequence[str]) -> SubjectTies:
    """The facts that tie the sender to the subject, for the relations the purpose presumes,
    each with the partners it ties the sender to (the decision checks each recipient against
    them). Read once per exchange, the relations in the catalogue's order until every
    recipient is covered (any one relation towards a recipient will do, so the rest cannot
    change the decision); a purpose that presumes none reads nothing.
    """
    purpose = ex.purpose
    if purpose is None or not purpose.relation:
        return NO_TIES
    partner = ex.caller.partner.id
    towards: dict[Tie, frozenset[str]] = {}
    covered: set[str] = set()
    for name in purpose.relation:
        tie = RELATION_RULES[name].tie
        towards[tie] = await _tie_towards(store, tie, partner, ex.subject, recipients)
        covered |= towards[tie]
        if recipients and covered.issuperset(recipients):
            break
    return SubjectTies(towards)


async def _tie_towards(
    store: RelationStore, tie: Tie, partner: str, subject: str, recipients: Sequence[str]
) -> frozenset[str]:
    if tie.kind == "case_household":
        return await store.case_fellows(partner, subject)
    if tie.kind == "received":
        return await store.received_from(partner, subject, tie.purposes, recipients)
    return await store.sent_to(partner, subject, tie.purposes, recipients)


def _answer(
    ex: Exchange, decision: Decision, plan: ExchangePlan, indices: Sequence[int], digest: str
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
