"""The decision, as small rules applied in one visible order.

1. the purpose is in the catalogue                          unknown_purpose
2. the sender's kind and actor role may send it               sender_not_allowed
3. break-glass is only asked where the purpose allows it      break_glass_not_allowed
   and, where the purpose presumes that the sender helps the   relation_required
   subject, a relation of the sender shows it (a referral
   received, a case membership, its own start of help);
   break-glass never stands in for it
4. there is a recipient, and every one is registered          unknown_recipient
5. every recipient's kind may receive it, and none is the     recipient_not_allowed
   sender itself; where rule 3 found a relation, it holds      relation_required
   towards this recipient (the partner that referred the
   person, a member of its case network, the partner the
   sender's start of help went to)
6. a legal basis covers each recipient (statute, consent,     consent_required
   or break-glass): the direction's grounds are tried in order
   and the first whose conditions hold on the facts applies
   (gateway.policy.grounds; a refusal says why a statutory
   ground passed over did not hold; break-glass takes the
   direction's break-glass ground, the conflict of duties, and
   without it a refusal names that way and the purpose's
   `alternative`); a refusal tells the sender about consents
   it may see only (`consent.shown_to`: recorded, or named by
   id with every other party one its kind may see), and the
   subject's age band only when it may see one of them
7. the payload is the purpose's minimal dataset               payload_not_minimal, schema_violation

Rules 1-3 and 7 concern the whole message and refuse it whole. Rules 4-6 are per recipient: for
an explicit list of recipients one refusal refuses the message (nothing partial happens behind
the sender's back); for a case-network fan-out each partner is decided on its own, and the
message goes to those that pass.

Rules 1 and 4 look up what the request names (the purpose, each recipient); rules 2 and 3 (with
"there is a recipient") and rule 5 are the two `AllOf` lists below, in the order above; rule 6
finds the basis, rule 7 checks the payload. The relation is decided on the facts the service read
from the store (`SubjectTies`, gateway.policy.relations); without them no relation holds. A per-recipient refusal is a `Refusal` value in its
`RecipientDecision`; a whole-message refusal is raised as its error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from consent import ConsentRecord, Viewer, explain_missing, find_covering_consent
from consent.evaluate import UNKNOWN_AGE_GIVERS
from gateway.clock import DUTCH_TIME
from gateway.config import Catalogue, LegalBasis, Partner, PartnerRegistry, Purpose
from gateway.errors import (
    BreakGlassNotAllowed,
    ConsentRequired,
    RecipientNotAllowed,
    Refusal,
    SenderNotAllowed,
    UnknownPurpose,
    UnknownRecipient,
)
from gateway.policy.grounds import NO_FACTS, ChosenGround, GroundFacts, choose_ground
from gateway.policy.minimal import check_payload, disclosed_fields
from gateway.policy.relations import NO_TIES, SubjectTies, relation_rule, relation_towards
from gateway.policy.request import ExchangeRequest
from gateway.policy.rules import AllOf
from gateway.policy.visibility import knows_of

__all__ = ["Caller", "Decision", "RecipientDecision", "decide"]


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated sender: a partner and the professional acting for it."""

    partner: Partner
    actor_id: str
    actor_role: str


@dataclass(frozen=True, slots=True)
class RecipientDecision:
    """The outcome for one recipient: a basis to disclose on, or the refusal."""

    recipient: str
    legal_basis: LegalBasis | None
    consent_id: str | None
    refusal: Refusal | None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True, slots=True)
class Decision:
    """What may happen: for which purpose, to whom, on which basis, disclosing which fields."""

    purpose: Purpose
    recipients: tuple[RecipientDecision, ...]
    fields: tuple[str, ...]
    break_glass: bool

    @property
    def allowed(self) -> tuple[RecipientDecision, ...]:
        return tuple(r for r in self.recipients if r.allowed)

    @property
    def refused(self) -> tuple[RecipientDecision, ...]:
        return tuple(r for r in self.recipients if not r.allowed)


