"""Shared fixtures: a real gateway on loopback, on a real SQLite file, and demo partner clients."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
import structlog
from aiohttp.test_utils import TestServer

from gateway.client.http import PartnerClient
from gateway.clock import FixedClock
from gateway.container import Gateway
from gateway.logsetup import redact
from gateway.runtime import DEFAULT_CONFIG, build_gateway
from gateway.subject import passes_onderwijsnummer_check
from gateway.web import create_app
from tests.storage_fixtures import POSTGRES_DSN, require_postgres

REPO = Path(__file__).resolve().parents[1]
DEMO_KEYS = REPO / "config" / "demo"

# Fictitious BSNs that pass the elfproef (test numbers, not real people).
BSN_CHILD = "999992351"
BSN_OTHER = "999993653"
# Subjects without a BSN (fictitious): an onderwijsnummer and a Den Helder local pupil number,
# under the identifier systems the shipped catalogue declares.
ONDERWIJSNUMMER_SYSTEM = "https://social-domain-gateway.nl/fhir/NamingSystem/onderwijsnummer"
LOCAL_PUPIL_SYSTEM = "https://denhelder.nl/id/leerling-lokaal"
ONDERWIJSNUMMER_CHILD = "102000019"
LOCAL_PUPIL_ID = "DH-004217"

ROLES = {
    "swt-denhelder": "procesregisseur",
    "zorg-noord": "casusregisseur",
    "gi-noordholland": "jeugdbeschermer",
    "school-de-es": "intern_begeleider",
    "fg-denhelder": "privacy_officer",
    # issue 19: the partner kinds the seeds name
    "veiligthuis-nhn": "triagist",
    "huisarts-zuid": "huisarts",
    "jgz-hollandsnoorden": "jeugdarts",
    "leerplicht-denhelder": "leerplichtambtenaar",
    "wi-denhelder": "klantmanager",
    "rvdk-noordholland": "raadsonderzoeker",
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
            clock=self.clock.now,
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
        await scan_schema(conn, schema)
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


# -- The whole run's log output carries no BSN ---------------------------------------------------
# Every event the gateway hands to structlog during the test session is recorded as it was
# logged, before the redacting processor, and scanned at the end: a BSN-shaped number that
# passes the elfproef (or the onderwijsnummer's variant of it), or the test's local pupil
# number, fails the run, whichever test caused it.
_LOGGED: list[str] = []
_BSN_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{9}(?![0-9A-Za-z])")


def _record(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    _LOGGED.append(repr(dict(event_dict)))
    return event_dict


def _passes_elfproef(number: str) -> bool:
    digits = [int(c) for c in number]
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0 and number != "000000000"


# -- The whole run's storage holds no person number in clear ---------------------------------------
# Every PostgreSQL schema a gateway test used is read whole before it is dropped, and every SQLite
# file (database and WAL) the run left under pytest's temporary folder is read at the end. A
# BSN (or onderwijsnummer, or the local pupil number) in clear anywhere, outbox included, fails
# the run; sealed values and pseudonyms are what the storage may hold.
_STORED_LEAKS: list[str] = []
_SCANNED = {"schemas": 0, "files": 0}
_NUMBER_IN_BYTES = re.compile(rb"(?<![0-9A-Za-z])\d{9}(?![0-9A-Za-z])")


def person_numbers_in(blob: bytes) -> set[str]:
    numbers = {n.decode() for n in _NUMBER_IN_BYTES.findall(blob)}
    found = {n for n in numbers if _passes_elfproef(n) or passes_onderwijsnummer_check(n)}
    if LOCAL_PUPIL_ID.encode() in blob:
        found.add(LOCAL_PUPIL_ID)
    return found


async def scan_schema(conn: Any, schema: str) -> None:
    """Read every row of every table of a test's schema and note person numbers in clear."""
    tables = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
    )
    for (table,) in tables:
        for row in await conn.fetch(f'SELECT * FROM "{schema}"."{table}"'):
            blob = b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
            for number in person_numbers_in(blob):
                _STORED_LEAKS.append(f"{schema}.{table}: {number}")
    _SCANNED["schemas"] += 1


@pytest.fixture(scope="session", autouse=True)
def _scan_sqlite_files_at_the_end(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    for path in tmp_path_factory.getbasetemp().rglob("*"):
        if path.is_file() and path.name.endswith((".sqlite3", ".sqlite3-wal", ".sqlite3-journal")):
            for number in person_numbers_in(path.read_bytes()):
                _STORED_LEAKS.append(f"{path}: {number}")
            _SCANNED["files"] += 1


def pytest_configure(config: pytest.Config) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _record,
            redact,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    numbers = {n for line in _LOGGED for n in _BSN_LIKE.findall(line)}
    leaks = sorted(n for n in numbers if _passes_elfproef(n) or passes_onderwijsnummer_check(n))
    leaks += [v for v in (LOCAL_PUPIL_ID,) if any(v in line for line in _LOGGED)]
    if leaks:
        sys.stderr.write(f"\nlog output of this run carried person numbers: {', '.join(leaks)}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif _LOGGED:
        sys.stderr.write(f"\nno BSN in the {len(_LOGGED)} log events of this run\n")
    if _STORED_LEAKS:
        sys.stderr.write(
            "\nstorage left by this run holds person numbers in clear:\n  "
            + "\n  ".join(sorted(set(_STORED_LEAKS)))
            + "\n"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif _SCANNED["schemas"] or _SCANNED["files"]:
        sys.stderr.write(
            f"no person number in clear in the {_SCANNED['files']} SQLite files and "
            f"{_SCANNED['schemas']} PostgreSQL schemas this run left\n"
        )
