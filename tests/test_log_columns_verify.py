"""An insider who edits a log row's searchable columns is caught by `gateway log verify` and
`gateway doctor`, on SQLite and PostgreSQL.

Searches, the subject access report and the officer's pages select entries by the columns
stored beside each leaf (subject, sender, recipient, purpose, decision, time, ...); the Merkle
tree covers only the leaf. Each case builds a short log through the real API, changes one
column of one row directly in the database, and runs the real commands as separate processes:
each must fail naming the index and the column, never the value.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from gateway.client.http import GatewayClientError
from gateway.log.columns import SEARCHABLE_COLUMNS, disagreeing_columns
from gateway.log.entry import LogEntry, Sender
from gateway.runtime import DEFAULT_CONFIG
from gateway.store.base import LogFilter
from gateway.store.open import split_schema
from tests.conftest import BSN_CHILD, BSN_OTHER, Running, example
from tests.helpers import seed_referral

GATEWAY = str(Path(sys.executable).with_name("gateway"))

# What an insider writes into the column, per back end (SQLite, PostgreSQL).
TAMPERINGS: dict[str, tuple[str, str]] = {
    "subject": ("'someone-else'", "'someone-else'"),
    "sender": ("'school-de-es'", "'school-de-es'"),
    "recipient": ("'school-de-es'", "'school-de-es'"),
    "purpose": ("'schoolverzuim'", "'schoolverzuim'"),
    "decision": ("'refused'", "'refused'"),
    "time_ms": ("time_ms + 86400000", "time_ms + 86400000"),
    "exchange_id": ("'ex-forged'", "'ex-forged'"),
    "reason": ("'forged'", "'forged'"),
    "break_glass": ("1 - break_glass", "NOT break_glass"),
}


async def _build_log(running: Running) -> None:
    """Disclosures about two children, a refusal and a receipt, all signed."""
    # The provider's relation to the children (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD, BSN_OTHER)
    provider = running.client("zorg-noord")
    team = running.client("swt-denhelder")
    school = running.client("school-de-es")
    try:
        for n in range(4):
            await provider.send(
                "evaluation-feedback",
                "swt-denhelder",
                BSN_CHILD if n % 2 else BSN_OTHER,
                example("evaluation-feedback"),
            )
        with pytest.raises(GatewayClientError):
            await school.send(
                "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
            )
        await team.ack((await team.inbox(limit=1))["messages"][0]["id"])
    finally:
        for client in (provider, team, school):
            await client.close()
    await running.gw.sequencer().integrate()


async def _sql(
    running: Running, storage_url: str | None, statement: str
) -> list[tuple[object, ...]]:
    """Run one statement straight against the gateway's database, as an insider would."""
    if storage_url is None:
        import sqlite3

        db = sqlite3.connect(running.gw.data.sqlite_path, isolation_level=None)
        try:
            return [tuple(r) for r in db.execute(statement).fetchall()]
        finally:
            db.close()
    dsn, schema = split_schema(storage_url)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema or "public"})
    try:
        return [tuple(r) for r in await conn.fetch(statement)]
    finally:
        await conn.close()