def decide(
    request: ExchangeRequest,
    *,
    caller: Caller,
    recipients: Sequence[str],
    fan_out: bool,
    catalogue: Catalogue,
    partners: PartnerRegistry,
    consents: Sequence[ConsentRecord],
    now: datetime,
    held_birth_date: date | None = None,
    ties: SubjectTies = NO_TIES,
    facts: GroundFacts = NO_FACTS,
) -> Decision:
    """Decide a request; raise the first whole-message refusal, or return per-recipient outcomes.

    `recipients` are the partner ids the request names, or the case network's members when
    `fan_out` is true. Consents are the subject's records and `held_birth_date` the birth date
    the gateway holds for the subject (the age rules follow it); `ties` the facts that tie the
    sender to the subject (none given: none holds); `facts` what the conditions of grounds look
    at (none given: no condition holds); the clock is `now`.
    """
    purpose = _purpose(catalogue, request.purpose)
    alternative = None if purpose.alternative is None else catalogue.get(purpose.alternative)
    message = _Message(purpose, request, caller, recipients, ties, alternative)
    refusal = _MESSAGE_RULES(message)
    if refusal is not None:
        raise refusal.to_error()
    viewer = Viewer(
        caller.partner.id,
        caller.partner.kind,
        knows_of(caller.partner, partners, catalogue.case_network_visibility),
    )
    held = _Consents(consents, held_birth_date, viewer, facts)
    outcomes = tuple(_decide_recipient(message, rid, partners, held, now) for rid in recipients)
    refused = [o.refusal for o in outcomes if o.refusal is not None]
    if refused and (not fan_out or len(refused) == len(outcomes)):
        raise refused[0].to_error()
    fields: tuple[str, ...] = ()
    if request.payload is not None:
        check_payload(purpose.id, purpose.payload_schema, request.payload)
        fields = disclosed_fields(request.payload)
    return Decision(purpose, outcomes, fields, request.break_glass is not None)


def _purpose(catalogue: Catalogue, purpose_id: str) -> Purpose:
    """Rule 1: the purpose the request names, from the catalogue."""
    purpose = catalogue.get(purpose_id)
    if purpose is None:
        raise UnknownPurpose(f"purpose '{purpose_id}' is not in the catalogue", purpose=purpose_id)
    return purpose


# -- the whole message: rules 2 and 3, and someone to send it to --------------------------------


@dataclass(frozen=True, slots=True)
class _Message:
    """What the whole-message rules look at: the purpose, the request, its sender, its recipients."""

    purpose: Purpose
    request: ExchangeRequest
    caller: Caller
    recipients: Sequence[str]
    ties: SubjectTies
    # The purpose's `alternative`, which a refusal for want of agreement names.
    alternative: Purpose | None = None


def _sender_kind_may_send(message: _Message) -> Refusal | None:
    purpose, kind = message.purpose, message.caller.partner.kind
    if kind in purpose.sender_kinds:
        return None
    return Refusal(
        SenderNotAllowed,
        f"a partner of kind '{kind}' may not send purpose '{purpose.id}'",
        f"Only {', '.join(sorted(purpose.sender_kinds))} may send it; choose the purpose "
        "that fits your role.",
        {"purpose": purpose.id},
    )


def _sender_role_may_send(message: _Message) -> Refusal | None:
    purpose, role = message.purpose, message.caller.actor_role
    if role in purpose.sender_roles:
        return None
    return Refusal(
        SenderNotAllowed,
        f"actor role '{role}' may not send purpose '{purpose.id}'",
        f"Let a professional with one of these roles send it: "
        f"{', '.join(sorted(purpose.sender_roles))}.",
        {"purpose": purpose.id},
    )


def _sender_relates_to_subject(message: _Message) -> Refusal | None:
    """Where the purpose presumes the sender helps the subject, one of its relations holds."""
    rule = relation_rule(message.purpose)
    return None if rule is None else rule(message.ties)


def _break_glass_only_where_allowed(message: _Message) -> Refusal | None:
    purpose = message.purpose
    if message.request.break_glass is None or purpose.break_glass:
        return None
    return Refusal(
        BreakGlassNotAllowed,
        f"purpose '{purpose.id}' does not allow break-glass",
        "Share on the purpose's own basis (record consent first where it needs consent); "
        "break-glass exists only for safety reports.",
        {"purpose": purpose.id},
    )


