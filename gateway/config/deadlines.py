"""Deadlines as agreements: where each term comes from, and how its days are counted.

No exchange in the catalogue has a deadline in statute: the terms are agreements (a covenant
between partners, or one municipality's own agreement). So every rule that opens an expectation
names its `source` and `reference`, and counts `calendar` or `working` days. A working day is a
Monday to Friday that is not in the holiday list (`holidays.toml`, read once at start-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from gateway.clock import DUTCH_TIME
from gateway.config._toml import Table, read_toml
from gateway.config.errors import ConfigError

__all__ = [
    "CALENDAR_DAYS",
    "COUNTS",
    "SOURCES",
    "DayCount",
    "Deadline",
    "HolidayCalendar",
    "load_holidays",
]

SOURCES = frozenset({"statute", "covenant", "local_agreement"})
COUNTS = frozenset({"calendar", "working"})


@dataclass(frozen=True, slots=True)
class HolidayCalendar:
    """The days that are not working days besides Saturdays and Sundays, with their names."""

    days: Mapping[date, str] = field(default_factory=dict)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.days

    def listed_until(self) -> date | None:
        """The last day of the last year the list covers (past it only weekends are skipped)."""
        return None if not self.days else date(max(self.days).year, 12, 31)

    def coverage_problem(self, today: date, *, ahead_days: int = 365) -> str | None:
        """Why working-day deadlines set from `today` may soon be miscounted, or None.

        Deadlines run up to a few months ahead; a list that ends within `ahead_days` of today
        would let a term that crosses into an unlisted year count its holidays as working days.
        """
        until = self.listed_until()
        if until is None or until >= today + timedelta(days=ahead_days):
            return None
        return (
            f"holidays.toml lists holidays until {until.isoformat()}: working-day deadlines "
            f"that run past it count that year's holidays as working days"
        )


@dataclass(frozen=True, slots=True)
class DayCount:
    """How the days of a term are counted: every day, or working days only."""

    unit: str  # "calendar" | "working"
    holidays: HolidayCalendar = field(default_factory=HolidayCalendar)

    def after(self, start: datetime, days: int) -> datetime:
        """The moment `days` days after `start`, counted in this unit.

        Calendar days add whole days to `start`, as the gateway always did. Working days step
        over the Dutch calendar dates after `start`'s own date, skipping weekends and holidays,
        and end on the `days`-th working day at `start`'s Dutch time of day.
        """
        if self.unit == "calendar":
            return start + timedelta(days=days)
        local = start.astimezone(DUTCH_TIME)
        day, counted = local.date(), 0
        while counted < days:
            day += timedelta(days=1)
            if self.holidays.is_working_day(day):
                counted += 1
        return datetime.combine(day, local.timetz()).astimezone(start.tzinfo)


CALENDAR_DAYS = DayCount("calendar")


@dataclass(frozen=True, slots=True)
class Deadline:
    """Where a term comes from (`source`, `reference`) and how its days are counted."""

    source: str  # "statute" | "covenant" | "local_agreement"
    reference: str
    count: DayCount = CALENDAR_DAYS

    def due(self, start: datetime, days: int) -> datetime:
        return self.count.after(start, days)

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "reference": self.reference, "count": self.count.unit}


def read_deadline(table: Table, holidays: HolidayCalendar | None) -> Deadline:
    """`source`, `reference` and `count` of a table that opens expectations; all required.

    `holidays` is None when no holiday list was loaded: a working-day count then cannot be kept.
    """
    source = table.text("source")
    if source not in SOURCES:
        raise table.fail(f"'source' has '{source}', expected one of {', '.join(sorted(SOURCES))}")
    reference = table.text("reference")
    if not reference.strip():
        raise table.fail("'reference' must name the statute, covenant or agreement of the term")
    unit = table.text("count")
    if unit not in COUNTS:
        raise table.fail(f"'count' has '{unit}', expected 'calendar' or 'working'")
    if unit == "calendar":
        return Deadline(source, reference)
    if holidays is None:
        raise table.fail("counts working days, but there is no holidays.toml beside purposes.toml")
    return Deadline(source, reference, DayCount("working", holidays))


def load_holidays(path: Path) -> HolidayCalendar:
    """`holidays.toml`: one `[[holiday]]` table per day, `date` and `name` required."""
    data = read_toml(path)
    unknown = sorted(set(data) - {"holiday"})
    if unknown:
        raise ConfigError(path, f"unknown top-level key(s) {', '.join(map(repr, unknown))}")
    raw = data.get("holiday")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(path, "needs at least one [[holiday]] table")
    days: dict[date, str] = {}
    for n, item in enumerate(raw):
        table = Table(path, f"holiday #{n + 1}", item)
        table.reject_unknown(frozenset({"date", "name", "source"}))
        day = table.data.get("date")
        if not isinstance(day, date) or isinstance(day, datetime):
            raise table.fail("'date' must be a TOML local date such as 2026-04-27")
        if day in days:
            raise table.fail(f"{day.isoformat()} is listed twice")
        name = table.text("name")
        table.text("source")
        days[day] = name
    return HolidayCalendar(days)
