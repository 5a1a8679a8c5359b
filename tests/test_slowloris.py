"""A client trickling its request is cut off; everyone else is served as before.

One real `gateway serve` process (one worker, SQLite) runs with `read_timeout_s = 1` and
`keepalive_timeout_s = 4`; the tests talk to it over raw sockets, byte by byte where needed.
Bounds are generous (seconds, not fractions): they say "is cut off", not "exactly when".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gateway.client.http import PartnerClient
from gateway.config import load_settings
from gateway.config.errors import ConfigError
from gateway.web.read_timeout import ReadTimeoutRunner
from tests.conftest import BSN_CHILD, copy_config, example, private_jwks
from tests.helpers import relate_client

pytestmark = pytest.mark.slow

GATEWAY = str(Path(sys.executable).with_name("gateway"))
READ_TIMEOUT_S = 1
KEEPALIVE_TIMEOUT_S = 4
TRICKLE_S = 0.3  # one byte every TRICKLE_S: the whole head would take far longer than the limit
CUT_WITHIN_S = 10.0  # generous: cut off well before this, whatever the machine's load
START_TIMEOUT_S = 30
SERVE_ARGS = (
    "--port",
    "0",
    "--metrics-port",
    "0",
    "--workers",
    "1",
)  # one worker: a slow client must not stall it


@dataclass(frozen=True)
class Served:
    """The gateway process under test: where it listens, its data and its log output."""

    host: str
    port: int
    config: Path
    data: Path
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self, partner_id: str, role: str) -> PartnerClient:
        return PartnerClient(
            self.url,
            partner_id=partner_id,
            private_jwks=private_jwks(partner_id),
            actor_id=f"{partner_id}-slowloris",
            actor_role=role,
            audience=load_settings(self.config).id,
        )

    def stored(self) -> tuple[int, int]:
        """(log entries, inbox messages), read from the live SQLite file."""
        uri = f"file:{self.data / 'gateway.sqlite3'}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            (entries,) = db.execute("SELECT COUNT(*) FROM log_entries").fetchone()
            (messages,) = db.execute("SELECT COUNT(*) FROM inbox").fetchone()
        return int(entries), int(messages)


def set_setting(config: Path, key: str, value: str) -> None:
    """Set a top-level key of gateway.toml: replace its line, or add one at the very top."""
    path = config / "gateway.toml"
    text = path.read_text()
    line = re.compile(rf"^{key}\s*=.*$", re.MULTILINE)
    if line.search(text):
        path.write_text(line.sub(lambda _: f"{key} = {value}", text, count=1))
    else:  # at the top, so the key stays top-level whatever tables the file ends with
        path.write_text(f"{key} = {value}\n{text}")


@contextlib.contextmanager
def serving(root: Path, **settings: str) -> Iterator[Served]:
    """`gateway serve` on a config copy with `settings` set; stopped at the end."""
    config = copy_config(root / "config")
    for key, value in settings.items():
        set_setting(config, key, value)
    out_file, log_file = root / "stdout.txt", root / "stderr.txt"
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_ENV"}
    command = [GATEWAY, "serve", "--config", str(config), "--data", str(root / "data")]
    with out_file.open("w") as out, log_file.open("w") as err:
        process = subprocess.Popen(
            [*command, *SERVE_ARGS],
            stdout=out,
            stderr=err,
            env=env,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (found := re.search(r"listening on http://([\d.]+):(\d+)", out_file.read_text())):
            assert process.poll() is None, log_file.read_text()
            assert time.monotonic() < deadline, "gateway did not start"
            time.sleep(0.05)
        yield Served(found.group(1), int(found.group(2)), config, root / "data", log_file)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(
        tmp_path_factory.mktemp("slowloris"),
        read_timeout_s=str(READ_TIMEOUT_S),
        keepalive_timeout_s=str(KEEPALIVE_TIMEOUT_S),
    ) as running:
        yield running


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> dict[str, Any]:
        """The contract's error object, after checking the shape."""
        assert self.headers["content-type"].startswith("application/json")
        parsed = json.loads(self.body)
        assert set(parsed) == {"error"}, parsed
        error: dict[str, Any] = parsed["error"]
        assert error["message"]
        assert error["how_to_fix"]
        return error


