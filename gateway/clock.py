"""The clock, passed in: the real one at the edge, a fixed one in tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = ["DUTCH_TIME", "Clock", "FixedClock", "SystemClock"]

# Ages, consent validity days and deadlines follow Dutch calendar dates.
DUTCH_TIME = ZoneInfo("Europe/Amsterdam")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment
