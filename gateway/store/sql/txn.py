"""Transactions written once, run by either back end's executor.

A transaction is a generator: it yields each statement it needs run (`Statement`, `Insert`) and
receives what that statement gave back, so the same body runs synchronously on SQLite's writer
thread and with `await` on a PostgreSQL connection. Statements are written with `?` for each
bound argument and `{word}` for what a dialect spells its own way (`gateway.store.sql.dialect`).

    def add_consent(...) -> Txn[int]:
        yield from run("INSERT INTO consents (...) VALUES (?, ?, ?, ?)", ...)
        return (yield from append_one(entry))

The helpers below (`rows`, `row`, `count`, `run`, `run_many`, `insert`) give each statement's
answer its type.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

__all__ = [
    "Insert",
    "Op",
    "Row",
    "Statement",
    "Txn",
    "count",
    "insert",
    "row",
    "rows",
    "run",
    "run_many",
]

T = TypeVar("T")

Want = Literal["rows", "row", "count", "none"]


class Row(Protocol):
    """A row as both drivers return it (a tuple from sqlite3, a Record from asyncpg)."""

    def __getitem__(self, index: int, /) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement; `many` runs it once per argument row; `only` names the one dialect that
    runs it (the other skips it); `verbatim` text is already in the dialect's words."""

    sql: str
    args: Sequence[object] = ()
    want: Want = "none"
    many: Sequence[Sequence[object]] | None = None
    only: str | None = None
    verbatim: bool = False


@dataclass(frozen=True, slots=True)
class Insert:
    """Rows into `table`: executemany on SQLite, one round trip of typed arrays on PostgreSQL.
    `columns` pairs each column with its PostgreSQL type."""

    table: str
    columns: tuple[tuple[str, str], ...]
    rows: Sequence[Sequence[object]]
    suffix: str = ""


Op = Statement | Insert
Txn = Generator[Op, Any, T]


def rows(sql: str, *args: object) -> Txn[list[Row]]:
    found: list[Row] = yield Statement(sql, args, "rows")
    return found


def row(sql: str, *args: object) -> Txn[Row | None]:
    found: Row | None = yield Statement(sql, args, "row")
    return found


def count(sql: str, *args: object) -> Txn[int]:
    """Run an INSERT, UPDATE or DELETE; how many rows it changed."""
    changed: int = yield Statement(sql, args, "count")
    return changed


def run(sql: str, *args: object, only: str | None = None) -> Txn[None]:
    yield Statement(sql, args, only=only)


def run_many(sql: str, arg_rows: Sequence[Sequence[object]]) -> Txn[None]:
    if arg_rows:
        yield Statement(sql, many=arg_rows)


def insert(
    table: str,
    columns: tuple[tuple[str, str], ...],
    values: Sequence[Sequence[object]],
    suffix: str = "",
) -> Txn[None]:
    if values:
        yield Insert(table, columns, values, suffix)
