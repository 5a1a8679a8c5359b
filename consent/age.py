"""Who must give consent for a subject, by the subject's age on a given date.

The rules (CONTRACT.md "Consent"): under 12 a custodian (gezagsdrager) consents;
from 12 to 15 the child and a custodian both consent; from 16 the person consents.

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

__all__ = [
    "ADULT_AGE",
    "CHILD_CONSENT_AGE",
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
    """The required giver roles that ``given_by`` lacks on ``on``; empty when it suffices.

    Raises ValueError when ``on`` lies before the birth date.
    """
    roles = {giver.role for giver in given_by}
    if birth_date is None:
        return frozenset({"subject"} - roles)
    return required_givers(age_on(birth_date, on)) - roles


def describe_givers(roles: Iterable[str]) -> str:
    """Giver roles as words for messages, subject first: 'the subject and a custodian ...'."""
    present = set(roles)
    return " and ".join(_ROLE_PHRASES[role] for role in _ROLE_ORDER if role in present)


def verify_givers(birth_date: date | None, given_by: Iterable[Giver], on: date) -> None:
    """Return if ``given_by`` satisfies the age rules on ``on``; else raise ConsentInvalid."""
    givers = tuple(given_by)
    if birth_date is None:
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
    missing = missing_givers(birth_date, givers, on)
    if missing:
        raise ConsentInvalid(
            f"Consent for a subject aged {age_band(age)} lacks {describe_givers(missing)}.",
            f"Record the consent with given_by including {describe_givers(required_givers(age))}.",
        )


def _birthday_in(birth_date: date, year: int) -> date:
    """The birth date's anniversary in ``year``; 29 February falls on 1 March in other years."""
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return date(year, 3, 1)
