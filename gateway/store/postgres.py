"""PostgreSQL back end: any number of gateway instances share one database.

Every write is one transaction on a pooled connection and returns after COMMIT, which PostgreSQL
makes durable (synchronous_commit is never left `off`, see `_durable_pool`). Log indices
come from the one-row `log_head` counter, updated inside the writing transaction: concurrent
appenders queue on that row lock, so indices are gap-free, a rollback gives its indices back, and
index order is commit order.

Lock order, which rules out deadlocks: `inbox_head` first (only `record_exchange` takes it), then
the rows a write changes, then `log_head` last. A transaction holding `log_head` therefore waits
for nothing, and one holding `inbox_head` waits only for row locks of transactions that never wait
for `inbox_head`.

Work that several instances may start at once (purging, pruning jtis, announcing overdue
expectations, claiming notifications) takes its rows with FOR UPDATE SKIP LOCKED, so each row is
handled by exactly one instance. `PostgresSequencerLock` elects the one sequencer among instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from gateway.errors import StorageUnavailable
from gateway.log.entry import LogEntry
from gateway.store._rows import BREAK_GLASS_COLUMNS as _BREAK_GLASS_COLUMNS
from gateway.store._rows import EXPECTATION_COLUMNS as _EXPECTATION_COLUMNS
from gateway.store._rows import MESSAGE_COLUMNS as _MESSAGE_COLUMNS
from gateway.store._rows import SESSION_COLUMNS as _SESSION_COLUMNS
from gateway.store._rows import VERIFY_COLUMNS as _VERIFY_COLUMNS
from gateway.store._rows import break_glass_from_row as _break_glass
from gateway.store._rows import day as _day
from gateway.store._rows import dt as _dt
from gateway.store._rows import expectation_from_row as _expectation
from gateway.store._rows import message_from_row as _message
from gateway.store._rows import message_values
from gateway.store._rows import ms as _ms
from gateway.store._search import parties_condition, search_log_query
from gateway.store.base import (
    ActivityCount,
    BreakGlassRecord,
    Case,
    ExchangeEffects,
    Expectation,
    HouseholdChild,
    KeyFingerprint,
    Lock,
    LogFeedBatch,
    LogFilter,
    LogRow,
    NetworkMember,
    OfficerLink,
    OfficerSession,
    OutboxItem,
    OutboxRow,
    PendingNotification,
    RefusalCount,
    StoredCheckpoint,
    StoredConsent,
    StoredMessage,
    VerifyRow,
    check_schema_version,
)
from gateway.store.postgres_schema import POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION

__all__ = ["PostgresSequencerLock", "PostgresStorage"]

T = TypeVar("T")

POOL_MIN = 2
POOL_MAX = 10
CONNECT_TIMEOUT_S = 10.0
ACQUIRE_TIMEOUT_S = 30.0
# A server that holds its connections open but answers nothing (frozen, or behind a network
# partition) would otherwise keep a call waiting until TCP gives up, many minutes later.
OPERATION_TIMEOUT_S = 30.0  # one read or write, acquiring its connection included
PING_TIMEOUT_S = 2.0  # readiness must answer quickly, whatever the database does
RELEASE_TIMEOUT_S = 2.0  # resetting a connection on release; past it the connection is dropped
CLOSE_TIMEOUT_S = 30.0
LOCK_CHECK_TIMEOUT_S = 5.0
PURGE_BATCH = 1000
JTI_PRUNE_BATCH = 1000

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# Failures that say "the database cannot be reached or cannot serve right now": the caller gets
# 503 and retries. Deadlocks and serialisation failures are transient too. Anything else (a
# constraint violation, bad SQL) is a bug and propagates unchanged, as in the SQLite back end.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # includes refused connections and TimeoutError (connect, pool acquire)
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # e.g. the pool was closed under us
    asyncpg.exceptions.OperatorInterventionError,  # CannotConnectNowError, AdminShutdownError
    asyncpg.exceptions.InsufficientResourcesError,  # TooManyConnectionsError, disk full
    asyncpg.exceptions.TransactionRollbackError,
    # A connection the server has just closed (restart, failover, idle kill) can fail this way
    # before asyncpg has noticed the close; the pool replaces it afterwards.
    asyncpg.exceptions.InternalClientError,
)


@contextlib.asynccontextmanager
async def _unavailable_on_failure(action: str) -> AsyncIterator[None]:
    """Turn connection-level failures into StorageUnavailable with a short message."""
    try:
        yield
    except _UNAVAILABLE as exc:
        raise StorageUnavailable(f"storage {action} failed: {type(exc).__name__}") from exc


def _checked_schema(schema: str | None) -> str | None:
    if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(
            f"PostgreSQL schema name {schema!r} must be lower-case letters, digits and "
            "underscores, starting with a letter or underscore (at most 63 characters)"
        )
    return schema


def _advisory_key(purpose: str, schema: str | None) -> int:
    """A stable 64-bit advisory lock key per purpose and schema, so deployments never collide."""
    digest = hashlib.sha256(f"social-domain-gateway:{purpose}:{schema or ''}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _durable_pool(dsn: str, settings: dict[str, str]) -> Any:
    """A connection pool whose commits are durable before they are acknowledged."""
    pool = await _pool(dsn, settings)
    try:
        durable = await pool.fetchval("SHOW synchronous_commit") != "off"
    except BaseException:
        pool.terminate()
        raise
    if durable:
        # Stronger settings a deployment chose (remote_write, remote_apply) are kept as they are.
        return pool
    # A role or database default of `off` would acknowledge commits before they are durable.
    # The pool runs RESET ALL on every release, so only a setting sent at connect time sticks.
    await pool.close()
    return await _pool(dsn, {**settings, "synchronous_commit": "on"})


async def _pool(dsn: str, settings: dict[str, str]) -> Any:
    return await asyncpg.create_pool(
        dsn,
        min_size=POOL_MIN,
        max_size=POOL_MAX,
        timeout=CONNECT_TIMEOUT_S,
        server_settings=settings,
    )


class PostgresStorage:
    """Storage on a shared PostgreSQL database, optionally inside its own schema.

    Every read and write fails as StorageUnavailable within `operation_timeout_s` seconds
    (migrations excepted), whether the database refuses, drops or silently ignores it.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        operation_timeout_s: float = OPERATION_TIMEOUT_S,
    ) -> None:
        self.dsn = dsn
        self.schema = _checked_schema(schema)
        self.operation_timeout_s = operation_timeout_s
        self._pool: Any = None

    # -- connections ---------------------------------------------------------------------------
    def _require_pool(self) -> Any:
        if self._pool is None:
            raise StorageUnavailable("storage is not open")
        return self._pool

    @contextlib.asynccontextmanager
    async def _connection(self, action: str, deadline: float) -> AsyncIterator[Any]:
        """A pooled connection for one operation that fails as StorageUnavailable by `deadline`."""
        pool = self._require_pool()
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        async with _unavailable_on_failure(action), asyncio.timeout_at(end) as budget:
            # The wait for a pooled connection is part of the operation's budget.
            conn = await pool.acquire(timeout=deadline)
            # A cancelled query makes asyncpg ask the server to cancel it, and the rollback after
            # it waits for the server too: a server that stopped answering would hold both
            # forever. Closing the connection at the deadline fails whatever waits on it at once.
            watchdog = loop.call_at(end, conn.terminate)
            try:
                yield conn
            finally:
                watchdog.cancel()
                if not budget.expired():
                    budget.reschedule(None)  # an operation that finished in time keeps its result
                # Release resets the connection, by default within the acquire timeout; a
                # connection whose server stopped answering is dropped sooner than that.
                await pool.release(conn, timeout=RELEASE_TIMEOUT_S)

    async def _read(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        async with self._connection("read", self.operation_timeout_s) as conn:
            return await fn(conn)

    async def _write(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        # A write cut off by the deadline may still have committed: the caller answers 503,
        # which promises nothing, and never acknowledges what it cannot see durable.
        async with self._connection("write", self.operation_timeout_s) as conn, conn.transaction():
            return await fn(conn)

    # -- life cycle ----------------------------------------------------------------------------
    async def open(self) -> None:
        if self._pool is not None:
            return
        settings = {} if self.schema is None else {"search_path": self.schema}
        async with _unavailable_on_failure("connection"):
            self._pool = await _durable_pool(self.dsn, settings)
        try:
            version = await self.schema_version()
            if version == 0:
                await self._migrate()
            else:
                check_schema_version(
                    version,
                    POSTGRES_SCHEMA_VERSION,
                    f"PostgreSQL schema {self.schema or 'public'!r}",
                )
        except BaseException:
            await self.close()
            raise

    async def _connect_briefly(self) -> bool:
        """Open a pool for a one-off call on an unopened instance; True when the caller closes it."""
        if self._pool is not None:
            return False
        settings = {} if self.schema is None else {"search_path": self.schema}
        async with _unavailable_on_failure("connection"):
            self._pool = await _durable_pool(self.dsn, settings)
        return True

    async def migrate(self) -> int:
        """Bring the schema to its newest version; refuse a database newer than this code.

        Works on an unopened instance too (`gateway migrate` opens none: open() would refuse
        the old schema it is about to upgrade).
        """
        opened_here = await self._connect_briefly()
        try:
            return await self._migrate()
        finally:
            if opened_here:
                await self.close()

    async def _migrate(self) -> int:
        pool = self._require_pool()
        async with (
            _unavailable_on_failure("migration"),
            pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as conn,
            conn.transaction(),
        ):
            # Instances starting together must not both create tables; DDL is transactional,
            # so a failed migration leaves nothing half-done.
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1)", _advisory_key("migrate", self.schema)
            )
            if self.schema is not None:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            version = await _read_version(conn)
            if version > POSTGRES_SCHEMA_VERSION:
                check_schema_version(
                    version,
                    POSTGRES_SCHEMA_VERSION,
                    f"PostgreSQL schema {self.schema or 'public'!r}",
                )
            for target, statements in POSTGRES_MIGRATIONS:
                if target > version:
                    for statement in statements:
                        await conn.execute(statement)
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', $1) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                str(POSTGRES_SCHEMA_VERSION),
            )
        return POSTGRES_SCHEMA_VERSION

    async def schema_version(self) -> int:
        """The schema version the database holds; 0 before the first migration."""

        async def read(conn: Any) -> int:
            if await conn.fetchval("SELECT to_regclass('meta')") is None:
                return 0
            return await _read_version(conn)

        opened_here = await self._connect_briefly()
        try:
            return await self._read(read)
        finally:
            if opened_here:
                await self.close()

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT_S)
        except TimeoutError:
            # A connection still busy after the grace period is cut off rather than waited on.
            pool.terminate()

    async def ping(self) -> None:
        async with self._connection("ping", PING_TIMEOUT_S) as conn:
            await conn.fetchval("SELECT 1")

    def sequencer_lock(self, data_folder: Path) -> Lock:
        """An advisory lock: one sequencer among all instances sharing this database (the data
        folder is each instance's own and plays no part)."""
        return PostgresSequencerLock(self.dsn, schema=self.schema)

    async def server_now(self) -> datetime:
        """The database server's clock (`now()`), to measure this machine's skew against it."""
        async with self._connection("clock", PING_TIMEOUT_S) as conn:
            server: datetime = await conn.fetchval("SELECT now()")
        return server

    # -- log -----------------------------------------------------------------------------------
    async def append_log(self, entries: Sequence[LogEntry]) -> list[int]:
        return await self._write(lambda c: _append(c, entries))

    # -- the log's identity ----------------------------------------------------------------------
    async def log_origin(self) -> str | None:
        async def read(conn: Any) -> str | None:
            value = await conn.fetchval("SELECT value FROM meta WHERE key = 'log_origin'")
            return None if value is None else str(value)

        return await self._read(read)

    async def claim_log_origin(self, origin: str) -> str:
        async def write(conn: Any) -> str:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('log_origin', $1) ON CONFLICT DO NOTHING",
                origin,
            )
            return str(await conn.fetchval("SELECT value FROM meta WHERE key = 'log_origin'"))

        return await self._write(write)

    async def claim_key_fingerprints(
        self, fingerprints: Sequence[tuple[str, str]], keys_folder: str, now: datetime
    ) -> list[KeyFingerprint]:
        async def write(conn: Any) -> list[KeyFingerprint]:
            # Instances starting together on an empty database: the first to lock records.
            await conn.execute("LOCK TABLE key_fingerprints IN EXCLUSIVE MODE")
            await conn.executemany(
                "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms) "
                "SELECT $1::text, $2::text, $3::text, $4::bigint WHERE NOT EXISTS "
                "(SELECT 1 FROM key_fingerprints WHERE name = $1::text AND retired_ms IS NULL)",
                [(name, fp, keys_folder, _ms(now)) for name, fp in fingerprints],
            )
            rows = await conn.fetch(_FINGERPRINTS)
            return [_fingerprint(r) for r in rows]

        return await self._write(write)

    async def rotate_key_fingerprints(
        self,
        current: Sequence[tuple[str, str]],
        retired: Sequence[tuple[str, str]],
        keys_folder: str,
        now: datetime,
    ) -> None:
        async def write(conn: Any) -> None:
            await conn.execute("LOCK TABLE key_fingerprints IN EXCLUSIVE MODE")
            await conn.executemany(
                "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms, "
                "retired_ms) VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING",
                [(name, fp, keys_folder, _ms(now)) for name, fp in retired],
            )
            for name, fp in current:
                await conn.execute(
                    "UPDATE key_fingerprints SET retired_ms = $1 "
                    "WHERE name = $2 AND retired_ms IS NULL AND fingerprint <> $3",
                    _ms(now),
                    name,
                    fp,
                )
                await conn.execute(
                    "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms) "
                    "VALUES ($1, $2, $3, $4) "
                    "ON CONFLICT (name, fingerprint) DO UPDATE SET retired_ms = NULL",
                    name,
                    fp,
                    keys_folder,
                    _ms(now),
                )

        await self._write(write)

    async def log_size(self) -> int:
        async def read(conn: Any) -> int:
            return int(await conn.fetchval("SELECT size FROM log_head"))

        return await self._read(read)

    async def log_rows(self, start: int, end: int) -> list[LogRow]:
        async def read(conn: Any) -> list[LogRow]:
            rows = await conn.fetch(
                "SELECT idx, leaf FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                start,
                end,
            )
            return [LogRow(r[0], bytes(r[1])) for r in rows]

        return await self._read(read)

    async def search_log(self, flt: LogFilter, *, after: int | None, limit: int) -> list[LogRow]:
        sql, args = search_log_query(flt, after=after, limit=limit, placeholder=lambda n: f"${n}")

        async def read(conn: Any) -> list[LogRow]:
            return [LogRow(r[0], bytes(r[1])) for r in await conn.fetch(sql, *args)]

        return await self._read(read)

    async def log_activity(
        self, since: datetime, until: datetime, *, parties: frozenset[str] | None = None
    ) -> list[ActivityCount]:
        among, among_args = parties_condition(
            parties, ("sender", "recipient"), lambda n: f"${n}", 3
        )

        async def read(conn: Any) -> list[ActivityCount]:
            rows = await conn.fetch(
                "SELECT time_ms / 86400000 AS day, decision, purpose, sender, break_glass, "
                f"COUNT(*) FROM log_entries WHERE time_ms >= $1 AND time_ms < $2{among} "
                "GROUP BY day, decision, purpose, sender, break_glass "
                "ORDER BY day, decision, purpose, sender, break_glass",
                _ms(since),
                _ms(until),
                *among_args,
            )
            return [
                ActivityCount(_day(r[0]), r[1], r[2], r[3], bool(r[4]), int(r[5])) for r in rows
            ]

        return await self._read(read)

    async def refusal_counts(
        self, since: datetime, until: datetime, *, parties: frozenset[str] | None = None
    ) -> list[RefusalCount]:
        among, among_args = parties_condition(
            parties, ("sender", "recipient"), lambda n: f"${n}", 3
        )

        async def read(conn: Any) -> list[RefusalCount]:
            rows = await conn.fetch(
                "SELECT sender, reason, purpose, recipient, COUNT(*) FROM log_entries "
                f"WHERE decision = 'refused' AND time_ms >= $1 AND time_ms < $2{among} "
                "GROUP BY sender, reason, purpose, recipient "
                "ORDER BY COUNT(*) DESC, sender, reason, purpose, recipient",
                _ms(since),
                _ms(until),
                *among_args,
            )
            return [RefusalCount(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

        return await self._read(read)

    # -- tokens --------------------------------------------------------------------------------
    async def use_jti(
        self, partner: str, jti: str, remember_until: datetime, now: datetime
    ) -> bool:
        async def write(conn: Any) -> bool:
            # SKIP LOCKED: instances pruning at the same moment neither wait for nor deadlock
            # on each other; whatever one skips, a later call removes.
            await conn.execute(
                "DELETE FROM used_jti WHERE (partner, jti) IN (SELECT partner, jti FROM used_jti "
                "WHERE expires_ms < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
                _ms(now),
                JTI_PRUNE_BATCH,
            )
            inserted = await conn.fetchval(
                "INSERT INTO used_jti (partner, jti, expires_ms) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING RETURNING TRUE",
                partner,
                jti,
                _ms(remember_until),
            )
            return inserted is not None

        return await self._write(write)

    # -- consents ------------------------------------------------------------------------------
    async def add_consent(self, consent: StoredConsent, entry: LogEntry) -> int:
        async def write(conn: Any) -> int:
            await conn.execute(
                "INSERT INTO consents (consent_id, subject, recorded_by, record) "
                "VALUES ($1, $2, $3, $4)",
                consent.consent_id,
                consent.subject,
                consent.recorded_by,
                consent.sealed_record,
            )
            return (await _append(conn, [entry]))[0]

        return await self._write(write)

    async def replace_consent(self, consent: StoredConsent, entry: LogEntry) -> int:
        async def write(conn: Any) -> int:
            await conn.execute(
                "UPDATE consents SET record = $1 WHERE consent_id = $2",
                consent.sealed_record,
                consent.consent_id,
            )
            return (await _append(conn, [entry]))[0]

        return await self._write(write)

    async def held_birth_date(self, subject: str) -> bytes | None:
        async def read(conn: Any) -> bytes | None:
            sealed = await conn.fetchval(
                "SELECT sealed FROM subject_birth_dates WHERE subject = $1", subject
            )
            return None if sealed is None else bytes(sealed)

        return await self._read(read)

    async def claim_birth_date(self, subject: str, sealed: bytes) -> bytes:
        async def write(conn: Any) -> bytes:
            # The no-op update makes RETURNING answer the row held when the insert conflicts.
            held = await conn.fetchval(
                "INSERT INTO subject_birth_dates (subject, sealed) VALUES ($1, $2) "
                "ON CONFLICT (subject) DO UPDATE SET sealed = subject_birth_dates.sealed "
                "RETURNING sealed",
                subject,
                sealed,
            )
            return bytes(held)

        return await self._write(write)

    async def correct_birth_date(self, subject: str, sealed: bytes, entry: LogEntry) -> int:
        async def write(conn: Any) -> int:
            await conn.execute(
                "INSERT INTO subject_birth_dates (subject, sealed) VALUES ($1, $2) "
                "ON CONFLICT (subject) DO UPDATE SET sealed = EXCLUDED.sealed",
                subject,
                sealed,
            )
            return (await _append(conn, [entry]))[0]

        return await self._write(write)

    async def consents_for_subject(self, subject: str) -> list[StoredConsent]:
        async def read(conn: Any) -> list[StoredConsent]:
            rows = await conn.fetch(
                "SELECT consent_id, subject, recorded_by, record FROM consents WHERE subject = $1",
                subject,
            )
            return [StoredConsent(r[0], r[1], r[2], bytes(r[3])) for r in rows]

        return await self._read(read)

    async def get_consent(self, consent_id: str) -> StoredConsent | None:
        async def read(conn: Any) -> StoredConsent | None:
            r = await conn.fetchrow(
                "SELECT consent_id, subject, recorded_by, record FROM consents "
                "WHERE consent_id = $1",
                consent_id,
            )
            return None if r is None else StoredConsent(r[0], r[1], r[2], bytes(r[3]))

        return await self._read(read)

    # -- case networks -------------------------------------------------------------------------
    async def case_network(self, case_id: str) -> list[NetworkMember]:
        async def read(conn: Any) -> list[NetworkMember]:
            rows = await conn.fetch(
                "SELECT case_id, partner_id, role, contact, registered_by, registered_ms "
                "FROM case_network WHERE case_id = $1 ORDER BY registered_ms, partner_id",
                case_id,
            )
            return [NetworkMember(r[0], r[1], r[2], r[3], r[4], _dt(r[5])) for r in rows]

        return await self._read(read)

    async def open_case(self, case: Case, director: NetworkMember, entry: LogEntry) -> int:
        async def write(conn: Any) -> int:
            await conn.execute(
                "INSERT INTO cases (case_id, regisseur, dossier_reference, opened_ms) "
                "VALUES ($1, $2, $3, $4)",
                case.case_id,
                case.director,
                case.dossier_reference,
                _ms(case.opened_at),
            )
            await _upsert_member(conn, director)
            return (await _append(conn, [entry]))[0]

        return await self._write(write)

    async def get_case(self, case_id: str) -> Case | None:
        async def read(conn: Any) -> Case | None:
            r = await conn.fetchrow(
                "SELECT case_id, regisseur, dossier_reference, opened_ms FROM cases "
                "WHERE case_id = $1",
                case_id,
            )
            return None if r is None else Case(r[0], r[1], r[2], _dt(r[3]))

        return await self._read(read)

    async def register_involvement(self, member: NetworkMember, entry: LogEntry) -> bool:
        async def write(conn: Any) -> bool:
            created = await _upsert_member(conn, member)
            await _append(conn, [entry])
            return created

        return await self._write(write)

    async def remove_involvement(self, case_id: str, partner_id: str, entry: LogEntry) -> bool:
        async def write(conn: Any) -> bool:
            gone = await conn.fetchval(
                "DELETE FROM case_network WHERE case_id = $1 AND partner_id = $2 RETURNING TRUE",
                case_id,
                partner_id,
            )
            if gone is None:
                return False
            await _append(conn, [entry])
            return True

        return await self._write(write)

    async def register_child(self, child: HouseholdChild) -> bool:
        async def write(conn: Any) -> bool:
            inserted = await conn.fetchval(
                "INSERT INTO household (case_id, child_ref, subject, registered_by, registered_ms) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING TRUE",
                child.case_id,
                child.child_ref,
                child.subject,
                child.registered_by,
                _ms(child.registered_at),
            )
            if inserted is not None:
                return True
            await conn.execute(
                "UPDATE household SET subject = $3 WHERE case_id = $1 AND child_ref = $2",
                child.case_id,
                child.child_ref,
                child.subject,
            )
            return False

        return await self._write(write)

    async def household(self, case_id: str) -> list[HouseholdChild]:
        async def read(conn: Any) -> list[HouseholdChild]:
            rows = await conn.fetch(
                "SELECT case_id, child_ref, subject, registered_by, registered_ms FROM household "
                "WHERE case_id = $1 ORDER BY registered_ms, child_ref",
                case_id,
            )
            return [HouseholdChild(r[0], r[1], r[2], r[3], _dt(r[4])) for r in rows]

        return await self._read(read)

    # -- expectations --------------------------------------------------------------------------
    async def add_expectations(self, expectations: Sequence[Expectation]) -> None:
        await self._write(lambda c: _open_expectations(c, expectations))

    async def open_expectations(
        self, *, owed_by: str, owed_to: str | None = None, purpose: str | None = None
    ) -> list[Expectation]:
        args: list[Any] = [owed_by]
        sql = f"SELECT {_EXPECTATION_COLUMNS} FROM expectations WHERE owed_by = $1 AND closed_ms IS NULL"
        if owed_to is not None:
            args.append(owed_to)
            sql += f" AND owed_to = ${len(args)}"
        if purpose is not None:
            args.append(purpose)
            sql += f" AND purpose = ${len(args)}"
        sql += " ORDER BY due_ms, expectation_id"

        async def read(conn: Any) -> list[Expectation]:
            return [_expectation(r) for r in await conn.fetch(sql, *args)]

        return await self._read(read)

    async def expectations_for(
        self, partner: str, *, open_only: bool, limit: int
    ) -> list[Expectation]:
        only_open = " AND closed_ms IS NULL" if open_only else ""

        async def read(conn: Any) -> list[Expectation]:
            rows = await conn.fetch(
                f"SELECT {_EXPECTATION_COLUMNS} FROM expectations "
                f"WHERE (owed_by = $1 OR owed_to = $1){only_open} "
                "ORDER BY due_ms, expectation_id LIMIT $2",
                partner,
                limit,
            )
            return [_expectation(r) for r in rows]

        return await self._read(read)

    async def mark_newly_overdue(self, now: datetime, limit: int) -> list[Expectation]:
        async def write(conn: Any) -> list[Expectation]:
            # SKIP LOCKED: instances checking at the same moment announce each expectation once.
            rows = await conn.fetch(
                "UPDATE expectations SET overdue_notified_ms = $1 WHERE expectation_id IN "
                "(SELECT expectation_id FROM expectations WHERE closed_ms IS NULL "
                "AND overdue_notified_ms IS NULL AND due_ms < $1 ORDER BY due_ms LIMIT $2 "
                f"FOR UPDATE SKIP LOCKED) RETURNING {_EXPECTATION_COLUMNS}",
                _ms(now),
                limit,
            )
            found = sorted(map(_expectation, rows), key=lambda e: (e.due_at, e.expectation_id))
            parties = {p for e in found for p in (e.owed_by, e.owed_to)}
            await _poke(conn, sorted(parties), "expectation_overdue", now)
            return found

        return await self._write(write)

    # -- notifications -------------------------------------------------------------------------
    async def claim_notifications(
        self, now: datetime, *, lease_s: float, limit: int
    ) -> list[PendingNotification]:
        async def write(conn: Any) -> list[PendingNotification]:
            # SKIP LOCKED: instances claiming at the same moment never take the same poke.
            rows = await conn.fetch(
                "WITH due AS (SELECT partner, kind, next_ms FROM notifications "
                "WHERE next_ms <= $1 ORDER BY next_ms LIMIT $2 FOR UPDATE SKIP LOCKED) "
                "UPDATE notifications n SET next_ms = $3 FROM due "
                "WHERE n.partner = due.partner AND n.kind = due.kind "
                "RETURNING n.partner, n.kind, n.created_ms, n.attempts, due.next_ms",
                _ms(now),
                limit,
                _ms(now) + int(lease_s * 1000),
            )
            rows = sorted(rows, key=lambda r: (r[4], r[0], r[1]))
            return [PendingNotification(r[0], r[1], _dt(r[2]), r[3]) for r in rows]

        return await self._write(write)

    async def finish_notification(self, partner: str, kind: str, created_at: datetime) -> None:
        async def write(conn: Any) -> None:
            await conn.execute(
                "DELETE FROM notifications WHERE partner = $1 AND kind = $2 AND created_ms <= $3",
                partner,
                kind,
                _ms(created_at),
            )

        await self._write(write)

    # -- outbox towards outside logs -----------------------------------------------------------
    async def claim_log_feed(
        self, destination: str, now: datetime, *, lease_s: float, limit: int
    ) -> LogFeedBatch:
        async def write(conn: Any) -> LogFeedBatch:
            await conn.execute(
                "INSERT INTO outbox_cursors (destination, next_idx) VALUES ($1, 0) "
                "ON CONFLICT (destination) DO NOTHING",
                destination,
            )
            cursor = await conn.fetchrow(
                "SELECT next_idx, attempts FROM outbox_cursors "
                "WHERE destination = $1 AND next_ms <= $2 AND lease_ms <= $2 "
                "FOR UPDATE SKIP LOCKED",
                destination,
                _ms(now),
            )
            if cursor is None:
                return LogFeedBatch((), 0)
            # Entries take their index under a row lock held until commit, so what is visible
            # here is a gap-free prefix of the log: the cursor never passes an uncommitted entry.
            rows = await conn.fetch(
                "SELECT idx, leaf FROM log_entries WHERE idx >= $1 ORDER BY idx LIMIT $2",
                cursor[0],
                limit,
            )
            if rows:
                await conn.execute(
                    "UPDATE outbox_cursors SET lease_ms = $1 WHERE destination = $2",
                    _ms(now) + int(lease_s * 1000),
                    destination,
                )
            return LogFeedBatch(tuple(LogRow(r[0], bytes(r[1])) for r in rows), int(cursor[1]))

        return await self._write(write)

    async def advance_log_feed(self, destination: str, start: int, end: int) -> bool:
        async def write(conn: Any) -> bool:
            status = await conn.execute(
                "UPDATE outbox_cursors SET next_idx = $1, attempts = 0, next_ms = 0, lease_ms = 0 "
                "WHERE destination = $2 AND next_idx = $3",
                end,
                destination,
                start,
            )
            return bool(status == "UPDATE 1")

        return await self._write(write)

    async def retry_log_feed(self, destination: str, next_at: datetime) -> None:
        async def write(conn: Any) -> None:
            await conn.execute(
                "UPDATE outbox_cursors SET attempts = attempts + 1, next_ms = $1, lease_ms = 0 "
                "WHERE destination = $2",
                _ms(next_at),
                destination,
            )

        return await self._write(write)

    async def claim_outbox(
        self, destination: str, now: datetime, *, lease_s: float, limit: int
    ) -> list[OutboxRow]:
        async def write(conn: Any) -> list[OutboxRow]:
            rows = await conn.fetch(
                "WITH due AS (SELECT seq FROM outbox WHERE destination = $1 AND next_ms <= $2 "
                "AND lease_ms <= $2 ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED) "
                "UPDATE outbox o SET lease_ms = $4 FROM due, log_entries l "
                "WHERE o.seq = due.seq AND l.idx = o.log_idx "
                "RETURNING o.seq, o.log_idx, l.leaf, o.sealed, o.attempts",
                destination,
                _ms(now),
                limit,
                _ms(now) + int(lease_s * 1000),
            )
            return sorted(
                (OutboxRow(r[0], r[1], bytes(r[2]), bytes(r[3]), r[4]) for r in rows),
                key=lambda row: row.seq,
            )

        return await self._write(write)

    async def finish_outbox(self, seqs: Sequence[int]) -> None:
        async def write(conn: Any) -> None:
            await conn.execute("DELETE FROM outbox WHERE seq = ANY($1::bigint[])", list(seqs))

        await self._write(write)

    async def retry_outbox(self, seqs: Sequence[int], next_at: datetime) -> None:
        async def write(conn: Any) -> None:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_ms = $1, lease_ms = 0 "
                "WHERE seq = ANY($2::bigint[])",
                _ms(next_at),
                list(seqs),
            )

        await self._write(write)

    async def drop_outbox(self, destination: str) -> int:
        async def write(conn: Any) -> int:
            status = await conn.execute("DELETE FROM outbox WHERE destination = $1", destination)
            return int(status.split()[-1])

        return await self._write(write)

    async def outbox_backlog(self) -> dict[str, int]:
        async def read(conn: Any) -> dict[str, int]:
            size = int(await conn.fetchval("SELECT size FROM log_head"))
            backlog = {
                r[0]: size - int(r[1])
                for r in await conn.fetch("SELECT destination, next_idx FROM outbox_cursors")
            }
            for r in await conn.fetch(
                "SELECT destination, COUNT(*) FROM outbox GROUP BY destination"
            ):
                backlog[r[0]] = backlog.get(r[0], 0) + int(r[1])
            return backlog

        return await self._read(read)

    async def retry_notification(
        self, partner: str, kind: str, *, next_at: datetime, attempts: int
    ) -> None:
        async def write(conn: Any) -> None:
            await conn.execute(
                "UPDATE notifications SET next_ms = $1, attempts = $2 "
                "WHERE partner = $3 AND kind = $4",
                _ms(next_at),
                attempts,
                partner,
                kind,
            )

        await self._write(write)

    async def inbox_count(self, recipient: str) -> int:
        async def read(conn: Any) -> int:
            return int(
                await conn.fetchval("SELECT count(*) FROM inbox WHERE recipient = $1", recipient)
            )

        return await self._read(read)

    # -- break-glass reviews -------------------------------------------------------------------
    async def break_glass_records(
        self, *, status: str | None, limit: int, senders: frozenset[str] | None = None
    ) -> list[BreakGlassRecord]:
        among, among_args = parties_condition(senders, ("sender",), lambda n: f"${n}", 3)

        async def read(conn: Any) -> list[BreakGlassRecord]:
            rows = await conn.fetch(
                f"SELECT {_BREAK_GLASS_COLUMNS} FROM break_glass "
                f"WHERE ($1::text IS NULL OR status = $1){among} "
                "ORDER BY created_ms, exchange_id LIMIT $2",
                status,
                limit,
                *among_args,
            )
            return [_break_glass(r) for r in rows]

        return await self._read(read)

    async def review_break_glass(
        self,
        exchange_id: str,
        *,
        status: str,
        by: str,
        at: datetime,
        sealed_note: bytes,
        entry: LogEntry,
        senders: frozenset[str] | None = None,
    ) -> int | None:
        among, among_args = parties_condition(senders, ("sender",), lambda n: f"${n}", 6)

        async def write(conn: Any) -> int | None:
            found = await conn.fetchval(
                "UPDATE break_glass SET status = $1, reviewed_by = $2, reviewed_ms = $3, "
                f"sealed_note = $4 WHERE exchange_id = $5{among} RETURNING TRUE",
                status,
                by,
                _ms(at),
                sealed_note,
                exchange_id,
                *among_args,
            )
            if found is None:
                return None
            return (await _append(conn, [entry]))[0]

        return await self._write(write)

    # -- privacy officers' sign-in -------------------------------------------------------------
    async def add_officer_link(self, link: OfficerLink, entry: LogEntry, now: datetime) -> int:
        async def write(conn: Any) -> int:
            await conn.execute(
                "DELETE FROM officer_links WHERE link_hash IN (SELECT link_hash FROM "
                "officer_links WHERE expires_ms < $1 FOR UPDATE SKIP LOCKED)",
                _ms(now),
            )
            await conn.execute(
                "INSERT INTO officer_links (link_hash, officer, actor, expires_ms) "
                "VALUES ($1, $2, $3, $4)",
                link.link_hash,
                link.officer,
                link.actor,
                _ms(link.expires_at),
            )
            return (await _append(conn, [entry]))[0]

        return await self._write(write)

    async def take_officer_link(self, link_hash: str, now: datetime) -> OfficerLink | None:
        async def write(conn: Any) -> OfficerLink | None:
            # Of two instances taking one link, the second waits on the row lock and then
            # finds nothing to delete: the link signs in exactly once.
            r = await conn.fetchrow(
                "DELETE FROM officer_links WHERE link_hash = $1 "
                "RETURNING link_hash, officer, actor, expires_ms",
                link_hash,
            )
            if r is None or r[3] <= _ms(now):
                return None
            return OfficerLink(r[0], r[1], r[2], _dt(r[3]))

        return await self._write(write)

    async def start_officer_session(
        self, session: OfficerSession, entry: LogEntry, idle_before: datetime
    ) -> int:
        async def write(conn: Any) -> int:
            await conn.execute(
                "DELETE FROM officer_sessions WHERE session_hash IN (SELECT session_hash FROM "
                "officer_sessions WHERE seen_ms < $1 FOR UPDATE SKIP LOCKED)",
                _ms(idle_before),
            )
            await conn.execute(
                f"INSERT INTO officer_sessions ({_SESSION_COLUMNS}) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                session.session_hash,
                session.officer,
                session.actor,
                _ms(session.created_at),
                _ms(session.seen_at),
                session.language,
            )
            return (await _append(conn, [entry]))[0]

        return await self._write(write)

    async def officer_session(self, session_hash: str) -> OfficerSession | None:
        async def read(conn: Any) -> OfficerSession | None:
            r = await conn.fetchrow(
                f"SELECT {_SESSION_COLUMNS} FROM officer_sessions WHERE session_hash = $1",
                session_hash,
            )
            if r is None:
                return None
            return OfficerSession(r[0], r[1], r[2], _dt(r[3]), _dt(r[4]), r[5])

        return await self._read(read)

    async def touch_officer_session(
        self, session_hash: str, seen_at: datetime, language: str
    ) -> None:
        async def write(conn: Any) -> None:
            await conn.execute(
                "UPDATE officer_sessions SET seen_ms = GREATEST(seen_ms, $1), language = $2 "
                "WHERE session_hash = $3",
                _ms(seen_at),
                language,
                session_hash,
            )

        await self._write(write)

    async def end_officer_session(self, session_hash: str, entry: LogEntry) -> int | None:
        async def write(conn: Any) -> int | None:
            gone = await conn.fetchval(
                "DELETE FROM officer_sessions WHERE session_hash = $1 RETURNING TRUE",
                session_hash,
            )
            if gone is None:
                return None
            return (await _append(conn, [entry]))[0]

        return await self._write(write)

    # -- exchanges and inbox -------------------------------------------------------------------
    async def record_exchange(
        self,
        entries: Sequence[LogEntry],
        messages: Sequence[StoredMessage],
        effects: ExchangeEffects | None = None,
        outbox: Sequence[OutboxItem] = (),
    ) -> list[int]:
        async def write(conn: Any) -> list[int]:
            if messages:
                # Sequence numbers from a counter row held until commit, so inbox order is
                # commit order: a reader's `after` cursor never skips a message committed late.
                end = int(
                    await conn.fetchval(
                        "UPDATE inbox_head SET seq = seq + $1 RETURNING seq", len(messages)
                    )
                )
                first = end - len(messages) + 1
                await _insert(
                    conn,
                    "inbox",
                    _INBOX_TYPES,
                    [(first + i, *message_values(m)) for i, m in enumerate(messages)],
                )
                recipients = sorted({m.recipient for m in messages})
                await _poke(conn, recipients, "new_messages", messages[0].sent_at)
            if effects is not None:
                await _apply_effects(conn, effects)
            indices = await _append(conn, entries)
            if outbox:
                now_ms = _ms(entries[0].time)
                await conn.executemany(
                    "INSERT INTO outbox (destination, log_idx, sealed, next_ms) "
                    "VALUES ($1, $2, $3, $4)",
                    [
                        (item.destination, indices[item.entry_position], item.sealed, now_ms)
                        for item in outbox
                    ],
                )
            return indices

        return await self._write(write)

    async def inbox_page(self, recipient: str, *, after: int, limit: int) -> list[StoredMessage]:
        async def read(conn: Any) -> list[StoredMessage]:
            rows = await conn.fetch(
                f"SELECT {_MESSAGE_COLUMNS} FROM inbox WHERE recipient = $1 AND seq > $2 "
                "ORDER BY seq LIMIT $3",
                recipient,
                after,
                limit,
            )
            return [_message(r) for r in rows]

        return await self._read(read)

    async def lease_inbox(
        self, recipient: str, *, limit: int, now: datetime, until: datetime
    ) -> list[StoredMessage]:
        async def write(conn: Any) -> list[StoredMessage]:
            # SKIP LOCKED: a concurrent lease on another instance passes over the rows this one
            # is taking instead of waiting for them, so no message goes to both.
            rows = await conn.fetch(
                f"UPDATE inbox SET leased_until_ms = $3 WHERE seq IN ("
                "SELECT seq FROM inbox WHERE recipient = $1 AND "
                "(leased_until_ms IS NULL OR leased_until_ms <= $2) "
                "ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED) "
                f"RETURNING {_MESSAGE_COLUMNS}",
                recipient,
                _ms(now),
                _ms(until),
                limit,
            )
            return sorted((_message(r) for r in rows), key=lambda m: m.seq)

        return await self._write(write)

    async def ack_message(
        self, recipient: str, message_id: str, make_entry: Callable[[StoredMessage], LogEntry]
    ) -> int | None:
        async def write(conn: Any) -> int | None:
            # Of two concurrent acks the second waits on the row lock, then finds nothing to
            # delete: exactly one receipt is logged.
            r = await conn.fetchrow(
                f"DELETE FROM inbox WHERE message_id = $1 AND recipient = $2 "
                f"RETURNING {_MESSAGE_COLUMNS}",
                message_id,
                recipient,
            )
            if r is None:
                return None
            return (await _append(conn, [make_entry(_message(r))]))[0]

        return await self._write(write)

    async def purge_expired(
        self, now: datetime, make_entry: Callable[[StoredMessage], LogEntry]
    ) -> int:
        async def write(conn: Any) -> int:
            # SKIP LOCKED: a message another instance is purging (or a recipient is acking) is
            # left to that transaction, so no message is ever purged and logged twice.
            rows = await conn.fetch(
                f"DELETE FROM inbox WHERE seq IN (SELECT seq FROM inbox WHERE retain_ms <= $1 "
                f"ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING {_MESSAGE_COLUMNS}",
                _ms(now),
                PURGE_BATCH,
            )
            messages = sorted((_message(r) for r in rows), key=lambda m: m.seq)
            await _append(conn, [make_entry(m) for m in messages])
            return len(messages)

        return await self._write(write)

    # -- tree (sequencer) ----------------------------------------------------------------------
    async def tree_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        async def read(conn: Any) -> dict[tuple[int, int], bytes]:
            rows = await conn.fetch(
                "SELECT t.level, t.idx, t.hash FROM tree_nodes t "
                "JOIN unnest($1::integer[], $2::bigint[]) AS k (level, idx) "
                "ON t.level = k.level AND t.idx = k.idx",
                [level for level, _ in keys],
                [index for _, index in keys],
            )
            return {(r[0], r[1]): bytes(r[2]) for r in rows}

        if not keys:
            return {}
        return await self._read(read)

    async def store_tree(
        self,
        nodes: Sequence[tuple[int, int, bytes]],
        checkpoint: StoredCheckpoint | None,
    ) -> None:
        async def write(conn: Any) -> None:
            await _insert(conn, "tree_nodes", _TREE_TYPES, nodes, "ON CONFLICT DO NOTHING")
            if checkpoint is not None:
                await conn.execute(
                    "INSERT INTO checkpoints (size, root_hash, note, time_ms) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    checkpoint.size,
                    checkpoint.root_hash,
                    checkpoint.note,
                    _ms(checkpoint.time),
                )

        await self._write(write)

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        async def read(conn: Any) -> StoredCheckpoint | None:
            r = await conn.fetchrow(
                "SELECT size, root_hash, note, time_ms FROM checkpoints ORDER BY size DESC LIMIT 1"
            )
            return None if r is None else StoredCheckpoint(r[0], bytes(r[1]), r[2], _dt(r[3]))

        return await self._read(read)

    async def checkpoints(self) -> list[StoredCheckpoint]:
        async def read(conn: Any) -> list[StoredCheckpoint]:
            rows = await conn.fetch(
                "SELECT size, root_hash, note, time_ms FROM checkpoints ORDER BY size"
            )
            return [StoredCheckpoint(r[0], bytes(r[1]), r[2], _dt(r[3])) for r in rows]

        return await self._read(read)

    async def verify_batch(self, start: int, end: int) -> list[VerifyRow]:
        async def read(conn: Any) -> list[VerifyRow]:
            rows = await conn.fetch(
                f"SELECT l.idx, l.leaf, t.hash, {_VERIFY_COLUMNS} FROM log_entries l "
                "LEFT JOIN tree_nodes t ON t.level = 0 AND t.idx = l.idx "
                "WHERE l.idx >= $1 AND l.idx < $2 ORDER BY l.idx",
                start,
                end,
            )
            return [tuple(r) for r in rows]

        return await self._read(read)


_FINGERPRINTS = (
    "SELECT name, fingerprint, keys_folder, recorded_ms, retired_ms FROM key_fingerprints "
    "ORDER BY recorded_ms, name, fingerprint"
)


def _fingerprint(r: Any) -> KeyFingerprint:
    return KeyFingerprint(r[0], r[1], r[2], _dt(r[3]), None if r[4] is None else _dt(r[4]))


# The lock's session on the server: should this instance vanish behind a network partition,
# PostgreSQL notices the dead peer by TCP keepalive within about 25 s (instead of the system
# default of two hours) and ends the session, releasing the lock for another instance.
_LOCK_SESSION_SETTINGS = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}


