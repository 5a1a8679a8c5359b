"""Does a recorded consent cover an exchange, and if none does, what is missing and why.

Each rule looks at one aspect of a record (status, purpose, sender, recipient, givers)
and returns a reason when that aspect does not cover the exchange; a record covers
only when no rule gives a reason. ``find_covering_consent`` and ``explain_missing``
share these rules, so the explanation always matches the decision.

Reasons end up in error messages sent to partners: they name consent ids, purposes,
partner ids, dates of withdrawal and validity and age bands, never names or birth dates. So an
explanation is written for one ``Viewer``: it gives reasons only about the records that partner
recorded or is named in by id (and whose other parties it may know of: ``shown_to``), and the
givers this subject's age requires only to a partner party to one of the subject's records; anyone else learns that no consent covers the exchange and the
rule for every age band, not this child's state.

The age rules are evaluated against the birth date the gateway holds for the subject
(``held_birth_date``); only a subject without one (records from before the gateway held birth
dates) is held to every birth date its records carry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from gateway.errors import ConsentRequired

from .age import (
    ADULT_AGE,
    CHILD_CONSENT_AGE,
    age_band,
    age_on,
    describe_givers,
    missing_givers,
    required_givers,
)
from .model import ConsentRecord, shown_to, status
from .representation import describe_missing

__all__ = [
    "UNKNOWN_AGE_GIVERS",
    "MissingConsent",
    "Viewer",
    "explain_missing",
    "find_covering_consent",
]

UNKNOWN_AGE_GIVERS: Final = ("subject_or_custodian",)
_ROLE_ORDER: Final = ("subject", "custodian")


def _knows_of_no_one(party: str) -> bool:
    """Fail closed: a viewer built without a visibility rule knows of no other party."""
    return False


@dataclass(frozen=True, slots=True)
class Viewer:
    """The partner an explanation is written for: its id, its kind, and whom it may know of.

    ``knows_of`` says whether it may learn that a party (a partner id or ``kind:<kind>``) is
    involved (the catalogue's ``[case_network_visibility]``); without one it knows of no one.
    """

    partner: str
    kind: str
    knows_of: Callable[[str], bool] = _knows_of_no_one

    def is_party_to(self, record: ConsentRecord) -> bool:
        """Whether this partner may hear of the record (``shown_to``): recorder, or named by id
        in a record whose every other party it may know of."""
        return shown_to(record, self.partner, self.knows_of)


@dataclass(frozen=True, slots=True)
class MissingConsent:
    """The consent an exchange lacks: its scope, who would have to give it, and why none covers.

    ``from_`` is the contract's ``from`` (a Python keyword); ``to_json`` gives the contract's
    ``missing_consent`` object.
    """

    purpose: str
    from_: str
    to: str
    given_by: tuple[str, ...]
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The contract's ``missing_consent`` object: purpose, from, to, given_by."""
        return {
            "purpose": self.purpose,
            "from": self.from_,
            "to": self.to,
            "given_by": list(self.given_by),
        }

    def explanation(self) -> str:
        """One sentence per reason, for the check endpoint's ``explanation``."""
        head = (
            f"No active consent covers purpose '{self.purpose}' "
            f"from '{self.from_}' to '{self.to}' for this subject."
        )
        if not self.reasons:
            # Not "no consent is recorded": records the viewer is no party to are not its business.
            return head
        return head + " " + " ".join(f"{reason}." for reason in self.reasons)

    def to_error(self) -> ConsentRequired:
        """The ``consent_required`` refusal carrying this as ``missing_consent``."""
        if self.given_by == UNKNOWN_AGE_GIVERS:
            givers = "the subject or, for a minor, the custodians as the age rules require"
        else:
            givers = describe_givers(self.given_by)
        return ConsentRequired(
            self.explanation(),
            f"Record consent (POST /v1/consents) given by {givers} for purpose "
            f"'{self.purpose}', from '{self.from_}', to '{self.to}'.",
            missing_consent=self.to_json(),
        )


@dataclass(frozen=True, slots=True)
class _Exchange:
    """The exchange a consent must cover."""

    purpose: str
    sender: str
    recipient: str
    recipient_kind: str
    on: datetime
    held_birth_date: date | None


def find_covering_consent(
    records: Iterable[ConsentRecord],
    *,
    purpose: str,
    sender: str,
    recipient: str,
    recipient_kind: str,
    on: datetime,
    held_birth_date: date | None = None,
) -> ConsentRecord | None:
    """The active record of one subject that covers the exchange at ``on``, or None.

    ``records`` are the subject's records (all with the same pseudonym; a mix raises
    ValueError). When several cover, the most recently recorded wins, ties broken by
    the greatest consent id, so the choice does not depend on the records' order.
    ``held_birth_date`` is the birth date the gateway holds for the subject, if any.
    """
    subject_records = _one_subject(records)
    exchange = _Exchange(purpose, sender, recipient, recipient_kind, on, held_birth_date)
    known = _known_birth_dates(subject_records)
    covering = [r for r in subject_records if not _gaps(r, exchange, known)]
    return max(covering, key=lambda r: (r.recorded_at, r.consent_id), default=None)


def explain_missing(
    records: Iterable[ConsentRecord],
    *,
    purpose: str,
    sender: str,
    recipient: str,
    recipient_kind: str,
    on: datetime,
    viewer: Viewer,
    held_birth_date: date | None = None,
) -> MissingConsent:
    """What consent the exchange needs and why each record ``viewer`` is party to falls short.

    ``given_by`` follows the age rules on the exchange date for the held birth date (without
    one, for every birth date the records know), but only when ``viewer`` is party to one of the
    subject's records; otherwise, or with no date known, it is ``("subject_or_custodian",)``,
    the rule for every age band. Reasons name only records ``viewer`` is party to.
    Call it after ``find_covering_consent`` returned None; a covering record gives no reason.
    """
    subject_records = _one_subject(records)
    exchange = _Exchange(purpose, sender, recipient, recipient_kind, on, held_birth_date)
    known = _known_birth_dates(subject_records)
    visible = [record for record in subject_records if viewer.is_party_to(record)]
    ordered = sorted(visible, key=lambda r: (r.recorded_at, r.consent_id))
    reasons = tuple(
        f"consent {record.consent_id}: {gap}"
        for record in ordered
        for gap in _gaps(record, exchange, known)
    )
    birth_dates: frozenset[date] = frozenset()
    if visible:
        birth_dates = frozenset({held_birth_date}) if held_birth_date is not None else known
    return MissingConsent(
        purpose=purpose,
        from_=sender,
        to=recipient,
        given_by=_givers_needed(birth_dates, on.date()),
        reasons=reasons,
    )


def _status_gap(record: ConsentRecord, exchange: _Exchange, known: frozenset[date]) -> str | None:
    state = status(record, exchange.on)
    if state == "active":
        return None
    if state == "withdrawn" and record.withdrawn_at is not None:
        return f"withdrawn on {record.withdrawn_at.date().isoformat()}"
    if state == "expired" and record.valid_until is not None:
        return f"expired on {record.valid_until.isoformat()}"
    if state == "pending":
        return f"not valid before {record.valid_from.isoformat()}"
    # Fail closed on a status this module does not know how to explain.
    return f"not active ({state})"


def _purpose_gap(record: ConsentRecord, exchange: _Exchange, known: frozenset[date]) -> str | None:
    if exchange.purpose in record.purposes:
        return None
    return f"purpose '{exchange.purpose}' not in scope"


def _sender_gap(record: ConsentRecord, exchange: _Exchange, known: frozenset[date]) -> str | None:
    if exchange.sender in record.senders:
        return None
    return f"sender '{exchange.sender}' not in scope"


def _recipient_gap(
    record: ConsentRecord, exchange: _Exchange, known: frozenset[date]
) -> str | None:
    if exchange.recipient in record.recipients:
        return None
    if f"kind:{exchange.recipient_kind}" in record.recipients:
        return None
    return f"recipient '{exchange.recipient}' (kind {exchange.recipient_kind}) not in scope"


def _givers_gap(record: ConsentRecord, exchange: _Exchange, known: frozenset[date]) -> str | None:
    on = exchange.on.date()
    # The birth date the gateway holds decides, whatever date a record was given with.
    # Without one (records from before it held dates), a record without a birth date is held
    # to every birth date the subject's other records know, so it cannot stand in for a
    # custodian's consent for a minor.
    if exchange.held_birth_date is not None:
        birth_dates: tuple[date | None, ...] = (exchange.held_birth_date,)
    elif record.birth_date is not None:
        birth_dates = (record.birth_date,)
    elif known:
        birth_dates = tuple(sorted(known))
    else:
        birth_dates = (None,)
    for birth_date in birth_dates:
        gap = _givers_gap_for(record, birth_date, on)
        if gap is not None:
            return gap
    return None


def _givers_gap_for(record: ConsentRecord, birth_date: date | None, on: date) -> str | None:
    if birth_date is None:
        if missing_givers(None, record.given_by, on):
            return "givers not sufficient: the birth date is unknown, so the subject must consent"
        return None
    if on < birth_date:
        return "givers not sufficient: the exchange date lies before the subject's birth date"
    missing = missing_givers(birth_date, record.given_by, on)
    if not missing:
        return None
    age = age_on(birth_date, on)
    recorded_on = record.recorded_at.date()
    held_when_recorded = recorded_on >= birth_date and not missing_givers(
        birth_date, record.given_by, recorded_on
    )
    if held_when_recorded:
        threshold = ADULT_AGE if age >= ADULT_AGE else CHILD_CONSENT_AGE
        return (
            f"givers no longer sufficient because the subject turned {threshold}: "
            f"{describe_missing(missing, record.given_by)} must consent too"
        )
    return (
        f"givers not sufficient for a subject aged {age_band(age)}: "
        f"{describe_missing(missing, record.given_by)} must consent too"
    )


_Rule = Callable[[ConsentRecord, _Exchange, frozenset[date]], str | None]

# The order in which reasons are listed; every rule must pass for a record to cover.
_RULES: Final[tuple[_Rule, ...]] = (
    _status_gap,
    _purpose_gap,
    _sender_gap,
    _recipient_gap,
    _givers_gap,
)


def _gaps(record: ConsentRecord, exchange: _Exchange, known: frozenset[date]) -> tuple[str, ...]:
    """Every reason the record does not cover the exchange; empty means it covers."""
    return tuple(gap for rule in _RULES if (gap := rule(record, exchange, known)) is not None)


def _one_subject(records: Iterable[ConsentRecord]) -> tuple[ConsentRecord, ...]:
    held = tuple(records)
    if len({record.subject for record in held}) > 1:
        raise ValueError("consent records of more than one subject were passed together")
    return held


def _known_birth_dates(records: tuple[ConsentRecord, ...]) -> frozenset[date]:
    return frozenset(r.birth_date for r in records if r.birth_date is not None)


def _givers_needed(birth_dates: Iterable[date], on: date) -> tuple[str, ...]:
    roles: set[str] = set()
    for birth_date in birth_dates:
        if on >= birth_date:
            roles |= required_givers(age_on(birth_date, on))
    if not roles:
        return UNKNOWN_AGE_GIVERS
    return tuple(role for role in _ROLE_ORDER if role in roles)
