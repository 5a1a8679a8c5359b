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
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

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
    StorageUnusable,
    StoredCheckpoint,
    StoredConsent,
    StoredMessage,
    VerifyRow,
    check_schema_version,
)
from gateway.store.locks import FileSequencerLock
from gateway.store.schema import SCHEMA_VERSION, SQLITE_MIGRATIONS

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


class SqliteStorage:
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
            conn.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                conn.execute("ROLLBACK")
                check_schema_version(version, SCHEMA_VERSION, str(self.path))
            for target, statements in SQLITE_MIGRATIONS:
                if target > version:
                    for statement in statements:
                        conn.execute(statement)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
            conn.execute("COMMIT")
            return SCHEMA_VERSION
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

    # -- log -----------------------------------------------------------------------------------
    async def append_log(self, entries: Sequence[LogEntry]) -> list[int]:
        rows = _log_rows(entries)
        return await self._write(lambda c: _insert_log(c, rows))

    # -- the log's identity ----------------------------------------------------------------------
    async def log_origin(self) -> str | None:
        def read(c: sqlite3.Connection) -> str | None:
            row = c.execute("SELECT value FROM meta WHERE key = 'log_origin'").fetchone()
            return None if row is None else str(row[0])

        return await self._read(read)

    async def claim_log_origin(self, origin: str) -> str:
        def write(c: sqlite3.Connection) -> str:
            c.execute(
                "INSERT INTO meta (key, value) VALUES ('log_origin', ?) ON CONFLICT DO NOTHING",
                (origin,),
            )
            return str(c.execute("SELECT value FROM meta WHERE key = 'log_origin'").fetchone()[0])

        return await self._write(write)

    async def claim_key_fingerprints(
        self, fingerprints: Sequence[tuple[str, str]], keys_folder: str, now: datetime
    ) -> list[KeyFingerprint]:
        def write(c: sqlite3.Connection) -> list[KeyFingerprint]:
            c.executemany(
                "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms) "
                "SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM key_fingerprints "
                "WHERE name = ? AND retired_ms IS NULL)",
                [(name, fp, keys_folder, _ms(now), name) for name, fp in fingerprints],
            )
            return [_fingerprint(r) for r in c.execute(_FINGERPRINTS).fetchall()]

        return await self._write(write)

    async def rotate_key_fingerprints(
        self,
        current: Sequence[tuple[str, str]],
        retired: Sequence[tuple[str, str]],
        keys_folder: str,
        now: datetime,
    ) -> None:
        def write(c: sqlite3.Connection) -> None:
            c.executemany(
                "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms, "
                "retired_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(name, fp, keys_folder, _ms(now), _ms(now)) for name, fp in retired],
            )
            for name, fp in current:
                c.execute(
                    "UPDATE key_fingerprints SET retired_ms = ? "
                    "WHERE name = ? AND retired_ms IS NULL AND fingerprint <> ?",
                    (_ms(now), name, fp),
                )
                c.execute(
                    "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms) "
                    "VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (name, fingerprint) DO UPDATE SET retired_ms = NULL",
                    (name, fp, keys_folder, _ms(now)),
                )

        await self._write(write)

    async def log_size(self) -> int:
        return await self._read(_size)

    async def log_rows(self, start: int, end: int) -> list[LogRow]:
        def read(c: sqlite3.Connection) -> list[LogRow]:
            rows = c.execute(
                "SELECT idx, leaf FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                (start, end),
            ).fetchall()
            return [LogRow(r[0], _blob(r[1])) for r in rows]

        return await self._read(read)

    @staticmethod
    def search_sql(flt: LogFilter, *, after: int | None, limit: int) -> tuple[str, list[Any]]:
        """The statement search_log runs, with its arguments (tests read its plan)."""
        return search_log_query(
            flt,
            after=after,
            limit=limit,
            placeholder=lambda _: "?",
            index_hint=lambda name: f" INDEXED BY {name}",
        )

    async def search_log(self, flt: LogFilter, *, after: int | None, limit: int) -> list[LogRow]:
        sql, args = self.search_sql(flt, after=after, limit=limit)

        def read(c: sqlite3.Connection) -> list[LogRow]:
            return [LogRow(r[0], _blob(r[1])) for r in c.execute(sql, args).fetchall()]

        return await self._read(read)

    async def log_activity(
        self, since: datetime, until: datetime, *, parties: frozenset[str] | None = None
    ) -> list[ActivityCount]:
        among, among_args = parties_condition(parties, ("sender", "recipient"), lambda _: "?", 3)

        def read(c: sqlite3.Connection) -> list[ActivityCount]:
            rows = c.execute(
                "SELECT time_ms / 86400000 AS day, decision, purpose, sender, break_glass, "
                f"COUNT(*) FROM log_entries WHERE time_ms >= ? AND time_ms < ?{among} "
                "GROUP BY day, decision, purpose, sender, break_glass "
                "ORDER BY day, decision, purpose, sender, break_glass",
                (_ms(since), _ms(until), *among_args),
            ).fetchall()
            return [
                ActivityCount(_day(r[0]), r[1], r[2], r[3], bool(r[4]), int(r[5])) for r in rows
            ]

        return await self._read(read)

    async def refusal_counts(
        self, since: datetime, until: datetime, *, parties: frozenset[str] | None = None
    ) -> list[RefusalCount]:
        among, among_args = parties_condition(parties, ("sender", "recipient"), lambda _: "?", 3)

        def read(c: sqlite3.Connection) -> list[RefusalCount]:
            rows = c.execute(
                "SELECT sender, reason, purpose, recipient, COUNT(*) FROM log_entries "
                f"WHERE decision = 'refused' AND time_ms >= ? AND time_ms < ?{among} "
                "GROUP BY sender, reason, purpose, recipient "
                "ORDER BY COUNT(*) DESC, sender, reason, purpose, recipient",
                (_ms(since), _ms(until), *among_args),
            ).fetchall()
            return [RefusalCount(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

        return await self._read(read)

    # -- tokens --------------------------------------------------------------------------------
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

    # -- consents ------------------------------------------------------------------------------
    async def add_consent(self, consent: StoredConsent, entry: LogEntry) -> int:
        def write(c: sqlite3.Connection) -> int:
            c.execute(
                "INSERT INTO consents (consent_id, subject, recorded_by, record) VALUES (?, ?, ?, ?)",
                (consent.consent_id, consent.subject, consent.recorded_by, consent.sealed_record),
            )
            return _append(c, [entry])[0]

        return await self._write(write)

    async def replace_consent(self, consent: StoredConsent, entry: LogEntry) -> int:
        def write(c: sqlite3.Connection) -> int:
            c.execute(
                "UPDATE consents SET record = ? WHERE consent_id = ?",
                (consent.sealed_record, consent.consent_id),
            )
            return _append(c, [entry])[0]

        return await self._write(write)

    async def held_birth_date(self, subject: str) -> bytes | None:
        def read(c: sqlite3.Connection) -> bytes | None:
            r = c.execute(
                "SELECT sealed FROM subject_birth_dates WHERE subject = ?", (subject,)
            ).fetchone()
            return None if r is None else bytes(r[0])

        return await self._read(read, here=True)

    async def claim_birth_date(self, subject: str, sealed: bytes) -> bytes:
        def write(c: sqlite3.Connection) -> bytes:
            c.execute(
                "INSERT INTO subject_birth_dates (subject, sealed) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                (subject, sealed),
            )
            r = c.execute(
                "SELECT sealed FROM subject_birth_dates WHERE subject = ?", (subject,)
            ).fetchone()
            return bytes(r[0])

        return await self._write(write)

    async def correct_birth_date(self, subject: str, sealed: bytes, entry: LogEntry) -> int:
        def write(c: sqlite3.Connection) -> int:
            c.execute(
                "INSERT INTO subject_birth_dates (subject, sealed) VALUES (?, ?) "
                "ON CONFLICT (subject) DO UPDATE SET sealed = excluded.sealed",
                (subject, sealed),
            )
            return _append(c, [entry])[0]

        return await self._write(write)

    async def consents_for_subject(self, subject: str) -> list[StoredConsent]:
        def read(c: sqlite3.Connection) -> list[StoredConsent]:
            rows = c.execute(
                "SELECT consent_id, subject, recorded_by, record FROM consents WHERE subject = ?",
                (subject,),
            ).fetchall()
            return [StoredConsent(r[0], r[1], r[2], bytes(r[3])) for r in rows]

        return await self._read(read, here=True)

    async def get_consent(self, consent_id: str) -> StoredConsent | None:
        def read(c: sqlite3.Connection) -> StoredConsent | None:
            r = c.execute(
                "SELECT consent_id, subject, recorded_by, record FROM consents WHERE consent_id = ?",
                (consent_id,),
            ).fetchone()
            return None if r is None else StoredConsent(r[0], r[1], r[2], bytes(r[3]))

        return await self._read(read, here=True)

    # -- case networks ---------------------------------------------------------------------------
    async def case_network(self, case_id: str) -> list[NetworkMember]:
        def read(c: sqlite3.Connection) -> list[NetworkMember]:
            rows = c.execute(
                "SELECT case_id, partner_id, role, contact, registered_by, registered_ms "
                "FROM case_network WHERE case_id = ? ORDER BY registered_ms, partner_id",
                (case_id,),
            ).fetchall()
            return [NetworkMember(r[0], r[1], r[2], r[3], r[4], _dt(r[5])) for r in rows]

        return await self._read(read, here=True)

    async def open_case(self, case: Case, director: NetworkMember, entry: LogEntry) -> int:
        def write(c: sqlite3.Connection) -> int:
            c.execute(
                "INSERT INTO cases (case_id, regisseur, dossier_reference, opened_ms) "
                "VALUES (?, ?, ?, ?)",
                (case.case_id, case.director, case.dossier_reference, _ms(case.opened_at)),
            )
            _insert_member(c, director)
            return _append(c, [entry])[0]

        return await self._write(write)

    async def get_case(self, case_id: str) -> Case | None:
        def read(c: sqlite3.Connection) -> Case | None:
            r = c.execute(
                "SELECT case_id, regisseur, dossier_reference, opened_ms FROM cases "
                "WHERE case_id = ?",
                (case_id,),
            ).fetchone()
            return None if r is None else Case(r[0], r[1], r[2], _dt(r[3]))

        return await self._read(read, here=True)

    async def register_involvement(self, member: NetworkMember, entry: LogEntry) -> bool:
        def write(c: sqlite3.Connection) -> bool:
            existed = c.execute(
                "SELECT 1 FROM case_network WHERE case_id = ? AND partner_id = ?",
                (member.case_id, member.partner_id),
            ).fetchone()
            _insert_member(c, member)
            _append(c, [entry])
            return existed is None

        return await self._write(write)

    async def remove_involvement(self, case_id: str, partner_id: str, entry: LogEntry) -> bool:
        def write(c: sqlite3.Connection) -> bool:
            gone = c.execute(
                "DELETE FROM case_network WHERE case_id = ? AND partner_id = ?",
                (case_id, partner_id),
            ).rowcount
            if gone:
                _append(c, [entry])
            return bool(gone)

        return await self._write(write)

    async def register_child(self, child: HouseholdChild) -> bool:
        def write(c: sqlite3.Connection) -> bool:
            existed = c.execute(
                "SELECT 1 FROM household WHERE case_id = ? AND child_ref = ?",
                (child.case_id, child.child_ref),
            ).fetchone()
            c.execute(
                "INSERT INTO household (case_id, child_ref, subject, registered_by, registered_ms) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (case_id, child_ref) DO UPDATE SET "
                "subject = excluded.subject",
                (
                    child.case_id,
                    child.child_ref,
                    child.subject,
                    child.registered_by,
                    _ms(child.registered_at),
                ),
            )
            return existed is None

        return await self._write(write)

    async def household(self, case_id: str) -> list[HouseholdChild]:
        def read(c: sqlite3.Connection) -> list[HouseholdChild]:
            rows = c.execute(
                "SELECT case_id, child_ref, subject, registered_by, registered_ms FROM household "
                "WHERE case_id = ? ORDER BY registered_ms, child_ref",
                (case_id,),
            ).fetchall()
            return [HouseholdChild(r[0], r[1], r[2], r[3], _dt(r[4])) for r in rows]

        return await self._read(read, here=True)

    # -- expectations --------------------------------------------------------------------------
    async def add_expectations(self, expectations: Sequence[Expectation]) -> None:
        await self._write(lambda c: _apply_effects(c, ExchangeEffects(open=tuple(expectations))))

    async def open_expectations(
        self, *, owed_by: str, owed_to: str | None = None, purpose: str | None = None
    ) -> list[Expectation]:
        sql = f"SELECT {_EXPECTATION_COLUMNS} FROM expectations WHERE owed_by = ? AND closed_ms IS NULL"
        args: list[Any] = [owed_by]
        if owed_to is not None:
            sql += " AND owed_to = ?"
            args.append(owed_to)
        if purpose is not None:
            sql += " AND purpose = ?"
            args.append(purpose)
        sql += " ORDER BY due_ms, expectation_id"

        def read(c: sqlite3.Connection) -> list[Expectation]:
            return [_expectation(r) for r in c.execute(sql, args).fetchall()]

        return await self._read(read)

    async def expectations_for(
        self, partner: str, *, open_only: bool, limit: int
    ) -> list[Expectation]:
        where = "(owed_by = ? OR owed_to = ?)" + (" AND closed_ms IS NULL" if open_only else "")

        def read(c: sqlite3.Connection) -> list[Expectation]:
            rows = c.execute(
                f"SELECT {_EXPECTATION_COLUMNS} FROM expectations WHERE {where} "
                "ORDER BY due_ms, expectation_id LIMIT ?",
                (partner, partner, limit),
            ).fetchall()
            return [_expectation(r) for r in rows]

        return await self._read(read)

    async def mark_newly_overdue(self, now: datetime, limit: int) -> list[Expectation]:
        def write(c: sqlite3.Connection) -> list[Expectation]:
            rows = c.execute(
                f"SELECT {_EXPECTATION_COLUMNS} FROM expectations WHERE closed_ms IS NULL "
                "AND overdue_notified_ms IS NULL AND due_ms < ? ORDER BY due_ms LIMIT ?",
                (_ms(now), limit),
            ).fetchall()
            found = [_expectation(r) for r in rows]
            c.executemany(
                "UPDATE expectations SET overdue_notified_ms = ? WHERE expectation_id = ?",
                [(_ms(now), e.expectation_id) for e in found],
            )
            for e in found:
                _poke(c, e.owed_by, "expectation_overdue", now)
                _poke(c, e.owed_to, "expectation_overdue", now)
            return found

        return await self._write(write)

    async def claim_notifications(
        self, now: datetime, *, lease_s: float, limit: int
    ) -> list[PendingNotification]:
        def write(c: sqlite3.Connection) -> list[PendingNotification]:
            rows = c.execute(
                "SELECT partner, kind, created_ms, attempts FROM notifications WHERE next_ms <= ? "
                "ORDER BY next_ms LIMIT ?",
                (_ms(now), limit),
            ).fetchall()
            lease = _ms(now) + int(lease_s * 1000)
            c.executemany(
                "UPDATE notifications SET next_ms = ? WHERE partner = ? AND kind = ?",
                [(lease, r[0], r[1]) for r in rows],
            )
            return [PendingNotification(r[0], r[1], _dt(r[2]), r[3]) for r in rows]

        return await self._write(write)

    async def finish_notification(self, partner: str, kind: str, created_at: datetime) -> None:
        await self._write(
            lambda c: c.execute(
                "DELETE FROM notifications WHERE partner = ? AND kind = ? AND created_ms <= ?",
                (partner, kind, _ms(created_at)),
            )
        )

    async def retry_notification(
        self, partner: str, kind: str, *, next_at: datetime, attempts: int
    ) -> None:
        await self._write(
            lambda c: c.execute(
                "UPDATE notifications SET next_ms = ?, attempts = ? WHERE partner = ? AND kind = ?",
                (_ms(next_at), attempts, partner, kind),
            )
        )

    async def inbox_count(self, recipient: str) -> int:
        def read(c: sqlite3.Connection) -> int:
            row = c.execute(
                "SELECT COUNT(*) FROM inbox WHERE recipient = ?", (recipient,)
            ).fetchone()
            return int(row[0])

        return await self._read(read)

    # -- outbox towards outside logs -----------------------------------------------------------
    async def claim_log_feed(
        self, destination: str, now: datetime, *, lease_s: float, limit: int
    ) -> LogFeedBatch:
        def write(c: sqlite3.Connection) -> LogFeedBatch:
            c.execute(
                "INSERT INTO outbox_cursors (destination, next_idx) VALUES (?, 0) "
                "ON CONFLICT (destination) DO NOTHING",
                (destination,),
            )
            row = c.execute(
                "SELECT next_idx, attempts FROM outbox_cursors "
                "WHERE destination = ? AND next_ms <= ? AND lease_ms <= ?",
                (destination, _ms(now), _ms(now)),
            ).fetchone()
            if row is None:
                return LogFeedBatch((), 0)
            rows = c.execute(
                "SELECT idx, leaf FROM log_entries WHERE idx >= ? ORDER BY idx LIMIT ?",
                (row[0], limit),
            ).fetchall()
            if rows:
                c.execute(
                    "UPDATE outbox_cursors SET lease_ms = ? WHERE destination = ?",
                    (_ms(now) + int(lease_s * 1000), destination),
                )
            return LogFeedBatch(tuple(LogRow(r[0], _blob(r[1])) for r in rows), row[1])

        return await self._write(write)

    async def advance_log_feed(self, destination: str, start: int, end: int) -> bool:
        def write(c: sqlite3.Connection) -> bool:
            cursor = c.execute(
                "UPDATE outbox_cursors SET next_idx = ?, attempts = 0, next_ms = 0, lease_ms = 0 "
                "WHERE destination = ? AND next_idx = ?",
                (end, destination, start),
            )
            return cursor.rowcount == 1

        return await self._write(write)

    async def retry_log_feed(self, destination: str, next_at: datetime) -> None:
        await self._write(
            lambda c: c.execute(
                "UPDATE outbox_cursors SET attempts = attempts + 1, next_ms = ?, lease_ms = 0 "
                "WHERE destination = ?",
                (_ms(next_at), destination),
            )
        )

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
            return [OutboxRow(r[0], r[1], _blob(r[2]), _blob(r[3]), r[4]) for r in rows]

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

    async def drop_outbox(self, destination: str) -> int:
        def write(c: sqlite3.Connection) -> int:
            return c.execute("DELETE FROM outbox WHERE destination = ?", (destination,)).rowcount

        return await self._write(write)

    async def outbox_backlog(self) -> dict[str, int]:
        def read(c: sqlite3.Connection) -> dict[str, int]:
            size = _size(c)
            backlog = {
                r[0]: size - r[1]
                for r in c.execute("SELECT destination, next_idx FROM outbox_cursors")
            }
            for destination, count in c.execute(
                "SELECT destination, COUNT(*) FROM outbox GROUP BY destination"
            ):
                backlog[destination] = backlog.get(destination, 0) + count
            return backlog

        return await self._read(read)

    # -- break-glass reviews -------------------------------------------------------------------
    async def break_glass_records(
        self, *, status: str | None, limit: int, senders: frozenset[str] | None = None
    ) -> list[BreakGlassRecord]:
        sql = f"SELECT {_BREAK_GLASS_COLUMNS} FROM break_glass WHERE 1 = 1"
        args: list[Any] = []
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        among, among_args = parties_condition(senders, ("sender",), lambda _: "?", 0)
        sql += among
        args += among_args
        sql += " ORDER BY created_ms, exchange_id LIMIT ?"
        args.append(limit)

        def read(c: sqlite3.Connection) -> list[BreakGlassRecord]:
            return [_break_glass(r) for r in c.execute(sql, args).fetchall()]

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
        among, among_args = parties_condition(senders, ("sender",), lambda _: "?", 0)

        def write(c: sqlite3.Connection) -> int | None:
            cur = c.execute(
                "UPDATE break_glass SET status = ?, reviewed_by = ?, reviewed_ms = ?, "
                f"sealed_note = ? WHERE exchange_id = ?{among}",
                (status, by, _ms(at), sealed_note, exchange_id, *among_args),
            )
            if cur.rowcount != 1:
                return None
            return _append(c, [entry])[0]

        return await self._write(write)

    # -- privacy officers' sign-in -------------------------------------------------------------
    async def add_officer_link(self, link: OfficerLink, entry: LogEntry, now: datetime) -> int:
        def write(c: sqlite3.Connection) -> int:
            c.execute("DELETE FROM officer_links WHERE expires_ms < ?", (_ms(now),))
            c.execute(
                "INSERT INTO officer_links (link_hash, officer, actor, expires_ms) "
                "VALUES (?, ?, ?, ?)",
                (link.link_hash, link.officer, link.actor, _ms(link.expires_at)),
            )
            return _append(c, [entry])[0]

        return await self._write(write)

    async def take_officer_link(self, link_hash: str, now: datetime) -> OfficerLink | None:
        def write(c: sqlite3.Connection) -> OfficerLink | None:
            # Inside the writer's IMMEDIATE transaction no other process can take it meanwhile.
            r = c.execute(
                "DELETE FROM officer_links WHERE link_hash = ? "
                "RETURNING link_hash, officer, actor, expires_ms",
                (link_hash,),
            ).fetchone()
            if r is None or r[3] <= _ms(now):
                return None
            return OfficerLink(r[0], r[1], r[2], _dt(r[3]))

        return await self._write(write)

    async def start_officer_session(
        self, session: OfficerSession, entry: LogEntry, idle_before: datetime
    ) -> int:
        def write(c: sqlite3.Connection) -> int:
            c.execute("DELETE FROM officer_sessions WHERE seen_ms < ?", (_ms(idle_before),))
            c.execute(
                f"INSERT INTO officer_sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    session.session_hash,
                    session.officer,
                    session.actor,
                    _ms(session.created_at),
                    _ms(session.seen_at),
                    session.language,
                ),
            )
            return _append(c, [entry])[0]

        return await self._write(write)

    async def officer_session(self, session_hash: str) -> OfficerSession | None:
        def read(c: sqlite3.Connection) -> OfficerSession | None:
            r = c.execute(
                f"SELECT {_SESSION_COLUMNS} FROM officer_sessions WHERE session_hash = ?",
                (session_hash,),
            ).fetchone()
            return None if r is None else _officer_session(r)

        return await self._read(read)

    async def touch_officer_session(
        self, session_hash: str, seen_at: datetime, language: str
    ) -> None:
        await self._write(
            lambda c: c.execute(
                "UPDATE officer_sessions SET seen_ms = MAX(seen_ms, ?), language = ? "
                "WHERE session_hash = ?",
                (_ms(seen_at), language, session_hash),
            )
        )

    async def end_officer_session(self, session_hash: str, entry: LogEntry) -> int | None:
        def write(c: sqlite3.Connection) -> int | None:
            cur = c.execute("DELETE FROM officer_sessions WHERE session_hash = ?", (session_hash,))
            if cur.rowcount != 1:
                return None
            return _append(c, [entry])[0]

        return await self._write(write)

    # -- exchanges and inbox ---------------------------------------------------------------------
    async def record_exchange(
        self,
        entries: Sequence[LogEntry],
        messages: Sequence[StoredMessage],
        effects: ExchangeEffects | None = None,
        outbox: Sequence[OutboxItem] = (),
    ) -> list[int]:
        # Rows are made here, on the event loop, so the writer holds the lock only to insert.
        log_rows = _log_rows(entries)
        inbox_rows = [message_values(m) for m in messages]

        def write(c: sqlite3.Connection) -> list[int]:
            indices = _insert_log(c, log_rows)
            if effects is not None:
                _apply_effects(c, effects)
            if outbox:
                now_ms = _ms(entries[0].time)
                c.executemany(
                    "INSERT INTO outbox (destination, log_idx, sealed, next_ms) VALUES (?, ?, ?, ?)",
                    [
                        (item.destination, indices[item.entry_position], item.sealed, now_ms)
                        for item in outbox
                    ],
                )
            for recipient in sorted({m.recipient for m in messages}):
                _poke(c, recipient, "new_messages", messages[0].sent_at)
            c.executemany(
                "INSERT INTO inbox (message_id, recipient, subject, exchange_id, disclosure_id, purpose, "
                "sender_partner, sender_role, case_id, in_reply_to, sent_ms, retain_ms, sealing, body, "
                "subject_system) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                inbox_rows,
            )
            return indices

        return await self._write(write)

    async def inbox_page(self, recipient: str, *, after: int, limit: int) -> list[StoredMessage]:
        def read(c: sqlite3.Connection) -> list[StoredMessage]:
            rows = c.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM inbox WHERE recipient = ? AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (recipient, after, limit),
            ).fetchall()
            return [_message(r) for r in rows]

        return await self._read(read)

    async def lease_inbox(
        self, recipient: str, *, limit: int, now: datetime, until: datetime
    ) -> list[StoredMessage]:
        def write(c: sqlite3.Connection) -> list[StoredMessage]:
            rows = c.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM inbox WHERE recipient = ? AND "
                "(leased_until_ms IS NULL OR leased_until_ms <= ?) ORDER BY seq LIMIT ?",
                (recipient, _ms(now), limit),
            ).fetchall()
            messages = [_message(r) for r in rows]
            c.executemany(
                "UPDATE inbox SET leased_until_ms = ? WHERE seq = ?",
                [(_ms(until), m.seq) for m in messages],
            )
            return messages

        return await self._write(write)

    async def ack_message(
        self, recipient: str, message_id: str, make_entry: Callable[[StoredMessage], LogEntry]
    ) -> int | None:
        def write(c: sqlite3.Connection) -> int | None:
            r = c.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM inbox WHERE message_id = ? AND recipient = ?",
                (message_id, recipient),
            ).fetchone()
            if r is None:
                return None
            message = _message(r)
            c.execute("DELETE FROM inbox WHERE seq = ?", (message.seq,))
            return _append(c, [make_entry(message)])[0]

        return await self._write(write)

    async def purge_expired(
        self, now: datetime, make_entry: Callable[[StoredMessage], LogEntry]
    ) -> int:
        def write(c: sqlite3.Connection) -> int:
            rows = c.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM inbox WHERE retain_ms <= ? ORDER BY seq LIMIT 1000",
                (_ms(now),),
            ).fetchall()
            messages = [_message(r) for r in rows]
            c.executemany("DELETE FROM inbox WHERE seq = ?", [(m.seq,) for m in messages])
            _append(c, [make_entry(m) for m in messages])
            return len(messages)

        return await self._write(write)

    # -- tree (sequencer) ----------------------------------------------------------------------
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

    async def store_tree(
        self,
        nodes: Sequence[tuple[int, int, bytes]],
        checkpoint: StoredCheckpoint | None,
    ) -> None:
        def write(c: sqlite3.Connection) -> None:
            c.executemany(
                "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                nodes,
            )
            if checkpoint is not None:
                c.execute(
                    "INSERT INTO checkpoints (size, root_hash, note, time_ms) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (checkpoint.size, checkpoint.root_hash, checkpoint.note, _ms(checkpoint.time)),
                )

        await self._write(write)

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        def read(c: sqlite3.Connection) -> StoredCheckpoint | None:
            r = c.execute(
                "SELECT size, root_hash, note, time_ms FROM checkpoints ORDER BY size DESC LIMIT 1"
            ).fetchone()
            return None if r is None else StoredCheckpoint(r[0], bytes(r[1]), r[2], _dt(r[3]))

        return await self._read(read, here=True)

    async def checkpoints(self) -> list[StoredCheckpoint]:
        def read(c: sqlite3.Connection) -> list[StoredCheckpoint]:
            rows = c.execute(
                "SELECT size, root_hash, note, time_ms FROM checkpoints ORDER BY size"
            ).fetchall()
            return [StoredCheckpoint(r[0], bytes(r[1]), r[2], _dt(r[3])) for r in rows]

        return await self._read(read)

    async def verify_batch(self, start: int, end: int) -> list[VerifyRow]:
        def read(c: sqlite3.Connection) -> list[VerifyRow]:
            # CAST: a leaf or hash someone rewrote as TEXT still comes back as bytes.
            rows: list[VerifyRow] = c.execute(
                "SELECT l.idx, CAST(l.leaf AS BLOB), CAST(t.hash AS BLOB), "
                f"{_VERIFY_COLUMNS} FROM log_entries l "
                "LEFT JOIN tree_nodes t ON t.level = 0 AND t.idx = l.idx "
                "WHERE l.idx >= ? AND l.idx < ? ORDER BY l.idx",
                (start, end),
            ).fetchall()
            return rows

        return await self._read(read)