class PostgresSequencerLock:
    """Elects one sequencer among all instances sharing a database (the async counterpart of `FileSequencerLock`).

    Holds a session-level `pg_try_advisory_lock` on a dedicated connection outside the pool.
    PostgreSQL releases it when that connection ends, so when the holding process dies or loses
    the database another instance takes over at its next `acquire()`. Each `acquire()` while
    holding checks the connection is still alive (within LOCK_CHECK_TIMEOUT_S) and reports False
    once it is not. Should two sequencers briefly overlap anyway (a connection dies unnoticed
    mid-integration), no harm follows: they compute the same nodes and checkpoints from the same
    durable entries, and `store_tree` ignores what is already stored. The key is derived from
    the schema, so deployments in different schemas of one database elect separately; it is
    `key` (the lock shows in `pg_locks` as classid = high 32 bits, objid = low 32 bits).
    """

    def __init__(self, dsn: str, *, schema: str | None = None) -> None:
        self.dsn = dsn
        self.key = _advisory_key("sequencer", _checked_schema(schema))
        self._conn: Any = None

    async def acquire(self) -> bool:
        """True when this process holds the lock; False when another does or the database is away."""
        if self._conn is not None:
            try:
                await self._conn.fetchval("SELECT 1", timeout=LOCK_CHECK_TIMEOUT_S)
            except _UNAVAILABLE:
                # The session is dead or unanswering: an unlock would wait on it (asyncpg first
                # waits for the timed-out check's cancellation). Dropping the connection ends the
                # session, which releases the lock, once the server notices.
                conn, self._conn = self._conn, None
                conn.terminate()
                return False
            return True
        try:
            conn = await asyncpg.connect(
                self.dsn, timeout=CONNECT_TIMEOUT_S, server_settings=_LOCK_SESSION_SETTINGS
            )
        except _UNAVAILABLE:
            return False
        try:
            got = bool(
                await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1)", self.key, timeout=LOCK_CHECK_TIMEOUT_S
                )
            )
        except _UNAVAILABLE:
            got = False
        if got:
            self._conn = conn
        else:
            await _close_quietly(conn)
        return got

    async def release(self) -> None:
        """Give the lock up (if held) and close its connection."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(*_UNAVAILABLE):
            await conn.execute("SELECT pg_advisory_unlock($1)", self.key)
        await _close_quietly(conn)


async def _close_quietly(conn: Any) -> None:
    try:
        await asyncio.wait_for(conn.close(), LOCK_CHECK_TIMEOUT_S)
    except _UNAVAILABLE:
        # Closing a dead connection may fail; ending the session is all that matters.
        conn.terminate()


async def _read_version(conn: Any) -> int:
    value = await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'")
    return 0 if value is None else int(value)


_LOG_TYPES = (
    ("idx", "bigint"),
    ("leaf", "bytea"),
    ("time_ms", "bigint"),
    ("decision", "text"),
    ("purpose", "text"),
    ("sender", "text"),
    ("recipient", "text"),
    ("subject", "text"),
    ("exchange_id", "text"),
    ("reason", "text"),
    ("break_glass", "boolean"),
)
_INBOX_TYPES = (
    ("seq", "bigint"),
    ("message_id", "text"),
    ("recipient", "text"),
    ("subject", "text"),
    ("exchange_id", "text"),
    ("disclosure_id", "text"),
    ("purpose", "text"),
    ("sender_partner", "text"),
    ("sender_role", "text"),
    ("case_id", "text"),
    ("in_reply_to", "text"),
    ("sent_ms", "bigint"),
    ("retain_ms", "bigint"),
    ("sealing", "text"),
    ("body", "bytea"),
    ("subject_system", "text"),
)
_TREE_TYPES = (("level", "integer"), ("idx", "bigint"), ("hash", "bytea"))
_EXPECTATION_TYPES = (
    ("expectation_id", "text"),
    ("purpose", "text"),
    ("origin_purpose", "text"),
    ("origin_exchange_id", "text"),
    ("case_id", "text"),
    ("owed_by", "text"),
    ("owed_to", "text"),
    ("subject", "text"),
    ("child_ref", "text"),
    ("opened_ms", "bigint"),
    ("due_ms", "bigint"),
    ("closed_ms", "bigint"),
    ("closed_by", "text"),
    ("constraints", "bytea"),
)


async def _insert(
    conn: Any,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[object]],
    suffix: str = "",
) -> None:
    """Insert many rows in one round trip: one typed array per column, zipped by unnest."""
    if not rows:
        return
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"${n}::{sql_type}[]" for n, (_, sql_type) in enumerate(columns, 1))
    await conn.execute(
        f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {suffix}",
        *(list(column) for column in zip(*rows, strict=True)),
    )


async def _append(conn: Any, entries: Sequence[LogEntry]) -> list[int]:
    if not entries:
        return []
    # The row lock taken here is held until commit: appenders on every instance queue behind it.
    end = int(
        await conn.fetchval("UPDATE log_head SET size = size + $1 RETURNING size", len(entries))
    )
    start = end - len(entries)
    rows = [
        (
            start + offset,
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
        )
        for offset, entry in enumerate(entries)
    ]
    await _insert(conn, "log_entries", _LOG_TYPES, rows)
    return list(range(start, end))


async def _open_expectations(conn: Any, expectations: Sequence[Expectation]) -> None:
    rows = [
        (
            e.expectation_id,
            e.purpose,
            e.origin_purpose,
            e.origin_exchange_id,
            e.case_id,
            e.owed_by,
            e.owed_to,
            e.subject,
            e.child_ref,
            _ms(e.opened_at),
            _ms(e.due_at),
            None if e.closed_at is None else _ms(e.closed_at),
            e.closed_by,
            e.constraints,
        )
        for e in expectations
    ]
    await _insert(conn, "expectations", _EXPECTATION_TYPES, rows)


async def _apply_effects(conn: Any, effects: ExchangeEffects) -> None:
    """An exchange's side effects: expectations opened and closed, a break-glass record."""
    await _open_expectations(conn, effects.open)
    if effects.close:
        # Lock in id order, so two exchanges closing overlapping sets cannot deadlock; of two
        # replies closing one expectation, the first to commit closes it and the other finds
        # it closed (the row is re-checked after the wait).
        await conn.execute(
            "UPDATE expectations SET closed_ms = $1, closed_by = $2 WHERE expectation_id IN "
            "(SELECT expectation_id FROM expectations WHERE expectation_id = ANY($3::text[]) "
            "AND closed_ms IS NULL ORDER BY expectation_id FOR UPDATE) AND closed_ms IS NULL",
            _ms(effects.closed_at or datetime.now(UTC)),
            effects.closed_by,
            list(effects.close),
        )
    bg = effects.break_glass
    if bg is not None:
        await conn.execute(
            f"INSERT INTO break_glass ({_BREAK_GLASS_COLUMNS}) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            bg.exchange_id,
            bg.sender,
            bg.purpose,
            _ms(bg.created_at),
            bg.sealed,
            bg.status,
            bg.reviewed_by,
            None if bg.reviewed_at is None else _ms(bg.reviewed_at),
            bg.sealed_note,
        )


