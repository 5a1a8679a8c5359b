"""The outbox's storage contract, on SQLite and on PostgreSQL: leases, cursors, retries.

A log feed is a cursor over the log per destination; outbox rows are queued with an exchange
in its transaction. Two claimers never get the same work, a lease runs out when its holder
dies, a retry waits for its time, and the cursor moves only forward from where it was.
"""

from __future__ import annotations

from datetime import timedelta

from gateway.store.base import OutboxItem, Storage
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    PostgresBackend,
    SqliteBackend,
    storage_backend_fixture,
    storage_fixture,
)
from tests.test_storage_contract import T0, entry, message

FEED = "ldv"


async def test_a_log_feed_starts_at_the_first_entry_and_moves_only_when_accepted(
    storage: Storage,
) -> None:
    await storage.append_log([entry(f"e{i}") for i in range(5)])
    batch = await storage.claim_log_feed(FEED, T0, lease_s=30, limit=3)
    assert [r.index for r in batch.rows] == [0, 1, 2]
    assert batch.attempts == 0
    # Leased: another claimer gets nothing until the lease runs out.
    assert (await storage.claim_log_feed(FEED, T0, lease_s=30, limit=3)).rows == ()
    assert await storage.advance_log_feed(FEED, 0, 3)
    assert await storage.outbox_backlog() == {FEED: 2}
    batch = await storage.claim_log_feed(FEED, T0, lease_s=30, limit=10)
    assert [r.index for r in batch.rows] == [3, 4]
    assert [r.entry.exchange_id for r in batch.rows] == ["ex-e3", "ex-e4"]


async def test_a_stale_advance_does_not_move_the_cursor_back_or_twice(storage: Storage) -> None:
    await storage.append_log([entry(f"e{i}") for i in range(4)])
    await storage.claim_log_feed(FEED, T0, lease_s=1, limit=2)
    assert await storage.advance_log_feed(FEED, 0, 2)
    # A second holder of the expired lease reports the same batch again: refused.
    assert not await storage.advance_log_feed(FEED, 0, 2)
    assert await storage.outbox_backlog() == {FEED: 2}


async def test_an_expired_lease_and_a_due_retry_hand_the_feed_out_again(storage: Storage) -> None:
    await storage.append_log([entry("e0")])
    await storage.claim_log_feed(FEED, T0, lease_s=5, limit=10)
    later = T0 + timedelta(seconds=6)
    assert [
        r.index for r in (await storage.claim_log_feed(FEED, later, lease_s=5, limit=10)).rows
    ] == [0]
    await storage.retry_log_feed(FEED, later + timedelta(seconds=4))
    assert (await storage.claim_log_feed(FEED, later, lease_s=5, limit=10)).rows == ()
    due = await storage.claim_log_feed(FEED, later + timedelta(seconds=4), lease_s=5, limit=10)
    assert ([r.index for r in due.rows], due.attempts) == ([0], 1)
    await storage.retry_log_feed(FEED, later)
    assert (
        await storage.claim_log_feed(FEED, later + timedelta(seconds=9), lease_s=5, limit=1)
    ).attempts == 2


async def test_outbox_rows_are_queued_with_their_exchange_and_point_at_its_entries(
    storage: Storage,
) -> None:
    await storage.append_log([entry("before")])
    indices = await storage.record_exchange(
        [entry("refused", decision="refused"), entry("disclosed")],
        [message("m1")],
        outbox=[OutboxItem("vng:zorg-noord", 1, b"sealed-1"), OutboxItem("vng:swt", 1, b"s2")],
    )
    assert indices == [1, 2]
    assert await storage.outbox_backlog() == {"vng:zorg-noord": 1, "vng:swt": 1}
    (row,) = await storage.claim_outbox("vng:zorg-noord", T0, lease_s=30, limit=10)
    assert (row.index, row.sealed, row.attempts) == (2, b"sealed-1", 0)
    assert row.leaf == (await storage.log_rows(2, 3))[0].leaf
    assert await storage.claim_outbox("vng:zorg-noord", T0, lease_s=30, limit=10) == []
    await storage.finish_outbox([row.seq])
    assert await storage.outbox_backlog() == {"vng:swt": 1}


async def test_a_failed_outbox_row_waits_for_its_retry_and_counts_its_attempts(
    storage: Storage,
) -> None:
    await storage.record_exchange(
        [entry("a"), entry("b")],
        [],
        outbox=[OutboxItem("vng:p", 0, b"x"), OutboxItem("vng:p", 1, b"y")],
    )
    rows = await storage.claim_outbox("vng:p", T0, lease_s=30, limit=10)
    assert [r.index for r in rows] == [0, 1]
    await storage.retry_outbox([rows[0].seq], T0 + timedelta(seconds=10))
    await storage.finish_outbox([rows[1].seq])
    assert (
        await storage.claim_outbox("vng:p", T0 + timedelta(seconds=9), lease_s=30, limit=10) == []
    )
    (again,) = await storage.claim_outbox("vng:p", T0 + timedelta(seconds=10), lease_s=30, limit=10)
    assert (again.seq, again.attempts) == (rows[0].seq, 1)


async def test_two_instances_claiming_at_once_never_share_a_row(
    storage_backend: SqliteBackend | PostgresBackend,
) -> None:
    first, second = await storage_backend.open(), await storage_backend.open()
    await first.record_exchange(
        [entry(f"e{i}") for i in range(20)],
        [],
        outbox=[OutboxItem("vng:p", i, b"s") for i in range(20)],
    )
    a = await first.claim_outbox("vng:p", T0, lease_s=30, limit=7)
    b = await second.claim_outbox("vng:p", T0, lease_s=30, limit=7)
    c = await first.claim_outbox("vng:p", T0, lease_s=30, limit=7)
    seqs = [r.seq for r in a + b + c]
    assert len(seqs) == len(set(seqs)) == 20