def _run(*args: str, storage_url: str | None) -> subprocess.CompletedProcess[str]:
    command = [GATEWAY, *args]
    if storage_url is not None:
        command += ["--storage", storage_url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _verify(running: Running, storage_url: str | None) -> subprocess.CompletedProcess[str]:
    return _run("log", "verify", "--data", str(running.gw.data.path), storage_url=storage_url)


def _doctor(running: Running, storage_url: str | None) -> subprocess.CompletedProcess[str]:
    return _run(
        "doctor",
        "--config",
        str(DEFAULT_CONFIG),
        "--data",
        str(running.gw.data.path),
        storage_url=storage_url,
    )


async def _a_disclosure(running: Running, storage_url: str | None) -> tuple[int, str]:
    """The index and subject pseudonym of the first disclosure in the log."""
    rows = await _sql(
        running,
        storage_url,
        "SELECT idx, subject FROM log_entries WHERE decision = 'disclosed' ORDER BY idx LIMIT 1",
    )
    index, subject = rows[0]
    assert isinstance(index, int)
    assert isinstance(subject, str)
    return index, subject


async def test_an_untouched_log_passes_verify_and_doctor(
    running: Running, storage_url: str | None
) -> None:
    await _build_log(running)

    verified = _verify(running, storage_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    doctor = _doctor(running, storage_url)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "searchable columns agree" in doctor.stdout


@pytest.mark.parametrize("column", list(TAMPERINGS))
async def test_an_insider_who_edits_a_searchable_column_is_named_by_index_and_column(
    running: Running, storage_url: str | None, column: str
) -> None:
    await _build_log(running)
    index, subject = await _a_disclosure(running, storage_url)
    value = TAMPERINGS[column][0 if storage_url is None else 1]
    await _sql(
        running,
        storage_url,
        f"UPDATE log_entries SET {column} = {value} WHERE idx = {index}",
    )

    verified = _verify(running, storage_url)

    output = verified.stdout + verified.stderr
    assert verified.returncode == 1, output
    assert f"FAILED at index {index}: column {column} " in output
    assert subject not in output  # the pseudonym is not repeated in the report
    assert "Traceback" not in output


@pytest.mark.parametrize("column", ["subject", "sender"])
async def test_doctor_reports_a_moved_entry_as_a_problem_naming_index_and_column(
    running: Running, storage_url: str | None, column: str
) -> None:
    await _build_log(running)
    index, subject = await _a_disclosure(running, storage_url)
    value = TAMPERINGS[column][0]
    await _sql(
        running,
        storage_url,
        f"UPDATE log_entries SET {column} = {value} WHERE idx = {index}",
    )

    doctor = _doctor(running, storage_url)

    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert f"PROBLEM  log verification failed at index {index}: column {column} " in doctor.stdout
    assert subject not in doctor.stdout


async def test_an_entry_moved_to_another_subject_vanishes_from_the_subject_search_until_verify_says_so(
    running: Running, storage_url: str | None
) -> None:
    """The attack itself: the search reads the column, so the edit hides the entry."""
    await _build_log(running)
    index, subject = await _a_disclosure(running, storage_url)
    before = await running.gw.storage.search_log(LogFilter(subject=subject), after=None, limit=50)
    assert index in [row.index for row in before]

    await _sql(
        running,
        storage_url,
        f"UPDATE log_entries SET subject = 'someone-else' WHERE idx = {index}",
    )

    after = await running.gw.storage.search_log(LogFilter(subject=subject), after=None, limit=50)
    assert index not in [row.index for row in after]
    assert _verify(running, storage_url).returncode == 1


def _entry(**changes: object) -> LogEntry:
    from datetime import UTC, datetime

    base: dict[str, object] = {
        "time": datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC),
        "decision": "disclosed",
        "exchange_id": "ex-1",
        "purpose": "zorgsignaal",
        "sender": Sender("swt-denhelder", "actor-1", "procesregisseur"),
        "recipient": "zorg-noord",
        "subject": "pseudo-1",
        "reason": None,
        "break_glass": False,
    }
    base.update(changes)
    return LogEntry(**base)  # type: ignore[arg-type]


def _columns(entry: LogEntry) -> list[object]:
    """The row the gateway writes for an entry (as both back ends' append does)."""
    return [
        int(entry.time.timestamp() * 1000),
        entry.decision,
        entry.purpose,
        None if entry.sender is None else entry.sender.partner,
        entry.recipient,
        entry.subject,
        entry.exchange_id,
        entry.reason,
        entry.break_glass,
    ]


@pytest.mark.parametrize(
    "entry",
    [
        _entry(),
        _entry(sender=None, recipient=None, subject=None, purpose=None, decision="token_refused"),
        _entry(break_glass=True, reason="no_consent", decision="refused"),
    ],
)
def test_the_row_the_gateway_writes_agrees_with_its_leaf(entry: LogEntry) -> None:
    assert disagreeing_columns(_columns(entry), entry.canonical()) == []


@pytest.mark.parametrize("offset", range(len(SEARCHABLE_COLUMNS)))
def test_each_column_changed_alone_is_named_and_only_that_one(offset: int) -> None:
    entry = _entry()
    row = _columns(entry)
    row[offset] = 1 if row[offset] in (None, False) else None

    assert disagreeing_columns(row, entry.canonical()) == [SEARCHABLE_COLUMNS[offset]]


def test_a_leaf_that_is_no_entry_disagrees_in_every_column() -> None:
    assert disagreeing_columns(_columns(_entry()), b"not json") == list(SEARCHABLE_COLUMNS)
