"""SQLite back end: one file, WAL, fsync on commit, writes group-committed by one writer thread.

Concurrent requests hand their writes to a single writer thread, which runs everything queued in
one transaction (each write inside its own SAVEPOINT, so one failing write spoils no other) and
commits once: one fsync for many requests, and nobody is answered before that fsync returns.
Several worker processes may share the file: `BEGIN IMMEDIATE` serialises their writers.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from gateway.errors import StorageUnavailable
from gateway.store._rows import ms as _ms
from gateway.store._search import search_log_query
from gateway.store.base import (
    Lock,
    LogFilter,
    OutboxRow,
    StorageUnusable,
    check_schema_version,
)
from gateway.store.locks import FileSequencerLock
from gateway.store.schema import SCHEMA_VERSION, SQLITE_MIGRATIONS, migration
from gateway.store.sql.dialect import SQLITE
from gateway.store.sql.runner import blob
from gateway.store.sql.storage import SqlStorage
from gateway.store.sql.txn import Insert, Op, Txn

__all__ = ["SqliteStorage"]

T = TypeVar("T")
_BATCH_MAX = 256
READER_CACHE_KIB = 512  # page cache per reader connection
_Job = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]"]


class _Writer(threading.Thread):
    """The one thread that writes: drains the queue, one transaction and one commit per batch."""

    def __init__(self, conn: sqlite3.Connection, lock: int) -> None:
        """`conn` and the open `lock` file are the thread's from now on; it closes both.

        They are opened before the thread starts, so that a database or lock file that cannot
        be opened stops open() with a reason instead of leaving every write waiting on a thread
        that died.
        """
        super().__init__(name="sqlite-writer", daemon=True)
        self._conn = conn
        # Writers of several worker processes queue on this lock instead of polling SQLite's
        # busy handler (which sleeps 1, 2, 5, 10 ms... between tries): a waiting writer starts
        # the moment the other commits.
        self._lock = lock
        self.jobs: queue.Queue[_Job | None] = queue.Queue()

    def run(self) -> None:
        conn, lock = self._conn, self._lock
        try:
            while True:
                first = self.jobs.get()
                if first is None:
                    return
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    # The batch is taken once the lock is ours: whatever queued while another
                    # worker committed joins this commit instead of waiting for the next fsync.
                    batch = self._drain(first)
                    outcomes = self._run_batch(conn, batch)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
                # Answered only now, after the commit, and outside the lock: the other worker's
                # writer does not wait while this one hands results to its event loop.
                _settle(batch, outcomes)
        finally:
            os.close(lock)
            conn.close()

    def _drain(self, first: _Job) -> list[_Job]:
        batch = [first]
        while len(batch) < _BATCH_MAX:
            try:
                nxt = self.jobs.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                self.jobs.put(None)  # stop after this batch
                break
            batch.append(nxt)
        return batch

    healthy = True  # did the last batch write? /readyz probes again while it did not

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> list[tuple[bool, Any]]:
        """Run the batch in one transaction; each job's (succeeded, result or exception)."""
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job, _ in batch:
                conn.execute("SAVEPOINT job")
                try:
                    outcomes.append((True, job(conn)))
                except Exception as exc:  # one failing job must not spoil the batch
                    conn.execute("ROLLBACK TO job")
                    if isinstance(exc, sqlite3.Error) and not isinstance(
                        exc, sqlite3.IntegrityError
                    ):
                        # Full, read-only, I/O error: storage trouble, not a bad request.
                        exc = StorageUnavailable(f"storage write failed: {type(exc).__name__}")
                    outcomes.append((False, exc))
                conn.execute("RELEASE job")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failure = StorageUnavailable(f"storage write failed: {type(exc).__name__}")
            outcomes = [(False, failure)] * len(batch)
        self.healthy = all(
            ok or not isinstance(value, StorageUnavailable) for ok, value in outcomes
        )
        return outcomes


_Outcome = tuple["asyncio.Future[Any]", bool, Any]


