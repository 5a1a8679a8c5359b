"""Disclosure-log searches: the right page for any filter, and plans that never sort the log.

The page is checked against a plain filter over the same entries in Python, on both back ends,
for several hundred filter combinations over a random log. The plans are checked on SQLite:
no search may gather every match in a temporary B-tree (or walk the whole table) to return one
page, which cost time and worker memory in proportion to the log's size.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.log.entry import LogEntry, Sender
from gateway.store.base import LogFilter, Storage
from gateway.store.sqlite import SqliteStorage
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    storage_backend_fixture,
    storage_fixture,
)

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PARTNERS = ["swt-denhelder", "zorg-noord", "school-de-es", "gi-noordholland"]
PURPOSES = ["evaluation-feedback", "closure-notice", "information-request"]
DECISIONS = ["disclosed", "refused", "delivered"]
SUBJECTS = ["pseudo-a", "pseudo-b", "pseudo-c"]


@dataclass(frozen=True, slots=True)
class Logged:
    """What the oracle knows of one appended entry."""

    index: int
    subject: str | None
    sender: str | None
    recipient: str | None
    purpose: str | None
    decision: str
    time: datetime


def _random_log(rng: random.Random, count: int) -> list[Logged]:
    out = []
    for index in range(count):
        sender = rng.choice([*PARTNERS, None])
        out.append(
            Logged(
                index=index,
                subject=rng.choice([*SUBJECTS, None]),
                sender=sender,
                # Now and then a partner is on both sides: it must come back once, not twice.
                recipient=sender if rng.random() < 0.05 else rng.choice([*PARTNERS, None]),
                purpose=rng.choice([*PURPOSES, None]),
                decision=rng.choice(DECISIONS),
                time=T0 + timedelta(seconds=index),
            )
        )
    return out


def _entry(logged: Logged) -> LogEntry:
    return LogEntry(
        time=logged.time,
        decision=logged.decision,
        purpose=logged.purpose,
        sender=None if logged.sender is None else Sender(logged.sender, "actor", "role"),
        recipient=logged.recipient,
        subject=logged.subject,
        details={"n": logged.index},
    )


def _matches(logged: Logged, flt: LogFilter) -> bool:
    return (
        (flt.subject is None or logged.subject == flt.subject)
        and (flt.purpose is None or logged.purpose == flt.purpose)
        and (flt.decision is None or logged.decision == flt.decision)
        and (flt.partner is None or flt.partner in (logged.sender, logged.recipient))
        and (flt.since is None or logged.time >= flt.since)
        and (flt.until is None or logged.time < flt.until)
    )


def _random_filter(rng: random.Random, count: int) -> LogFilter:
    def maybe(values: list[str]) -> str | None:
        return rng.choice(values) if rng.random() < 0.45 else None

    def moment() -> datetime | None:
        return T0 + timedelta(seconds=rng.randrange(count)) if rng.random() < 0.2 else None

    return LogFilter(
        subject=maybe(SUBJECTS),
        partner=maybe(PARTNERS),
        purpose=maybe(PURPOSES),
        decision=maybe(DECISIONS),
        since=moment(),
        until=moment(),
    )


async def test_every_filter_gives_the_first_matches_after_the_cursor_in_log_order(
    storage: Storage,
) -> None:
    rng = random.Random(20261207)
    count = 400
    log = _random_log(rng, count)
    await storage.append_log([_entry(logged) for logged in log])
    for _ in range(300):
        flt = _random_filter(rng, count)
        after = rng.choice([None, rng.randrange(-1, count)])
        limit = rng.choice([1, 2, 7, 50, 500])
        want = [
            logged.index
            for logged in log
            if (after is None or logged.index > after) and _matches(logged, flt)
        ][:limit]
        got = [row.index for row in await storage.search_log(flt, after=after, limit=limit)]
        assert got == want, (flt, after, limit)


async def test_paging_by_partner_visits_each_of_its_entries_once(storage: Storage) -> None:
    log = _random_log(random.Random(7), 300)
    await storage.append_log([_entry(logged) for logged in log])
    flt = LogFilter(partner="school-de-es")
    seen: list[int] = []
    after = None
    while page := await storage.search_log(flt, after=after, limit=9):
        seen += [row.index for row in page]
        after = page[-1].index
    assert seen == [logged.index for logged in log if _matches(logged, flt)]


# Filters the audit API and the officer pages send, with the index that must drive each search
# (one per side for a partner): a subject before anything, then a partner, then purpose with
# decision together.
_DRIVING_INDEX = [
    (LogFilter(subject="s"), {"log_by_subject"}),
    (LogFilter(subject="s", decision="d"), {"log_by_subject"}),
    (LogFilter(subject="s", purpose="u"), {"log_by_subject"}),
    (LogFilter(subject="s", purpose="u", decision="d"), {"log_by_subject"}),
    (LogFilter(subject="s", partner="p"), {"log_by_subject"}),
    (LogFilter(subject="s", since=T0), {"log_by_subject"}),
    (LogFilter(partner="p"), {"log_by_sender", "log_by_recipient"}),
    (LogFilter(partner="p", since=T0), {"log_by_sender", "log_by_recipient"}),
    (LogFilter(purpose="u"), {"log_by_purpose"}),
    (LogFilter(decision="d"), {"log_by_decision"}),
    (LogFilter(purpose="u", decision="d"), {"log_by_purpose_decision"}),
]


@pytest.mark.parametrize(("flt", "driving"), _DRIVING_INDEX, ids=repr)
async def test_sqlite_searches_walk_the_narrowest_index_and_never_sort(
    tmp_path: Path, flt: LogFilter, driving: set[str]
) -> None:
    storage = SqliteStorage(tmp_path / "gateway.sqlite3")
    await storage.open()
    await storage.close()
    sql, args = SqliteStorage.search_sql(flt, after=None, limit=50)
    with sqlite3.connect(tmp_path / "gateway.sqlite3") as conn:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args)]
    assert not [step for step in plan if "TEMP B-TREE FOR ORDER BY" in step], plan
    assert not [step for step in plan if step.startswith("SCAN log_entries")], plan
    walked = {
        step.split(" INDEX ")[1].split(" ")[0]
        for step in plan
        if step.startswith("SEARCH log_entries USING") and " INDEX " in step
    }
    assert walked == driving, plan
