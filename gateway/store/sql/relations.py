"""The facts that tie a partner to a subject, in SQL: what a relation the catalogue presumes rests on.

Each lookup answers whether one fact exists and stops at the first row that shows it. The log
lookups start from the subject (`log_by_subject`): a person's entries are few, where all
disclosures of one purpose, or to one partner, are many. The other columns are compared as
`col || ''` so that neither planner walks one of those longer indexes instead.
"""

from __future__ import annotations

from gateway.store.sql.runner import SqlRunner
from gateway.store.sql.txn import Txn, row

__all__ = ["RelationSql"]


class RelationSql(SqlRunner):
    """Whether a partner received or sent a purpose about a subject, or shares its case."""

    async def received_about(self, partner: str, subject: str, purpose: str) -> bool:
        def txn() -> Txn[bool]:
            disclosed = yield from row(
                "SELECT 1 FROM log_entries WHERE subject = ? AND recipient || '' = ? "
                "AND purpose || '' = ? AND decision || '' = 'disclosed' LIMIT 1",
                subject,
                partner,
                purpose,
            )
            if disclosed is not None:
                return True
            # A message of `purpose` the partner received asked it about this subject: what a
            # referral opened for each child of the referred household.
            asked = yield from row(
                "SELECT 1 FROM expectations WHERE owed_by = ? AND subject = ? "
                "AND origin_purpose = ? LIMIT 1",
                partner,
                subject,
                purpose,
            )
            return asked is not None

        return await self._query(txn, quick=True)

    async def sent_about(self, partner: str, subject: str, purpose: str) -> bool:
        def txn() -> Txn[bool]:
            found = yield from row(
                "SELECT 1 FROM log_entries WHERE subject = ? AND sender || '' = ? "
                "AND purpose || '' = ? AND decision || '' = 'disclosed' LIMIT 1",
                subject,
                partner,
                purpose,
            )
            return found is not None

        return await self._query(txn, quick=True)

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