_FINGERPRINTS = (
    "SELECT name, fingerprint, keys_folder, recorded_ms, retired_ms FROM key_fingerprints "
    "ORDER BY recorded_ms, name, fingerprint"
)


def _fingerprint(r: Sequence[Any]) -> KeyFingerprint:
    return KeyFingerprint(r[0], r[1], r[2], _dt(r[3]), None if r[4] is None else _dt(r[4]))


def _officer_session(r: Sequence[Any]) -> OfficerSession:
    return OfficerSession(r[0], r[1], r[2], _dt(r[3]), _dt(r[4]), r[5])


def _apply_effects(c: sqlite3.Connection, effects: ExchangeEffects) -> None:
    c.executemany(
        f"INSERT INTO expectations ({_EXPECTATION_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
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
            for e in effects.open
        ],
    )
    if effects.close:
        closed_ms = _ms(effects.closed_at or datetime.now(UTC))
        c.executemany(
            "UPDATE expectations SET closed_ms = ?, closed_by = ? "
            "WHERE expectation_id = ? AND closed_ms IS NULL",
            [(closed_ms, by, eid) for eid, by in _closing(effects)],
        )
    bg = effects.break_glass
    if bg is not None:
        c.execute(
            f"INSERT INTO break_glass ({_BREAK_GLASS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                bg.exchange_id,
                bg.sender,
                bg.purpose,
                _ms(bg.created_at),
                bg.sealed,
                bg.status,
                bg.reviewed_by,
                None,
                bg.sealed_note,
            ),
        )


