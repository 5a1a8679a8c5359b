"""What the SQL of every role shares: the runners a back end provides, appending to the log."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TypeVar

from gateway.log.entry import LogEntry
from gateway.store._rows import ms as _ms
from gateway.store.base import LogRow
from gateway.store.sql.txn import Row, Txn, insert, row, run

__all__ = [
    "LogValues",
    "SqlRunner",
    "blob",
    "case_activity",
    "log_row",
    "log_values",
    "touch_cases",
    "typed",
]

T = TypeVar("T")


def typed(columns: str) -> tuple[tuple[str, str], ...]:
    """`"name type, ..."` as (name, PostgreSQL type) pairs, for `insert`."""
    return tuple((name, kind) for name, kind in (c.split() for c in columns.split(", ")))


_LOG_TYPES = typed(
    "idx bigint, leaf bytea, time_ms bigint, decision text, purpose text, sender text, "
    "recipient text, subject text, exchange_id text, reason text, break_glass boolean"
)

# The log_entries columns but the index, then the case the entry names (not a column: it moves
# the case's last activity, see `touch_cases`).
LogValues = tuple[
    bytes,
    int,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    bool,
    str | None,
]


def log_values(entries: Sequence[LogEntry]) -> list[LogValues]:
    """The log_entries columns but the index, and the case each entry names: made before the
    write, outside the shared lock (the canonical leaf is most of the work of appending)."""
    return [
        (
            entry.canonical(),
            _ms(entry.time),
            entry.decision,
            entry.purpose,
            None if entry.sender is None else entry.sender.partner,
            entry.recipient,
            entry.subject,
            entry.exchange_id,
            entry.reason,
            entry.break_glass,
            entry.case_id,
        )
        for entry in entries
    ]


def case_activity(values: Sequence[LogValues]) -> list[tuple[str, int]]:
    """The cases these entries name, each with its latest entry's time, in case order."""
    latest: dict[str, int] = {}
    for value in values:
        case_id, at = value[10], value[1]
        if case_id is not None and at > latest.get(case_id, -1):
            latest[case_id] = at
    return sorted(latest.items())


def touch_cases(values: Sequence[LogValues]) -> Txn[None]:
    """Move each case these entries name to their time as its last activity (never back).

    A retention run removes a case once its last activity is older than its term, so every
    entry that names a case keeps it, in the entry's own transaction. A transaction that also
    writes a case's network, household or expectations touches the case first: the row lock it
    takes (PostgreSQL) makes a concurrent run skip the case rather than remove it under them, and
    keeps one lock order (case, then the log's counter) with the run.
    """
    for case_id, at in case_activity(values):
        yield from run(
            "UPDATE cases SET last_activity_ms = ? WHERE case_id = ? AND last_activity_ms < ?",
            at,
            case_id,
            at,
        )


def blob(value: object) -> bytes:
    """Bytes of a BLOB column, also when someone rewrote it as TEXT (tampering must not crash)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8")


def log_row(r: Row) -> LogRow:
    return LogRow(r[0], blob(r[1]))


class SqlRunner(ABC):
    """The runners each back end provides, and appending to the log inside a transaction."""

    # -- what each back end provides -------------------------------------------------------------
    @abstractmethod
    async def _query(self, txn: Callable[[], Txn[T]], *, quick: bool = False) -> T:
        """Run a read-only transaction. `quick`: a lookup an index answers in a few page reads
        (the exchange path's), which SQLite runs on the calling thread."""

    @abstractmethod
    async def _transact(self, txn: Callable[[], Txn[T]]) -> T:
        """Run a transaction that writes; returns after its commit is durable."""

    def _claim_indices(self, n: int) -> Txn[int]:
        """The first of `n` consecutive log indices for this transaction's entries: the log's
        size, where one writer at a time appends (SQLite)."""
        r = yield from row("{log_size}")
        assert r is not None  # an aggregate answers one row
        return int(r[0])

    def _claim_seqs(self, n: int) -> Txn[int | None]:
        """The first of `n` inbox sequence numbers; None: the database numbers them (SQLite's
        AUTOINCREMENT)."""
        yield from ()
        return None

    # -- the log ---------------------------------------------------------------------------------
    def _append(
        self, values: Sequence[LogValues], *, cases_touched: bool = False
    ) -> Txn[list[int]]:
        """Append entries (and move the cases they name, unless the caller `cases_touched`
        them first); their indices."""
        if not values:
            return []
        if not cases_touched:
            yield from touch_cases(values)
        start = yield from self._claim_indices(len(values))
        yield from insert(
            "log_entries",
            _LOG_TYPES,
            [(start + offset, *value[:10]) for offset, value in enumerate(values)],
        )
        return list(range(start, start + len(values)))

    def _append_one(self, entry: LogEntry) -> Txn[int]:
        return (yield from self._append(log_values([entry])))[0]
