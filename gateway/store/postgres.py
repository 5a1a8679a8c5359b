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
import functools
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from gateway.errors import StorageUnavailable
from gateway.store._rows import ms as _ms
from gateway.store.base import Lock, OutboxRow, check_schema_version
from gateway.store.schema import POSTGRES_MIGRATIONS, SCHEMA_VERSION, migration
from gateway.store.sql.dialect import POSTGRESQL
from gateway.store.sql.storage import SqlStorage
from gateway.store.sql.txn import Insert, Op, Txn, row

__all__ = ["PostgresSequencerLock", "PostgresStorage"]

T = TypeVar("T")
if TYPE_CHECKING:  # generic only in asyncpg's stubs
    from asyncpg.pool import PoolConnectionProxy

    Pool = asyncpg.Pool[asyncpg.Record]
    Connection = PoolConnectionProxy[asyncpg.Record]

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


async def _durable_pool(dsn: str, settings: dict[str, str]) -> Pool:
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


async def _pool(dsn: str, settings: dict[str, str]) -> Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=POOL_MIN,
        max_size=POOL_MAX,
        timeout=CONNECT_TIMEOUT_S,
        server_settings=settings,
    )


class PostgresStorage(SqlStorage):
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
        self._pool: Pool | None = None

    # -- connections ---------------------------------------------------------------------------
    def _require_pool(self) -> Pool:
        if self._pool is None:
            raise StorageUnavailable("storage is not open")
        return self._pool

    @contextlib.asynccontextmanager
    async def _connection(self, action: str, deadline: float) -> AsyncIterator[Connection]:
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

    async def _read(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
        async with self._connection("read", self.operation_timeout_s) as conn:
            return await fn(conn)

    async def _write(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
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
                    SCHEMA_VERSION,
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
            where = f"PostgreSQL schema {self.schema or 'public'!r}"
            return await _run(conn, migration(POSTGRES_MIGRATIONS, where))

    async def schema_version(self) -> int:
        """The schema version the database holds; 0 before the first migration."""

        async def read(conn: Connection) -> int:
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

    # -- the executor of the shared SQL, and what PostgreSQL says in its own words ---------------
    # Counters held until commit, claims with SKIP LOCKED in one statement, lists as arrays.
    async def _query(self, txn: Callable[[], Txn[T]], *, quick: bool = False) -> T:
        return await self._read(lambda c: _run(c, txn()))

    async def _transact(self, txn: Callable[[], Txn[T]]) -> T:
        return await self._write(lambda c: _run(c, txn()))

    def _claim_indices(self, n: int) -> Txn[int]:
        # The row lock taken here is held until commit: appenders on every instance queue behind it.
        r = yield from row("UPDATE log_head SET size = size + ? RETURNING size", n)
        assert r is not None  # the counter row is made with the schema
        return int(r[0]) - n

    def _claim_seqs(self, n: int) -> Txn[int | None]:
        r = yield from row("UPDATE inbox_head SET seq = seq + ? RETURNING seq", n)
        assert r is not None  # the counter row is made with the schema
        return int(r[0]) - n + 1

    async def use_jti(
        self, partner: str, jti: str, remember_until: datetime, now: datetime
    ) -> bool:
        async def write(conn: Connection) -> bool:
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

    async def claim_outbox(
        self, destination: str, now: datetime, *, lease_s: float, limit: int
    ) -> list[OutboxRow]:
        async def write(conn: Connection) -> list[OutboxRow]:
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
        async def write(conn: Connection) -> None:
            await conn.execute("DELETE FROM outbox WHERE seq = ANY($1::bigint[])", list(seqs))

        await self._write(write)

    async def retry_outbox(self, seqs: Sequence[int], next_at: datetime) -> None:
        async def write(conn: Connection) -> None:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_ms = $1, lease_ms = 0 "
                "WHERE seq = ANY($2::bigint[])",
                _ms(next_at),
                list(seqs),
            )

        await self._write(write)

    async def tree_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        async def read(conn: Connection) -> dict[tuple[int, int], bytes]:
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
        self._conn: asyncpg.Connection[asyncpg.Record] | None = None

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


async def _close_quietly(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    try:
        await asyncio.wait_for(conn.close(), LOCK_CHECK_TIMEOUT_S)
    except _UNAVAILABLE:
        # Closing a dead connection may fail; ending the session is all that matters.
        conn.terminate()


async def _read_version(conn: Connection) -> int:
    value = await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'")
    return 0 if value is None else int(value)


async def _run(conn: Connection, txn: Txn[T]) -> T:
    """Run a shared transaction's statements on `conn`, handing each its answer."""
    answer: Any = None
    while True:
        try:
            op = txn.send(answer)
        except StopIteration as done:
            result: T = done.value
            return result
        answer = await _execute(conn, op)


@functools.lru_cache(maxsize=64)
def _insert_text(table: str, columns: tuple[tuple[str, str], ...], suffix: str) -> str:
    """Many rows in one round trip: one typed array per column, zipped by unnest."""
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(columns, 1))
    return f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {suffix}"


async def _execute(conn: Connection, op: Op) -> Any:
    if isinstance(op, Insert):
        await conn.execute(
            _insert_text(op.table, op.columns, op.suffix),
            *(list(column) for column in zip(*op.rows, strict=True)),
        )
        return None
    if op.only not in (None, POSTGRESQL.name):
        return None
    sql = op.sql if op.verbatim else POSTGRESQL.render(op.sql)
    if op.many is not None:
        await conn.executemany(sql, op.many)
        return None
    if op.want == "rows":
        return await conn.fetch(sql, *op.args)
    if op.want == "row":
        return await conn.fetchrow(sql, *op.args)
    status = await conn.execute(sql, *op.args)
    return int(status.split()[-1]) if op.want == "count" else None
