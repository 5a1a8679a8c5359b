"""Consent rules at their edges: birthdays, age bands, statuses and the gaps a refusal names.

Each test names a realistic slip (an age counted a day early, a `<` for `<=` at 12 or 16) that
mutation testing (`make mutate`, docs/mutation-testing.md) showed the suite let through.
"""

from __future__ import annotations

from datetime import date

import pytest

from consent.age import age_band, age_on, required_givers


def test_a_child_turns_12_on_its_birthday_not_the_day_before():
    born = date(2014, 6, 15)
    assert age_on(born, date(2026, 6, 14)) == 11
    assert age_on(born, date(2026, 6, 15)) == 12
    assert age_on(born, born) == 0


def test_a_child_born_on_29_february_turns_a_year_older_on_1_march_in_other_years():
    born = date(2012, 2, 29)
    assert age_on(born, date(2026, 2, 28)) == 13
    assert age_on(born, date(2026, 3, 1)) == 14
    assert age_on(born, date(2028, 2, 29)) == 16


def test_a_date_before_the_birth_date_is_refused():
    with pytest.raises(ValueError, match="before the birth date"):
        age_on(date(2014, 6, 15), date(2014, 6, 14))


@pytest.mark.parametrize(
    ("age", "band", "givers"),
    [
        (0, "under 12", {"custodian"}),
        (11, "under 12", {"custodian"}),
        (12, "12 to 15", {"subject", "custodian"}),
        (15, "12 to 15", {"subject", "custodian"}),
        (16, "16 or older", {"subject"}),
    ],
)
def test_the_age_bands_change_exactly_at_12_and_16(age: int, band: str, givers: set[str]):
    assert age_band(age) == band
    assert required_givers(age) == givers


def test_a_negative_age_is_refused():
    with pytest.raises(ValueError, match="negative"):
        required_givers(-1)
