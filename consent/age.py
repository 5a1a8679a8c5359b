"""Who must give consent for a subject, by the subject's age on a given date.

The rules (CONTRACT.md "Consent"): under 12 a custodian (gezagsdrager) consents;
from 12 to 15 the child and a custodian both consent; from 16 the person consents.
Which givers fill "a custodian" and "the person" is ``consent.representation``: the holder(s) of
authority (both holders of joint authority), the child of 12 to 15 alone where the professional
recorded that it decides alone, and from 18 a mentor or curator in the adult's place.

Birthdays count on the day itself: a child born 2014-11-25 is 12 on 2026-11-25.
Someone born on 29 February has their birthday on 1 March in a non-leap year.

An unknown birth date is accepted only when the subject is among the givers, and the
subject is then treated as 16 or older: whether a minor's custodian may consent alone
cannot be decided without knowing the age, so the subject's own consent is required.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Final

from gateway.errors import ConsentInvalid

from .model import Giver
from .representation import (
    ADULT_REPRESENTATIVE_ROLES,
    MAJORITY_AGE,
    MINOR_AUTHORITY_ROLES,
    adult_represented,
    authority_satisfied,
    describe_missing,
    subject_decides_alone,
)

__all__ = [
    "ADULT_AGE",
    "CHILD_CONSENT_AGE",
    "MAJORITY_AGE",
    "age_band",
    "age_on",
    "describe_givers",
    "missing_givers",
    "required_givers",
    "verify_givers",
]

CHILD_CONSENT_AGE: Final = 12
ADULT_AGE: Final = 16

_ROLE_ORDER: Final = ("subject", "custodian")
_ROLE_PHRASES: Final = {"subject": "the subject", "custodian": "a custodian (gezagsdrager)"}


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on ``on``; the birthday itself already counts."""
    if on < birth_date:
        raise ValueError("the date lies before the birth date")
    years = on.year - birth_date.year
    if on < _birthday_in(birth_date, on.year):
        years -= 1
    return years


def age_band(age: int) -> str:
    """The age band the consent rules distinguish, as words for messages."""
    if age < CHILD_CONSENT_AGE:
        return "under 12"
    if age < ADULT_AGE:
        return "12 to 15"
    return "16 or older"


def required_givers(age: int) -> frozenset[str]:
    """The giver roles that must all be present for a subject of this age."""
    if age < 0:
        raise ValueError("age cannot be negative")
    if age < CHILD_CONSENT_AGE:
        return frozenset({"custodian"})
    if age < ADULT_AGE:
        return frozenset({"subject", "custodian"})
    return frozenset({"subject"})


def missing_givers(birth_date: date | None, given_by: Iterable[Giver], on: date) -> frozenset[str]:
    """The requirements (``subject``, ``custodian``) ``given_by`` does not fill on ``on``.

    Empty when the givers suffice. ``custodian`` is filled by the holder(s) of authority, or
    from 12 by the subject's recorded decision to agree alone; ``subject`` from 18 also by a
    mentor or curator. Raises ValueError when ``on`` lies before the birth date.
    """
    givers = tuple(given_by)
    roles = {giver.role for giver in givers}
    if birth_date is None:
        return frozenset({"subject"} - roles)
    age = age_on(birth_date, on)
    missing = set(required_givers(age))
    if "subject" in roles or (age >= MAJORITY_AGE and adult_represented(givers)):
        missing.discard("subject")
    if authority_satisfied(givers) or (age >= CHILD_CONSENT_AGE and subject_decides_alone(givers)):
        missing.discard("custodian")
    return frozenset(missing)


def describe_givers(roles: Iterable[str]) -> str:
    """Giver roles as words for messages, subject first: 'the subject and a custodian ...'."""
    present = set(roles)
    return " and ".join(_ROLE_PHRASES[role] for role in _ROLE_ORDER if role in present)


def verify_givers(birth_date: date | None, given_by: Iterable[Giver], on: date) -> None:
    """Return if ``given_by`` satisfies the age rules on ``on``; else raise ConsentInvalid."""
    givers = tuple(given_by)
    if birth_date is None:
        if any(giver.role in ADULT_REPRESENTATIVE_ROLES for giver in givers) or (
            subject_decides_alone(givers)
        ):
            raise ConsentInvalid(
                "The subject's birth date is unknown, so it cannot be checked that a mentor or "
                "curator acts for an adult, or that the subject is 12 to 15 and decides alone.",
                "Give subject.birth_date.",
                field="/subject/birth_date",
            )
        if missing_givers(None, givers, on):
            raise ConsentInvalid(
                "The subject's birth date is unknown, so the subject is treated as 16 or "
                "older and must give the consent; the givers lack the subject.",
                "Give subject.birth_date so the age rules can decide who must consent, "
                "or record the consent with the subject among the givers.",
            )
        return
    if on < birth_date:
        raise ConsentInvalid(
            "The subject's birth date lies after the date the consent is checked on.",
            "Correct subject.birth_date.",
        )
    age = age_on(birth_date, on)
    _verify_roles_fit_age(givers, age)
    missing = missing_givers(birth_date, givers, on)
    if missing:
        raise ConsentInvalid(
            f"Consent for a subject aged {age_band(age)} lacks "
            f"{describe_missing(missing, givers)}.",
            f"Record the consent with given_by including {describe_givers(required_givers(age))}"
            f"{_HOLDERS_HINT if 'custodian' in missing else ''}.",
        )


# What fills "a custodian" since the representative kinds exist (consent.representation).
_HOLDERS_HINT: Final = (
    " (a holder of authority: the parent with sole authority, both holders of joint authority, "
    "or the guardian, each with its authority evidence)"
)


def _verify_roles_fit_age(givers: tuple[Giver, ...], age: int) -> None:
    """Refuse representatives who cannot act for a person of this age on the recording date."""
    roles = {giver.role for giver in givers}
    if age < MAJORITY_AGE and roles & ADULT_REPRESENTATIVE_ROLES:
        raise ConsentInvalid(
            "A mentor or curator acts for an adult (BW 1:450, 1:381); the subject is a minor.",
            "For a minor, record the holder(s) of authority (parents or guardian) instead.",
            field="/given_by",
        )
    if age >= MAJORITY_AGE and roles & (MINOR_AUTHORITY_ROLES - {"custodian"}):
        raise ConsentInvalid(
            "Parental authority and guardianship end when the subject comes of age at 18 "
            "(BW 1:233); the subject is an adult.",
            "For an adult, record the subject's own agreement, or the mentor or curator the "
            "court appointed.",
            field="/given_by",
        )
    if subject_decides_alone(givers) and not CHILD_CONSENT_AGE <= age < ADULT_AGE:
        raise ConsentInvalid(
            "Field decides_alone is for a child of 12 to 15 (BW 7:450 lid 2); the subject is "
            f"{age_band(age)}.",
            "Leave decides_alone out: under 12 the holders of authority agree, from 16 the "
            "subject agrees alone anyway.",
            field="/given_by",
        )


def _birthday_in(birth_date: date, year: int) -> date:
    """The birth date's anniversary in ``year``; 29 February falls on 1 March in other years."""
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return date(year, 3, 1)