def _poke(c: sqlite3.Connection, partner: str, kind: str, now: datetime) -> None:
    # One pending poke per partner and kind: a burst of messages is one notification.
    c.execute(
        "INSERT INTO notifications (partner, kind, created_ms, next_ms, attempts) "
        "VALUES (?, ?, ?, ?, 0) ON CONFLICT (partner, kind) DO UPDATE SET "
        "created_ms = excluded.created_ms",
        (partner, kind, _ms(now), _ms(now)),
    )


def _closing(effects: ExchangeEffects) -> list[tuple[str, str | None]]:
    return [(eid, effects.closed_by) for eid in effects.close]


def _blob(value: object) -> bytes:
    """Bytes of a BLOB column, also when someone rewrote it as TEXT (tampering must not crash)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8")


def _size(c: sqlite3.Connection) -> int:
    r = c.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries").fetchone()
    return int(r[0])


def _append(c: sqlite3.Connection, entries: Sequence[LogEntry]) -> list[int]:
    return _insert_log(c, _log_rows(entries))


_LogRow = tuple[
    bytes, int, str, str | None, str | None, str | None, str | None, str | None, str | None, int
]


def _log_rows(entries: Sequence[LogEntry]) -> list[_LogRow]:
    """The log_entries columns but the index: made before the write, outside the shared lock
    (the canonical leaf is most of the work of appending)."""
    return [
        (
            entry.canonical(),
            _ms(entry.time),
            entry.decision,
            entry.purpose,
            entry.sender.partner if entry.sender is not None else None,
            entry.recipient,
            entry.subject,
            entry.exchange_id,
            entry.reason,
            int(entry.break_glass),
        )
        for entry in entries
    ]


def _insert_log(c: sqlite3.Connection, rows: Sequence[_LogRow]) -> list[int]:
    # Inside the writer's IMMEDIATE transaction no other process can append, so max+1 is gap-free.
    start = _size(c)
    c.executemany(
        "INSERT INTO log_entries (idx, leaf, time_ms, decision, purpose, sender, recipient, "
        "subject, exchange_id, reason, break_glass) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(start + offset, *row) for offset, row in enumerate(rows)],
    )
    return [start + i for i in range(len(rows))]


def _insert_member(c: sqlite3.Connection, member: NetworkMember) -> None:
    c.execute(
        "INSERT INTO case_network (case_id, partner_id, role, contact, registered_by, "
        "registered_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, partner_id) DO "
        "UPDATE SET role = excluded.role, contact = excluded.contact",
        (
            member.case_id,
            member.partner_id,
            member.role,
            member.contact,
            member.registered_by,
            _ms(member.registered_at),
        ),
    )
