"""Consents and birth dates in SQL."""

from __future__ import annotations

from datetime import datetime

from gateway.log.entry import LogEntry
from gateway.store._rows import dt as _time
from gateway.store._rows import ms as _ms
from gateway.store.base import (
    StoredConsent,
)
from gateway.store.sql.runner import SqlRunner
from gateway.store.sql.txn import Row, Txn, row, rows, run

__all__ = ["ConsentSql"]

_CONSENT = "SELECT consent_id, subject, recorded_by, record, retain_ms FROM consents"


def _consent(r: Row) -> StoredConsent:
    return StoredConsent(r[0], r[1], r[2], bytes(r[3]), None if r[4] is None else _time(r[4]))


def _retain_ms(consent: StoredConsent) -> int | None:
    return None if consent.retain_until is None else _ms(consent.retain_until)


class ConsentSql(SqlRunner):
    """Consent records and the birth date held per subject."""

    async def add_consent(self, consent: StoredConsent, entry: LogEntry) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "INSERT INTO consents "
                "(consent_id, subject, recorded_by, record, retain_ms, term_known) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                consent.consent_id,
                consent.subject,
                consent.recorded_by,
                consent.sealed_record,
                _retain_ms(consent),
                True,
            )
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    async def replace_consent(self, consent: StoredConsent, entry: LogEntry) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "UPDATE consents SET record = ?, retain_ms = ?, term_known = ? WHERE consent_id = ?",
                consent.sealed_record,
                _retain_ms(consent),
                True,
                consent.consent_id,
            )
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    async def consents_for_subject(self, subject: str) -> list[StoredConsent]:
        def txn() -> Txn[list[StoredConsent]]:
            return [
                _consent(r) for r in (yield from rows(f"{_CONSENT} WHERE subject = ?", subject))
            ]

        return await self._query(txn, quick=True)

    async def get_consent(self, consent_id: str) -> StoredConsent | None:
        def txn() -> Txn[StoredConsent | None]:
            r = yield from row(f"{_CONSENT} WHERE consent_id = ?", consent_id)
            return None if r is None else _consent(r)

        return await self._query(txn, quick=True)

    async def held_birth_date(self, subject: str) -> bytes | None:
        def txn() -> Txn[bytes | None]:
            r = yield from row("SELECT sealed FROM subject_birth_dates WHERE subject = ?", subject)
            return None if r is None else bytes(r[0])

        return await self._query(txn, quick=True)

    async def claim_birth_date(self, subject: str, sealed: bytes, now: datetime) -> bytes:
        def txn() -> Txn[bytes]:
            # The no-op update makes RETURNING answer the row held when the insert conflicts.
            r = yield from row(
                "INSERT INTO subject_birth_dates (subject, sealed, recorded_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (subject) DO UPDATE SET sealed = subject_birth_dates.sealed "
                "RETURNING sealed",
                subject,
                sealed,
                _ms(now),
            )
            assert r is not None  # an upsert always answers its row
            return bytes(r[0])

        return await self._transact(txn)

    async def correct_birth_date(self, subject: str, sealed: bytes, entry: LogEntry) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "INSERT INTO subject_birth_dates (subject, sealed, recorded_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (subject) DO UPDATE SET sealed = excluded.sealed, "
                "recorded_ms = excluded.recorded_ms",
                subject,
                sealed,
                _ms(entry.time),
            )
            return (yield from self._append_one(entry))

        return await self._transact(txn)
