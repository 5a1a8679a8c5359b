"""The decision, as small rules applied in one visible order.

1. the purpose is in the catalogue                          unknown_purpose
2. the sender's kind and actor role may send it               sender_not_allowed
3. break-glass is only asked where the purpose allows it      break_glass_not_allowed
4. every recipient is registered                              unknown_recipient
5. every recipient's kind may receive it                      recipient_not_allowed
6. a legal basis covers each recipient (statute, consent,     consent_required
   or break-glass); a refusal tells the sender about consents
   it is party to only, and the subject's age band only when
   it is party to one of the subject's consents
7. the payload is the purpose's minimal dataset               payload_not_minimal, schema_violation

Rules 1-3 and 7 concern the whole message and refuse it whole. Rules 4-6 are per recipient: for
an explicit list of recipients one refusal refuses the message (nothing partial happens behind
the sender's back); for a case-network fan-out each partner is decided on its own, and the
message goes to those that pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from consent import ConsentRecord, Viewer, explain_missing, find_covering_consent
from consent.evaluate import UNKNOWN_AGE_GIVERS
from gateway.clock import DUTCH_TIME
from gateway.config import Catalogue, LegalBasis, Partner, PartnerRegistry, Purpose
from gateway.errors import (
    BreakGlassNotAllowed,
    ConsentRequired,
    GatewayError,
    RecipientNotAllowed,
    SenderNotAllowed,
    UnknownPurpose,
    UnknownRecipient,
)
from gateway.policy.minimal import check_payload, disclosed_fields
from gateway.policy.request import ExchangeRequest

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
    refusal: GatewayError | None

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
) -> Decision:
    """Decide a request; raise the first whole-message refusal, or return per-recipient outcomes.

    `recipients` are the partner ids the request names, or the case network's members when
    `fan_out` is true. Consents are the subject's records and `held_birth_date` the birth date
    the gateway holds for the subject (the age rules follow it); the clock is `now`.
    """
    purpose = _purpose(catalogue, request.purpose)
    _sender_may_send(purpose, caller)
    if request.break_glass is not None and not purpose.break_glass:
        raise BreakGlassNotAllowed(
            f"purpose '{purpose.id}' does not allow break-glass",
            "Share on the purpose's own basis (record consent first where it needs consent); "
            "break-glass exists only for safety reports.",
            purpose=purpose.id,
        )
    if not recipients:
        raise UnknownRecipient(
            "there is no recipient to send to (the case network is empty)",
            "Register the partners involved with PUT /v1/cases/{case_id}/network/{partner_id}.",
            purpose=purpose.id,
        )
    outcomes = tuple(
        _decide_recipient(
            purpose, request, caller, rid, partners, _Consents(consents, held_birth_date), now
        )
        for rid in recipients
    )
    refused = [o for o in outcomes if o.refusal is not None]
    if refused and (not fan_out or len(refused) == len(outcomes)):
        first = refused[0].refusal
        assert first is not None
        raise first
    fields: tuple[str, ...] = ()
    if request.payload is not None:
        check_payload(purpose.id, purpose.payload_schema, request.payload)
        fields = disclosed_fields(request.payload)
    return Decision(purpose, outcomes, fields, request.break_glass is not None)


def _purpose(catalogue: Catalogue, purpose_id: str) -> Purpose:
    purpose = catalogue.get(purpose_id)
    if purpose is None:
        raise UnknownPurpose(f"purpose '{purpose_id}' is not in the catalogue", purpose=purpose_id)
    return purpose


def _sender_may_send(purpose: Purpose, caller: Caller) -> None:
    kind = caller.partner.kind
    if kind not in purpose.sender_kinds:
        raise SenderNotAllowed(
            f"a partner of kind '{kind}' may not send purpose '{purpose.id}'",
            f"Only {', '.join(sorted(purpose.sender_kinds))} may send it; choose the purpose "
            "that fits your role.",
            purpose=purpose.id,
        )
    if caller.actor_role not in purpose.sender_roles:
        raise SenderNotAllowed(
            f"actor role '{caller.actor_role}' may not send purpose '{purpose.id}'",
            f"Let a professional with one of these roles send it: "
            f"{', '.join(sorted(purpose.sender_roles))}.",
            purpose=purpose.id,
        )


@dataclass(frozen=True, slots=True)
class _Consents:
    """The subject's consent records and the birth date the gateway holds for the subject."""

    records: Sequence[ConsentRecord]
    held_birth_date: date | None