async def read_answer(reader: asyncio.StreamReader) -> RawAnswer | None:
    """One HTTP/1.1 answer (with Content-Length), or None when the server closed first."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as short:
        if short.partial:
            raise AssertionError(f"a cut-off answer: {short.partial!r}") from None
        return None
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return RawAnswer(int(status_line.split()[1]), headers, body)


async def trickle(writer: asyncio.StreamWriter, data: bytes) -> int:
    """Send `data` a byte every TRICKLE_S until done or the server hangs up; bytes sent."""
    sent = 0
    with contextlib.suppress(ConnectionError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            sent += 1
            await asyncio.sleep(TRICKLE_S)
    return sent


async def closed(reader: asyncio.StreamReader) -> bool:
    """True once the server has closed the connection (the read ends without data)."""
    try:
        return await reader.read(1) == b""
    except ConnectionError:
        return True


def request_head(method: str, path: str, served: Served, **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {served.host}:{served.port}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def exchange_body() -> bytes:
    return json.dumps(
        {
            "purpose": "evaluation-feedback",
            "to": "swt-denhelder",
            "subject": {"bsn": BSN_CHILD},
            "payload": example("evaluation-feedback"),
        }
    ).encode()


async def test_a_head_trickled_a_byte_at_a_time_is_answered_408_and_cut_off(
    served: Served,
) -> None:
    head = request_head("GET", "/healthz", served, User_Agent="slowloris-test", Accept="*/*")
    reader, writer = await asyncio.open_connection(served.host, served.port)
    sending = asyncio.create_task(trickle(writer, head))
    try:
        answer = await asyncio.wait_for(read_answer(reader), CUT_WITHIN_S)
        assert await asyncio.wait_for(closed(reader), CUT_WITHIN_S)
        sent = await asyncio.wait_for(sending, CUT_WITHIN_S)
    finally:
        sending.cancel()
        writer.close()
    assert sent < len(head), "the server must hang up before the head is complete"
    assert answer is not None
    assert answer.status == 408
    assert answer.error()["code"] == "request_timeout"
    assert answer.headers["connection"] == "close"


async def test_a_connection_that_sends_nothing_is_closed_without_an_answer(
    served: Served,
) -> None:
    reader, writer = await asyncio.open_connection(served.host, served.port)
    try:
        assert await asyncio.wait_for(reader.read(), CUT_WITHIN_S) == b""
    finally:
        writer.close()


async def test_a_body_trickled_slower_than_the_limit_gets_408_and_changes_nothing(
    served: Served,
) -> None:
    async with served.client("zorg-noord", "casusregisseur") as provider:
        token = await provider.token()
    before = served.stored()
    body = exchange_body()
    head = request_head(
        "POST",
        "/v1/exchanges",
        served,
        Authorization=f"Bearer {token}",
        Content_Type="application/json",
        Content_Length=str(len(body)),
    )
    reader, writer = await asyncio.open_connection(served.host, served.port)
    writer.write(head)
    sending = asyncio.create_task(trickle(writer, body))
    try:
        answer = await asyncio.wait_for(read_answer(reader), CUT_WITHIN_S)
        assert await asyncio.wait_for(closed(reader), CUT_WITHIN_S)
        sent = await asyncio.wait_for(sending, CUT_WITHIN_S)
    finally:
        sending.cancel()
        writer.close()
    assert answer is not None
    assert answer.status == 408
    assert answer.error()["code"] == "request_timeout"
    assert sent < len(body)
    assert served.stored() == before, "a request cut off must leave the log and inboxes alone"
    logged = served.log_file.read_text()
    assert '"part": "body"' in logged or "part=body" in logged
    assert BSN_CHILD not in logged


async def test_a_normal_request_and_a_kept_alive_second_one_still_work(served: Served) -> None:
    reader, writer = await asyncio.open_connection(served.host, served.port)
    try:
        writer.write(request_head("GET", "/healthz", served))
        first = await asyncio.wait_for(read_answer(reader), CUT_WITHIN_S)
        # Idle for longer than the read timeout: idle time is the keep-alive timeout's business.
        await asyncio.sleep(READ_TIMEOUT_S * 2)
        writer.write(request_head("GET", "/readyz", served))
        second = await asyncio.wait_for(read_answer(reader), CUT_WITHIN_S)
        # Idle past the keep-alive timeout: the server closes the connection.
        assert await asyncio.wait_for(closed(reader), KEEPALIVE_TIMEOUT_S + CUT_WITHIN_S)
    finally:
        writer.close()
    assert first is not None
    assert (first.status, json.loads(first.body)["status"]) == (200, "ok")
    assert second is not None
    assert (second.status, json.loads(second.body)["status"]) == (200, "ready")


async def related(served: Served) -> None:
    """The provider's relation to the child its feedback is about (issue 19)."""
    async with served.client("swt-denhelder", "procesregisseur") as team:
        await relate_client(team, "zorg-noord", BSN_CHILD)


