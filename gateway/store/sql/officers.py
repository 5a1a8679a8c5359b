"""Privacy officers' sign-in in SQL."""

from __future__ import annotations

from datetime import datetime

from gateway.log.entry import LogEntry
from gateway.store._rows import SESSION_COLUMNS as _SESSION_COLUMNS
from gateway.store._rows import dt as _dt
from gateway.store._rows import ms as _ms
from gateway.store.base import (
    OfficerLink,
    OfficerSession,
)
from gateway.store.sql.runner import SqlRunner
from gateway.store.sql.txn import Txn, count, row, run

__all__ = ["OfficerSql"]


class OfficerSql(SqlRunner):
    """Privacy officers' sign-in links and sessions."""

    async def add_officer_link(self, link: OfficerLink, entry: LogEntry, now: datetime) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "DELETE FROM officer_links WHERE link_hash IN (SELECT link_hash FROM "
                "officer_links WHERE expires_ms < ?{skip_locked})",
                _ms(now),
            )
            yield from run(
                "INSERT INTO officer_links (link_hash, officer, actor, expires_ms) "
                "VALUES (?, ?, ?, ?)",
                link.link_hash,
                link.officer,
                link.actor,
                _ms(link.expires_at),
            )
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    async def take_officer_link(self, link_hash: str, now: datetime) -> OfficerLink | None:
        def txn() -> Txn[OfficerLink | None]:
            # Of two takers of one link, the second finds nothing to delete (SQLite: the writer
            # runs one at a time; PostgreSQL: it waits on the row lock): it signs in once.
            r = yield from row(
                "DELETE FROM officer_links WHERE link_hash = ? "
                "RETURNING link_hash, officer, actor, expires_ms",
                link_hash,
            )
            if r is None or r[3] <= _ms(now):
                return None
            return OfficerLink(r[0], r[1], r[2], _dt(r[3]))

        return await self._transact(txn)

    async def start_officer_session(
        self, session: OfficerSession, entry: LogEntry, idle_before: datetime
    ) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "DELETE FROM officer_sessions WHERE session_hash IN (SELECT session_hash FROM "
                "officer_sessions WHERE seen_ms < ?{skip_locked})",
                _ms(idle_before),
            )
            yield from run(
                f"INSERT INTO officer_sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                session.session_hash,
                session.officer,
                session.actor,
                _ms(session.created_at),
                _ms(session.seen_at),
                session.language,
            )
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    async def officer_session(self, session_hash: str) -> OfficerSession | None:
        def txn() -> Txn[OfficerSession | None]:
            r = yield from row(
                f"SELECT {_SESSION_COLUMNS} FROM officer_sessions WHERE session_hash = ?",
                session_hash,
            )
            if r is None:
                return None
            return OfficerSession(r[0], r[1], r[2], _dt(r[3]), _dt(r[4]), r[5])

        return await self._query(txn)

    async def touch_officer_session(
        self, session_hash: str, seen_at: datetime, language: str
    ) -> None:
        await self._transact(
            lambda: run(
                "UPDATE officer_sessions SET seen_ms = {greatest}(seen_ms, ?), language = ? "
                "WHERE session_hash = ?",
                _ms(seen_at),
                language,
                session_hash,
            )
        )

    async def end_officer_session(self, session_hash: str, entry: LogEntry) -> int | None:
        def txn() -> Txn[int | None]:
            gone = yield from count(
                "DELETE FROM officer_sessions WHERE session_hash = ?", session_hash
            )
            if gone != 1:
                return None
            return (yield from self._append_one(entry))

        return await self._transact(txn)
