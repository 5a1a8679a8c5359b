"""Deadlines in working days: weekends and the holidays of `config/holidays.toml` do not count.

The catalogue's terms are agreements (issue 19), each counted in calendar or working days as
configured. These tests count across a weekend, a holiday, a year end and a change to summer
time on the shipped holiday list, check that calendar days are counted as before, and that the
holiday list and the deadline settings are checked at start-up.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gateway.clock import DUTCH_TIME
from gateway.config import ConfigError, load_catalogue
from gateway.config.deadlines import (
    CALENDAR_DAYS,
    DayCount,
    Deadline,
    HolidayCalendar,
    load_holidays,
)
from gateway.policy.workflow import due_date
from tests.conftest import DEFAULT_CONFIG, REPO, copy_config
from tests.test_legal_catalogue import catalogue_with

HOLIDAYS = load_holidays(DEFAULT_CONFIG / "holidays.toml")
WORKING = DayCount("working", HOLIDAYS)


def dutch(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=DUTCH_TIME)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Wednesday + 5 working days: Thursday, Friday, (weekend), Monday, Tuesday, Wednesday.
        (dutch(2026, 11, 25), 5, dutch(2026, 12, 2)),
        # Friday + 1 working day is Monday.
        (dutch(2026, 11, 27), 1, dutch(2026, 11, 30)),
        # Saturday + 1 working day is Monday; Sunday too.
        (dutch(2026, 11, 28), 1, dutch(2026, 11, 30)),
        (dutch(2026, 11, 29), 1, dutch(2026, 11, 30)),
        # Across Easter 2026: Good Friday 3 April and Easter Monday 6 April do not count.
        (dutch(2026, 4, 2), 1, dutch(2026, 4, 7)),
        # Across Koningsdag (Monday 27 April 2026) and 5 May (Tuesday 2026).
        (dutch(2026, 4, 24), 1, dutch(2026, 4, 28)),
        (dutch(2026, 5, 4), 1, dutch(2026, 5, 6)),
        # Ascension Thursday 14 May 2026 and the Friday equated with a holiday (Atw art. 3 lid 3).
        (dutch(2026, 5, 13), 1, dutch(2026, 5, 18)),
        # Across the year end: 25, 26 December (Friday, Saturday), 1 January 2027 (Friday).
        (dutch(2026, 12, 24), 1, dutch(2026, 12, 28)),
        (dutch(2026, 12, 24), 5, dutch(2027, 1, 4)),
        (dutch(2026, 12, 31), 1, dutch(2027, 1, 4)),
        # 5 May 2029 is a Saturday: nothing more is skipped than the weekend.
        (dutch(2029, 5, 4), 1, dutch(2029, 5, 7)),
    ],
)
def test_working_days_skip_weekends_and_holidays(start: datetime, days: int, due: datetime):
    assert WORKING.after(start, days) == due


def test_working_days_keep_the_dutch_time_of_day_across_the_change_to_summer_time():
    # Friday 27 March 2026, 09:00 in winter time (08:00 UTC); summer time starts Sunday 29 March.
    start = datetime(2026, 3, 27, 8, 0, tzinfo=UTC)
    due = WORKING.after(start, 1)
    assert due.tzinfo is UTC
    assert due == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert due.astimezone(DUTCH_TIME).hour == 9


def test_calendar_days_are_counted_as_before_holidays_and_weekends_included():
    start = datetime(2026, 12, 24, 9, 30, tzinfo=UTC)
    for days in (1, 5, 10, 15, 90):
        assert CALENDAR_DAYS.after(start, days) == start + timedelta(days=days)
    # due_date keeps counting calendar days unless told otherwise.
    assert due_date({}, None, 5, start) == start + timedelta(days=5)
    assert due_date({}, None, 5, start, WORKING) == datetime(2027, 1, 4, 9, 30, tzinfo=UTC)
    # A date in the payload is taken as it is, whatever the count.
    assert due_date({"by": "2026-12-26"}, "by", 5, start, WORKING) == datetime(
        2026, 12, 26, 23, 59, 59, tzinfo=DUTCH_TIME
    )


def test_the_shipped_list_holds_the_atw_days_for_2026_to_2030_with_good_friday_and_5_may():
    days = HOLIDAYS.days
    for year in range(2026, 2031):
        assert date(year, 1, 1) in days
        assert date(year, 5, 5) in days  # every year, not only in lustrum years
        assert date(year, 12, 25) in days
        assert date(year, 12, 26) in days
    good_fridays = [date(2026, 4, 3), date(2027, 3, 26), date(2028, 4, 14)]
    good_fridays += [date(2029, 3, 30), date(2030, 4, 19)]
    assert all(days[d] == "Goede Vrijdag" for d in good_fridays)
    ascension = [date(2026, 5, 14), date(2027, 5, 6), date(2028, 5, 25), date(2029, 5, 10)]
    assert all(days[d] == "Hemelvaartsdag" for d in [*ascension, date(2030, 5, 30)])
    whit_mondays = [date(2026, 5, 25), date(2027, 5, 17), date(2028, 6, 5), date(2029, 5, 21)]
    assert all(days[d] == "Tweede Pinksterdag" for d in [*whit_mondays, date(2030, 6, 10)])
    assert all(days[date(y, 4, 27)] == "Koningsdag" for y in range(2026, 2031))
    assert {d.year for d in days} == set(range(2026, 2031))


def test_the_gi_waiting_list_terms_are_a_local_agreement_counted_in_working_days():
    catalogue = load_catalogue(DEFAULT_CONFIG, REPO / "schemas")
    purpose = catalogue.get("waiting-list-status")
    assert purpose is not None
    deadline = purpose.gi_join_deadline
    assert deadline is not None
    assert (deadline.source, deadline.count.unit) == ("local_agreement", "working")
    assert dict(purpose.expected_when_gi_joins) == {"direct": 15, "beschermingstafel": 5}
    joined = dutch(2026, 12, 21)  # Monday before Christmas
    assert purpose.gi_join_due("beschermingstafel", joined) == dutch(2026, 12, 29)
    # 22-24, 28-31 December, 4-8, 11-13 January: Christmas and New Year do not count.
    assert purpose.gi_join_due("direct", joined) == dutch(2027, 1, 13)
    # Every other expected reply names its source too: a local agreement in calendar days, except
    # Veilig Thuis's feedback to a reporter, 5 working days by its national working standard.
    for each in catalogue:
        for expected in each.expects_reply:
            vt = expected.purpose == "vt-feedback"
            assert expected.deadline.source == ("covenant" if vt else "local_agreement")
            assert expected.deadline.reference.strip()
            assert expected.deadline.count.unit == ("working" if vt else "calendar")


def test_a_deadline_names_its_source_and_a_valid_count():
    assert Deadline("covenant", "Convenant X").to_json() == {
        "source": "covenant",
        "reference": "Convenant X",
        "count": "calendar",
    }


GI_TERMS = 'source = "local_agreement"\nreference = "Improvement plan'


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (GI_TERMS, 'source = "law"\nreference = "Improvement plan', "'source' has 'law'"),
        ('count = "working"', 'count = "weekdays"', "'count' has 'weekdays'"),
        ('count = "working"', "", "missing required key 'count'"),
        (GI_TERMS, 'reference = "Improvement plan', "missing required key 'source'"),
        (
            'source = "local_agreement", reference = "Working agreements',
            'reference = "Working agreements',
            "missing required key 'source'",
        ),
    ],
)
def test_a_term_without_its_source_or_count_is_refused_at_start_up(
    tmp_path: Path, old: str, new: str, words: str
):
    config = catalogue_with(tmp_path, old, new)
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    assert "purposes.toml" in str(raised.value)
    assert words in str(raised.value)


def test_working_days_without_a_holiday_list_are_refused_at_start_up(tmp_path: Path):
    config = copy_config(tmp_path / "config")
    (config / "holidays.toml").unlink()
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    assert "waiting-list-status" in str(raised.value)
    assert "holidays.toml" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[holiday]]\ndate = "2026-01-01"\nname = "x"\nsource = "local"\n', "TOML local date"),
        (
            '[[holiday]]\ndate = 2026-01-01\nname = "a"\nsource = "local"\n'
            '[[holiday]]\ndate = 2026-01-01\nname = "b"\nsource = "local"\n',
            "listed twice",
        ),
        ('[[holiday]]\ndate = 2026-01-01\nsource = "local"\n', "missing required key 'name'"),
        ('[[holiday]]\ndate = 2026-01-01\nname = "a"\n', "missing required key 'source'"),
        ('[[holiday]]\ndate = 2026-01-01\nname = "a"\nsource = "x"\nkind = 1\n', "'kind'"),
        ("holiday = []\n", "at least one"),
    ],
)
def test_a_wrong_holiday_list_is_refused_naming_the_problem(tmp_path: Path, text: str, words: str):
    path = tmp_path / "holidays.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_holidays(path)
    assert "holidays.toml" in str(raised.value)
    assert words in str(raised.value)


def test_a_local_holiday_list_changes_the_count(tmp_path: Path):
    path = tmp_path / "holidays.toml"
    path.write_text('[[holiday]]\ndate = 2026-02-16\nname = "Carnaval"\nsource = "local"\n')
    local = DayCount("working", load_holidays(path))
    # Friday 13 February 2026 + 1 working day: Monday is a local closing day here.
    assert local.after(dutch(2026, 2, 13), 1) == dutch(2026, 2, 17)
    assert WORKING.after(dutch(2026, 2, 13), 1) == dutch(2026, 2, 16)


def test_a_holiday_list_that_ends_within_a_year_is_reported_with_its_last_day() -> None:
    calendar = HolidayCalendar({date(2030, 12, 25): "Eerste Kerstdag"})
    assert calendar.listed_until() == date(2030, 12, 31)
    assert calendar.coverage_problem(date(2029, 12, 31)) is None
    assert calendar.coverage_problem(date(2029, 12, 30)) is None
    problem = calendar.coverage_problem(date(2030, 1, 1))
    assert problem is not None
    assert "until 2030-12-31" in problem


def test_an_empty_holiday_calendar_has_no_coverage_to_report() -> None:
    assert HolidayCalendar().listed_until() is None
    assert HolidayCalendar().coverage_problem(date(2026, 1, 1)) is None