async def test_an_exchange_sent_at_once_is_acknowledged(served: Served) -> None:
    await related(served)
    async with served.client("zorg-noord", "casusregisseur") as provider:
        answer = await provider.send(
            "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
        )
    assert answer["disclosures"][0]["recipient"] == "swt-denhelder"


async def test_a_pipelined_head_trickled_after_a_complete_request_is_cut_off(
    served: Served,
) -> None:
    """The complete request is answered; the trickled head behind it gets the 408."""
    complete = request_head("GET", "/healthz", served)
    late = request_head("GET", "/healthz", served, User_Agent="slowloris-test")
    reader, writer = await asyncio.open_connection(served.host, served.port)
    writer.write(complete + late[:5])
    sending = asyncio.create_task(trickle(writer, late[5:]))
    try:
        first = await asyncio.wait_for(read_answer(reader), CUT_WITHIN_S)
        second = await asyncio.wait_for(read_answer(reader), CUT_WITHIN_S)
        assert await asyncio.wait_for(closed(reader), CUT_WITHIN_S)
        sent = await asyncio.wait_for(sending, CUT_WITHIN_S)
    finally:
        sending.cancel()
        writer.close()
    assert first is not None
    assert first.status == 200
    assert second is not None
    assert second.status == 408
    assert second.error()["code"] == "request_timeout"
    assert sent < len(late) - 5


async def test_other_clients_are_served_while_slow_ones_hang(served: Served) -> None:
    await related(served)
    slow_head = request_head("GET", "/healthz", served, User_Agent="x" * 200)
    body = exchange_body()
    async with served.client("zorg-noord", "casusregisseur") as provider:
        token = await provider.token()
        slow_body_head = request_head(
            "POST",
            "/v1/exchanges/check",
            served,
            Authorization=f"Bearer {token}",
            Content_Type="application/json",
            Content_Length=str(len(body)),
        )
        connections = [await asyncio.open_connection(served.host, served.port) for _ in range(4)]
        connections[3][1].write(slow_body_head)
        sending = [
            asyncio.create_task(trickle(writer, body if n == 3 else slow_head))
            for n, (_, writer) in enumerate(connections)
        ]
        try:
            await asyncio.sleep(TRICKLE_S * 2)  # the slow ones are under way
            assert all(not task.done() for task in sending)
            # Meanwhile a partner works as usual, several times over.
            for _ in range(3):
                checked = await provider.check(
                    "evaluation-feedback",
                    "swt-denhelder",
                    BSN_CHILD,
                    example("evaluation-feedback"),
                )
                assert checked["allowed"] is True
            # ... and every slow client is cut off in the end.
            for reader, _ in connections:
                answer = await asyncio.wait_for(read_answer(reader), CUT_WITHIN_S)
                assert answer is not None
                assert answer.status == 408
                assert await asyncio.wait_for(closed(reader), CUT_WITHIN_S)
        finally:
            for task in sending:
                task.cancel()
            for _, writer in connections:
                writer.close()


# -- the runner itself, around a small app whose handlers are slow or ignore the body ------------

SLOW_HANDLER_S = 2.5  # longer than the read timeout: a request is still in flight when it fires


@dataclass(frozen=True)
class Site:
    host: str
    port: int


