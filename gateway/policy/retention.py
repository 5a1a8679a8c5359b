"""How long each kind of record is kept, as a pure function of the catalogue and the clock.

The terms (docs/retention.md): a consent is kept for the longest `record_retention_years` of
its purposes after it ended (withdrawn, or past its `valid_until`); a closed expectation and a
reviewed break-glass record for their purpose's `record_retention_years` after closing or
review (a purpose the catalogue no longer holds: the longest term of the catalogue); an officer
session until it has been idle as long as a session may be; a sign-in link until it expires.
Open consents, open expectations and unreviewed break-glass records are never removed.

A case, with its network and household, is kept for the catalogue's longest term after its last
activity (the latest log entry that names it) and while any expectation about it is open: a case
may carry exchanges of every purpose, and its network is the relation that made some of them
lawful. A held birth date is kept while a consent, a household row or an open expectation of its
subject needs it, and at least the catalogue's shortest term after it was recorded or corrected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from gateway.config import Catalogue
from gateway.log.entry import LogEntry
from gateway.store.base import RetentionTerms

__all__ = [
    "ERASURE_REASONS",
    "consent_retained_until",
    "removal_entry",
    "retention_terms",
    "years_before",
]

# Why a subject's link is erased: the grounds of AVG art. 17(1), and an operator's own decision
# that the term for which the link was needed has passed.
ERASURE_REASONS: Final[Mapping[str, str]] = {
    "no_longer_necessary": "AVG art. 17(1)(a): no longer necessary for the purposes",
    "consent_withdrawn": "AVG art. 17(1)(b): the consent it rested on was withdrawn",
    "objection": "AVG art. 17(1)(c): the person objected (art. 21) and no overriding ground",
    "unlawfully_processed": "AVG art. 17(1)(d): the data were processed unlawfully",
    "legal_obligation": "AVG art. 17(1)(e): erasure is required by a legal obligation",
    "retention_passed": "the retention term for which the link was kept has passed",
}


def years_before(moment: datetime, years: int) -> datetime:
    """`moment` moved back `years` calendar years (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def _years_after(moment: datetime, years: int) -> datetime:
    return years_before(moment, -years)


def consent_retained_until(
    *,
    withdrawn_at: datetime | None,
    valid_until: date | None,
    purposes: frozenset[str],
    catalogue: Catalogue,
) -> datetime | None:
    """When a consent's retention ends: its end plus the longest term of its purposes (of the
    catalogue's longest, for a purpose it no longer holds); None while the consent has no end."""
    ends = [withdrawn_at] if withdrawn_at is not None else []
    if valid_until is not None:
        ends.append(datetime.combine(valid_until, time(), tzinfo=UTC))
    if not ends:
        return None
    longest = catalogue.longest_record_retention_years
    years = max(
        (
            p.record_retention_years if (p := catalogue.get(purpose)) is not None else longest
            for purpose in purposes
        ),
        default=longest,
    )
    return _years_after(min(ends), years)


def retention_terms(
    catalogue: Catalogue, now: datetime, session_idle: timedelta, *, batch: int = 1000
) -> RetentionTerms:
    """What a retention run at `now` removes, per kind (see the module docstring)."""
    return RetentionTerms(
        now=now,
        closed_before={p.id: years_before(now, p.record_retention_years) for p in catalogue},
        closed_before_otherwise=years_before(now, catalogue.longest_record_retention_years),
        sessions_seen_before=now - session_idle,
        cases_inactive_before=years_before(now, catalogue.longest_record_retention_years),
        birth_dates_recorded_before=years_before(now, catalogue.shortest_record_retention_years),
        batch=batch,
    )


def removal_entry(now: datetime) -> Callable[[str, int], LogEntry]:
    """The log entry for one kind's removals in a retention run: the kind and how many, never
    which person (a count per kind per run, so a large first run does not flood the log)."""

    def make(kind: str, count: int) -> LogEntry:
        return LogEntry(
            time=now,
            decision="records_removed",
            reason="retention_expired",
            details={"kind": kind, "count": count},
        )

    return make
