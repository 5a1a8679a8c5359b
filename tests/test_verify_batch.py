"""`gateway log verify` reads the log in joined batches and still finds every tampering.

The verifier reads leaves together with their stored leaf hashes (`Storage.verify_batch`) and
decides whole batches with list comparisons, walking a batch row by row only when it fails them.
These tests hold both back ends to the same rows, and check that small batches (so that every
tampering falls inside or on the edge of a batch, with reads in flight) report the same first
bad index on SQLite and PostgreSQL. `tests/test_log_tamper.py` covers the CLI on SQLite.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.log import verify
from gateway.log.checkpoint import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    parse_verifier_key,
    sign_checkpoint,
    verifier_key,
)
from gateway.log.entry import LogEntry, Sender
from gateway.log.merkle import MerkleAccumulator, leaf_hash
from gateway.log.verify import LogTampered, verify_log
from gateway.store.base import Storage, StoredCheckpoint
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    PostgresBackend,
    SqliteBackend,
    storage_backend_fixture,
)

Backend = SqliteBackend | PostgresBackend

ORIGIN = "gateway.test/log"
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SIZE = 40
SIGNED_EVERY = 8  # checkpoints at 0, 8, 16, 24, 32, 40
SMALL_BATCH = 6  # batches cut across the checkpoints


def _entry(n: int) -> LogEntry:
    return LogEntry(
        time=T0,
        decision="disclosed",
        exchange_id=f"ex-{n}",
        purpose="zorgsignaal",
        sender=Sender("swt-denhelder", "actor-1", "procesregisseur"),
        recipient="zorg-noord",
        subject=f"pseudo-{n % 3}",
        details={"n": n},
    )


async def _signed_log(storage: Storage, signer: NoteSigner) -> list[bytes]:
    """SIZE entries, their tree and a checkpoint every SIGNED_EVERY entries; returns the leaves."""
    entries = [_entry(n) for n in range(SIZE)]
    assert await storage.append_log(entries) == list(range(SIZE))
    tree = MerkleAccumulator()
    await storage.store_tree(
        [],
        StoredCheckpoint(
            0, tree.root(), sign_checkpoint(Checkpoint(ORIGIN, 0, tree.root()), signer), T0
        ),
    )
    for start in range(0, SIZE, SIGNED_EVERY):
        nodes = []
        for item in entries[start : start + SIGNED_EVERY]:
            nodes += tree.append(leaf_hash(item.canonical()))
        note = sign_checkpoint(Checkpoint(ORIGIN, tree.size, tree.root()), signer)
        await storage.store_tree(nodes, StoredCheckpoint(tree.size, tree.root(), note, T0))
    return [item.canonical() for item in entries]


@pytest.fixture
def signer() -> NoteSigner:
    return NoteSigner(ORIGIN, Ed25519PrivateKey.generate())


@pytest.fixture
def verifiers(signer: NoteSigner) -> list[NoteVerifier]:
    return [parse_verifier_key(verifier_key(ORIGIN, signer.private_key.public_key()))]


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "BATCH", SMALL_BATCH)


async def _sql(backend: Backend, sqlite: str, postgres: str, *args: object) -> None:
    """Tamper directly in the database, the way an insider with database access could."""
    if isinstance(backend, SqliteBackend):
        backend._sql(sqlite, *args)
    else:
        await backend.sql_rows(postgres, *args)


async def _first_bad_index(storage: Storage, verifiers: list[NoteVerifier]) -> int:
    with pytest.raises(LogTampered) as caught:
        await verify_log(storage, verifiers, ORIGIN)
    return caught.value.index


async def test_verify_batch_gives_each_leaf_with_its_stored_leaf_hash(
    storage_backend: Backend,
) -> None:
    storage = await storage_backend.open()
    entries = [_entry(n) for n in range(6)]
    await storage.append_log(entries)
    leaves = [e.canonical() for e in entries]
    tree = MerkleAccumulator()
    nodes = [node for leaf in leaves[:4] for node in tree.append(leaf_hash(leaf))]
    await storage.store_tree(nodes, None)  # leaf hashes for 0-3, and the level-1 and 2 nodes

    rows = await storage.verify_batch(1, 6)

    # Each row goes on with its searchable columns, compared with the leaf by verify_log.
    assert [row[:3] for row in rows] == [
        (1, leaves[1], leaf_hash(leaves[1])),
        (2, leaves[2], leaf_hash(leaves[2])),
        (3, leaves[3], leaf_hash(leaves[3])),
        (4, leaves[4], None),
        (5, leaves[5], None),
    ]
    assert all(type(r[1]) is bytes and type(r[2]) in (bytes, type(None)) for r in rows)
    assert await storage.verify_batch(6, 10) == []
    assert await storage.verify_batch(2, 2) == []


async def test_an_intact_log_verifies_in_batches_that_cut_across_its_checkpoints(
    storage_backend: Backend, signer: NoteSigner, verifiers: list[NoteVerifier]
) -> None:
    storage = await storage_backend.open()
    await _signed_log(storage, signer)

    report = await verify_log(storage, verifiers, ORIGIN)

    assert (report.entries, report.signed_size, report.checkpoints) == (SIZE, SIZE, 6)


@pytest.mark.parametrize("index", [0, 5, 6, 13, 39])
async def test_an_edited_leaf_is_reported_at_its_index_wherever_it_falls_in_a_batch(
    storage_backend: Backend, signer: NoteSigner, verifiers: list[NoteVerifier], index: int
) -> None:
    storage = await storage_backend.open()
    leaves = await _signed_log(storage, signer)
    forged = leaves[index].replace(b"zorg-noord", b"school-de-es")
    await _sql(
        storage_backend,
        "UPDATE log_entries SET leaf = ? WHERE idx = ?",
        "UPDATE log_entries SET leaf = $1 WHERE idx = $2",
        forged,
        index,
    )

    assert await _first_bad_index(storage, verifiers) == index


@pytest.mark.parametrize("index", [1, 6, 17])
async def test_a_deleted_row_is_reported_at_its_index(
    storage_backend: Backend, signer: NoteSigner, verifiers: list[NoteVerifier], index: int
) -> None:
    storage = await storage_backend.open()
    await _signed_log(storage, signer)
    await _sql(
        storage_backend,
        "DELETE FROM log_entries WHERE idx = ?",
        "DELETE FROM log_entries WHERE idx = $1",
        index,
    )

    assert await _first_bad_index(storage, verifiers) == index


async def test_an_edit_before_a_deletion_in_the_same_batch_is_reported_first(
    storage_backend: Backend, signer: NoteSigner, verifiers: list[NoteVerifier]
) -> None:
    storage = await storage_backend.open()
    leaves = await _signed_log(storage, signer)
    await _sql(
        storage_backend,
        "UPDATE log_entries SET leaf = ? WHERE idx = 13",
        "UPDATE log_entries SET leaf = $1 WHERE idx = 13",
        leaves[13] + b" ",
    )
    await _sql(
        storage_backend,
        "DELETE FROM log_entries WHERE idx = 15",
        "DELETE FROM log_entries WHERE idx = 15",
    )

    assert await _first_bad_index(storage, verifiers) == 13


async def test_a_leaf_edited_with_its_stored_hash_is_caught_by_the_signed_root(
    storage_backend: Backend, signer: NoteSigner, verifiers: list[NoteVerifier]
) -> None:
    storage = await storage_backend.open()
    leaves = await _signed_log(storage, signer)
    forged = leaves[20].replace(b"zorg-noord", b"school-de-es")
    await _sql(
        storage_backend,
        "UPDATE log_entries SET leaf = ? WHERE idx = 20",
        "UPDATE log_entries SET leaf = $1 WHERE idx = 20",
        forged,
    )
    await _sql(
        storage_backend,
        "UPDATE tree_nodes SET hash = ? WHERE level = 0 AND idx = 20",
        "UPDATE tree_nodes SET hash = $1 WHERE level = 0 AND idx = 20",
        hashlib.sha256(b"\x00" + forged).digest(),
    )

    with pytest.raises(LogTampered) as caught:
        await verify_log(storage, verifiers, ORIGIN)

    # The signed checkpoints at 16 and 24 bound the range; the one at 16 still holds.
    assert caught.value.index == 16
    assert "[16, 24)" in caught.value.problem


async def test_a_leaf_rewritten_as_text_is_read_as_its_bytes_and_reported(
    tmp_path: Path, signer: NoteSigner, verifiers: list[NoteVerifier]
) -> None:
    backend = SqliteBackend(tmp_path / "gateway.sqlite3")
    try:
        storage = await backend.open()
        leaves = await _signed_log(storage, signer)
        # The same bytes, stored as TEXT: equal content, so only its type changed.
        backend._sql(
            "UPDATE log_entries SET leaf = CAST(leaf AS TEXT) WHERE idx IN (3, 9)",
        )
        backend._sql(
            "UPDATE log_entries SET leaf = ? WHERE idx = 9",
            leaves[9].decode("ascii").replace("zorg-noord", "school-de-es"),
        )

        rows = await storage.verify_batch(3, 4)
        assert [row[:3] for row in rows] == [(3, leaves[3], leaf_hash(leaves[3]))]
        assert await _first_bad_index(storage, verifiers) == 9
    finally:
        await backend.close()