@pytest.fixture
async def small_site() -> AsyncIterator[Site]:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(SLOW_HANDLER_S)
        return web.json_response({"status": "slow"})

    async def ignores_body(request: web.Request) -> web.Response:
        return web.json_response({"status": "ignored"})

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_post("/ignore", ignores_body)
    runner = ReadTimeoutRunner(app, read_timeout_s=READ_TIMEOUT_S, access_log=None)
    await runner.setup()
    with socket.socket() as sock:  # bound first and handed over, as gateway.server does
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        await web.SockSite(runner, sock).start()
        try:
            yield Site(*sock.getsockname()[:2])
        finally:
            await runner.cleanup()


async def test_a_head_trickled_behind_a_request_in_flight_is_dropped_after_its_answer(
    small_site: Site,
) -> None:
    late = b"GET /slow HTTP/1.1\r\nHost: x\r\nUser-Agent: slowloris-test\r\n\r\n"
    reader, writer = await asyncio.open_connection(small_site.host, small_site.port)
    writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n" + late[:5])
    sending = asyncio.create_task(trickle(writer, late[5:]))
    try:
        first = await asyncio.wait_for(read_answer(reader), SLOW_HANDLER_S + CUT_WITHIN_S)
        # The request in flight is answered in full; the late head gets no answer of its own.
        second = await asyncio.wait_for(read_answer(reader), CUT_WITHIN_S)
        sent = await asyncio.wait_for(sending, CUT_WITHIN_S)
    finally:
        sending.cancel()
        writer.close()
    assert first is not None
    assert (first.status, json.loads(first.body)) == (200, {"status": "slow"})
    assert second is None
    assert sent < len(late) - 5


async def test_a_body_nobody_reads_is_cut_off_quietly_after_the_answer(
    small_site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    body = b'{"padding": "' + b"x" * 200 + b'"}'
    head = (
        "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(small_site.host, small_site.port)
    writer.write(head)
    sending = asyncio.create_task(trickle(writer, body))
    try:
        with caplog.at_level(logging.DEBUG, logger="aiohttp"):
            answer = await asyncio.wait_for(read_answer(reader), CUT_WITHIN_S)
            assert await asyncio.wait_for(closed(reader), CUT_WITHIN_S)
            sent = await asyncio.wait_for(sending, CUT_WITHIN_S)
    finally:
        sending.cancel()
        writer.close()
    assert answer is not None
    assert (answer.status, json.loads(answer.body)) == (200, {"status": "ignored"})
    assert sent < len(body)
    # aiohttp drains an unread body after the answer; the deadline ends that drain as a timeout,
    # not as an "Unhandled exception".
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_the_runner_refuses_a_read_timeout_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="read_timeout_s must be positive"):
        ReadTimeoutRunner(web.Application(), read_timeout_s=0)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("read_timeout_s = 0", "'read_timeout_s' must be a positive number of seconds"),
        ("read_timeout_s = -2.5", "'read_timeout_s' must be a positive number of seconds"),
        ("read_timeout_s = inf", "'read_timeout_s' must be a positive number of seconds"),
        ('read_timeout_s = "10"', "'read_timeout_s' must be a float, not str"),
        ("keepalive_timeout_s = 0", "'keepalive_timeout_s' must be a positive number of seconds"),
    ],
)
def test_a_bad_timeout_setting_stops_the_gateway_with_a_clear_message(
    tmp_path: Path, line: str, problem: str
) -> None:
    config = copy_config(tmp_path / "config")
    set_setting(config, *line.split(" = "))
    with pytest.raises(ConfigError, match=re.escape(problem)) as refused:
        load_settings(config)
    assert "gateway.toml" in str(refused.value)


def test_timeouts_default_to_ten_and_seventy_five_seconds_and_take_fractions(
    tmp_path: Path,
) -> None:
    config = copy_config(tmp_path / "config")
    shipped = load_settings(config)
    assert (shipped.read_timeout_s, shipped.keepalive_timeout_s) == (10.0, 75.0)
    set_setting(config, "read_timeout_s", "2.5")
    set_setting(config, "keepalive_timeout_s", "30")
    tuned = load_settings(config)
    assert (tuned.read_timeout_s, tuned.keepalive_timeout_s) == (2.5, 30.0)
