"""A full SQLite database: 503 storage_unavailable while full, not ready, recovery on its own."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest

from gateway.client.http import GatewayClientError
from gateway.log.verify import verify_log
from gateway.store.sqlite import SqliteStorage
from tests.conftest import BSN_CHILD, Running, example
from tests.helpers import seed_referral


@pytest.fixture
def backend() -> str:
    """The page limit is SQLite's (PRAGMA max_page_count)."""
    return "sqlite"


def page_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA page_count").fetchone()[0])


async def readiness(running: Running) -> int:
    async with aiohttp.ClientSession() as session, session.get(running.url + "/readyz") as r:
        return r.status


async def test_a_full_database_answers_503_then_recovers_without_losing_what_was_acknowledged(
    running: Running, clients
) -> None:
    storage = running.gw.storage
    assert isinstance(storage, SqliteStorage)
    # The provider's relation to the child (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    provider = clients("zorg-noord")
    await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    await storage.set_page_limit(page_count(storage.path) + 8)

    acknowledged: list[dict[str, object]] = []
    refusal = None
    for _ in range(400):
        try:
            acknowledged.append(
                await provider.send(
                    "evaluation-feedback",
                    "swt-denhelder",
                    BSN_CHILD,
                    example("evaluation-feedback"),
                )
            )
        except GatewayClientError as error:
            refusal = error
            break
    assert refusal is not None, "the database never filled up"
    assert (refusal.status, refusal.code) == (503, "storage_unavailable")
    assert await readiness(running) == 503

    await storage.set_page_limit(1_000_000_000)  # the operator frees space
    # The target is ready within 5 s; the bound here is generous (tests do not time things),
    # and the time it took is printed.
    freed = time.monotonic()
    for _ in range(300):
        if await readiness(running) == 200:
            break
        await asyncio.sleep(0.1)
    assert await readiness(running) == 200, "not ready again after storage returned"
    print(f"ready again {time.monotonic() - freed:.2f} s after storage returned")
    after = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )

    rows = await storage.log_rows(0, await storage.log_size())
    logged = {r.entry.disclosure_id for r in rows if r.entry.decision == "disclosed"}
    for result in [*acknowledged, after]:
        disclosure = result["disclosures"][0]  # type: ignore[index]
        assert disclosure["disclosure_id"] in logged
    await running.gw.sequencer().integrate()
    report = await verify_log(storage, running.gw.log_verifiers, running.gw.settings.log_origin)
    assert report.entries == len(rows)
