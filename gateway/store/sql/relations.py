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
        logged = (
            "SELECT sender FROM log_entries WHERE subject = ? AND recipient || '' = ? "
            f"AND purpose IN ({within}) AND decision || '' = 'disclosed'"
        )
        # The partner a message of one of `purposes` asked about this subject is owed to.
        owed = (
            "SELECT owed_to FROM expectations WHERE owed_by = ? AND subject = ? "
            f"AND origin_purpose IN ({within})"
        )

        def txn() -> Txn[frozenset[str]]:
            found: set[str] = set()
            for other in dict.fromkeys(among):
                hit = yield from row(
                    f"{logged} AND sender || '' = ? LIMIT 1", subject, partner, *purposes, other
                )
                if hit is None:
                    hit = yield from row(
                        f"{owed} AND owed_to = ? LIMIT 1", partner, subject, *purposes, other
                    )
                if hit is not None:
                    found.add(other)
            if not found:
                anyone = yield from row(f"{logged} LIMIT 1", subject, partner, *purposes)
                if anyone is None:
                    anyone = yield from row(f"{owed} LIMIT 1", partner, subject, *purposes)
                if anyone is not None and anyone[0] is not None:
                    found.add(str(anyone[0]))
            return frozenset(found)

        return await self._query(txn, quick=True)

    async def sent_to(
        self, partner: str, subject: str, purposes: Sequence[str], among: Sequence[str]
    ) -> frozenset[str]:
        if not purposes:
            return frozenset()
        within = ", ".join("?" * len(purposes))
        logged = (
            "SELECT recipient FROM log_entries WHERE subject = ? AND sender || '' = ? "
            f"AND purpose IN ({within}) AND decision || '' = 'disclosed'"
        )

        def txn() -> Txn[frozenset[str]]:
            found: set[str] = set()
            for other in dict.fromkeys(among):
                hit = yield from row(
                    f"{logged} AND recipient || '' = ? LIMIT 1", subject, partner, *purposes, other
                )
                if hit is not None:
                    found.add(other)
            if not found:
                anyone = yield from row(f"{logged} LIMIT 1", subject, partner, *purposes)
                if anyone is not None and anyone[0] is not None:
                    found.add(str(anyone[0]))
            return frozenset(found)

        return await self._query(txn, quick=True)

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
