"""SQLite group commit: what queues while another worker holds the write lock commits together.

Worker processes share the database and take turns on a lock file beside it. A writer waiting
for that lock must take everything its own requests queued meanwhile into its next commit (one
fsync for all of them), answer none of them before that commit, and wake its event loop once
per commit rather than once per request.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import StorageUnavailable
from gateway.log.entry import LogEntry
from gateway.store import sqlite as sqlite_store
from gateway.store.sqlite import SqliteStorage

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
QUEUED = 20


def _entry(n: int) -> LogEntry:
    return LogEntry(time=T0, decision="disclosed", exchange_id=f"ex-{n}", details={"n": n})


@contextmanager
def _other_worker_writing(database: Path) -> Iterator[None]:
    """Hold the writers' lock file the way another worker process does while it commits."""
    fd = os.open(database.with_name(database.name + "-writer.lock"), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


async def _until(condition: Any) -> None:
    for _ in range(500):
        await asyncio.sleep(0.01)  # first let the scheduled writes reach the writer's queue
        if condition():
            return
    pytest.fail("the writer never got there")


async def test_writes_queued_behind_another_workers_commit_join_one_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = SqliteStorage(tmp_path / "gateway.sqlite3")
    await storage.open()
    writer = storage._writer
    assert writer is not None
    batches: list[int] = []
    run_batch = writer._run_batch

    def counted(conn: Any, batch: list[Any]) -> list[tuple[bool, Any]]:
        batches.append(len(batch))
        return run_batch(conn, batch)

    monkeypatch.setattr(writer, "_run_batch", counted)
    loop = asyncio.get_running_loop()
    wake_ups: list[object] = []
    call_soon_threadsafe = loop.call_soon_threadsafe

    def spy(callback: Any, *args: Any, **kwargs: Any) -> Any:
        if callback is sqlite_store._settle_on_loop:
            wake_ups.append(callback)
        return call_soon_threadsafe(callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", spy)
    try:
        with _other_worker_writing(storage.path):
            first = asyncio.ensure_future(storage.append_log([_entry(0)]))
            await _until(lambda: writer.jobs.qsize() == 0)  # taken, waiting for the lock
            rest = [
                asyncio.ensure_future(storage.append_log([_entry(n)])) for n in range(1, QUEUED + 1)
            ]
            await _until(lambda: writer.jobs.qsize() == QUEUED)
            await asyncio.sleep(0.05)
            assert not first.done()
            assert not any(r.done() for r in rest)  # nothing answered before its commit
        indices = [await first, *[await r for r in rest]]

        assert batches == [QUEUED + 1]
        assert wake_ups == [sqlite_store._settle_on_loop]
        assert sorted(i for found in indices for i in found) == list(range(QUEUED + 1))
        assert await storage.log_size() == QUEUED + 1
    finally:
        await storage.close()


async def test_a_failing_write_in_a_group_commit_fails_alone(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "gateway.sqlite3")
    await storage.open()
    writer = storage._writer
    assert writer is not None

    def broken(conn: Any) -> None:
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    try:
        with _other_worker_writing(storage.path):
            before = asyncio.ensure_future(storage.append_log([_entry(0)]))
            await _until(lambda: writer.jobs.qsize() == 0)
            failing = asyncio.ensure_future(storage._write(broken))
            after = asyncio.ensure_future(storage.append_log([_entry(1)]))
            await _until(lambda: writer.jobs.qsize() == 2)
        assert await before == [0]
        assert await after == [1]
        with pytest.raises(StorageUnavailable, match="storage write failed: OperationalError"):
            await failing
        assert await storage.log_size() == 2
    finally:
        await storage.close()
