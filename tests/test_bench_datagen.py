"""The scale benchmark's generated data is what the gateway itself would have stored.

If bench.datagen wrote look-alike rows, the scale figures would describe some other system; so a
small generated log must verify with `verify_log`, read back as the entries it claims to be,
answer subject searches and proofs like a log the gateway wrote, and a copied consent must be
found for its own subject.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

from bench.datagen import bench_subject, fill_consents, fill_log, sample_bsns
from gateway.container import Gateway
from gateway.log.entry import LogEntry
from gateway.log.merkle import inclusion_proof_nodes, resolve_proof, verify_inclusion
from gateway.log.verify import verify_log
from gateway.runtime import DEFAULT_CONFIG, build_gateway
from gateway.store.base import LogFilter, StoredConsent
from gateway.store.sqlite import SqliteStorage
from gateway.subject import validate_bsn

SIZE = 1234
EVERY = 500


async def _check_log(gw: Gateway, subject: str) -> None:
    storage = gw.storage
    await storage.open()
    try:
        report = await verify_log(storage, list(gw.log_verifiers), gw.settings.log_origin)
        assert (report.entries, report.signed_size, report.checkpoints) == (SIZE, SIZE, 3)
        rows = await storage.log_rows(0, SIZE)
        entries = [r.entry for r in rows]
        assert [e.exchange_id for e in entries] == [f"ex_{i:022d}" for i in range(SIZE)]
        assert [e.details["message_id"] for e in entries[:3]] == [f"msg_{i:022d}" for i in range(3)]
        assert [e.time for e in entries] == sorted(e.time for e in entries)
        found = await storage.search_log(LogFilter(subject=subject), after=None, limit=100)
        assert found
        assert {r.entry.subject for r in found} == {subject}
        latest = await storage.latest_checkpoint()
        assert latest is not None
        assert latest.size == SIZE
        for index in (0, 777, SIZE - 1):
            elements = inclusion_proof_nodes(index, SIZE)
            nodes = await storage.tree_nodes([k for e in elements for k in e])
            hashes = resolve_proof(elements, lambda level, i, found=nodes: found[(level, i)])
            leaf = (await storage.tree_nodes([(0, index)]))[(0, index)]
            verify_inclusion(leaf, index, SIZE, hashes, latest.root_hash)
    finally:
        await storage.close()


def test_a_generated_log_verifies_and_reads_back_as_the_entries_it_holds(tmp_path: Path) -> None:
    gw = build_gateway(DEFAULT_CONFIG, tmp_path)
    fill = fill_log(
        tmp_path / "gateway.sqlite3",
        count=SIZE,
        signer=gw.log_signer,
        origin=gw.settings.log_origin,
        checkpoint_every=EVERY,
        entries_per_subject=10,
    )
    assert fill.size == SIZE
    asyncio.run(_check_log(gw, fill.subject_of(777)))


def test_the_generated_rows_keep_the_lookup_columns_in_step_with_their_leaves(
    tmp_path: Path,
) -> None:
    gw = build_gateway(DEFAULT_CONFIG, tmp_path)
    fill_log(
        tmp_path / "gateway.sqlite3",
        count=300,
        signer=gw.log_signer,
        origin=gw.settings.log_origin,
        checkpoint_every=100,
    )
    with closing(sqlite3.connect(tmp_path / "gateway.sqlite3")) as conn:
        rows = conn.execute(
            "SELECT leaf, subject, exchange_id, time_ms FROM log_entries ORDER BY idx"
        ).fetchall()
        indexes = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
    assert "log_by_subject" in indexes  # dropped for the load, made again after it
    for leaf, subject, exchange_id, time_ms in rows:
        entry = LogEntry.from_canonical(leaf)
        assert entry.canonical() == bytes(leaf)
        assert (entry.subject, entry.exchange_id) == (subject, exchange_id)
        assert int(entry.time.timestamp() * 1000) == time_ms


async def _consents_of(database: Path, subject: str) -> list[StoredConsent]:
    storage = SqliteStorage(database)
    await storage.open()
    try:
        return await storage.consents_for_subject(subject)
    finally:
        await storage.close()


def test_copied_consents_each_belong_to_their_own_subject(tmp_path: Path) -> None:
    gw = build_gateway(DEFAULT_CONFIG, tmp_path)
    database = tmp_path / "gateway.sqlite3"

    async def migrate() -> None:
        await gw.storage.open()
        await gw.storage.close()

    asyncio.run(migrate())
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute(
            "INSERT INTO consents (consent_id, subject, recorded_by, record) "
            "VALUES ('con_template', 'a1b2', 'swt-denhelder', x'00')"
        )
    fill_consents(database, template_id="con_template", count=50)
    assert [
        c.consent_id for c in asyncio.run(_consents_of(database, bench_subject(10_000_007)))
    ] == [f"con_{7:022d}"]
    assert len(asyncio.run(_consents_of(database, "a1b2"))) == 1


def test_sample_bsns_pass_the_elfproef() -> None:
    numbers = sample_bsns(25)
    assert len(set(numbers)) == 25
    assert all(validate_bsn(n) == n for n in numbers)
