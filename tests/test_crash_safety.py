"""A gateway killed with SIGKILL loses no acknowledged exchange and signs what it left unsigned.

The real server runs as a subprocess (`gateway serve --port 0`); partners send concurrently over
HTTP; the process is killed mid-stream; a new process on the same data folder must show every
acknowledged disclosure at the log index it was acknowledged with, cover the whole log with a
signed checkpoint, and leave a log that `gateway log verify` accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.client.http import PartnerClient
from gateway.config import load_settings
from tests.conftest import BSN_CHILD, BSN_OTHER, REPO, example, private_jwks
from tests.helpers import relate_client

pytestmark = pytest.mark.slow

# The installed console script, as operators run it.
GATEWAY = str(Path(sys.executable).with_name("gateway"))
CONFIG = REPO / "config"
AUDIENCE = load_settings(CONFIG).id
START_TIMEOUT_S = 20
POLL_S = 0.02
KILL_ATTEMPTS = 5


@pytest.fixture
def backend() -> str:
    """These tests read the SQLite file itself."""
    return "sqlite"


@dataclass
class ServerProcess:
    """One `gateway serve` process, its URL and everything it printed."""

    process: asyncio.subprocess.Process
    url: str
    output: list[str] = field(default_factory=list)

    killed: bool = False

    def sigkill(self) -> None:
        """SIGKILL: no shutdown hook, no final integration, nothing flushed on the way out."""
        # Signal once only: a second kill() polls, and so reaps, the dead child before asyncio's
        # child watcher can, which then reports exit code 255 instead of -SIGKILL.
        if not self.killed and self.process.returncode is None:
            self.killed = True
            self.process.kill()

    async def kill(self) -> None:
        self.sigkill()
        await asyncio.wait_for(self.process.wait(), timeout=10)

    async def stop(self) -> int:
        """SIGTERM, then the exit code of a clean shutdown."""
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout=15)

    def tail(self) -> str:
        """The last lines it printed, to explain a failure."""
        return "\n".join(self.output[-30:])


StartServer = Callable[[Path], Awaitable[ServerProcess]]


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    started: list[ServerProcess] = []
    drains: list[asyncio.Task[None]] = []

    async def start(data: Path) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if k != "GATEWAY_ENV"}
        process = await asyncio.create_subprocess_exec(
            GATEWAY,
            "serve",
            "--config",
            str(CONFIG),
            "--data",
            str(data),
            "--port",
            "0",
            "--metrics-port",
            "0",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=REPO,
            env=env,
        )
        output: list[str] = []
        listening: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def drain() -> None:
            # Keep reading, so a chatty server never blocks on a full pipe.
            assert process.stdout is not None
            async for raw in process.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                output.append(line)
                found = re.search(r"listening on (http://\S+)", line)
                if found and not listening.done():
                    listening.set_result(found.group(1))
            if not listening.done():
                listening.set_exception(RuntimeError("server exited:\n" + "\n".join(output)))

        drains.append(asyncio.create_task(drain()))
        server = ServerProcess(process, "")
        started.append(server)
        server.url = await asyncio.wait_for(listening, timeout=START_TIMEOUT_S)
        server.output = output
        return server

    yield start
    for server in started:
        await server.kill()
    for task in drains:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=5)


def client(url: str, partner: str, role: str, actor: str) -> PartnerClient:
    return PartnerClient(
        url,
        partner_id=partner,
        private_jwks=private_jwks(partner),
        actor_id=actor,
        actor_role=role,
        audience=AUDIENCE,
    )


async def related(url: str) -> None:
    """The provider's relation to the children its feedback is about (issue 19)."""
    async with client(url, "swt-denhelder", "procesregisseur", "swt-denhelder-actor-1") as team:
        await relate_client(team, "zorg-noord", BSN_CHILD, BSN_OTHER)


async def feedback(sender: PartnerClient, n: int) -> tuple[str, int]:
    """Send one evaluation feedback; return its acknowledged (disclosure_id, log_index)."""
    answer = await sender.send(
        "evaluation-feedback",
        "swt-denhelder",
        BSN_CHILD if n % 2 else BSN_OTHER,
        example("evaluation-feedback"),
    )
    [disclosure] = answer["disclosures"]
    return disclosure["disclosure_id"], disclosure["log_index"]


def signed_and_stored(data: Path) -> tuple[int, int]:
    """(largest signed size, number of entries) straight from a stopped gateway's database."""
    with contextlib.closing(sqlite3.connect(data / "gateway.sqlite3")) as db:
        (signed,) = db.execute("SELECT COALESCE(MAX(size), 0) FROM checkpoints").fetchone()
        (stored,) = db.execute("SELECT COUNT(*) FROM log_entries").fetchone()
    return int(signed), int(stored)


