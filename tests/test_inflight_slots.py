"""Half-sent bodies hold no in-flight slot; `/readyz` says when the gateway sheds load.

A real `gateway serve` process (one worker, SQLite) per test, reached over raw sockets. The
slowloris clients send a complete head and part of the body, then nothing: before the fix each
held one of the worker's `max_in_flight` slots until `read_timeout_s` cut it off, and with as
many of them as slots every other caller got `503 overloaded`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import BSN_CHILD, example
from tests.helpers import relate_client
from tests.test_slowloris import (
    Served,
    closed,
    exchange_body,
    read_answer,
    request_head,
    serving,
)

pytestmark = pytest.mark.slow

HALF_SENT = 300  # more than the shipped max_in_flight (256)
READ_TIMEOUT_S = 4
WITHIN_S = 20.0


@contextlib.asynccontextmanager
async def half_sent_bodies(
    served: Served, token: str, count: int
) -> AsyncIterator[list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]:
    """`count` connections, each with a complete exchange head and the first bytes of its body."""
    body = exchange_body()
    head = request_head(
        "POST",
        "/v1/exchanges",
        served,
        Authorization=f"Bearer {token}",
        Content_Type="application/json",
        Content_Length=str(len(body)),
    )
    connections = []
    try:
        for _ in range(count):
            reader, writer = await asyncio.open_connection(served.host, served.port)
            writer.write(head + body[:10])
            connections.append((reader, writer))
        for _, writer in connections:
            await writer.drain()
        yield connections
    finally:
        for _, writer in connections:
            writer.close()


async def related(served: Served) -> None:
    """The provider's relation to the child its feedback is about (issue 19)."""
    async with served.client("swt-denhelder", "procesregisseur") as team:
        await relate_client(team, "zorg-noord", BSN_CHILD)


async def readiness(served: Served) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(served.url + "/readyz") as answer,
    ):
        return answer.status, await answer.json()


async def test_a_few_hundred_half_sent_bodies_do_not_turn_other_callers_away_with_503(
    tmp_path: Path,
) -> None:
    with serving(tmp_path, read_timeout_s=str(READ_TIMEOUT_S)) as served:
        await related(served)
        async with served.client("zorg-noord", "casusregisseur") as provider:
            token = await provider.token()
            async with half_sent_bodies(served, token, HALF_SENT) as connections:
                await asyncio.sleep(0.5)  # every head has arrived and waits for its body
                status, ready = await readiness(served)
                assert (status, ready["status"]) == (200, "ready"), ready
                assert ready["in_flight"] == 0, "a half-sent body holds no slot"
                assert ready["max_in_flight"] == 256
                # A caller with a whole request is served, not refused as overloaded.
                answer = await provider.send(
                    "evaluation-feedback",
                    "swt-denhelder",
                    BSN_CHILD,
                    example("evaluation-feedback"),
                )
                assert answer["disclosures"][0]["recipient"] == "swt-denhelder"
                # The read timeout still cuts the half-sent ones off with 408, then closes.
                for reader, _ in connections[:5]:
                    cut = await asyncio.wait_for(read_answer(reader), WITHIN_S)
                    assert cut is not None
                    assert (cut.status, cut.error()["code"]) == (408, "request_timeout")
                    assert await asyncio.wait_for(closed(reader), WITHIN_S)


async def test_a_body_that_arrives_whole_after_a_pause_is_answered_normally(
    tmp_path: Path,
) -> None:
    """Waiting for the body is not a refusal: once it is complete the call goes through."""
    with serving(tmp_path, read_timeout_s=str(READ_TIMEOUT_S)) as served:
        await related(served)
        async with served.client("zorg-noord", "casusregisseur") as provider:
            token = await provider.token()
            async with half_sent_bodies(served, token, 1) as [(reader, writer)]:
                await asyncio.sleep(1)
                writer.write(exchange_body()[10:])
                answer = await asyncio.wait_for(read_answer(reader), WITHIN_S)
        assert answer is not None
        assert answer.status == 201, answer.body
        assert json.loads(answer.body)["disclosures"][0]["recipient"] == "swt-denhelder"


async def test_readyz_says_shedding_load_while_every_slot_is_taken_and_ready_again_after(
    tmp_path: Path,
) -> None:
    """Three exchanges wait on a write lock held outside the gateway: the cap of three is
    reached, `/readyz` answers 503 `shedding_load` with the count, a fourth call gets
    `503 overloaded`; once the lock is gone all three are acknowledged and readiness returns."""
    with serving(tmp_path, max_in_flight="3") as served:
        await related(served)
        async with contextlib.AsyncExitStack() as stack:
            providers = [
                await stack.enter_async_context(
                    served.client("zorg-noord", "casusregisseur")  # one actor each
                )
                for _ in range(4)
            ]
            for provider in providers:
                await provider.token()
            assert (await readiness(served))[0] == 200
            lock = sqlite3.connect(served.data / "gateway.sqlite3", isolation_level=None)
            try:
                lock.execute("BEGIN IMMEDIATE")  # the gateway's writes now wait
                sends = [
                    asyncio.create_task(
                        provider.send(
                            "evaluation-feedback",
                            "swt-denhelder",
                            BSN_CHILD,
                            example("evaluation-feedback"),
                        )
                    )
                    for provider in providers[:3]
                ]
                deadline = time.monotonic() + WITHIN_S
                while (shed := await readiness(served))[0] != 503:
                    assert time.monotonic() < deadline, shed
                    await asyncio.sleep(0.05)
                status, body = shed
                assert body["status"] == "shedding_load"
                assert (body["in_flight"], body["max_in_flight"]) == (3, 3)
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(
                        served.url + "/v1/inbox",
                        headers={"Authorization": f"Bearer {await providers[3].token()}"},
                    ) as refused,
                ):
                    assert refused.status == 503
                    assert (await refused.json())["error"]["code"] == "overloaded"
                    assert refused.headers["Retry-After"] == "1"
            finally:
                if lock.in_transaction:
                    lock.execute("ROLLBACK")
                lock.close()
            answers = await asyncio.wait_for(asyncio.gather(*sends), WITHIN_S)
            assert all(a["disclosures"][0]["recipient"] == "swt-denhelder" for a in answers)
            status, body = await readiness(served)
            assert (status, body["status"], body["in_flight"]) == (200, "ready", 0)