def _someone_to_send_to(message: _Message) -> Refusal | None:
    if message.recipients:
        return None
    return Refusal(
        UnknownRecipient,
        "there is no recipient to send to (the case network is empty)",
        "Register the partners involved with PUT /v1/cases/{case_id}/network/{partner_id}.",
        {"purpose": message.purpose.id},
    )


_MESSAGE_RULES: Final[AllOf[_Message]] = AllOf(
    [
        _sender_kind_may_send,  # sender_not_allowed
        _sender_role_may_send,  # sender_not_allowed
        _break_glass_only_where_allowed,  # break_glass_not_allowed
        _sender_relates_to_subject,  # relation_required
        _someone_to_send_to,  # unknown_recipient
    ]
)
"""The whole-message rules after the purpose is found, in order; the first refusal wins."""


# -- each recipient: rules 4 to 6 ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Consents:
    """The subject's consent records and the birth date the gateway holds for the subject."""

    records: Sequence[ConsentRecord]
    held_birth_date: date | None
    # The sender, to whom a refusal speaks only of records it may know of (consent.shown_to).
    viewer: Viewer
    # What the conditions of the purpose's grounds look at (gateway.policy.grounds).
    facts: GroundFacts = NO_FACTS


@dataclass(frozen=True, slots=True)
class _Delivery:
    """What the per-recipient rules look at: the message and one registered recipient."""

    message: _Message
    recipient: Partner

    @property
    def purpose(self) -> Purpose:
        return self.message.purpose

    @property
    def sender(self) -> Partner:
        return self.message.caller.partner


def _recipient_kind_may_receive(delivery: _Delivery) -> Refusal | None:
    if delivery.recipient.kind in delivery.purpose.recipient_kinds:
        return None
    return _may_not_receive(delivery)


def _recipient_is_not_the_sender(delivery: _Delivery) -> Refusal | None:
    if delivery.recipient.id != delivery.sender.id:
        return None
    return _may_not_receive(delivery)


def _may_not_receive(delivery: _Delivery) -> Refusal:
    purpose, recipient = delivery.purpose, delivery.recipient
    return Refusal(
        RecipientNotAllowed,
        f"recipient '{recipient.id}' (kind '{recipient.kind}') may not receive "
        f"purpose '{purpose.id}'",
        f"Purpose '{purpose.id}' goes only to {', '.join(sorted(purpose.recipient_kinds))}"
        " (and never to the sender itself).",
        {"purpose": purpose.id, "recipient": recipient.id},
    )


def _sender_relates_towards_recipient(delivery: _Delivery) -> Refusal | None:
    """The relation the purpose presumes holds towards this recipient, not just towards someone
    (rule 3 found that one holds at all)."""
    message = delivery.message
    return relation_towards(message.purpose, message.ties, delivery.recipient.id)


_RECIPIENT_RULES: Final[AllOf[_Delivery]] = AllOf(
    [
        _recipient_kind_may_receive,  # recipient_not_allowed
        _recipient_is_not_the_sender,  # recipient_not_allowed
        _sender_relates_towards_recipient,  # relation_required
    ]
)
"""Rule 5 for each registered recipient, in order; the first refusal wins."""


def _decide_recipient(
    message: _Message,
    recipient_id: str,
    partners: PartnerRegistry,
    consents: _Consents,
    now: datetime,
) -> RecipientDecision:
    recipient = partners.get(recipient_id)
    if recipient is None or recipient.kind == "privacy_officer":
        # Rule 4: the recipient is a registered partner (an officer receives no messages).
        unknown = Refusal(
            UnknownRecipient,
            f"recipient '{recipient_id}' is not a registered partner",
            "Check the partner id; GET /v1/partners lists the registered partners.",
            {"purpose": message.purpose.id, "recipient": recipient_id},
        )
        return RecipientDecision(recipient_id, None, None, unknown)
    delivery = _Delivery(message, recipient)
    refusal = _RECIPIENT_RULES(delivery)
    if refusal is not None:
        return RecipientDecision(recipient_id, None, None, refusal)
    return _on_a_basis(delivery, consents, now)


