"""`gateway serve` when its storage is not there yet: it waits (storage_wait_s), then serves or
says plainly that it gave up; and gateway.toml's storage timeouts are read and checked."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import pytest

from gateway.config import ConfigError, load_settings
from gateway.runtime import build_gateway
from gateway.store.base import SchemaVersionError, StorageUnusable
from gateway.store.postgres import PostgresStorage
from gateway.store.sqlite import SqliteStorage
from tests.conftest import copy_config
from tests.storage_fixtures import POSTGRES_DSN, require_postgres

GATEWAY = [sys.executable, "-m", "gateway.cli"]


def _config(tmp_path: Path, **settings: str) -> Path:
    config = copy_config(tmp_path / "config")
    toml = config / "gateway.toml"
    kept = [
        line for line in toml.read_text().splitlines() if line.split("=")[0].strip() not in settings
    ]
    # First in the file: top-level keys, before any [table].
    toml.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()) + "\n".join(kept) + "\n")
    return config


def _serve(config: Path, data: Path, storage: str) -> list[str]:
    command = [
        *GATEWAY,
        "serve",
        "--config",
        str(config),
        "--data",
        str(data),
        "--port",
        "0",
        "--metrics-port",
        "0",
    ]
    return [*command, "--storage", storage]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _through(port: int, schema: str) -> str:
    """POSTGRES_DSN (its user, password and parameters kept), reached through 127.0.0.1:port,
    with the gateway's tables in `schema`."""
    parts = urlsplit(POSTGRES_DSN)
    credentials = parts.netloc.rpartition("@")[0]
    query = "&".join(q for q in (parts.query, f"schema={schema}") if q)
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@contextlib.contextmanager
def _forwarder(port: int) -> Iterator[None]:
    """Relay 127.0.0.1:port to the test PostgreSQL until the block ends (a database that comes
    up while the gateway is waiting for it)."""
    target = urlsplit(POSTGRES_DSN)
    stopped = threading.Event()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(
            target.hostname or "127.0.0.1", target.port or 5432
        )
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def main() -> None:
        server = await asyncio.start_server(relay, "127.0.0.1", port)
        async with server:
            await asyncio.to_thread(stopped.wait)

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopped.set()
        thread.join(timeout=10)


async def _drop_schema(schema: str) -> None:
    conn = await asyncpg.connect(POSTGRES_DSN)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


