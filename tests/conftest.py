"""Shared fixtures: a real gateway on loopback, on a real SQLite file, and demo partner clients."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from aiohttp.test_utils import TestServer

from gateway.client.http import PartnerClient
from gateway.clock import FixedClock
from gateway.runtime import DEFAULT_CONFIG, build_gateway
from gateway.web import create_app
from gateway.web.context import Gateway
from tests.storage_fixtures import POSTGRES_DSN, require_postgres

REPO = Path(__file__).resolve().parents[1]
DEMO_KEYS = REPO / "config" / "demo"

# Fictitious BSNs that pass the elfproef (test numbers, not real people).
BSN_CHILD = "999992351"
BSN_OTHER = "999993653"

ROLES = {
    "swt-denhelder": "procesregisseur",
    "zorg-noord": "casusregisseur",
    "gi-noordholland": "jeugdbeschermer",
    "school-de-es": "intern_begeleider",
    "fg-denhelder": "privacy_officer",
}


def private_jwks(partner_id: str) -> dict[str, Any]:
    return json.loads((DEMO_KEYS / f"{partner_id}.private.jwks.json").read_text())


def copy_config(destination: Path) -> Path:
    """A private, editable copy of the shipped config (schemas still read from the repository)."""
    shutil.copytree(DEFAULT_CONFIG, destination)
    settings = (destination / "gateway.toml").read_text()
    (destination / "gateway.toml").write_text(
        settings.replace('schemas_dir = "../schemas"', f'schemas_dir = "{REPO / "schemas"}"')
    )
    return destination


def example(purpose: str) -> dict[str, Any]:
    return json.loads((REPO / "schemas" / "examples" / f"{purpose}.json").read_text())


class Running:
    """A gateway serving on loopback, with its in-process handle for inspection."""

    def __init__(self, gw: Gateway, server: TestServer, clock: FixedClock) -> None:
        self.gw = gw
        self.server = server
        self.clock = clock

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def client(
        self, partner_id: str, role: str | None = None, actor: str = "actor-1"
    ) -> PartnerClient:
        return PartnerClient(
            self.url,
            partner_id=partner_id,
            private_jwks=private_jwks(partner_id),
            actor_id=f"{partner_id}-{actor}",
            actor_role=role or ROLES[partner_id],
            audience=self.gw.settings.id,
        )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every gateway-level test runs on both back ends; a module may pin one by overriding this."""
    return str(request.param)


@pytest.fixture
async def storage_url(backend: str) -> AsyncIterator[str | None]:
    """None for the SQLite default under --data; else a PostgreSQL schema of this test's own."""
    if backend == "sqlite":
        yield None
        return
    await require_postgres()
    schema = f"gw_test_{secrets.token_hex(6)}"
    yield f"{POSTGRES_DSN}{'&' if '?' in POSTGRES_DSN else '?'}schema={schema}"
    conn = await asyncpg.connect(POSTGRES_DSN)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
async def running(
    tmp_path: Path, clock: FixedClock, storage_url: str | None
) -> AsyncIterator[Running]:
    gw = build_gateway(DEFAULT_CONFIG, tmp_path / "data", storage_url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    try:
        yield Running(gw, server, clock)
    finally:
        await server.close()


@pytest.fixture
async def clients(running: Running) -> AsyncIterator[Callable[..., PartnerClient]]:
    made: list[PartnerClient] = []

    def make(partner_id: str, role: str | None = None, actor: str = "actor-1") -> PartnerClient:
        c = running.client(partner_id, role, actor)
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()


AsyncFn = Callable[..., Awaitable[Any]]