def _settle(batch: list[_Job], outcomes: list[tuple[bool, Any]]) -> None:
    """Hand a batch's results to the event loops waiting on them: one wake-up per loop.

    Each `call_soon_threadsafe` writes to the loop's wake-up pipe and makes this thread take the
    interpreter lock back afterwards; per batch rather than per job, that cost no longer grows
    with the number of requests in a commit.
    """
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
        by_loop.setdefault(future.get_loop(), []).append((future, ok, value))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle_on_loop, settled)


def _settle_on_loop(settled: list[_Outcome]) -> None:
    for future, ok, value in settled:
        if future.done():  # cancelled meanwhile; the write itself stands
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


# SQLite's answers that no retry can change: the file is no database (or a damaged one), or it
# cannot be opened or made where --storage points. Compared by primary code: Python reports the
# extended one (SQLITE_CANTOPEN_ISDIR, SQLITE_CORRUPT_INDEX, ...).
_UNUSABLE = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_CANTOPEN})


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _not_a_folder(folder: Path) -> bool:
    try:
        return folder.exists() and not folder.is_dir()
    except OSError:
        return False


@contextlib.contextmanager
def _usable(path: Path) -> Iterator[None]:
    """Turn the errors of opening or creating the database into what the operator can act on.

    Storage that can never work as given is StorageUnusable; anything else SQLite answers is
    StorageUnavailable (tried again at start), with SQLite's reason. SQLite's messages name no
    stored value.
    """
    try:
        yield
    except OSError as exc:
        problem = (
            f"cannot create the SQLite database {path}: {path.parent} is not a folder"
            if _not_a_folder(path.parent)
            else f"cannot create or open {exc.filename or path}: {exc.strerror or exc}"
        )
        raise StorageUnusable(
            f"{problem}; point --storage (or --data) at a folder this user may write"
        ) from exc
    except sqlite3.DatabaseError as exc:
        name = getattr(exc, "sqlite_errorname", type(exc).__name__)
        if _primary_code(exc) not in _UNUSABLE:
            raise StorageUnavailable(f"storage check failed: {name} ({exc})") from exc
        raise StorageUnusable(
            f"{path} cannot be this gateway's SQLite database ({exc}); point --storage at the "
            "gateway's own database, or at a path where a new one can be created"
        ) from exc


