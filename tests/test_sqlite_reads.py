"""SQLite reads: indexed point lookups run on the event loop, everything else on reader threads.

The exchange path's lookups (consents of a subject, a consent, a case's network and household,
the latest checkpoint) are answered by an index in a few page reads; they run on the calling
thread, never wait for a lock, and go to a reader thread only when SQLite answers busy. Searches
and scans stay on the reader threads, so a long one never holds up the event loop.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import StorageUnavailable
from gateway.log.entry import LogEntry
from gateway.store.base import LogFilter, StoredConsent
from gateway.store.sqlite import SqliteStorage

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CONSENT = StoredConsent("c-1", "pseudo-a", "swt-denhelder", b"\x01sealed")


class _CountingExecutor(ThreadPoolExecutor):
    """A reader pool that counts what is handed to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix="test-reader")
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "gateway.sqlite3")
    await store.open()
    entry = LogEntry(time=T0, decision="consent_recorded", details={"n": 1})
    await store.add_consent(CONSENT, entry)
    store._readers.shutdown(wait=True)
    store._readers = _CountingExecutor()
    try:
        yield store
    finally:
        await store.close()


def _submitted(storage: SqliteStorage) -> int:
    readers = storage._readers
    assert isinstance(readers, _CountingExecutor)
    return readers.submitted


async def test_point_lookups_are_answered_on_the_event_loop_thread(
    storage: SqliteStorage,
) -> None:
    assert await storage.consents_for_subject("pseudo-a") == [CONSENT]
    assert await storage.get_consent("c-1") == CONSENT
    assert await storage.case_network("case-1") == []
    assert await storage.household("case-1") == []
    assert await storage.latest_checkpoint() is None
    assert _submitted(storage) == 0


async def test_searches_and_scans_go_to_a_reader_thread(storage: SqliteStorage) -> None:
    found = await storage.search_log(LogFilter(decision="consent_recorded"), after=None, limit=10)
    assert [row.index for row in found] == [0]
    assert await storage.log_size() == 1
    assert _submitted(storage) == 2


async def test_a_point_lookup_that_finds_the_database_busy_is_retried_on_a_reader_thread(
    storage: SqliteStorage,
) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def read(c: sqlite3.Connection) -> int:
        threads.append(threading.get_ident())
        if threading.get_ident() == loop_thread:
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
            raise busy
        return int(c.execute("SELECT COUNT(*) FROM consents").fetchone()[0])

    assert await storage._read(read, here=True) == 1
    assert threads[0] == loop_thread
    assert threads[1] != loop_thread
    assert _submitted(storage) == 1


async def test_a_point_lookup_that_fails_otherwise_is_storage_unavailable_and_not_retried(
    storage: SqliteStorage,
) -> None:
    def read(c: sqlite3.Connection) -> None:
        c.execute("SELECT * FROM no_such_table")

    with pytest.raises(StorageUnavailable, match="OperationalError"):
        await storage._read(read, here=True)
    assert _submitted(storage) == 0


async def test_the_loop_threads_reader_never_waits_for_a_lock(storage: SqliteStorage) -> None:
    await storage.get_consent("c-1")
    here = storage._local.here
    assert here.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    assert here.execute("PRAGMA query_only").fetchone()[0] == 1


async def test_closing_closes_the_loop_threads_reader(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "gateway.sqlite3")
    await store.open()
    await store.get_consent("c-1")
    here = store._local.here
    await store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        here.execute("SELECT 1")
