"""What the log's counts say: exchanges per day by purpose or partner, and refusal patterns.

Pure functions over the counts storage gives (`ActivityCount`, `RefusalCount`); the overview's
charts and the refusal-pattern tables are drawn from what these return.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from gateway.store.base import ActivityCount, RefusalCount

__all__ = [
    "PERIODS",
    "DailySeries",
    "Period",
    "RefusalMatrix",
    "daily_series",
    "period_ending",
    "refusal_matrix",
    "repeated_refusals",
]

PERIODS = (7, 30, 90, 365)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days, the last one being today: what a chart's x axis shows."""

    days: tuple[date, ...]

    @property
    def since(self) -> datetime:
        return datetime.combine(self.days[0], time(0), UTC)

    @property
    def until(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.days[-1] + timedelta(days=1), time(0), UTC)


def period_ending(now: datetime, length: int) -> Period:
    """The `length` UTC days up to and including today."""
    today = now.astimezone(UTC).date()
    return Period(tuple(today - timedelta(days=n) for n in range(length - 1, -1, -1)))


@dataclass(frozen=True, slots=True)
class DailySeries:
    """Disclosures, refusals and break-glass uses per day, for one purpose, partner or all."""

    key: str | None
    days: tuple[date, ...]
    disclosed: tuple[int, ...]
    refused: tuple[int, ...]
    break_glass: tuple[int, ...]

    @property
    def totals(self) -> tuple[int, int, int]:
        return sum(self.disclosed), sum(self.refused), sum(self.break_glass)

    @property
    def busiest(self) -> tuple[date, int]:
        """The day with most disclosures and refusals together (the first, on a tie)."""
        per_day = [d + r for d, r in zip(self.disclosed, self.refused, strict=True)]
        best = max(range(len(per_day)), key=lambda n: (per_day[n], -n))
        return self.days[best], per_day[best]


def daily_series(
    counts: Iterable[ActivityCount],
    period: Period,
    by: Literal["purpose", "partner"] | None,
) -> list[DailySeries]:
    """One series per purpose or partner (or one for everything), busiest first.

    A break-glass use is a disclosure made under break-glass, so it counts in both series.
    """
    position = {day: n for n, day in enumerate(period.days)}

    def empty() -> dict[str, list[int]]:
        return {name: [0] * len(period.days) for name in ("disclosed", "refused", "break_glass")}

    tallies: dict[str | None, dict[str, list[int]]] = defaultdict(empty)
    for count in counts:
        n = position.get(count.day)
        if n is None or count.decision not in ("disclosed", "refused"):
            continue
        key = None if by is None else count.purpose if by == "purpose" else count.partner
        tally = tallies[key]
        tally[count.decision][n] += count.count
        if count.decision == "disclosed" and count.break_glass:
            tally["break_glass"][n] += count.count
    if by is None and not tallies:
        tallies[None] = empty()  # the overall chart is drawn even for an empty period
    series = [
        DailySeries(
            key,
            period.days,
            tuple(tally["disclosed"]),
            tuple(tally["refused"]),
            tuple(tally["break_glass"]),
        )
        for key, tally in tallies.items()
    ]
    return sorted(series, key=lambda s: (-sum(s.totals[:2]), s.key or ""))


@dataclass(frozen=True, slots=True)
class RefusalMatrix:
    """Refusals per partner (rows, most refused first) and reason (columns, most common first)."""

    reasons: tuple[str | None, ...]
    rows: tuple[tuple[str | None, int, tuple[int, ...]], ...]  # partner, total, per reason


def refusal_matrix(counts: Sequence[RefusalCount]) -> RefusalMatrix:
    by_reason: Counter[str | None] = Counter()
    cells: dict[str | None, Counter[str | None]] = defaultdict(Counter)
    for count in counts:
        by_reason[count.reason] += count.count
        cells[count.partner][count.reason] += count.count
    reasons = tuple(
        sorted(by_reason, key=lambda reason: (-by_reason[reason], reason or "")),
    )
    rows = [
        (partner, sum(cell.values()), tuple(cell[reason] for reason in reasons))
        for partner, cell in cells.items()
    ]
    rows.sort(key=lambda row: (-row[1], row[0] or ""))
    return RefusalMatrix(reasons, tuple(rows))


def repeated_refusals(counts: Sequence[RefusalCount], minimum: int = 2) -> list[RefusalCount]:
    """Refusals of one kind (partner, reason, purpose, recipient) seen at least `minimum`
    times, most frequent first: where a consent form or an agreement is missing."""
    repeated = [count for count in counts if count.count >= minimum]
    return sorted(
        repeated,
        key=lambda c: (
            -c.count,
            c.partner or "",
            c.reason or "",
            c.purpose or "",
            c.recipient or "",
        ),
    )
