"""The client's agreement: who agreed to which exchanges about a subject, and whether it holds.

What the registry records (and the API calls a "consent") is the client's agreement to share,
given by the person or by the legal representative acting for them: the agreement professional
secrecy asks for before a professional speaks (toestemming om het beroepsgeheim te doorbreken).
It is not AVG art. 6(1)(a) consent unless a purpose's ground says so (docs/legal-basis.md).
Each giver is the person (``subject``) or the representative acting, by kind of authority
(``consent.representation``), with the evidence of that authority.

Validity window: a record is valid on the calendar days d with
``valid_from <= d < valid_until``; ``valid_until`` is an exclusive end date (the first
day the consent no longer holds), and ``None`` means open-ended. Days are the calendar
date of the ``now`` the caller passes in, so pass a time in the Dutch local zone
(Europe/Amsterdam) when day boundaries must follow Dutch dates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Final, Literal, get_args

__all__ = [
    "AUTHORITY_SOURCES",
    "EVIDENCE_METHODS",
    "GIVER_ROLES",
    "MAX_EVIDENCE_REFERENCE",
    "MAX_GIVER_NAME",
    "MINOR_DECISION_GROUNDS",
    "Authority",
    "ConsentRecord",
    "ConsentStatus",
    "Evidence",
    "EvidenceMethod",
    "Giver",
    "GiverRole",
    "MinorDecision",
    "giver_names_shown_to",
    "is_party",
    "shown_to",
    "status",
    "withdraw",
]

# ``custodian`` is the contract's first representative role: a holder of authority (gezag)
# whose kind was not recorded. It keeps its meaning (one suffices for a minor) as a legacy alias.
GiverRole = Literal[
    "subject",
    "custodian",
    "parent_sole_authority",
    "parent_joint_authority",
    "guardian",
    "guardian_gi",
    "mentor",
    "curator",
]
EvidenceMethod = Literal["written", "verbal", "digital"]
ConsentStatus = Literal["active", "withdrawn", "expired", "pending"]
# How a representative's authority was established: an extract of the gezagsregister (BW 1:244),
# the court's order (a guardian, a GI as voogd, sole authority, a mentor or curator), or the
# Basisregistratie Personen (parents married or in a registered partnership, BW 1:251, 1:253aa).
AuthoritySource = Literal["gezagsregister", "court_order", "brp"]
# Why a child of 12 to 15 agrees alone: the help is clearly needed to prevent serious harm, or
# the child keeps wanting it, well-considered, after the parents refused (BW 7:450 lid 2).
MinorDecisionGround = Literal["serious_harm", "persistent_wish"]

GIVER_ROLES: Final[frozenset[str]] = frozenset(get_args(GiverRole))
EVIDENCE_METHODS: Final[frozenset[str]] = frozenset({"written", "verbal", "digital"})
AUTHORITY_SOURCES: Final[frozenset[str]] = frozenset({"gezagsregister", "court_order", "brp"})
MINOR_DECISION_GROUNDS: Final[frozenset[str]] = frozenset({"serious_harm", "persistent_wish"})
MAX_GIVER_NAME: Final = 100
MAX_EVIDENCE_REFERENCE: Final = 200

# A keyed pseudonym is a long hex digest; the length floor keeps a 9-digit BSN
# (which is also "hex") from ever being stored as a subject by mistake.
_PSEUDONYM: Final = re.compile(r"[0-9a-f]{32,128}")


def _check_reference(reference: str, what: str) -> None:
    if not 1 <= len(reference) <= MAX_EVIDENCE_REFERENCE:
        raise ValueError(f"{what} must be 1 to {MAX_EVIDENCE_REFERENCE} characters")


@dataclass(frozen=True, slots=True)
class Authority:
    """How a representative's authority was established, and where the proof of it is kept."""

    established_by: AuthoritySource
    reference: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.established_by not in AUTHORITY_SOURCES:
            raise ValueError(f"authority source must be one of {sorted(AUTHORITY_SOURCES)}")
        _check_reference(self.reference, "authority reference")


@dataclass(frozen=True, slots=True)
class MinorDecision:
    """The professional's recorded assessment that a child of 12 to 15 agrees alone, and why."""

    ground: MinorDecisionGround
    reference: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.ground not in MINOR_DECISION_GROUNDS:
            raise ValueError(f"ground must be one of {sorted(MINOR_DECISION_GROUNDS)}")
        _check_reference(self.reference, "assessment reference")


@dataclass(frozen=True, slots=True)
class Giver:
    """Who gave the agreement: the subject, or the representative acting and its authority.

    ``authority`` is how a representative's authority was established (required for every
    representative role but the legacy ``custodian``, never for the subject); ``decides_alone``
    only on the subject: the child of 12 to 15 agrees without the holders of authority.
    """

    role: GiverRole
    # Kept out of repr so a record printed into a log line carries no names.
    name: str | None = field(default=None, repr=False)
    authority: Authority | None = None
    decides_alone: MinorDecision | None = None

    def __post_init__(self) -> None:
        if self.role not in GIVER_ROLES:
            raise ValueError(f"giver role must be one of {sorted(GIVER_ROLES)}")
        if self.name is not None and not 1 <= len(self.name) <= MAX_GIVER_NAME:
            raise ValueError(f"giver name must be 1 to {MAX_GIVER_NAME} characters")
        if self.role == "subject" and self.authority is not None:
            raise ValueError("the subject acts for themselves: no authority is recorded")
        if self.role not in ("subject", "custodian") and self.authority is None:
            raise ValueError("a representative's authority must be recorded with its evidence")
        if self.role != "subject" and self.decides_alone is not None:
            raise ValueError("only the subject (a child of 12 to 15) decides alone")


@dataclass(frozen=True, slots=True)
class Evidence:
    """How the consent was obtained and where the proof of it is kept."""

    method: EvidenceMethod
    reference: str

    def __post_init__(self) -> None:
        if self.method not in EVIDENCE_METHODS:
            raise ValueError(f"evidence method must be one of {sorted(EVIDENCE_METHODS)}")
        if not 1 <= len(self.reference) <= MAX_EVIDENCE_REFERENCE:
            raise ValueError(f"evidence reference must be 1 to {MAX_EVIDENCE_REFERENCE} characters")


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One recorded consent: subject, givers, scope (purposes, senders, recipients) and window.

    ``recipients`` holds partner ids or ``kind:<partner kind>`` entries. ``valid_until``
    is exclusive (see the module docstring). ``subject`` is the keyed pseudonym, never a BSN;
    ``subject_system`` the identifier system of a person without a BSN (None for a BSN).
    """

    consent_id: str
    subject: str
    birth_date: date | None = field(repr=False)
    given_by: tuple[Giver, ...]
    purposes: frozenset[str]
    senders: frozenset[str]
    recipients: frozenset[str]
    valid_from: date
    valid_until: date | None
    evidence: Evidence
    recorded_by: str
    recorded_at: datetime
    withdrawn_at: datetime | None = None
    subject_system: str | None = None

    def __post_init__(self) -> None:
        if not _PSEUDONYM.fullmatch(self.subject):
            raise ValueError("subject must be the hex pseudonym of the subject, never a BSN")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until (exclusive) must lie after valid_from")
        _require_aware(self.recorded_at, "recorded_at")
        if self.withdrawn_at is not None:
            _require_aware(self.withdrawn_at, "withdrawn_at")


def is_party(record: ConsentRecord, partner: str) -> bool:
    """Whether ``partner`` recorded the record or is named in its from or to by its own id.

    A ``kind:<kind>`` entry makes no partner a party: it widens whom the record covers (every
    partner of that kind may receive under it), not who may learn of it, so that a care
    provider's consent for ``kind:school`` does not tell every school that it recorded one.
    """
    return (
        record.recorded_by == partner or partner in record.senders or partner in record.recipients
    )


def shown_to(record: ConsentRecord, partner: str, knows_of: Callable[[str], bool]) -> bool:
    """Whether ``partner`` may learn of the record at all: listing, FHIR form, refusal reasons.

    The recorder always may. A partner named in it by id may when it may know of every other
    party the record names (``knows_of`` takes a partner id or ``kind:<kind>``); a record with a
    party hidden from it is, for it, as absent as one it has no part in, so what it gets carries
    no trace of that party (no shorter or empty ``from``). Anyone else may not.
    """
    if record.recorded_by == partner:
        return True
    if not is_party(record, partner):
        return False
    return all(
        party in (partner, record.recorded_by) or knows_of(party)
        for party in record.senders | record.recipients
    )


def giver_names_shown_to(record: ConsentRecord, partner: str) -> bool:
    """Whether the names of the record's givers may be shown to ``partner``: its recorder only.

    The recorder took the consent down from the family and already holds the names; a sender or
    recipient named in the record learns only the givers' roles, in either form of the record.
    """
    return record.recorded_by == partner


def status(record: ConsentRecord, now: datetime) -> ConsentStatus:
    """The record's status at ``now``; a withdrawal outranks expiry, expiry outranks pending."""
    _require_aware(now, "now")
    if record.withdrawn_at is not None and record.withdrawn_at <= now:
        return "withdrawn"
    today = now.date()
    if record.valid_until is not None and today >= record.valid_until:
        return "expired"
    if today < record.valid_from:
        return "pending"
    return "active"


def withdraw(record: ConsentRecord, *, now: datetime) -> ConsentRecord:
    """The record withdrawn at ``now``; an earlier withdrawal stands, so this is idempotent."""
    _require_aware(now, "now")
    if record.withdrawn_at is not None and record.withdrawn_at <= now:
        return record
    return replace(record, withdrawn_at=now)


def _require_aware(moment: datetime, name: str) -> None:
    # Naive and aware datetimes cannot be compared; refuse naive ones at once
    # instead of failing later in the middle of an evaluation.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