def _on_a_basis(delivery: _Delivery, consents: _Consents, now: datetime) -> RecipientDecision:
    """Rule 6: break-glass, else the direction's statute, else a covering consent; none refuses.

    The ground is the first of this direction's (sender kind -> recipient kind) whose conditions
    hold on the exchange's facts; a refusal names the grounds passed over and why.
    """
    purpose, recipient, sender = delivery.purpose, delivery.recipient, delivery.sender
    today = now.astimezone(DUTCH_TIME).date()
    glass = delivery.message.request.break_glass is not None
    chosen = choose_ground(
        purpose, sender.kind, recipient, consents.facts, today, break_glass=glass
    )
    ground = chosen.ground
    if glass:
        # The direction's break-glass ground where it has one (the conflict of duties), else
        # the ground it would have had.
        basis = LegalBasis("break_glass", f"{ground.reference} (break-glass)")
        return RecipientDecision(recipient.id, basis, None, None)
    if not ground.agreement_required:
        return RecipientDecision(recipient.id, ground.basis, None, None)
    found = find_covering_consent(
        consents.records,
        purpose=purpose.id,
        sender=sender.id,
        recipient=recipient.id,
        recipient_kind=recipient.kind,
        on=now.astimezone(DUTCH_TIME),
        held_birth_date=consents.held_birth_date,
    )
    if found is not None:
        basis = LegalBasis("consent", ground.reference)
        return RecipientDecision(recipient.id, basis, found.consent_id, None)
    # The refusal is answered to the caller: it learns about the consents it is party to only.
    missing = explain_missing(
        consents.records,
        purpose=purpose.id,
        sender=sender.id,
        recipient=recipient.id,
        recipient_kind=recipient.kind,
        on=now.astimezone(DUTCH_TIME),
        viewer=consents.viewer,
        held_birth_date=consents.held_birth_date,
    )
    why = chosen.explanation()
    extra: dict[str, object] = {}
    if chosen.statutory_passed_over:
        extra["ground_not_met"] = [
            {"reference": p.ground.reference, "condition": p.condition}
            for p in chosen.statutory_passed_over
        ]
    record = (
        f"Record the consent of {_givers(missing.given_by)} with POST /v1/consents "
        f"(purposes ['{purpose.id}'], from ['{sender.id}'], to ['{recipient.id}'] or "
        f"['kind:{recipient.kind}']), then send again."
    )
    # The ways without the agreement, where the purpose has them (issue 19).
    ways = _other_ways(delivery.message.alternative, chosen)
    how_to_fix = record if not ways else record + f" Without the agreement: {'; '.join(ways)}."
    refusal = Refusal(
        ConsentRequired,
        (f"{why} " if why else "")
        + f"purpose '{purpose.id}' needs consent, and no active consent covers sending it from "
        f"'{sender.id}' to '{recipient.id}' about this subject",
        how_to_fix,
        {
            "purpose": purpose.id,
            "recipient": recipient.id,
            "missing_consent": {
                "purpose": purpose.id,
                "from": sender.id,
                "to": recipient.id,
                "given_by": list(missing.given_by),
            },
            "reasons": list(missing.reasons),
            **extra,
        },
    )
    return RecipientDecision(recipient.id, None, None, refusal)


def _other_ways(alternative: Purpose | None, chosen: ChosenGround) -> list[str]:
    """The ways without the client's agreement that a refusal for want of it names: the
    direction's break-glass ground, and the purpose's alternative (the report to Veilig Thuis)."""
    ways: list[str] = []
    if any(p.condition == "break_glass" for p in chosen.passed_over):
        ways.append(
            "in acute danger, where the client cannot be asked or asking would endanger the "
            "person, send again with break_glass (a justification and the meldcode's five "
            "answers, reviewed afterwards by the privacy officer)"
        )
    if alternative is not None:
        ways.append(
            f"send purpose '{alternative.id}' to {', '.join(sorted(alternative.recipient_kinds))} "
            "instead, which needs no agreement"
        )
    return ways


def _givers(roles: Sequence[str]) -> str:
    if tuple(roles) == UNKNOWN_AGE_GIVERS:
        return "the person (16 or older), or for a child the custodians (and from 12 the child too)"
    names = {"subject": "the person themselves", "custodian": "a custodian (gezagsdrager)"}
    return " and ".join(names.get(r, r) for r in roles)