def _decide_recipient(
    purpose: Purpose,
    request: ExchangeRequest,
    caller: Caller,
    recipient_id: str,
    partners: PartnerRegistry,
    consents: _Consents,
    now: datetime,
) -> RecipientDecision:
    def refuse(error: GatewayError) -> RecipientDecision:
        return RecipientDecision(recipient_id, None, None, error)

    recipient = partners.get(recipient_id)
    if recipient is None or recipient.kind == "privacy_officer":
        return refuse(
            UnknownRecipient(
                f"recipient '{recipient_id}' is not a registered partner",
                "Check the partner id; GET /v1/partners lists the registered partners.",
                purpose=purpose.id,
                recipient=recipient_id,
            )
        )
    if recipient.kind not in purpose.recipient_kinds or recipient.id == caller.partner.id:
        return refuse(
            RecipientNotAllowed(
                f"recipient '{recipient_id}' (kind '{recipient.kind}') may not receive "
                f"purpose '{purpose.id}'",
                f"Purpose '{purpose.id}' goes only to {', '.join(sorted(purpose.recipient_kinds))}"
                " (and never to the sender itself).",
                purpose=purpose.id,
                recipient=recipient_id,
            )
        )
    if request.break_glass is not None:
        basis = LegalBasis("break_glass", f"{purpose.legal_basis.reference} (break-glass)")
        return RecipientDecision(recipient_id, basis, None, None)
    if not purpose.consent_required:
        return RecipientDecision(recipient_id, purpose.legal_basis, None, None)
    found = find_covering_consent(
        consents.records,
        purpose=purpose.id,
        sender=caller.partner.id,
        recipient=recipient.id,
        recipient_kind=recipient.kind,
        on=now.astimezone(DUTCH_TIME),
        held_birth_date=consents.held_birth_date,
    )
    if found is not None:
        basis = LegalBasis("consent", purpose.legal_basis.reference)
        return RecipientDecision(recipient_id, basis, found.consent_id, None)
    # The refusal is answered to the caller: it learns about the consents it is party to only.
    missing = explain_missing(
        consents.records,
        purpose=purpose.id,
        sender=caller.partner.id,
        recipient=recipient.id,
        recipient_kind=recipient.kind,
        on=now.astimezone(DUTCH_TIME),
        viewer=Viewer(caller.partner.id, caller.partner.kind),
        held_birth_date=consents.held_birth_date,
    )
    return refuse(
        ConsentRequired(
            f"purpose '{purpose.id}' needs consent, and no active consent covers sending it from "
            f"'{caller.partner.id}' to '{recipient.id}' about this subject",
            f"Record the consent of {_givers(missing.given_by)} with POST /v1/consents "
            f"(purposes ['{purpose.id}'], from ['{caller.partner.id}'], to ['{recipient.id}'] or "
            f"['kind:{recipient.kind}']), then send again.",
            purpose=purpose.id,
            recipient=recipient_id,
            missing_consent={
                "purpose": purpose.id,
                "from": caller.partner.id,
                "to": recipient.id,
                "given_by": list(missing.given_by),
            },
            reasons=list(missing.reasons),
        )
    )


def _givers(roles: Sequence[str]) -> str:
    if tuple(roles) == UNKNOWN_AGE_GIVERS:
        return "the person (16 or older), or for a child the custodians (and from 12 the child too)"
    names = {"subject": "the person themselves", "custodian": "a custodian (gezagsdrager)"}
    return " and ".join(names.get(r, r) for r in roles)
