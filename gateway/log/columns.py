"""The searchable columns of a log entry's row, as its leaf says they must be.

Searches, the subject access report and the officer's pages filter on columns stored beside
each leaf, not on the leaf itself; the Merkle tree covers only the leaf. Someone who can write
to the database could otherwise move an entry out of a subject's report (or onto another
partner) by changing a column while every leaf and checkpoint still verifies. `gateway log
verify` therefore compares each row's columns with what its verified leaf says.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson

__all__ = ["SEARCHABLE_COLUMNS", "disagreeing_columns", "leaf_columns"]

# Every log_entries column but the index and the leaf, in the order verify_batch reads them.
# A column added to log_entries for searching belongs here and in leaf_columns below.
SEARCHABLE_COLUMNS = (
    "time_ms",
    "decision",
    "purpose",
    "sender",
    "recipient",
    "subject",
    "exchange_id",
    "reason",
    "break_glass",
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
# Keys every entry's object holds (LogEntry.to_json writes them, null or not), in column order.
_VALUES = itemgetter(
    "time",
    "decision",
    "purpose",
    "sender",
    "recipient",
    "subject",
    "exchange_id",
    "reason",
    "break_glass",
)


def leaf_columns(leaf: bytes) -> tuple[Any, ...] | None:
    """The column values the leaf implies, in SEARCHABLE_COLUMNS order; None if it is no entry."""
    try:
        time, decision, purpose, sender, recipient, subject, exchange, reason, glass = _VALUES(
            orjson.loads(leaf)
        )
        return (
            _time_ms(time),
            decision,
            purpose,
            None if sender is None else sender["partner"],
            recipient,
            subject,
            exchange,
            reason,
            glass,
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _time_ms(text: str) -> int:
    """Milliseconds since the epoch of an entry's time, in integers (as the row stores them)."""
    # The canonical form, 2026-11-25T10:00:00.123Z: the second is looked up, the rest counted.
    if len(text) == 24 and text[19] == "." and text[23] == "Z" and text[20:23].isdigit():
        return _second_ms(text[:19]) + int(text[20:23])
    return (datetime.fromisoformat(text) - _EPOCH) // _ONE_MS


@lru_cache(maxsize=1024)
def _second_ms(second: str) -> int:
    # Entries follow each other within the same second: one parse serves many of them.
    return (datetime.fromisoformat(second + "Z") - _EPOCH) // _ONE_MS


def disagreeing_columns(stored: Sequence[Any], leaf: bytes) -> list[str]:
    """The names of the stored columns (SEARCHABLE_COLUMNS order) that differ from the leaf.

    Every column is named when the leaf is not a readable entry: none of them can be trusted.
    """
    expected = leaf_columns(leaf)
    if expected is None:
        return list(SEARCHABLE_COLUMNS)
    # break_glass is an INTEGER on SQLite and a BOOLEAN on PostgreSQL: 1 == True in Python.
    if tuple(stored) == expected:
        return []
    return [
        name
        for name, got, want in zip(SEARCHABLE_COLUMNS, stored, expected, strict=True)
        if got != want
    ]