class SqliteStorage(SqlStorage):
    """The embedded default: everything in one SQLite file under `--data`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: _Writer | None = None
        self._readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sqlite-reader")
        self._local = threading.local()
        self._here: list[sqlite3.Connection] = []  # readers opened on callers' threads

    # -- connections ---------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Deleted rows are overwritten, not left in free pages: an acknowledged message's or an
        # accepted outbox row's sealed bytes do not linger in the file.
        conn.execute("PRAGMA secure_delete = ON")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            # In WAL mode a reader's page cache is discarded whenever another connection has
            # committed since its last read, which under load is before nearly every read: a
            # large cache only holds memory. The writer keeps SQLite's default (2 MiB).
            conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
            self._local.conn = conn
        return conn

    def _reader_here(self) -> sqlite3.Connection:
        """The calling thread's own reader, which never waits for a lock (busy_timeout 0)."""
        conn: sqlite3.Connection | None = getattr(self._local, "here", None)
        if conn is None:
            conn = self._reader()
            conn.execute("PRAGMA busy_timeout = 0")
            self._local.here = conn
            self._here.append(conn)
        return conn

    async def _read(self, fn: Callable[[sqlite3.Connection], T], *, here: bool = False) -> T:
        """Run a read on a reader thread, or with `here` on the calling thread (the event loop).

        `here` is for lookups that an index answers in a few page reads (the exchange path's
        consents, case network and household): they cost less than the hand-over to a thread
        and back. Such a read never waits: in WAL mode readers do not take locks writers hold,
        and in the rare case that SQLite answers busy anyway the read goes to a reader thread,
        which may wait.
        """
        try:
            if here:
                try:
                    return fn(self._reader_here())
                except sqlite3.OperationalError as exc:
                    if _primary_code(exc) not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                        raise
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._readers, lambda: fn(self._reader()))
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"storage read failed: {type(exc).__name__}") from exc

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._writer is None:
            raise StorageUnavailable("storage is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writer.jobs.put((fn, future))
        return await future

    # -- life cycle ----------------------------------------------------------------------------
    async def open(self) -> None:
        version = await asyncio.to_thread(self._version)
        if version == 0:
            await asyncio.to_thread(self._migrate)
        else:
            check_schema_version(version, SCHEMA_VERSION, str(self.path))
        self._writer = await asyncio.to_thread(self._new_writer)
        self._writer.start()

    def _new_writer(self) -> _Writer:
        with _usable(self.path):
            lock_path = self.path.with_name(self.path.name + "-writer.lock")
            lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                return _Writer(self._connect(), lock)
            except BaseException:
                os.close(lock)
                raise

    async def migrate(self) -> int:
        return await asyncio.to_thread(self._migrate)

    async def schema_version(self) -> int:
        return await asyncio.to_thread(self._version)

    def _version(self) -> int:
        with _usable(self.path):
            if not self.path.exists():
                return 0
            conn = self._connect()
            try:
                found = conn.execute("SELECT name FROM sqlite_master WHERE name = 'meta'")
                if found.fetchone() is None:
                    return 0
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                return int(row[0]) if row else 0
            finally:
                conn.close()

    def _migrate(self) -> int:
        """Bring the schema to SCHEMA_VERSION; refuse a database newer than this code."""
        with _usable(self.path):
            return self._migrate_schema()

    def _migrate_schema(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            # Private from the first byte; SQLite gives its -wal and -shm files the same mode.
            # Another worker or instance creating it at the same moment is as good.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = _run(conn, migration(SQLITE_MIGRATIONS, str(self.path)))
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return version
        finally:
            conn.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.jobs.put(None)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        self._readers.shutdown(wait=True)
        for conn in self._here:
            conn.close()
        self._here.clear()
        self._local = threading.local()

    def sequencer_lock(self, data_folder: Path) -> Lock:
        """A file lock in the data folder: one sequencer among the workers sharing this file."""
        return FileSequencerLock(data_folder / "sequencer.lock")

    async def server_now(self) -> None:
        """None: the embedded database shares this machine's clock."""

    async def ping(self) -> None:
        """Raise StorageUnavailable unless storage reads, and writes again after a failed write."""
        await self._read(lambda c: c.execute("SELECT 1").fetchone())
        if self._writer is not None and not self._writer.healthy:

            def probe(c: sqlite3.Connection) -> None:
                # Needs a fresh page, as real writes do: fails while the file is full.
                c.execute("INSERT INTO meta (key, value) VALUES ('write-probe', randomblob(4096))")
                c.execute("DELETE FROM meta WHERE key = 'write-probe'")

            await self._write(probe)

    async def set_page_limit(self, pages: int) -> int:
        """Cap the database file (PRAGMA max_page_count) on the writing connection; for quotas
        and for tests of a full disk. Returns the limit in force."""

        def write(c: sqlite3.Connection) -> int:
            row = c.execute(f"PRAGMA max_page_count = {int(pages)}").fetchone()
            return int(row[0])

        return await self._write(write)

    # -- the executor of the shared SQL, and what SQLite says in its own words -------------------
    # One writer at a time needs no SKIP LOCKED; without arrays, lists of rows go by executemany.
    async def _query(self, txn: Callable[[], Txn[T]], *, quick: bool = False) -> T:
        return await self._read(lambda c: _run(c, txn()), here=quick)

    async def _transact(self, txn: Callable[[], Txn[T]]) -> T:
        return await self._write(lambda c: _run(c, txn()))

    @staticmethod
    def search_sql(flt: LogFilter, *, after: int | None, limit: int) -> tuple[str, list[Any]]:
        """The statement search_log runs, with its arguments (tests read its plan): SQLite plans
        without statistics, so the subject's index is named."""
        return search_log_query(
            flt, after=after, limit=limit, index_hint=lambda name: f" INDEXED BY {name}"
        )

    async def use_jti(
        self, partner: str, jti: str, remember_until: datetime, now: datetime
    ) -> bool:
        def write(c: sqlite3.Connection) -> bool:
            c.execute("DELETE FROM used_jti WHERE expires_ms < ?", (_ms(now),))
            cur = c.execute(
                "INSERT INTO used_jti (partner, jti, expires_ms) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (partner, jti, _ms(remember_until)),
            )
            return cur.rowcount == 1

        return await self._write(write)

    async def claim_outbox(
        self, destination: str, now: datetime, *, lease_s: float, limit: int
    ) -> list[OutboxRow]:
        def write(c: sqlite3.Connection) -> list[OutboxRow]:
            rows = c.execute(
                "SELECT o.seq, o.log_idx, l.leaf, o.sealed, o.attempts FROM outbox o "
                "JOIN log_entries l ON l.idx = o.log_idx "
                "WHERE o.destination = ? AND o.next_ms <= ? AND o.lease_ms <= ? "
                "ORDER BY o.seq LIMIT ?",
                (destination, _ms(now), _ms(now), limit),
            ).fetchall()
            lease = _ms(now) + int(lease_s * 1000)
            c.executemany(
                "UPDATE outbox SET lease_ms = ? WHERE seq = ?", [(lease, r[0]) for r in rows]
            )
            return [OutboxRow(r[0], r[1], blob(r[2]), blob(r[3]), r[4]) for r in rows]

        return await self._write(write)

    async def finish_outbox(self, seqs: Sequence[int]) -> None:
        await self._write(
            lambda c: c.executemany("DELETE FROM outbox WHERE seq = ?", [(n,) for n in seqs])
        )

    async def retry_outbox(self, seqs: Sequence[int], next_at: datetime) -> None:
        await self._write(
            lambda c: c.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_ms = ?, lease_ms = 0 "
                "WHERE seq = ?",
                [(_ms(next_at), n) for n in seqs],
            )
        )

    async def tree_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        def read(c: sqlite3.Connection) -> dict[tuple[int, int], bytes]:
            out: dict[tuple[int, int], bytes] = {}
            levels = {level for level, _ in keys}
            if len(keys) > 8 and len(levels) == 1:
                # One level, a run of indices (a verifier reading leaf hashes): one range query.
                indices = sorted(index for _, index in keys)
                if indices[-1] - indices[0] + 1 == len(indices):
                    (level,) = levels
                    rows = c.execute(
                        "SELECT idx, hash FROM tree_nodes WHERE level = ? AND idx BETWEEN ? AND ?",
                        (level, indices[0], indices[-1]),
                    ).fetchall()
                    return {(level, r[0]): bytes(r[1]) for r in rows}
            for level, index in keys:
                r = c.execute(
                    "SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?", (level, index)
                ).fetchone()
                if r is not None:
                    out[(level, index)] = bytes(r[0])
            return out

        return await self._read(read)


def _run(c: sqlite3.Connection, txn: Txn[T]) -> T:
    """Run a shared transaction's statements on `c`, handing each its answer."""
    answer: Any = None
    while True:
        try:
            op = txn.send(answer)
        except StopIteration as done:
            result: T = done.value
            return result
        answer = _execute(c, op)


@functools.lru_cache(maxsize=64)
def _insert_text(table: str, columns: tuple[tuple[str, str], ...], suffix: str) -> str:
    """The INSERT of an `Insert`, made once per shape: the writer runs it under the shared lock."""
    names = ", ".join(name for name, _ in columns)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) {suffix}"


def _execute(c: sqlite3.Connection, op: Op) -> Any:
    if isinstance(op, Insert):
        c.executemany(_insert_text(op.table, op.columns, op.suffix), op.rows)
        return None
    if op.only not in (None, SQLITE.name):
        return None
    sql = op.sql if op.verbatim else SQLITE.render(op.sql)
    if op.many is not None:
        c.executemany(sql, op.many)
        return None
    cursor = c.execute(sql, op.args)
    if op.want == "rows":
        return cursor.fetchall()
    if op.want == "row":
        found = cursor.fetchone()
        cursor.close()  # a RETURNING statement is finished, not left open in the transaction
        return found
    return cursor.rowcount if op.want == "count" else None
