"""The log's SQL: entries, searches and counts, the log's identity, the tree and checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gateway.log.entry import LogEntry
from gateway.store._rows import VERIFY_COLUMNS as _VERIFY_COLUMNS
from gateway.store._rows import day as _day
from gateway.store._rows import dt as _dt
from gateway.store._rows import ms as _ms
from gateway.store._search import parties_condition, search_log_query
from gateway.store.base import (
    ActivityCount,
    KeyFingerprint,
    LogFilter,
    LogRow,
    RefusalCount,
    StoredCheckpoint,
    VerifyRow,
)
from gateway.store.sql.runner import SqlRunner, log_row, log_values, typed
from gateway.store.sql.txn import Row, Txn, insert, row, rows, run, run_many

__all__ = ["LogSql"]

_TREE_TYPES = typed("level integer, idx bigint, hash bytea")

_FINGERPRINTS = (
    "SELECT name, fingerprint, keys_folder, recorded_ms, retired_ms FROM key_fingerprints "
    "ORDER BY recorded_ms, name, fingerprint"
)

_CHECKPOINTS = "SELECT size, root_hash, note, time_ms FROM checkpoints ORDER BY size"


def _checkpoint(r: Row) -> StoredCheckpoint:
    return StoredCheckpoint(r[0], bytes(r[1]), r[2], _dt(r[3]))


def _fingerprint(r: Row) -> KeyFingerprint:
    return KeyFingerprint(r[0], r[1], r[2], _dt(r[3]), None if r[4] is None else _dt(r[4]))


class LogSql(SqlRunner):
    """The log, its identity, its tree and its verification."""

    @staticmethod
    def search_sql(flt: LogFilter, *, after: int | None, limit: int) -> tuple[str, list[Any]]:
        """The statement search_log runs, with its arguments (PostgreSQL plans by statistics)."""
        return search_log_query(flt, after=after, limit=limit)

    async def append_log(self, entries: Sequence[LogEntry]) -> list[int]:
        values = log_values(entries)
        return await self._transact(lambda: self._append(values))

    async def log_size(self) -> int:
        def txn() -> Txn[int]:
            r = yield from row("{log_size}")
            return 0 if r is None else int(r[0])

        return await self._query(txn)

    async def log_rows(self, start: int, end: int) -> list[LogRow]:
        def txn() -> Txn[list[LogRow]]:
            found = yield from rows(
                "SELECT idx, leaf FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                start,
                end,
            )
            return [log_row(r) for r in found]

        return await self._query(txn)

    async def search_log(self, flt: LogFilter, *, after: int | None, limit: int) -> list[LogRow]:
        sql, args = self.search_sql(flt, after=after, limit=limit)

        def txn() -> Txn[list[LogRow]]:
            return [log_row(r) for r in (yield from rows(sql, *args))]

        return await self._query(txn)

    async def log_activity(
        self, since: datetime, until: datetime, *, parties: frozenset[str] | None = None
    ) -> list[ActivityCount]:
        among, among_args = parties_condition(parties, ("sender", "recipient"))

        def txn() -> Txn[list[ActivityCount]]:
            found = yield from rows(
                "SELECT time_ms / 86400000 AS day, decision, purpose, sender, break_glass, "
                f"COUNT(*) FROM log_entries WHERE time_ms >= ? AND time_ms < ?{among} "
                "GROUP BY day, decision, purpose, sender, break_glass "
                "ORDER BY day, decision, purpose, sender, break_glass",
                _ms(since),
                _ms(until),
                *among_args,
            )
            return [
                ActivityCount(_day(r[0]), r[1], r[2], r[3], bool(r[4]), int(r[5])) for r in found
            ]

        return await self._query(txn)

    async def refusal_counts(
        self, since: datetime, until: datetime, *, parties: frozenset[str] | None = None
    ) -> list[RefusalCount]:
        among, among_args = parties_condition(parties, ("sender", "recipient"))

        def txn() -> Txn[list[RefusalCount]]:
            found = yield from rows(
                "SELECT sender, reason, purpose, recipient, COUNT(*) FROM log_entries "
                f"WHERE decision = 'refused' AND time_ms >= ? AND time_ms < ?{among} "
                "GROUP BY sender, reason, purpose, recipient "
                "ORDER BY COUNT(*) DESC, sender, reason, purpose, recipient",
                _ms(since),
                _ms(until),
                *among_args,
            )
            return [RefusalCount(r[0], r[1], r[2], r[3], int(r[4])) for r in found]

        return await self._query(txn)

    # -- the log's identity ----------------------------------------------------------------------
    async def log_origin(self) -> str | None:
        def txn() -> Txn[str | None]:
            r = yield from row("SELECT value FROM meta WHERE key = 'log_origin'")
            return None if r is None else str(r[0])

        return await self._query(txn)

    async def claim_log_origin(self, origin: str) -> str:
        def txn() -> Txn[str]:
            yield from run(
                "INSERT INTO meta (key, value) VALUES ('log_origin', ?) ON CONFLICT DO NOTHING",
                origin,
            )
            r = yield from row("SELECT value FROM meta WHERE key = 'log_origin'")
            assert r is not None  # inserted just now, or there before
            return str(r[0])

        return await self._transact(txn)

    async def claim_key_fingerprints(
        self, fingerprints: Sequence[tuple[str, str]], keys_folder: str, now: datetime
    ) -> list[KeyFingerprint]:
        def txn() -> Txn[list[KeyFingerprint]]:
            # Instances starting together on an empty database: the first to lock records.
            yield from run("LOCK TABLE key_fingerprints IN EXCLUSIVE MODE", only="postgresql")
            yield from run_many(
                "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms) "
                "SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS {int64}) "
                "WHERE NOT EXISTS (SELECT 1 FROM key_fingerprints "
                "WHERE name = CAST(? AS TEXT) AND retired_ms IS NULL)",
                [(name, fp, keys_folder, _ms(now), name) for name, fp in fingerprints],
            )
            return [_fingerprint(r) for r in (yield from rows(_FINGERPRINTS))]

        return await self._transact(txn)

    async def rotate_key_fingerprints(
        self,
        current: Sequence[tuple[str, str]],
        retired: Sequence[tuple[str, str]],
        keys_folder: str,
        now: datetime,
    ) -> None:
        def txn() -> Txn[None]:
            yield from run("LOCK TABLE key_fingerprints IN EXCLUSIVE MODE", only="postgresql")
            yield from run_many(
                "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms, "
                "retired_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(name, fp, keys_folder, _ms(now), _ms(now)) for name, fp in retired],
            )
            for name, fp in current:
                yield from run(
                    "UPDATE key_fingerprints SET retired_ms = ? "
                    "WHERE name = ? AND retired_ms IS NULL AND fingerprint <> ?",
                    _ms(now),
                    name,
                    fp,
                )
                yield from run(
                    "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms) "
                    "VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (name, fingerprint) DO UPDATE SET retired_ms = NULL",
                    name,
                    fp,
                    keys_folder,
                    _ms(now),
                )

        await self._transact(txn)

    # -- the tree (sequencer) and verification ---------------------------------------------------
    async def store_tree(
        self,
        nodes: Sequence[tuple[int, int, bytes]],
        checkpoint: StoredCheckpoint | None,
    ) -> None:
        def txn() -> Txn[None]:
            yield from insert("tree_nodes", _TREE_TYPES, nodes, "ON CONFLICT DO NOTHING")
            if checkpoint is not None:
                yield from run(
                    "INSERT INTO checkpoints (size, root_hash, note, time_ms) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    checkpoint.size,
                    checkpoint.root_hash,
                    checkpoint.note,
                    _ms(checkpoint.time),
                )

        await self._transact(txn)

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        def txn() -> Txn[StoredCheckpoint | None]:
            r = yield from row(f"{_CHECKPOINTS} DESC LIMIT 1")
            return None if r is None else _checkpoint(r)

        return await self._query(txn, quick=True)

    async def checkpoints(self) -> list[StoredCheckpoint]:
        def txn() -> Txn[list[StoredCheckpoint]]:
            return [_checkpoint(r) for r in (yield from rows(_CHECKPOINTS))]

        return await self._query(txn)

    async def verify_batch(self, start: int, end: int) -> list[VerifyRow]:
        def txn() -> Txn[list[VerifyRow]]:
            # CAST: a leaf or hash someone rewrote as TEXT (SQLite) still comes back as bytes.
            found = yield from rows(
                "SELECT l.idx, CAST(l.leaf AS {bytes}), CAST(t.hash AS {bytes}), "
                f"{_VERIFY_COLUMNS} FROM log_entries l "
                "LEFT JOIN tree_nodes t ON t.level = 0 AND t.idx = l.idx "
                "WHERE l.idx >= ? AND l.idx < ? ORDER BY l.idx",
                start,
                end,
            )
            return [tuple(r) for r in found]

        return await self._query(txn)