def test_storage_that_never_comes_is_given_up_after_storage_wait_s(tmp_path: Path) -> None:
    config = _config(tmp_path, storage_wait_s="1.5")
    began = time.monotonic()
    result = subprocess.run(
        _serve(config, tmp_path / "data", _through(_free_port(), "never_there")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    waited = time.monotonic() - began
    assert result.returncode == 2, result.stderr
    assert "storage not reachable yet" in result.stderr
    assert "gave up after storage_wait_s = 1.5 s" in result.stderr
    assert waited >= 1.5
    assert "listening on" not in result.stdout


@pytest.mark.slow
async def test_the_gateway_waits_for_storage_that_starts_after_it(tmp_path: Path) -> None:
    await require_postgres()
    schema = f"test_{secrets.token_hex(6)}"
    port = _free_port()
    config = _config(tmp_path, storage_wait_s="60")
    process = await asyncio.create_subprocess_exec(
        *_serve(config, tmp_path / "data", _through(port, schema)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        # The database comes up only once the gateway has said it is waiting for it.
        waiting = ""
        while "storage not reachable yet" not in waiting:
            waiting = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
            assert waiting, "the gateway ended without waiting for storage"
        with _forwarder(port):
            line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()
            assert line.startswith("listening on http://127.0.0.1:"), line
            url = line.removeprefix("listening on ")
            assert await asyncio.to_thread(_get, url + "/readyz") == 200
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await _drop_schema(schema)


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return int(response.status)


def test_storage_timeouts_are_read_from_gateway_toml(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, storage_timeout_s="7", storage_wait_s="0"))
    assert (settings.storage_timeout_s, settings.storage_wait_s) == (7.0, 0.0)
    gw = build_gateway(tmp_path / "config", tmp_path / "data", POSTGRES_DSN)
    assert isinstance(gw.storage, PostgresStorage)
    assert gw.storage.operation_timeout_s == 7.0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("storage_wait_s", "-1"),
        ("storage_wait_s", "inf"),
        ("storage_timeout_s", "0.5"),
        ("storage_timeout_s", "0"),
    ],
)
def test_bad_storage_timeouts_are_refused(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_settings(_config(tmp_path, **{key: value}))


def _gateway(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run a gateway command to its end; its exit code and output, never raising on failure."""
    return subprocess.run(
        [*GATEWAY, *arguments], capture_output=True, text=True, timeout=60, check=False
    )


def _not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.sqlite3"
    path.write_bytes(b"not a database: a text file where the database should be\n" * 20)
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "0", "--metrics-port", "0"],
        ["migrate"],
        ["log", "verify"],
        ["log", "export", "--format", "fhir"],
    ],
    ids=["serve", "migrate", "log-verify", "log-export"],
)
def test_a_file_that_is_no_database_stops_the_command_at_once_with_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    # storage_wait_s is long: storage that can never work must not be waited for.
    config = _config(tmp_path, storage_wait_s="600")
    database = _not_a_database(tmp_path)
    before = database.read_bytes()
    data = tmp_path / "data"
    made = [*GATEWAY, "keys", "init", "--keys-dir", str(data / "keys")]
    subprocess.run(made, capture_output=True, check=True, timeout=60)
    arguments = ["--config", str(config), "--data", str(data)]
    result = _gateway(*command, *arguments, "--storage", f"sqlite:///{database}")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"gateway: storage: {database} cannot be this gateway's SQLite database (file is not a "
        "database); point --storage at the gateway's own database, or at a path where a new one "
        "can be created"
    ]
    assert "listening on" not in result.stdout
    assert database.read_bytes() == before


def test_a_database_path_whose_folder_cannot_be_made_stops_serve_with_the_fix(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, storage_wait_s="600")
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the database's folder should be\n")
    database = blocker / "gateway.sqlite3"
    data = str(tmp_path / "data")
    result = _gateway(
        "serve",
        "--config",
        str(config),
        "--data",
        data,
        "--port",
        "0",
        "--metrics-port",
        "0",
        "--storage",
        f"sqlite:///{database}",
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"gateway: storage: cannot create the SQLite database {database}: {blocker} is not a "
        "folder; point --storage (or --data) at a folder this user may write"
    ]
    assert "Traceback" not in result.stderr


async def test_sqlite_reports_an_unusable_file_apart_from_storage_that_is_not_up_yet(
    tmp_path: Path,
) -> None:
    with pytest.raises(StorageUnusable, match="file is not a database"):
        await SqliteStorage(_not_a_database(tmp_path)).open()
    # A wrong schema version is one way storage cannot be used: callers catch one error.
    assert issubclass(SchemaVersionError, StorageUnusable)


async def test_a_folder_where_the_database_should_be_is_unusable(tmp_path: Path) -> None:
    # SQLite answers SQLITE_CANTOPEN_ISDIR, an extended code of SQLITE_CANTOPEN.
    (tmp_path / "gateway.sqlite3").mkdir()
    with pytest.raises(StorageUnusable, match="unable to open database file"):
        await SqliteStorage(tmp_path / "gateway.sqlite3").open()


async def test_a_damaged_database_is_unusable_and_left_as_it_is(tmp_path: Path) -> None:
    database = tmp_path / "gateway.sqlite3"
    made = SqliteStorage(database)
    await made.open()
    await made.close()
    with database.open("r+b") as damaged:
        damaged.seek(100)  # past the 100-byte header: the schema's own page
        damaged.write(b"\xff" * 3000)
    before = database.read_bytes()
    with pytest.raises(StorageUnusable, match="malformed"):
        await SqliteStorage(database).open()
    assert database.read_bytes() == before


async def test_a_writer_lock_file_that_cannot_be_opened_stops_open_instead_of_hanging_writes(
    tmp_path: Path,
) -> None:
    database = tmp_path / "gateway.sqlite3"
    made = SqliteStorage(database)
    await made.open()
    await made.close()
    lock = tmp_path / "gateway.sqlite3-writer.lock"
    lock.unlink()
    lock.mkdir()  # not openable for writing, even by root
    storage = SqliteStorage(database)
    with pytest.raises(StorageUnusable, match=r"writer\.lock: Is a directory"):
        await storage.open()
    await storage.close()


def test_log_verify_without_the_gateways_keys_says_so_and_makes_none(tmp_path: Path) -> None:
    data = tmp_path / "not-a-gateway-data-folder"
    config = copy_config(tmp_path / "c")
    result = _gateway("log", "verify", "--config", str(config), "--data", str(data))
    assert result.returncode == 2, result.stderr
    assert "no log signing key in" in result.stderr
    assert "Traceback" not in result.stderr
    assert not data.exists()
