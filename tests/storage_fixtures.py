"""The `storage` fixture: one test body, run on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL comes from env GATEWAY_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test);
every test gets its own schema `test_<random hex>`, dropped afterwards. When PostgreSQL cannot be
reached the PostgreSQL half is skipped, except with CI=true, where it fails.

Fixtures are named `storage`, `storage_backend` and `postgres_backend`; their functions carry a
`_fixture` suffix so that importing them does not clash with test parameters:
`from tests.storage_fixtures import storage_backend_fixture, storage_fixture  # noqa: F401`.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from gateway.store.base import Storage
from gateway.store.postgres import PostgresStorage
from gateway.store.schema import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS
from gateway.store.sqlite import SqliteStorage

__all__ = [
    "POSTGRES_DSN",
    "PostgresBackend",
    "SqliteBackend",
    "postgres_backend_fixture",
    "require_postgres",
    "storage_backend_fixture",
    "storage_fixture",
]

POSTGRES_DSN = os.environ.get("GATEWAY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

_reachability: dict[str, str | None] = {}
_META = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
_VERSION = "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"


async def require_postgres() -> None:
    """Skip (or, with CI=true, fail) the calling test when the test PostgreSQL is unreachable."""
    if POSTGRES_DSN not in _reachability:
        try:
            conn = await asyncpg.connect(POSTGRES_DSN, timeout=5)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            _reachability[POSTGRES_DSN] = f"{type(exc).__name__}: {exc}"
        else:
            await conn.close()
            _reachability[POSTGRES_DSN] = None
    problem = _reachability[POSTGRES_DSN]
    if problem is None:
        return
    message = f"PostgreSQL from GATEWAY_TEST_POSTGRES is unreachable ({problem})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(message)


@dataclass
class SqliteBackend:
    """One SQLite file; every instance made opens that same file, as worker processes do."""

    path: Path
    name: str = "sqlite"
    integrity_error: type[Exception] = sqlite3.IntegrityError
    opened: list[SqliteStorage] = field(default_factory=list)

    def make(self) -> SqliteStorage:
        return SqliteStorage(self.path)

    async def open(self) -> Storage:
        """Another opened instance on the same database, closed at teardown."""
        instance = self.make()
        await instance.open()
        self.opened.append(instance)
        return instance

    async def migrate(self, instance: Storage) -> int:
        assert isinstance(instance, SqliteStorage)
        return await instance.migrate()

    async def schema_version(self) -> int:
        return int(self._sql("SELECT value FROM meta WHERE key = 'schema_version'")[0][0])

    async def set_schema_version(self, version: int) -> None:
        self._sql("UPDATE meta SET value = ? WHERE key = 'schema_version'", str(version))

    async def tables(self) -> dict[str, list[str]]:
        """Each table's column names, in order."""
        names = [r[0] for r in self._sql("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            name: [r[1] for r in self._sql(f"PRAGMA table_info({name})")]
            for name in names
            if name != "sqlite_sequence"
        }

    async def indexes(self) -> set[str]:
        rows = self._sql("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        return {r[0] for r in rows}

    async def create_at_version(self, version: int) -> None:
        """A database as the migrations up to `version` leave it (an older gateway's)."""
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute(_META)
            for target, statements in SQLITE_MIGRATIONS[:version]:
                assert target <= version
                for statement in statements:
                    conn.execute(statement)
            conn.execute(_VERSION, (str(version),))
        finally:
            conn.close()

    async def ddl(self) -> list[str]:
        """The whole schema, one line per table, column, index and trigger, in a fixed order."""
        lines = [
            f"{kind} {name} ON {table}: {' '.join((sql or '').split())}"
            for kind, name, table, sql in self._sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
            )
        ]
        for (name,) in self._sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ):
            lines += [
                f"column {name}.{r[1]} {r[2]} notnull={r[3]} default={r[4]} pk={r[5]}"
                for r in self._sql(f"PRAGMA table_info({name})")
            ]
        return lines

    async def close(self) -> None:
        for instance in self.opened:
            await instance.close()

    def _sql(self, sql: str, *args: Any) -> list[Any]:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()