async def whole_log(officer: PartnerClient) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    params = {"limit": "500"}
    while True:
        page = await officer.request("GET", "/v1/audit/entries", params=params)
        entries.extend(page["entries"])
        if page["next"] is None:
            return entries
        params = {"limit": "500", "after": page["next"]}


async def signed_size(officer: PartnerClient) -> int | None:
    token = await officer.token()
    async with officer.session.get(
        officer.base_url + "/v1/audit/checkpoint", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        if response.status == 404:
            return None
        assert response.status == 200
        return int((await response.text()).split("\n")[1])


async def wait_until_signed(officer: PartnerClient, size: int) -> int:
    """Poll the checkpoint until it covers `size` entries (the contract allows 2 s)."""
    async with asyncio.timeout(10):
        while True:
            signed = await signed_size(officer)
            if signed is not None and signed >= size:
                return signed
            await asyncio.sleep(POLL_S)


async def log_verify(data: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        GATEWAY,
        "log",
        "verify",
        "--data",
        str(data),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_every_acknowledged_exchange_survives_a_sigkill_mid_stream(
    start_server: StartServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = await start_server(data)
    await related(server.url)
    acknowledged: list[tuple[str, int]] = []
    killed = asyncio.Event()

    async def partner_system(n: int) -> None:
        async with client(
            server.url, "zorg-noord", "casusregisseur", f"zorg-noord-worker-{n}"
        ) as sender:
            for i in range(25):
                if killed.is_set():
                    return
                try:
                    acknowledged.append(await feedback(sender, i))
                except aiohttp.ClientError:
                    if killed.is_set():
                        return  # the connection died with the server: not acknowledged
                    raise
                if len(acknowledged) >= 50 and not killed.is_set():
                    killed.set()
                    server.sigkill()

    async with asyncio.timeout(60):
        await asyncio.gather(*(partner_system(n) for n in range(4)))
        await server.kill()
    assert killed.is_set()
    assert server.process.returncode == -signal.SIGKILL
    assert 50 <= len(acknowledged) < 100
    assert len({index for _, index in acknowledged}) == len(acknowledged)

    restarted = await start_server(data)
    async with (
        asyncio.timeout(60),
        client(restarted.url, "fg-denhelder", "privacy_officer", "fg-denhelder-auditor") as officer,
    ):
        entries = await whole_log(officer)
        assert [e["index"] for e in entries] == list(range(len(entries)))
        assert len(entries) >= max(index for _, index in acknowledged) + 1
        for disclosure_id, index in acknowledged:
            assert entries[index]["decision"] == "disclosed"
            assert entries[index]["disclosure_id"] == disclosure_id
        assert await wait_until_signed(officer, len(entries)) == len(entries)

    assert await restarted.stop() == 0, restarted.tail()
    code, output = await log_verify(data)
    assert code == 0, output
    assert f"{len(entries)} entries" in output


async def test_entries_acknowledged_but_unsigned_at_a_crash_are_signed_after_restart(
    start_server: StartServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    acknowledged: list[tuple[str, int]] = []
    # The sequencer signs every 0.5 s, so a kill right after a quick burst almost always lands
    # before it; should it not, the next attempt adds another burst and kills again.
    for attempt in range(KILL_ATTEMPTS):
        server = await start_server(data)
        if attempt == 0:
            await related(server.url)
        async with (
            asyncio.timeout(30),
            client(server.url, "zorg-noord", "casusregisseur", "zorg-noord-actor-1") as sender,
        ):
            for i in range(3):
                acknowledged.append(await feedback(sender, i))
            server.sigkill()
        await server.kill()
        signed, stored = signed_and_stored(data)
        if signed < stored:
            break
    else:
        pytest.fail(f"the sequencer signed everything before the kill in {KILL_ATTEMPTS} tries")
    last = max(index for _, index in acknowledged)
    assert signed <= last < stored

    restarted = await start_server(data)
    async with (
        asyncio.timeout(30),
        client(restarted.url, "fg-denhelder", "privacy_officer", "fg-denhelder-auditor") as officer,
    ):
        covered = await wait_until_signed(officer, stored)
        entries = await whole_log(officer)
        assert len(entries) >= last + 1
        assert covered >= len(entries)
        for disclosure_id, index in acknowledged:
            assert entries[index]["disclosure_id"] == disclosure_id
        proof = await officer.request(
            "GET",
            "/v1/audit/proof/inclusion",
            params={"index": str(last), "tree_size": str(covered)},
        )
        assert proof["index"] == last
    assert await restarted.stop() == 0, restarted.tail()
