"""After a whole story of exchanges, no personal data is readable in storage, log or log lines.

The gateway seals payloads (HPKE to the recipient, or AES-GCM at rest) and consent records,
and its disclosure log holds pseudonyms, field names and salted digests. So neither the BSNs,
nor any payload text, nor a consent giver's name or a birth date may appear in (a) the bytes of
the data folder, SQLite database and WAL included, (b) any canonical log entry, or (c) anything
handed to structlog while the story ran.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg  # type: ignore[import-untyped]
import pytest
import structlog
from structlog.testing import capture_logs

from gateway.client.http import GatewayClientError
from gateway.clock import FixedClock
from gateway.store.postgres import PostgresStorage
from tests.conftest import (
    BSN_CHILD,
    BSN_OTHER,
    ONDERWIJSNUMMER_CHILD,
    Running,
    example,
    person_numbers_in,
)
from tests.helpers import ClockedClients, Http, break_glass
from tests.outbox_helpers import free_port, outbox_config, serve

STORY_DAY = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CASE = "the-case"  # replaced by the id the gateway chooses when the story opens its case
CUSTODIAN = "Marieke Jansen"
BIRTH_DATE = "2016-03-14"
NOT_A_BSN = "123456789"
LEAKED_NAME = "Daan Visser"
LEAKED_CODE = "vader-gedetineerd"
BREAK_GLASS = break_glass(
    "Kind vertelt over geweld thuis vandaag; de school meldt direct aan het team.",
    "Bescherming van Lotte tegen geweld door stiefvader.",
    "Moeder is zelf slachtoffer en durft niet te tekenen.",
)

# Who sends each purpose's example to whom in the story (every purpose the demo can send).
STORY: list[tuple[str, str, Any, str]] = [
    ("swt-denhelder", "referral", "zorg-noord", BSN_CHILD),
    ("zorg-noord", "start-stop", "swt-denhelder", BSN_CHILD),
    ("zorg-noord", "evaluation-feedback", "swt-denhelder", BSN_CHILD),
    ("zorg-noord", "closure-notice", {"case_network": CASE}, BSN_CHILD),
    ("swt-denhelder", "referrer-status", "school-de-es", BSN_CHILD),
    ("zorg-noord", "safety-assessment", ["swt-denhelder", "gi-noordholland"], BSN_CHILD),
    ("gi-noordholland", "waiting-list-status", "swt-denhelder", BSN_CHILD),
    ("swt-denhelder", "information-request", "school-de-es", BSN_CHILD),
    ("school-de-es", "information-reply", "swt-denhelder", BSN_CHILD),
    # On the family's agreement since issue 19 (the school's report below breaks the glass).
    ("zorg-noord", "safety-report", "swt-denhelder", BSN_CHILD),
]
PARTNERS = ("swt-denhelder", "zorg-noord", "gi-noordholland", "school-de-es")


@pytest.fixture
async def running(
    tmp_path: Path, clock: FixedClock, storage_url: str | None
) -> AsyncIterator[Running]:
    """The shipped config with a logbook and every partner's Verwerkingenlogging configured
    but unreachable, so the outbox holds its rows (the BSN sealed) when storage is scanned."""
    down = f"http://127.0.0.1:{free_port()}"
    config = outbox_config(
        tmp_path / "config",
        logbook=down + "/v1/traces",
        vng=dict.fromkeys(PARTNERS, down + "/api/v1/verwerkingsacties"),
    )
    async with serve(config, tmp_path / "data", storage_url, clock) as served:
        yield served


@pytest.fixture
async def clocked(running: Running) -> AsyncIterator[ClockedClients]:
    running.clock.moment = STORY_DAY
    pool = ClockedClients(running)
    yield pool
    await pool.close()


def string_values(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from string_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from string_values(item)


def secrets_of_the_story() -> set[str]:
    found = {BSN_CHILD, BSN_OTHER, NOT_A_BSN, CUSTODIAN, BIRTH_DATE, LEAKED_NAME, LEAKED_CODE}
    # The break-glass reasons are free text too: the gateway keeps them sealed for review.
    found |= set(string_values(BREAK_GLASS))
    for _, purpose, _, _ in STORY:
        payload = example(purpose)
        # A field's name is logged (the disclosed fields), its value never; a code that is part
        # of a field's name (`not_assessed` in `not_assessed_reason`) is no finding there.
        names = set(field_names(payload))
        found |= {
            s
            for s in string_values(payload)
            if len(s) >= 6 and not any(s in name for name in names)
        }
    return found


def field_names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from field_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from field_names(item)


def occurrences(secrets: set[str], haystack: bytes) -> list[str]:
    """The secrets found in the bytes; digit-only ones only where no hex digit adjoins them.

    Log leaves carry hex pseudonyms and digests: a six-digit assignment number would turn up in
    them by chance now and then, whereas a real leak sits between quotes or other punctuation.
    """
    hits = []
    for secret in sorted(secrets):
        needle = secret.encode()
        if secret.isdigit():
            pattern = rb"(?<![0-9a-fA-F])" + re.escape(needle) + rb"(?![0-9a-fA-F])"
            if re.search(pattern, haystack):
                hits.append(secret)
        elif needle in haystack:
            hits.append(secret)
    return hits


async def run_story(running: Running, clocked: ClockedClients) -> None:
    team = clocked("swt-denhelder")
    case_id = (await team.open_case())["case_id"]
    for partner in PARTNERS[1:]:
        await team.register_member(case_id, partner, role="involved")
    # A consent recorded for the case covers the case's own children: the child is registered.
    await team.request(
        "PUT",
        f"/v1/cases/{case_id}/household",
        json_body={"children": [{"bsn": BSN_CHILD, "child_ref": "hh-a"}]},
    )
    consent = await team.record_consent(
        {
            "subject": {"bsn": BSN_CHILD, "birth_date": BIRTH_DATE},
            "given_by": [{"role": "custodian", "name": CUSTODIAN}],
            "purposes": [
                "referral",
                "closure-notice",
                "referrer-status",
                "information-request",
                "information-reply",
                "safety-report",
            ],
            # The team directs the case: it records the family's agreement between its members
            # (the GI sends nothing that needs consent, so it is no sender here).
            "from": [p for p in PARTNERS if p != "gi-noordholland"],
            "to": list(PARTNERS),
            "case_id": case_id,
            "evidence": {"method": "written", "reference": "dossier-2026-0042"},
        }
    )
    expected: dict[str, list[dict[str, Any]]] = {p: [] for p in PARTNERS}
    asked: dict[str, str] = {}
    for sender, purpose, named, bsn in STORY:
        to = {"case_network": case_id} if named == {"case_network": CASE} else named
        extra: dict[str, Any] = {"case_id": case_id}
        if purpose == "information-reply":
            extra["in_reply_to"] = asked["information-request"]
        result = await clocked(sender).send(purpose, to, bsn, example(purpose), **extra)
        asked[purpose] = result["exchange_id"]
        for disclosure in result["disclosures"]:
            expected[disclosure["recipient"]].append(example(purpose))
    await clocked("school-de-es").send(
        "safety-report",
        "swt-denhelder",
        BSN_OTHER,
        example("safety-report"),
        break_glass=BREAK_GLASS,
    )
    expected["swt-denhelder"].append(example("safety-report"))

    provider = clocked("zorg-noord")
    refusals: list[tuple[Any, ...]] = [
        (team, "information-request", "zorg-noord", BSN_OTHER, example("information-request")),
        (provider, "evaluation-feedback", "swt-denhelder", BSN_CHILD, leaky_extra_field()),
        (provider, "evaluation-feedback", "swt-denhelder", BSN_CHILD, leaky_code()),
        (provider, "evaluation-feedback", "swt-denhelder", NOT_A_BSN, leaky_code()),
    ]
    for client, purpose, to, bsn, payload in refusals:
        with pytest.raises(GatewayClientError):
            await client.send(purpose, to, bsn, payload)

    for partner in PARTNERS:
        recipient = clocked(partner)
        messages = (await recipient.inbox(limit=100))["messages"]
        assert sorted(json.dumps(m["payload"], sort_keys=True) for m in messages) == sorted(
            json.dumps(p, sort_keys=True) for p in expected[partner]
        )
        for message in messages:
            await recipient.ack(message["id"])
    listed = await team.request("GET", "/v1/consents", params={"bsn": BSN_CHILD})
    assert [c["consent_id"] for c in listed["consents"]] == [consent["consent_id"]]
    await team.withdraw_consent(consent["consent_id"])


def leaky_extra_field() -> dict[str, Any]:
    payload = example("evaluation-feedback")
    payload["child_name"] = LEAKED_NAME
    return payload


def leaky_code() -> dict[str, Any]:
    payload = example("evaluation-feedback")
    payload["goals"][0]["result"] = LEAKED_CODE
    return payload


@pytest.fixture
async def story(running: Running, clocked: ClockedClients) -> list[dict[str, Any]]:
    """Run the story once, returning every event handed to structlog meanwhile."""
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as events:
        await run_story(running, clocked)
        # A bad token and a refused assertion belong to the story too.
        async with aiohttp.ClientSession() as session:
            http = Http(running, session)
            await http.call("GET", "/v1/inbox", headers={"Authorization": "Bearer nonsense"})
            await http.post_token("not.a.jwt")
    return [dict(event) for event in events]


def test_secrets_cover_payload_text_names_and_bsns() -> None:
    secrets = secrets_of_the_story()
    assert {BSN_CHILD, CUSTODIAN, "Sanne Bakker", "s.bakker@swt-noord.example"} <= secrets
    assert example("evaluation-feedback")["advice"] in secrets
    assert occurrences(secrets, b'{"name":"Sanne Bakker"}') == ["Sanne Bakker"]
    assert occurrences(secrets, b'"assignment_number":"300201"') == ["300201"]
    assert occurrences(secrets, b"pseudonym 9f300201a7") == []


async def test_data_folder_bytes_hold_no_personal_data(
    running: Running, story: list[dict[str, Any]], tmp_path: Path, backend: str
) -> None:
    data = tmp_path / "data"
    secrets = secrets_of_the_story()
    # The outbox is part of what is scanned: every disclosure waits there for two partners.
    backlog = await running.gw.storage.outbox_backlog()
    assert sum(n for d, n in backlog.items() if d.startswith("vng:")) >= 10
    if backend == "postgresql":
        # Every row of every table of this test's schema, as the database returns it.
        storage = running.gw.storage
        assert isinstance(storage, PostgresStorage)
        conn = await asyncpg.connect(storage.dsn)
        try:
            tables = await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                storage.schema,
            )
            assert len(tables) >= 10
            dumped = {}
            for table in tables:
                rows = await conn.fetch(f'SELECT * FROM "{storage.schema}"."{table[0]}"')
                dumped[table[0]] = b"\n".join(
                    b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in r.values())
                    for r in rows
                )
        finally:
            await conn.close()
        assert dumped["log_entries"]
        assert dumped["outbox"]
        leaks = {name: occurrences(secrets, blob) for name, blob in dumped.items()}
        assert {name: hits for name, hits in leaks.items() if hits} == {}
        files = [p for p in data.rglob("*") if p.is_file()]
        assert {
            str(p): occurrences(secrets, p.read_bytes())
            for p in files
            if occurrences(secrets, p.read_bytes())
        } == {}
        return
    database = data / "gateway.sqlite3"
    assert database.exists()
    with contextlib.closing(sqlite3.connect(database)) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0
    files = [p for p in data.rglob("*") if p.is_file()]
    assert database in files
    # The file holds the schema's own text (sqlite_master): a code that is part of a column's
    # name (`direct` in `directed_by`) is no finding there.
    with contextlib.closing(sqlite3.connect(database)) as conn:
        ddl = " ".join(str(r[0]) for r in conn.execute("SELECT sql FROM sqlite_master"))
    secrets = {s for s in secrets if s not in ddl}
    leaks = {str(p.relative_to(data)): occurrences(secrets, p.read_bytes()) for p in files}
    assert {name: hits for name, hits in leaks.items() if hits} == {}


async def test_canonical_log_entries_hold_no_personal_data(
    running: Running, story: list[dict[str, Any]]
) -> None:
    rows = await running.gw.storage.log_rows(0, await running.gw.storage.log_size())
    decisions = {row.entry.decision for row in rows}
    assert {"disclosed", "refused", "delivered", "consent_recorded", "token_refused"} <= decisions
    secrets = secrets_of_the_story()
    for row in rows:
        readable = json.dumps(json.loads(row.leaf), ensure_ascii=False).encode()
        assert occurrences(secrets, row.leaf) == [], row.index
        assert occurrences(secrets, readable) == [], row.index


async def test_structured_log_events_hold_no_personal_data(
    story: list[dict[str, Any]],
) -> None:
    names = {event["event"] for event in story}
    assert {"token_issued", "exchange_disclosed", "request_refused", "token_refused"} <= names
    secrets = secrets_of_the_story()
    for event in story:
        assert occurrences(secrets, repr(event).encode()) == [], event


def test_the_end_of_run_storage_scan_finds_a_person_number_in_clear_and_only_that() -> None:
    assert person_numbers_in(b'{"subject":{"bsn":"' + BSN_CHILD.encode() + b'"}}') == {BSN_CHILD}
    assert person_numbers_in(b"|" + ONDERWIJSNUMMER_CHILD.encode() + b"|") == {
        ONDERWIJSNUMMER_CHILD
    }
    assert person_numbers_in(b"x" + BSN_CHILD.encode() + b"f") == set()  # inside a hex string
    assert person_numbers_in(b"00000001234567890000|123456789|12345678") == set()