@dataclass
class PostgresBackend:
    """A fresh schema in the test database; every instance made is a separate pool on it."""

    dsn: str
    schema: str
    name: str = "postgres"
    integrity_error: type[Exception] = asyncpg.UniqueViolationError
    opened: list[PostgresStorage] = field(default_factory=list)

    def make(self, dsn: str | None = None) -> PostgresStorage:
        return PostgresStorage(dsn or self.dsn, schema=self.schema)

    async def open(self) -> Storage:
        """Another opened instance (its own pool) on the same schema, closed at teardown."""
        instance = self.make()
        await instance.open()
        self.opened.append(instance)
        return instance

    async def migrate(self, instance: Storage) -> int:
        assert isinstance(instance, PostgresStorage)
        return await instance.migrate()

    async def schema_version(self) -> int:
        return int(await self.sql_value("SELECT value FROM meta WHERE key = 'schema_version'"))

    async def set_schema_version(self, version: int) -> None:
        await self.sql_value(
            "UPDATE meta SET value = $1 WHERE key = 'schema_version' RETURNING value", str(version)
        )

    async def tables(self) -> dict[str, list[str]]:
        rows = await self.sql_rows(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
            self.schema,
        )
        out: dict[str, list[str]] = {}
        for table, column in rows:
            out.setdefault(table, []).append(column)
        return out

    async def indexes(self) -> set[str]:
        rows = await self.sql_rows(
            "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexdef NOT LIKE "
            "'CREATE UNIQUE INDEX%'",
            self.schema,
        )
        return {r[0] for r in rows}

    async def create_at_version(self, version: int) -> None:
        """A schema as the migrations up to `version` leave it (an older gateway's)."""
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f'CREATE SCHEMA "{self.schema}"')
            await conn.execute(f'SET search_path = "{self.schema}"')
            await conn.execute(_META)
            for target, statements in POSTGRES_MIGRATIONS[:version]:
                assert target <= version
                for statement in statements:
                    await conn.execute(statement)
            await conn.execute(_VERSION.replace("?", "$1"), str(version))
        finally:
            await conn.close()

    async def ddl(self) -> list[str]:
        """The whole schema: columns with types, nullability and defaults, constraints, indexes."""
        columns = await self.sql_rows(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = $1 "
            "ORDER BY table_name, ordinal_position",
            self.schema,
        )
        constraints = await self.sql_rows(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = $1 ORDER BY 1, 2",
            self.schema,
        )
        indexes = await self.sql_rows(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 "
            "ORDER BY tablename, indexname",
            self.schema,
        )
        lines = [f"column {t}.{c} {kind} nullable={n} default={d}" for t, c, kind, n, d in columns]
        lines += [f"constraint {t} {name}: {definition}" for t, name, definition in constraints]
        lines += [f"index {t} {name}: {definition}" for t, name, definition in indexes]
        return [line.replace(f"{self.schema}.", "SCHEMA.") for line in lines]

    async def sql_rows(self, sql: str, *args: Any) -> list[Any]:
        """Run SQL in the test schema on a connection of its own."""
        conn = await asyncpg.connect(self.dsn, server_settings={"search_path": self.schema})
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def sql_value(self, sql: str, *args: Any) -> Any:
        rows = await self.sql_rows(sql, *args)
        return rows[0][0] if rows else None

    async def close(self) -> None:
        for instance in self.opened:
            await instance.close()
        await self.sql_rows(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


async def _new_postgres() -> PostgresBackend:
    await require_postgres()
    return PostgresBackend(POSTGRES_DSN, f"test_{secrets.token_hex(6)}")


@pytest.fixture(name="storage_backend", params=["sqlite", "postgres"])
async def storage_backend_fixture(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SqliteBackend | PostgresBackend]:
    """An empty database on each back end in turn; `open()` gives instances sharing it."""
    backend: SqliteBackend | PostgresBackend
    if request.param == "sqlite":
        backend = SqliteBackend(tmp_path / "gateway.sqlite3")
    else:
        backend = await _new_postgres()
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture(name="postgres_backend")
async def postgres_backend_fixture() -> AsyncIterator[PostgresBackend]:
    """An empty schema in the test PostgreSQL, for tests only that back end needs."""
    backend = await _new_postgres()
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture(name="storage")
async def storage_fixture(storage_backend: SqliteBackend | PostgresBackend) -> Storage:
    """An opened, migrated, empty storage on each back end in turn."""
    return await storage_backend.open()