async def _poke(conn: Any, partners: Sequence[str], kind: str, now: datetime) -> None:
    """Queue one pending poke per partner and kind: a burst of messages is one notification."""
    # Callers pass partners sorted, so concurrent pokers lock the rows in one order.
    for partner in partners:
        await conn.execute(
            "INSERT INTO notifications (partner, kind, created_ms, next_ms, attempts) "
            "VALUES ($1, $2, $3, $3, 0) ON CONFLICT (partner, kind) DO UPDATE SET "
            "created_ms = excluded.created_ms",
            partner,
            kind,
            _ms(now),
        )


async def _upsert_member(conn: Any, member: NetworkMember) -> bool:
    """Insert or update a member; True when it was new.

    Insert first: if another instance inserts the same member concurrently, this waits for it
    and then updates, so exactly one of them reports "new".
    """
    inserted = await conn.fetchval(
        "INSERT INTO case_network (case_id, partner_id, role, contact, registered_by, "
        "registered_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING "
        "RETURNING TRUE",
        member.case_id,
        member.partner_id,
        member.role,
        member.contact,
        member.registered_by,
        _ms(member.registered_at),
    )
    if inserted is not None:
        return True
    await conn.execute(
        "UPDATE case_network SET role = $3, contact = $4 WHERE case_id = $1 AND partner_id = $2",
        member.case_id,
        member.partner_id,
        member.role,
        member.contact,
    )
    return False
