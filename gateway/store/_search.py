"""The disclosure-log search both back ends run: one page of entries in index order.

Every plan must read about as many index entries as the page holds, whatever the log's size: a
search that sorts all its matches before taking a page costs time and memory in proportion to
the log, and on SQLite leaves a worker's heap larger after each such search (bench/README.md,
"Worker memory under the soak").

- One equality filter walks its `(column, idx)` index in order and stops at the page's end.
- A partner is a sender or a recipient. `sender = p OR recipient = p` would be planned as two
  index lookups whose matches (every entry of that partner, leaves included) go through a
  temporary B-tree to be sorted; instead each side walks its own index with every other
  filter applied and stops at `limit`, and the page is taken from the union of the two, which
  holds the first `limit` matches of either side.
- A set of partners (a privacy officer's oversight, `parties`) is a sender or a recipient
  among them: each partner's side walks its own index and the page is taken from the union of
  all of them, as for one partner (two walks of at most `limit` entries per partner). Beside
  a partner filter it is one more condition on that partner's walks (the other side must be
  one of the set, unless the partner itself is); beside a subject, one more condition on the
  subject's walk.
- Purpose and decision together walk `log_by_purpose_decision (purpose, decision, idx)`;
  with one index per column, a rare purpose among common decisions walked every entry of
  that decision.
- A subject (one person's entries: the fewest of any filter) always drives the search. SQLite
  plans without statistics and would otherwise walk a decision's or purpose's index for it, so
  the back end may name the index (`index_hint`, SQLite's `INDEXED BY`); PostgreSQL plans by
  its statistics.

Still walked in full when they match nothing (no sort, no memory that grows): two filters
whose values are each common but rarely occur together, such as a partner with a rare
decision, and a time window alone (from the log's start to `since`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.store._rows import ms
from gateway.store.base import LogFilter

__all__ = ["parties_condition", "search_log_query"]


def search_log_query(
    flt: LogFilter,
    *,
    after: int | None,
    limit: int,
    index_hint: Callable[[str], str] = lambda _: "",
) -> tuple[str, list[Any]]:
    """The SQL and its arguments for one page of entries after `after` matching `flt`.

    Each bound argument is a `?` (gateway.store.sql.dialect numbers them for PostgreSQL);
    `index_hint(name)` is what follows the table's name to make the planner use that index
    ("" for none).
    """
    args: list[Any] = []
    table = "log_entries" + ("" if flt.subject is None else index_hint("log_by_subject"))

    def bind(value: Any) -> str:
        args.append(value)
        return "?"

    def among(column: str, partners: frozenset[str]) -> str:
        return f"{column} IN ({', '.join(bind(p) for p in sorted(partners))})"

    def conditions() -> list[str]:
        # Bound again for each use: positional drivers need one argument per placeholder.
        clauses = [f"idx > {bind(-1 if after is None else after)}"]
        for column, value in (
            ("subject", flt.subject),
            ("purpose", flt.purpose),
            ("decision", flt.decision),
        ):
            if value is not None:
                clauses.append(f"{column} = {bind(value)}")
        if flt.since is not None:
            clauses.append(f"time_ms >= {bind(ms(flt.since))}")
        if flt.until is not None:
            clauses.append(f"time_ms < {bind(ms(flt.until))}")
        return clauses

    parties = flt.parties
    if parties is not None and not parties:
        # Nobody to see: an empty page, read from nothing (the primary key has no idx < 0).
        return f"SELECT idx, leaf FROM log_entries WHERE idx < 0 LIMIT {bind(limit)}", args
    # Each walk: (the column whose index it walks, its partner, the other side's condition).
    walks: list[tuple[str, str, str | None]] = []
    if flt.partner is not None:
        inside = parties is None or flt.partner in parties
        walks = [
            ("sender", flt.partner, None if inside else "recipient"),
            ("recipient", flt.partner, None if inside else "sender"),
        ]
    elif parties is not None and flt.subject is None:
        walks = [(column, p, None) for p in sorted(parties) for column in ("sender", "recipient")]

    if not walks:
        clauses = conditions()
        if parties is not None:
            clauses.append(f"({among('sender', parties)} OR {among('recipient', parties)})")
        where = " AND ".join(clauses)
        return (
            f"SELECT idx, leaf FROM {table} WHERE {where} ORDER BY idx LIMIT {bind(limit)}",
            args,
        )
    sides = []
    for n, (column, partner, other) in enumerate(walks):
        clauses = [f"{column} = {bind(partner)}", *conditions()]
        if other is not None and parties is not None:
            clauses.append(among(other, parties))
        sides.append(
            f"SELECT idx FROM (SELECT idx FROM {table} WHERE {' AND '.join(clauses)} "
            f"ORDER BY idx LIMIT {bind(limit)}) AS by_{column}_{n}"
        )
    page = " UNION ".join(sides)
    sql = (
        f"SELECT idx, leaf FROM log_entries WHERE idx IN ({page}) ORDER BY idx LIMIT {bind(limit)}"
    )
    return sql, args


def parties_condition(
    parties: frozenset[str] | None, columns: tuple[str, ...]
) -> tuple[str, list[Any]]:
    """`AND ...` that keeps rows where one of `columns` is one of `parties` ("" for None, never
    true for an empty set), with its arguments.
    For the counts and the break-glass queue a privacy officer sees (`LogFilter.parties`)."""
    if parties is None:
        return "", []
    if not parties:
        return " AND 1 = 0", []
    names = sorted(parties)
    places = ", ".join("?" for _ in names)
    tests = [f"{column} IN ({places})" for column in columns]
    return f" AND ({' OR '.join(tests)})", names * len(columns)
