"""The log's origin and the keys that made the database are the log's own, stored with it.

A verifier without the configuration folder still verifies the log under its own origin; a
configuration naming another origin stops `gateway serve`; an instance with other keys (a
second instance with its own keys folder on a shared database, or a data folder mixed up on
one machine) refuses to start instead of splitting every subject's pseudonym; `gateway keys
rotate` records the new keys' fingerprints beside the retired ones. Real `gateway` processes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from gateway.datadir import DataDir
from gateway.identity import FINGERPRINT_LABEL, IDENTITY_KEYS, key_fingerprint
from gateway.runtime import DEFAULT_CONFIG
from gateway.store.schema import SQLITE_MIGRATIONS
from tests.conftest import copy_config
from tests.storage_fixtures import POSTGRES_DSN, require_postgres

# What schemas 9 to 13 added to existing tables, undone first to make a log from before schema 8.
UNDO_SCHEMA_9 = [
    "ALTER TABLE case_network DROP COLUMN care_column",  # schema 13's
    "ALTER TABLE case_network DROP COLUMN measure",
    "ALTER TABLE household DROP COLUMN directed_by",
    "DROP INDEX expectations_by_case",  # schema 11's
    "ALTER TABLE expectations DROP COLUMN cancelled_reason",  # schema 12's
    "DROP INDEX log_by_subject_purpose",  # schema 10's
    "DROP INDEX household_by_subject",
    "DROP INDEX expectations_by_subject",
    "DROP INDEX consents_by_retention",
    "DROP INDEX consents_by_term_known",
    "ALTER TABLE consents DROP COLUMN retain_ms",
    "ALTER TABLE consents DROP COLUMN term_known",
]
# The tables schemas 8 and later made: dropped (with the version set back) to make a log from
# before schema 8.
SCHEMA_8_TABLES = [
    match
    for version, statements in SQLITE_MIGRATIONS
    if version >= 8
    for statement in statements
    for match in re.findall(r"CREATE TABLE (\w+)", statement)
]

GATEWAY = str(Path(sys.executable).with_name("gateway"))
ORIGIN = "gemeente-elders.example/gateway-log"


def _with_origin(tmp_path: Path, origin: str, name: str = "config") -> Path:
    config = copy_config(tmp_path / name)
    toml = config / "gateway.toml"
    kept = [line for line in toml.read_text().splitlines() if not line.startswith("log_origin")]
    toml.write_text(f'log_origin = "{origin}"\n' + "\n".join(kept) + "\n")
    return config


def _gateway(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GATEWAY, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _serve_args(config: Path, data: Path, storage: str | None) -> list[str]:
    args = ["serve", "--config", str(config), "--data", str(data), "--port", "0"]
    return args if storage is None else [*args, "--storage", storage]


class Served:
    """A `gateway serve` process that said it listens."""

    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 30)


async def _start(config: Path, data: Path, storage: str | None = None) -> Served:
    process = await asyncio.create_subprocess_exec(
        GATEWAY,
        *_serve_args(config, data, storage),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    assert process.stderr is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    if "listening on" not in line:
        process.kill()
        await process.wait()
        error = (await process.stderr.read()).decode()
        raise AssertionError(f"gateway serve did not start: {line!r} {error}")
    return Served(process, line.split("listening on ", 1)[1].strip())


async def _refused(config: Path, data: Path, storage: str | None = None) -> str:
    """Run `gateway serve` that must refuse: its one-line error (exit code 2 checked)."""
    done = await asyncio.to_thread(_gateway, *_serve_args(config, data, storage), timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "listening on" not in done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


async def _log_something(served: Served) -> None:
    """A refused token request: one log entry, signed by the sequencer within a second."""
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            served.url + "/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": "not.a.jwt",
            },
        ) as answer,
    ):
        assert answer.status in (400, 401)


def _sqlite(data: Path) -> sqlite3.Connection:
    return sqlite3.connect(data / "gateway.sqlite3", isolation_level=None)


# -- the origin ----------------------------------------------------------------------------------


@pytest.fixture
async def made_elsewhere(tmp_path: Path) -> Path:
    """A data folder whose log was made under ORIGIN by `gateway serve`, with a signed entry."""
    config = _with_origin(tmp_path, ORIGIN)
    data = tmp_path / "data"
    served = await _start(config, data)
    try:
        await _log_something(served)
    finally:
        await served.stop()  # a clean stop signs what is left
    return data


async def test_the_origin_is_stored_with_the_log_at_its_first_start(made_elsewhere: Path) -> None:
    with _sqlite(made_elsewhere) as db:
        stored = db.execute("SELECT value FROM meta WHERE key = 'log_origin'").fetchone()
        notes = [r[0] for r in db.execute("SELECT note FROM checkpoints ORDER BY size")]
    assert stored == (ORIGIN,)
    assert notes
    assert all(note.startswith(ORIGIN + "\n") for note in notes)


async def test_log_verify_without_the_configuration_folder_verifies_under_the_stored_origin(
    made_elsewhere: Path,
) -> None:
    done = _gateway("log", "verify", "--data", str(made_elsewhere))

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"(origin {ORIGIN})" in done.stdout


async def test_verifier_key_without_the_configuration_folder_names_the_stored_origin(
    made_elsewhere: Path,
) -> None:
    done = _gateway("log", "verifier-key", "--data", str(made_elsewhere))

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(ORIGIN + "+")


async def test_serve_with_a_configuration_naming_another_origin_stops_with_exit_2(
    made_elsewhere: Path, tmp_path: Path
) -> None:
    other = _with_origin(tmp_path, "someone-else.example/log", "other")

    line = await _refused(other, made_elsewhere)

    assert ORIGIN in line
    assert "someone-else.example/log" in line
    assert "set log_origin" in line


async def test_log_verify_with_a_configuration_naming_another_origin_is_refused_with_exit_2(
    made_elsewhere: Path, tmp_path: Path
) -> None:
    other = _with_origin(tmp_path, "someone-else.example/log", "other")

    done = _gateway("log", "verify", "--config", str(other), "--data", str(made_elsewhere))

    assert done.returncode == 2, done.stdout + done.stderr
    assert ORIGIN in done.stderr
    assert "someone-else.example/log" in done.stderr
    assert "FAILED" not in done.stdout  # not reported as a tampered log


async def test_a_log_from_before_schema_8_takes_the_origin_of_its_latest_checkpoint_at_migrate(
    made_elsewhere: Path,
) -> None:
    with _sqlite(made_elsewhere) as db:
        db.execute("DELETE FROM meta WHERE key = 'log_origin'")
        for statement in UNDO_SCHEMA_9:
            db.execute(statement)
        for table in SCHEMA_8_TABLES:
            db.execute(f"DROP TABLE {table}")
        db.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")

    migrated = _gateway("migrate", "--data", str(made_elsewhere))
    assert migrated.returncode == 0, migrated.stderr

    with _sqlite(made_elsewhere) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'log_origin'").fetchone() == (ORIGIN,)
    done = _gateway("log", "verify", "--data", str(made_elsewhere))
    assert done.returncode == 0, done.stdout + done.stderr


async def test_a_postgres_log_from_before_schema_8_takes_the_origin_of_its_latest_checkpoint(
    tmp_path: Path,
) -> None:
    await require_postgres()
    schema = f"gw_identity_{os.urandom(6).hex()}"
    url = f"{POSTGRES_DSN}{'&' if '?' in POSTGRES_DSN else '?'}schema={schema}"
    try:
        served = await _start(_with_origin(tmp_path, ORIGIN), tmp_path / "data", url)
        try:
            await _log_something(served)
        finally:
            await served.stop()
        conn = await asyncpg.connect(POSTGRES_DSN, server_settings={"search_path": schema})
        try:
            await conn.execute("DELETE FROM meta WHERE key = 'log_origin'")
            for statement in UNDO_SCHEMA_9:
                await conn.execute(statement)
            for table in SCHEMA_8_TABLES:
                await conn.execute(f"DROP TABLE {table}")
            await conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
            migrated = _gateway("migrate", "--data", str(tmp_path / "m"), "--storage", url)
            assert migrated.returncode == 0, migrated.stderr
            stored = await conn.fetchval("SELECT value FROM meta WHERE key = 'log_origin'")
        finally:
            await conn.close()
        assert stored == ORIGIN
        done = _gateway("log", "verify", "--data", str(tmp_path / "data"), "--storage", url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"(origin {ORIGIN})" in done.stdout
    finally:
        await _drop(schema)


# -- the keys ------------------------------------------------------------------------------------


async def test_an_instance_with_another_data_folders_keys_refuses_to_start_on_a_sqlite_database(
    tmp_path: Path,
) -> None:
    first = tmp_path / "first"
    served = await _start(DEFAULT_CONFIG, first)
    await served.stop()
    database = f"sqlite:///{first / 'gateway.sqlite3'}"

    line = await _refused(DEFAULT_CONFIG, tmp_path / "second", database)

    for name in IDENTITY_KEYS:
        assert name in line
    assert str(first / "keys") in line  # the keys folder to use
    assert str(tmp_path / "second" / "keys") in line


async def _drop(schema: str) -> None:
    conn = await asyncpg.connect(POSTGRES_DSN)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def test_a_second_instance_with_its_own_keys_refuses_to_start_on_a_shared_postgres_schema(
    tmp_path: Path,
) -> None:
    await require_postgres()
    schema = f"gw_identity_{os.urandom(6).hex()}"
    url = f"{POSTGRES_DSN}{'&' if '?' in POSTGRES_DSN else '?'}schema={schema}"
    try:
        first = await _start(DEFAULT_CONFIG, tmp_path / "first", url)
        try:
            line = await _refused(DEFAULT_CONFIG, tmp_path / "second", url)
            # Several workers are held to it too: the check runs before any worker starts.
            workers = await asyncio.to_thread(
                _gateway,
                *_serve_args(DEFAULT_CONFIG, tmp_path / "second", url),
                "--workers",
                "2",
                timeout=60,
            )
        finally:
            await first.stop()
        assert "pseudonym" in line
        assert str(tmp_path / "first" / "keys") in line
        assert workers.returncode == 2, workers.stdout + workers.stderr
        conn = await asyncpg.connect(POSTGRES_DSN, server_settings={"search_path": schema})
        try:
            rows = await conn.fetch("SELECT name, keys_folder FROM key_fingerprints")
        finally:
            await conn.close()
        # Only the first instance's keys were ever recorded.
        assert sorted(r["name"] for r in rows) == sorted(IDENTITY_KEYS)
        assert {r["keys_folder"] for r in rows} == {str(tmp_path / "first" / "keys")}
    finally:
        await _drop(schema)


async def test_keys_rotate_records_the_new_fingerprints_beside_the_retired_and_the_instance_starts(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    served = await _start(DEFAULT_CONFIG, data)
    await served.stop()
    before = DataDir(data)
    old_keys = tmp_path / "old-keys"
    shutil.copytree(before.keys, old_keys)

    rotated = _gateway("keys", "rotate", "--data", str(data))
    assert rotated.returncode == 0, rotated.stderr

    with _sqlite(data) as db:
        rows = db.execute(
            "SELECT name, fingerprint, retired_ms IS NOT NULL FROM key_fingerprints"
        ).fetchall()
    current = {name: fp for name, fp, retired in rows if not retired}
    retired = {(name, fp) for name, fp, retired in rows if retired}
    after = DataDir(data)
    for name in ("at-rest", "log-signing", "access-token"):
        assert current[name] == key_fingerprint(name, after.secret(name))
        assert (name, key_fingerprint(name, after.retired(name)[0])) in retired
    assert current["pseudonym"] == key_fingerprint("pseudonym", after.secret("pseudonym"))

    served = await _start(DEFAULT_CONFIG, data)
    await served.stop()
    # A copy of the keys folder as it was before the rotation holds a retired key set.
    stale = tmp_path / "stale"
    stale.mkdir(mode=0o700)
    shutil.copytree(old_keys, stale / "keys")
    line = await _refused(DEFAULT_CONFIG, stale, f"sqlite:///{data / 'gateway.sqlite3'}")
    assert "retired" in line
    assert str(data / "keys") in line


async def test_keys_rotate_in_another_data_folder_than_the_databases_changes_nothing(
    tmp_path: Path,
) -> None:
    first = tmp_path / "first"
    served = await _start(DEFAULT_CONFIG, first)
    await served.stop()
    second = DataDir(tmp_path / "second")
    second.ensure()
    second.init_keys()
    keys_before = sorted(p.name for p in second.keys.rglob("*.key"))

    done = _gateway(
        "keys",
        "rotate",
        "--data",
        str(second.path),
        "--storage",
        f"sqlite:///{first / 'gateway.sqlite3'}",
    )

    assert done.returncode == 2, done.stdout + done.stderr
    assert sorted(p.name for p in second.keys.rglob("*.key")) == keys_before


async def test_doctor_reports_other_keys_and_another_origin_as_problems(
    made_elsewhere: Path, tmp_path: Path
) -> None:
    database = f"sqlite:///{made_elsewhere / 'gateway.sqlite3'}"
    other = DataDir(tmp_path / "other")
    other.ensure()
    other.init_keys()

    done = _gateway(
        "doctor", "--config", str(DEFAULT_CONFIG), "--data", str(other.path), "--storage", database
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"PROBLEM  the log's origin is '" + re.escape(ORIGIN), done.stdout)
    assert re.search(r"PROBLEM  this instance holds other keys", done.stdout)
    assert str(made_elsewhere / "keys") in done.stdout


def test_a_fingerprint_is_neither_the_key_nor_its_plain_hash() -> None:
    key = bytes(range(32))
    fingerprint = key_fingerprint("pseudonym", key)
    for form in (key.hex(), base64.b64encode(key).decode(), hashlib.sha256(key).hexdigest()):
        assert form not in fingerprint
    # An HMAC under the key of a fixed label: testing a guess costs one HMAC per guess, and
    # nothing stored can be matched against an unkeyed hash of a candidate key.
    import hmac

    assert fingerprint == "hmac-sha256:" + hmac.new(key, FINGERPRINT_LABEL, "sha256").hexdigest()
    assert key_fingerprint("log-signing", key).startswith("sha256:")


async def test_the_database_holds_no_key_only_fingerprints(made_elsewhere: Path) -> None:
    folder = DataDir(made_elsewhere)
    secrets = [folder.secret(name) for name in IDENTITY_KEYS]
    with _sqlite(made_elsewhere) as db:
        stored = " ".join(
            f"{name} {fp} {where}"
            for name, fp, where in db.execute(
                "SELECT name, fingerprint, keys_folder FROM key_fingerprints"
            )
        )
    for secret in secrets:
        for form in (secret.hex(), base64.b64encode(secret).decode()):
            assert form not in stored
    assert stored.count("hmac-sha256:") == 3
    assert stored.count(" sha256:") == 1
