"""Retention of cases and held birth dates: a case inactive for its term goes with its network and
household unless something about it is still owed; a held birth date goes once nothing of its
subject needs it. Each kind's removals are logged as a count, on both back ends.

The storage contract runs on SQLite and PostgreSQL (`storage`, `storage_backend`); the story of
one family runs over real HTTP on a gateway of each back end (`running`), with the clock moved
by years, and the log still verifies afterwards.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from gateway.client.http import PartnerClient
from gateway.config import Catalogue, load_catalogue
from gateway.log.entry import LogEntry, Sender
from gateway.officer.sessions import SESSION_IDLE
from gateway.policy.retention import removal_entry, retention_terms, years_before
from gateway.runtime import DEFAULT_CONFIG
from gateway.service.retention import run_retention
from gateway.store.base import (
    Case,
    ExchangeEffects,
    Expectation,
    HouseholdChild,
    NetworkMember,
    RetentionTerms,
    Storage,
    StoredConsent,
)
from gateway.store.sql.subjects import RETENTION_KINDS
from gateway.store.sql.txn import Txn, row
from tests.conftest import BSN_CHILD, REPO, Running, example
from tests.helpers import Http, linked_pseudonym, log_entries, relate
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    PostgresBackend,
    SqliteBackend,
    storage_backend_fixture,
    storage_fixture,
)

NOW = datetime(2046, 6, 1, 12, 0, tzinfo=UTC)
SHORT = years_before(NOW, 5)  # the catalogue's shortest term: birth dates recorded before it
LONG = years_before(NOW, 20)  # the catalogue's longest: cases last active before it
OLD = LONG - timedelta(days=1)
TEAM = "swt-denhelder"
PROVIDER = "zorg-noord"
GATEWAY = str(Path(sys.executable).with_name("gateway"))
Clients = Callable[..., PartnerClient]


def _terms(now: datetime) -> RetentionTerms:
    return RetentionTerms(
        now=now,
        closed_before={"short": years_before(now, 5), "long": years_before(now, 20)},
        closed_before_otherwise=years_before(now, 20),
        sessions_seen_before=now - timedelta(hours=8),
        cases_inactive_before=years_before(now, 20),
        birth_dates_recorded_before=years_before(now, 5),
    )


def _entry(
    decision: str, moment: datetime, case_id: str | None = None, subject: str | None = None
) -> LogEntry:
    return LogEntry(
        time=moment,
        decision=decision,
        sender=Sender(TEAM, "a", "procesregisseur"),
        case_id=case_id,
        subject=subject,
    )


def _expectation(
    expectation_id: str,
    *,
    case_id: str | None = None,
    subject: str | None = None,
    closed_at: datetime | None = None,
) -> Expectation:
    return Expectation(
        expectation_id=expectation_id,
        purpose="long",
        origin_purpose="referral",
        origin_exchange_id=None,
        case_id=case_id,
        owed_by=PROVIDER,
        owed_to=TEAM,
        subject=subject,
        child_ref=None,
        opened_at=OLD - timedelta(days=10),
        due_at=OLD - timedelta(days=5),
        closed_at=closed_at,
        closed_by=None if closed_at is None else "ex_closing",
    )


async def _open(
    storage: Storage, case_id: str, at: datetime, *, member: bool = True, child: str | None = None
) -> None:
    """A case the team opens at `at`, with the provider in its network and `child` (a pseudonym)
    in its household, all at that moment."""
    director = NetworkMember(case_id, TEAM, "procesregisseur", None, TEAM, at)
    await storage.open_case(
        Case(case_id, TEAM, None, at), director, _entry("case_opened", at, case_id)
    )
    if member:
        await storage.register_involvement(
            NetworkMember(case_id, PROVIDER, "involved", None, TEAM, at),
            _entry("case_member_added", at, case_id),
        )
    if child is not None:
        await storage.register_child(
            HouseholdChild(case_id, "child-1", child, TEAM, at),
            _entry("household_child_registered", at, case_id, child),
        )


async def _held(storage: Storage, case_id: str) -> tuple[bool, int, int]:
    """Whether the case is held, and how many network and household rows it has."""
    case = await storage.get_case(case_id)
    return (
        case is not None,
        len(await storage.case_network(case_id)),
        len(await storage.household(case_id)),
    )


async def test_a_case_inactive_past_its_term_goes_with_its_network_and_household_and_each_kind_is_counted(
    storage: Storage,
) -> None:
    await _open(storage, "case_inactive", OLD, child="c1" * 32)
    await _open(storage, "case_owed_long_ago", OLD, member=False)
    await storage.add_expectations(
        [_expectation("exp_closed", case_id="case_owed_long_ago", closed_at=OLD)]
    )
    await _open(storage, "case_at_its_term", LONG, child="c2" * 32)
    await _open(storage, "case_still_owed", OLD, child="c3" * 32)
    await storage.add_expectations([_expectation("exp_open", case_id="case_still_owed")])
    # Activity since: an exchange naming the case, any other entry naming it, a member removed.
    await _open(storage, "case_exchanged", OLD)
    await storage.record_exchange([_entry("disclosed", SHORT, "case_exchanged")], [])
    await _open(storage, "case_logged", OLD)
    await storage.append_log([_entry("consent_recorded", LONG + timedelta(days=1), "case_logged")])
    await _open(storage, "case_member_left", OLD)
    await storage.remove_involvement(
        "case_member_left", PROVIDER, _entry("case_member_removed", SHORT, "case_member_left")
    )
    size = await storage.log_size()

    removed = await storage.remove_expired_records(_terms(NOW), removal_entry(NOW))

    assert {k: removed[k] for k in ("cases", "case_network", "household")} == {
        "cases": 2,
        "case_network": 3,
        "household": 1,
    }
    assert await _held(storage, "case_inactive") == (False, 0, 0)
    assert await _held(storage, "case_owed_long_ago") == (False, 0, 0)
    assert await _held(storage, "case_at_its_term") == (True, 2, 1)
    assert await _held(storage, "case_still_owed") == (True, 2, 1)
    assert await _held(storage, "case_exchanged") == (True, 2, 0)
    assert await _held(storage, "case_logged") == (True, 2, 0)
    assert await _held(storage, "case_member_left") == (True, 1, 0)
    logged = [r.entry for r in await storage.log_rows(size, await storage.log_size())]
    assert [(e.decision, e.reason, e.details) for e in logged] == [
        ("records_removed", "retention_expired", {"kind": kind, "count": removed[kind]})
        for kind in RETENTION_KINDS
        if removed[kind]
    ]
    assert [e.details["kind"] for e in logged] == [
        "expectations",
        "cases",
        "case_network",
        "household",
    ]
    assert all(e.subject is None and e.case_id is None and e.time == NOW for e in logged)


async def test_a_case_kept_for_an_open_expectation_goes_at_the_first_run_after_it_is_closed(
    storage: Storage,
) -> None:
    await _open(storage, "case_owed", OLD)
    await storage.add_expectations([_expectation("exp_open", case_id="case_owed")])
    assert (await storage.remove_expired_records(_terms(NOW), removal_entry(NOW)))["cases"] == 0

    # The reply closes it without naming the case (a case named would count as activity).
    await storage.record_exchange(
        [_entry("disclosed", NOW)],
        [],
        ExchangeEffects(close=["exp_open"], closed_by="ex_reply", closed_at=NOW),
    )
    later = NOW + timedelta(hours=1)
    removed = await storage.remove_expired_records(_terms(later), removal_entry(later))

    assert (removed["cases"], removed["case_network"]) == (1, 2)
    assert await storage.get_case("case_owed") is None


async def test_a_held_birth_date_stays_while_its_subject_has_a_consent_a_household_row_or_an_open_expectation(
    storage: Storage,
) -> None:
    subjects = {
        name: f"{n:02d}" * 32
        for n, name in enumerate(
            ("consent", "household", "owed", "recent", "corrected", "alone", "closed_owed"),
            start=1,
        )
    }
    for subject in subjects.values():
        await storage.claim_birth_date(subject, b"\x05sealed", OLD)
    await storage.add_consent(
        StoredConsent("con_1", subjects["consent"], TEAM, b"\x01sealed", NOW + timedelta(days=1)),
        _entry("consent_recorded", OLD),
    )
    await _open(storage, "case_recent", SHORT, child=subjects["household"])
    await storage.add_expectations(
        [
            _expectation("exp_open", subject=subjects["owed"]),
            _expectation("exp_closed", subject=subjects["closed_owed"], closed_at=SHORT),
        ]
    )
    await storage.claim_birth_date(subjects["recent"], b"\x05other", SHORT)  # held: unchanged
    fresh = "99" * 32
    await storage.claim_birth_date(fresh, b"\x05sealed", SHORT + timedelta(days=1))
    await storage.correct_birth_date(
        subjects["corrected"],
        b"\x05corrected",
        _entry("birth_date_corrected", SHORT + timedelta(days=1), subject=subjects["corrected"]),
    )

    first = await storage.remove_expired_records(_terms(NOW), removal_entry(NOW))

    gone = {name for name, s in subjects.items() if await storage.held_birth_date(s) is None}
    assert first["birth_dates"] == 3
    assert gone == {"recent", "alone", "closed_owed"}  # a claim on a held date confirms nothing
    assert await storage.held_birth_date(fresh) is not None

    # Once the consent's own term has passed, the consent and the birth date go in one run.
    later = NOW + timedelta(days=1)
    size = await storage.log_size()
    second = await storage.remove_expired_records(_terms(later), removal_entry(later))

    assert (second["consents"], second["birth_dates"]) == (1, 1)
    assert await storage.held_birth_date(subjects["consent"]) is None
    logged = [r.entry for r in await storage.log_rows(size, await storage.log_size())]
    assert [e.details for e in logged] == [
        {"kind": "consents", "count": 1},
        {"kind": "birth_dates", "count": 1},
    ]
    assert all(e.subject is None for e in logged)


async def test_a_retention_run_removes_at_most_one_batch_of_cases(storage: Storage) -> None:
    for n in range(5):
        await _open(storage, f"case_{n}", OLD)
    small = RetentionTerms(NOW, {}, LONG, NOW - timedelta(hours=8), LONG, SHORT, batch=3)

    first = await storage.remove_expired_records(small, removal_entry(NOW))
    second = await storage.remove_expired_records(small, removal_entry(NOW))

    assert (first["cases"], first["case_network"]) == (3, 6)
    assert (second["cases"], second["case_network"]) == (2, 4)
    assert [await storage.get_case(f"case_{n}") for n in range(5)] == [None] * 5


# -- databases from before schema 11 --------------------------------------------------------------

_UNDO_SCHEMA_11 = [
    # Schema 13's first (roles in a case), then 12's (a case's life), then 11's.
    "ALTER TABLE cases DROP COLUMN regisseur_actor",
    "ALTER TABLE case_network DROP COLUMN care_column",
    "ALTER TABLE case_network DROP COLUMN measure",
    "ALTER TABLE household DROP COLUMN directed_by",
    "DROP TABLE case_events",
    "ALTER TABLE cases DROP COLUMN state",
    "ALTER TABLE cases DROP COLUMN opened_by",
    "ALTER TABLE cases DROP COLUMN opened_on",
    "ALTER TABLE cases DROP COLUMN opened_on_exchange",
    "ALTER TABLE expectations DROP COLUMN cancelled_reason",
    "DROP INDEX cases_by_activity",
    "DROP INDEX birth_dates_by_recorded",
    "DROP INDEX expectations_by_case",
    "ALTER TABLE cases DROP COLUMN last_activity_ms",
    "ALTER TABLE subject_birth_dates DROP COLUMN recorded_ms",
    "UPDATE meta SET value = '10' WHERE key = 'schema_version'",
]


async def _sql(
    backend: SqliteBackend | PostgresBackend, statement: str
) -> list[tuple[object, ...]]:
    if isinstance(backend, SqliteBackend):
        return [tuple(r) for r in backend._sql(statement)]
    return [tuple(r) for r in await backend.sql_rows(statement)]


async def test_a_case_and_a_birth_date_held_before_schema_11_take_their_times_from_their_rows_and_the_log(
    storage_backend: SqliteBackend | PostgresBackend,
) -> None:
    storage = await storage_backend.open()
    child = "c1" * 32
    await _open(storage, "case_old", OLD, child=child)
    await storage.claim_birth_date(child, b"\x05sealed", OLD)
    # The latest entry naming the case, and the latest about the child, are a year later.
    await storage.append_log([_entry("consent_recorded", OLD + timedelta(days=365), "case_old")])
    await storage.append_log([_entry("disclosed", OLD + timedelta(days=400), subject=child)])
    await _open(storage, "case_quiet", OLD - timedelta(days=30), member=False)
    for statement in _UNDO_SCHEMA_11:
        await _sql(storage_backend, statement)

    await storage_backend.migrate(storage_backend.make())

    activity = dict(await _sql(storage_backend, "SELECT case_id, last_activity_ms FROM cases"))
    recorded = await _sql(storage_backend, "SELECT recorded_ms FROM subject_birth_dates")
    ms = lambda moment: int(moment.timestamp() * 1000)  # noqa: E731
    assert activity == {
        "case_old": ms(OLD + timedelta(days=365)),
        "case_quiet": ms(OLD - timedelta(days=30)),
    }
    assert recorded == [(ms(OLD + timedelta(days=400)),)]


# -- the terms, pure ------------------------------------------------------------------------------


def test_cases_keep_the_catalogues_longest_term_and_birth_dates_its_shortest(
    catalogue: Catalogue,
) -> None:
    terms = retention_terms(catalogue, NOW, SESSION_IDLE)

    assert catalogue.shortest_record_retention_years < catalogue.longest_record_retention_years
    assert terms.cases_inactive_before == years_before(
        NOW, catalogue.longest_record_retention_years
    )
    assert terms.birth_dates_recorded_before == years_before(
        NOW, catalogue.shortest_record_retention_years
    )


@pytest.fixture
def catalogue() -> Catalogue:
    return load_catalogue(DEFAULT_CONFIG, REPO / "schemas")


# -- over HTTP, on a gateway of each back end -------------------------------------------------------

OPENED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    running.clock.moment = OPENED
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


def _verify(tmp_path: Path, storage_url: str | None) -> str:
    """`gateway log verify` on the gateway's data folder and storage; its output on success."""
    args = [GATEWAY, "log", "verify", "--data", str(tmp_path / "data")]
    if storage_url is not None:
        args += ["--storage", storage_url]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_a_familys_case_goes_after_its_term_and_the_childs_birth_date_with_the_last_consent_while_the_log_verifies(
    running: Running, http: Http, tmp_path: Path, storage_url: str | None
) -> None:
    case_id = await relate(http, PROVIDER, BSN_CHILD)
    recorded = await http.call(
        "POST",
        "/v1/consents",
        token=await http.token(TEAM),
        json_body={
            "subject": {"bsn": BSN_CHILD, "birth_date": "2016-03-01"},
            "given_by": [{"role": "custodian", "name": "P. Jansen"}],
            "purposes": ["closure-notice"],
            "to": [PROVIDER],
            "evidence": {"method": "written", "reference": "dossier 2026-17"},
        },
    )
    assert recorded.status == 201, recorded.text
    running.clock.moment = withdrawn_at = OPENED + timedelta(days=30)
    withdrawn = await http.call(
        "POST",
        f"/v1/consents/{recorded.body['consent_id']}/withdraw",
        token=await http.token(TEAM),
    )
    assert withdrawn.status == 200, withdrawn.text
    child = await linked_pseudonym(running, BSN_CHILD)
    assert child is not None
    gw = running.gw
    years = gw.catalogue.longest_record_retention_years

    async def run_at(moment: datetime) -> dict[str, int]:
        running.clock.moment = moment
        return await run_retention(gw.storage, gw.catalogue, gw.cipher, moment, SESSION_IDLE)

    async def network_status() -> int:
        answer = await http.call(
            "GET", f"/v1/cases/{case_id}/network", token=await http.token(PROVIDER)
        )
        return answer.status

    kept = await run_at(OPENED.replace(year=OPENED.year + years) - timedelta(minutes=1))
    assert (kept["cases"], kept["birth_dates"]) == (0, 0)
    assert await network_status() == 200

    size = await gw.storage.log_size()
    removed = await run_at(OPENED.replace(year=OPENED.year + years) + timedelta(minutes=1))
    assert (removed["cases"], removed["case_network"], removed["household"]) == (1, 2, 1)
    assert await network_status() == 404
    # The withdrawn consent's term runs from its withdrawal: it, and so the birth date, stay.
    assert removed["birth_dates"] == 0
    assert await gw.storage.held_birth_date(child) is not None

    last = await run_at(withdrawn_at.replace(year=withdrawn_at.year + years))
    assert (last["consents"], last["birth_dates"]) == (1, 1)
    assert await gw.storage.held_birth_date(child) is None
    logged = await log_entries(running, size)
    assert [(e.decision, e.details) for e in logged] == [
        ("records_removed", {"kind": "cases", "count": 1}),
        ("records_removed", {"kind": "case_network", "count": 2}),
        ("records_removed", {"kind": "household", "count": 1}),
        ("records_removed", {"kind": "consents", "count": 1}),
        ("records_removed", {"kind": "birth_dates", "count": 1}),
    ]
    assert not any(BSN_CHILD in e.canonical().decode() for e in logged)
    await gw.sequencer().integrate()
    assert "log verified" in _verify(tmp_path, storage_url)


def _last_activity(case_id: str) -> Txn[int | None]:
    found = yield from row("SELECT last_activity_ms FROM cases WHERE case_id = ?", case_id)
    return None if found is None else int(found[0])


async def test_an_exchange_naming_a_case_moves_its_last_activity_and_one_naming_no_case_does_not(
    running: Running, http: Http, clients: Clients
) -> None:
    case_id = await relate(http, PROVIDER, BSN_CHILD)
    storage = running.gw.storage
    provider = clients(PROVIDER)
    feedback = example("evaluation-feedback")
    opened = await storage._query(lambda: _last_activity(case_id))

    running.clock.moment = OPENED + timedelta(days=3)
    await provider.send("evaluation-feedback", TEAM, BSN_CHILD, feedback, case_id=case_id)
    moved = await storage._query(lambda: _last_activity(case_id))
    running.clock.moment = OPENED + timedelta(days=9)
    await provider.send("evaluation-feedback", TEAM, BSN_CHILD, feedback)
    unnamed = await storage._query(lambda: _last_activity(case_id))

    assert opened == int(OPENED.timestamp() * 1000)
    assert moved == unnamed == int((OPENED + timedelta(days=3)).timestamp() * 1000)
