"""The facts that tie a partner to a subject, in SQL: what a relation the catalogue presumes rests on.

`in_case_of` answers whether the partner shares a case with the subject (a ground's fact);
`received_from`, `sent_to` and `case_fellows` answer the partners a fact ties the partner to (a
relation holds towards them, not towards everyone; empty: no relation). The log
lookups walk the person's entries of the asked purposes (`log_by_subject_purpose`, schema 10):
few, where all disclosures of one purpose, or to one partner, are many. The other columns are
compared as `col || ''` so that neither planner walks one of those longer indexes instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.store.sql.runner import SqlRunner
from gateway.store.sql.txn import Txn, row, rows

__all__ = ["RelationSql"]


class RelationSql(SqlRunner):
    """Whether a partner received or sent a purpose about a subject, or shares its case."""

    async def in_case_of(self, partner: str, subject: str) -> bool:
        def txn() -> Txn[bool]:
            found = yield from row(
                "SELECT 1 FROM household h JOIN case_network n ON n.case_id = h.case_id "
                "WHERE h.subject = ? AND n.partner_id = ? LIMIT 1",
                subject,
                partner,
            )
            return found is not None

        return await self._query(txn, quick=True)

    async def received_from(
        self, partner: str, subject: str, purposes: Sequence[str], among: Sequence[str]
    ) -> frozenset[str]:
        if not purposes:
            return frozenset()
        within = ", ".join("?" * len(purposes))
        sources = [
            _disclosed("sender", "recipient", subject, partner, purposes),
            # The partner a message of one of `purposes` asked about this subject is owed to.
            _Source(
                "SELECT owed_to FROM expectations WHERE owed_by = ? AND subject = ? "
                f"AND origin_purpose IN ({within})",
                (partner, subject, *purposes),
                "owed_to",
            ),
        ]
        return await self._query(lambda: _towards(sources, among), quick=True)

    async def sent_to(
        self, partner: str, subject: str, purposes: Sequence[str], among: Sequence[str]
    ) -> frozenset[str]:
        if not purposes:
            return frozenset()
        sources = [_disclosed("recipient", "sender", subject, partner, purposes)]
        return await self._query(lambda: _towards(sources, among), quick=True)

    async def case_fellows(self, partner: str, subject: str) -> frozenset[str]:
        def txn() -> Txn[frozenset[str]]:
            found = yield from rows(
                "SELECT DISTINCT m.partner_id FROM household h "
                "JOIN case_network n ON n.case_id = h.case_id "
                "JOIN case_network m ON m.case_id = h.case_id "
                "WHERE h.subject = ? AND n.partner_id = ?",
                subject,
                partner,
            )
            return frozenset(str(r[0]) for r in found if r[0] is not None)

        return await self._query(txn, quick=True)


@dataclass(frozen=True, slots=True)
class _Source:
    """Where a fact is read: a SELECT of the counterpart, its arguments, and the column that
    holds the counterpart (to ask about one of them)."""

    select: str
    args: tuple[Any, ...]
    counterpart: str


def _disclosed(
    counterpart: str, own: str, subject: str, partner: str, purposes: Sequence[str]
) -> _Source:
    """The disclosures of `purposes` about the subject whose `own` column is the partner, read
    for the partner in their `counterpart` column (`sender` or `recipient`)."""
    within = ", ".join("?" * len(purposes))
    return _Source(
        f"SELECT {counterpart} FROM log_entries WHERE subject = ? AND {own} || '' = ? "
        f"AND purpose IN ({within}) AND decision || '' = 'disclosed'",
        (subject, partner, *purposes),
        f"{counterpart} || ''",
    )


def _towards(sources: Sequence[_Source], among: Sequence[str]) -> Txn[frozenset[str]]:
    """The partners of `among` that some source names, each asked with `LIMIT 1`; when none
    is, one other partner a source names (the fact holds, towards someone else), or none."""
    found: set[str] = set()
    for other in dict.fromkeys(among):
        for source in sources:
            asked = f"{source.select} AND {source.counterpart} = ? LIMIT 1"
            if (yield from row(asked, *source.args, other)) is not None:
                found.add(other)
                break
    if found:
        return frozenset(found)
    for source in sources:
        anyone = yield from row(f"{source.select} LIMIT 1", *source.args)
        if anyone is not None and anyone[0] is not None:
            return frozenset({str(anyone[0])})
    return frozenset()
