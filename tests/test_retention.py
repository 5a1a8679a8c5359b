"""Retention: records past their term are removed by a run on an injected clock, each kind's
removals logged as a count, on both back ends; what is still within its term stays.

The storage contract runs on SQLite and PostgreSQL (`storage`); the consent flow runs over
real HTTP on a gateway of each back end (`running`), with the clock moved by years.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import aiohttp
import pytest

from gateway.config import Catalogue, load_catalogue
from gateway.log.entry import LogEntry, Sender
from gateway.officer.sessions import SESSION_IDLE
from gateway.policy.retention import (
    consent_retained_until,
    removal_entry,
    retention_terms,
    years_before,
)
from gateway.runtime import DEFAULT_CONFIG
from gateway.service.retention import run_retention
from gateway.store.base import (
    BreakGlassRecord,
    ExchangeEffects,
    Expectation,
    OfficerLink,
    OfficerSession,
    RetentionTerms,
    Storage,
    StoredConsent,
)
from gateway.store.sql.subjects import RETENTION_KINDS
from gateway.store.sql.txn import Txn, count
from tests.conftest import REPO, Running
from tests.helpers import Http, log_entries, valid_bsn
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    storage_backend_fixture,
    storage_fixture,
)

NOW = datetime(2046, 6, 1, 12, 0, tzinfo=UTC)
SHORT = years_before(NOW, 5)  # the "short" purpose's records closed before this have gone
LONG = years_before(NOW, 20)  # the "long" purpose's, and those of any purpose not listed
TERMS = RetentionTerms(
    now=NOW,
    closed_before={"short": SHORT, "long": LONG},
    closed_before_otherwise=LONG,
    sessions_seen_before=NOW - timedelta(hours=8),
    cases_inactive_before=LONG,
    birth_dates_recorded_before=SHORT,
)
PSEUDONYM = "ab" * 32


def _consent(consent_id: str, retain_until: datetime | None) -> StoredConsent:
    return StoredConsent(consent_id, PSEUDONYM, "swt-denhelder", b"\x01sealed", retain_until)


def _expectation(expectation_id: str, purpose: str, closed_at: datetime | None) -> Expectation:
    return Expectation(
        expectation_id=expectation_id,
        purpose=purpose,
        origin_purpose="referral",
        origin_exchange_id=None,
        case_id=None,
        owed_by="zorg-noord",
        owed_to="swt-denhelder",
        subject=PSEUDONYM,
        child_ref=None,
        opened_at=LONG - timedelta(days=400),
        due_at=LONG - timedelta(days=300),
        closed_at=closed_at,
        closed_by=None if closed_at is None else "ex_closing",
    )


def _entry(decision: str, moment: datetime) -> LogEntry:
    return LogEntry(time=moment, decision=decision, sender=Sender("fg-denhelder", "a", "fg"))


async def _remaining(storage: Storage) -> dict[str, set[str]]:
    consents = {c.consent_id for c in await storage.consents_for_subject(PSEUDONYM)}
    expectations = {
        e.expectation_id
        for e in await storage.expectations_for("zorg-noord", open_only=False, limit=100)
    }
    reviewed = await storage.break_glass_records(status=None, limit=100)
    return {
        "consents": consents,
        "expectations": expectations,
        "break_glass": {r.exchange_id for r in reviewed},
    }


async def test_a_retention_run_removes_exactly_the_records_whose_term_has_passed_and_logs_a_count_per_kind(
    storage: Storage,
) -> None:
    for consent_id, retain in (
        ("con_passed", NOW - timedelta(seconds=1)),
        ("con_at_term", NOW),
        ("con_within", NOW + timedelta(days=1)),
        ("con_open", None),
    ):
        await storage.add_consent(_consent(consent_id, retain), _entry("consent_recorded", LONG))
    await storage.add_expectations(
        [
            _expectation("exp_short_passed", "short", SHORT - timedelta(days=1)),
            _expectation("exp_short_within", "short", SHORT + timedelta(days=1)),
            _expectation("exp_long_within", "long", SHORT - timedelta(days=1)),
            _expectation("exp_long_passed", "long", LONG - timedelta(days=1)),
            _expectation("exp_retired_purpose_passed", "retired", LONG - timedelta(days=1)),
            _expectation("exp_retired_purpose_within", "retired", SHORT - timedelta(days=1)),
            _expectation("exp_open_for_ages", "short", None),
        ]
    )
    for exchange_id, reviewed_at in (
        ("ex_reviewed_long_ago", SHORT - timedelta(days=1)),
        ("ex_reviewed_lately", SHORT + timedelta(days=1)),
        ("ex_never_reviewed", None),
    ):
        record = BreakGlassRecord(exchange_id, "zorg-noord", "short", LONG, b"\x03sealed")
        await storage.record_exchange(
            [_entry("disclosed", LONG)], [], ExchangeEffects(break_glass=record)
        )
        if reviewed_at is not None:
            await storage.review_break_glass(
                exchange_id,
                status="justified",
                by="fg-denhelder",
                at=reviewed_at,
                sealed_note=b"\x04note",
                entry=_entry("break_glass_reviewed", reviewed_at),
            )
    for name, seen in (("idle", NOW - timedelta(hours=9)), ("active", NOW - timedelta(hours=1))):
        session = OfficerSession(f"session-{name}", "fg-denhelder", "a", seen, seen, "nl")
        await storage.start_officer_session(session, _entry("officer_signed_in", seen), LONG)
    for name, expires in (("expired", NOW - timedelta(minutes=1)), ("valid", NOW + timedelta(1))):
        link = OfficerLink(f"link-{name}", "fg-denhelder", "a", expires)
        await storage.add_officer_link(link, _entry("officer_link_issued", LONG), LONG)
    size = await storage.log_size()

    removed = await storage.remove_expired_records(TERMS, removal_entry(NOW))

    assert removed == {
        "consents": 2,
        "expectations": 3,
        "break_glass": 1,
        "officer_sessions": 1,
        "officer_links": 1,
        "cases": 0,
        "case_network": 0,
        "household": 0,
        "birth_dates": 0,
    }
    assert await _remaining(storage) == {
        "consents": {"con_within", "con_open"},
        "expectations": {
            "exp_short_within",
            "exp_long_within",
            "exp_retired_purpose_within",
            "exp_open_for_ages",
        },
        "break_glass": {"ex_reviewed_lately", "ex_never_reviewed"},
    }
    assert await storage.officer_session("session-idle") is None
    assert await storage.officer_session("session-active") is not None
    assert await storage.take_officer_link("link-expired", LONG) is None
    assert await storage.take_officer_link("link-valid", LONG) is not None
    rows = await storage.log_rows(size, await storage.log_size())
    logged = [row.entry for row in rows]
    assert [(e.decision, e.reason, e.details) for e in logged] == [
        ("records_removed", "retention_expired", {"kind": kind, "count": removed[kind]})
        for kind in RETENTION_KINDS
        if removed[kind]
    ]
    assert all(e.subject is None and e.time == NOW for e in logged)


async def test_a_second_retention_run_with_nothing_past_its_term_removes_and_logs_nothing(
    storage: Storage,
) -> None:
    await storage.add_consent(_consent("con_passed", NOW), _entry("consent_recorded", LONG))
    await storage.remove_expired_records(TERMS, removal_entry(NOW))
    size = await storage.log_size()

    again = await storage.remove_expired_records(TERMS, removal_entry(NOW))

    assert again == dict.fromkeys(RETENTION_KINDS, 0)
    assert await storage.log_size() == size


async def test_a_retention_run_removes_at_most_one_batch_of_a_kind(storage: Storage) -> None:
    for n in range(5):
        await storage.add_consent(_consent(f"con_{n}", LONG), _entry("consent_recorded", LONG))
    small = RetentionTerms(NOW, {}, LONG, NOW - timedelta(hours=8), LONG, SHORT, batch=3)

    first = await storage.remove_expired_records(small, removal_entry(NOW))
    second = await storage.remove_expired_records(small, removal_entry(NOW))

    assert (first["consents"], second["consents"]) == (3, 2)
    assert await storage.consents_for_subject(PSEUDONYM) == []


# -- the terms, pure ------------------------------------------------------------------------------


def test_a_consent_is_kept_for_its_longest_purpose_term_after_it_ended(
    catalogue: Catalogue,
) -> None:
    withdrawn = datetime(2027, 3, 4, 9, 30, tzinfo=UTC)
    short = catalogue.get("referrer-status")
    long = catalogue.get("closure-notice")
    assert short is not None
    assert long is not None
    assert short.record_retention_years < long.record_retention_years

    both = consent_retained_until(
        withdrawn_at=withdrawn,
        valid_until=date(2030, 1, 1),
        purposes=frozenset({short.id, long.id}),
        catalogue=catalogue,
    )
    ended_first = consent_retained_until(
        withdrawn_at=None,
        valid_until=date(2027, 1, 1),
        purposes=frozenset({short.id}),
        catalogue=catalogue,
    )
    retired = consent_retained_until(
        withdrawn_at=withdrawn,
        valid_until=None,
        purposes=frozenset({"a-purpose-no-longer-in-the-catalogue"}),
        catalogue=catalogue,
    )

    assert both == withdrawn.replace(year=2027 + long.record_retention_years)
    assert ended_first == datetime(2027 + short.record_retention_years, 1, 1, tzinfo=UTC)
    assert retired == withdrawn.replace(year=2027 + catalogue.longest_record_retention_years)
    assert (
        consent_retained_until(
            withdrawn_at=None, valid_until=None, purposes=frozenset({long.id}), catalogue=catalogue
        )
        is None
    )


def test_a_term_counted_from_29_february_ends_on_28_february() -> None:
    leap = datetime(2028, 2, 29, 10, 0, tzinfo=UTC)

    assert years_before(leap, 5) == datetime(2023, 2, 28, 10, 0, tzinfo=UTC)
    assert years_before(leap, -1) == datetime(2029, 2, 28, 10, 0, tzinfo=UTC)
    assert years_before(leap, 4) == datetime(2024, 2, 29, 10, 0, tzinfo=UTC)


def test_the_terms_of_a_run_follow_each_purpose_of_the_catalogue(catalogue: Catalogue) -> None:
    terms = retention_terms(catalogue, NOW, SESSION_IDLE)

    assert set(terms.closed_before) == catalogue.ids
    for purpose in catalogue:
        assert terms.closed_before[purpose.id] == years_before(NOW, purpose.record_retention_years)
    assert terms.closed_before_otherwise == years_before(
        NOW, catalogue.longest_record_retention_years
    )
    assert terms.sessions_seen_before == NOW - SESSION_IDLE


@pytest.fixture
def catalogue() -> Catalogue:
    return load_catalogue(DEFAULT_CONFIG, REPO / "schemas")


# -- over HTTP, on a gateway of each back end -------------------------------------------------------

RECORDED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    running.clock.moment = RECORDED
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


async def test_a_withdrawn_consent_is_listed_until_its_term_has_passed_and_then_removed_and_logged(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(7)
    body = {
        "subject": {"bsn": bsn, "birth_date": "1990-01-01"},
        "given_by": [{"role": "subject", "name": "Noor Jansen"}],
        "purposes": ["information-request"],
        "to": ["school-de-es"],
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }
    team = await http.token("swt-denhelder")
    recorded = await http.call("POST", "/v1/consents", token=team, json_body=body)
    assert recorded.status == 201, recorded.text
    consent_id = recorded.body["consent_id"]
    running.clock.moment = withdrawn_at = RECORDED + timedelta(days=30)
    team = await http.token("swt-denhelder")
    withdrawn = await http.call("POST", f"/v1/consents/{consent_id}/withdraw", token=team)
    assert withdrawn.status == 200, withdrawn.text
    purpose = running.gw.catalogue.get("information-request")
    assert purpose is not None
    term_ends = withdrawn_at.replace(year=withdrawn_at.year + purpose.record_retention_years)

    async def listed() -> list[str]:
        token = await http.token("swt-denhelder")
        answer = await http.call("GET", "/v1/consents", token=token, params={"bsn": bsn})
        assert answer.status == 200, answer.text
        return [c["consent_id"] for c in answer.body["consents"]]

    running.clock.moment = term_ends - timedelta(minutes=1)
    kept = await run_retention(
        running.gw.storage,
        running.gw.catalogue,
        running.gw.cipher,
        running.clock.now(),
        SESSION_IDLE,
    )
    assert kept["consents"] == 0
    assert await listed() == [consent_id]

    running.clock.moment = term_ends
    size = await running.gw.storage.log_size()
    removed = await run_retention(
        running.gw.storage,
        running.gw.catalogue,
        running.gw.cipher,
        running.clock.now(),
        SESSION_IDLE,
    )

    assert removed["consents"] == 1
    assert await listed() == []
    assert await running.gw.storage.get_consent(consent_id) is None
    logged = await log_entries(running, size)
    # The birth date the consent gave goes with it: nothing else of the person needs it.
    assert [(e.decision, e.details) for e in logged] == [
        ("records_removed", {"kind": "consents", "count": 1}),
        ("records_removed", {"kind": "birth_dates", "count": 1}),
    ]
    assert bsn not in logged[0].canonical().decode()


async def test_a_consent_recorded_before_its_end_was_stored_gets_its_term_from_its_sealed_record(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(8)
    body = {
        "subject": {"bsn": bsn, "birth_date": "1990-01-01"},
        "given_by": [{"role": "subject", "name": "Noor Jansen"}],
        "purposes": ["information-request"],
        "to": ["school-de-es"],
        "evidence": {"method": "written", "reference": "dossier-2026-0043"},
        "valid_until": "2027-01-01",
    }
    recorded = await http.call(
        "POST", "/v1/consents", token=await http.token("swt-denhelder"), json_body=body
    )
    assert recorded.status == 201, recorded.text
    consent_id = recorded.body["consent_id"]
    storage = running.gw.storage

    # As a consent recorded before schema 9 is: its end only inside the sealed record.
    def forget() -> Txn[int]:
        return (yield from count("UPDATE consents SET retain_ms = NULL, term_known = ?", False))

    assert await storage._transact(forget) == 1
    assert [c.consent_id for c in await storage.consents_without_term(10)] == [consent_id]
    purpose = running.gw.catalogue.get("information-request")
    assert purpose is not None
    term_ends = datetime(2027 + purpose.record_retention_years, 1, 1, tzinfo=UTC)

    running.clock.moment = term_ends - timedelta(minutes=1)
    first = await run_retention(
        storage, running.gw.catalogue, running.gw.cipher, running.clock.now(), SESSION_IDLE
    )
    stored = await storage.get_consent(consent_id)

    assert (first["consent_terms_set"], first["consents"]) == (1, 0)
    assert stored is not None
    assert stored.retain_until == term_ends
    assert await storage.consents_without_term(10) == []

    running.clock.moment = term_ends
    second = await run_retention(
        storage, running.gw.catalogue, running.gw.cipher, running.clock.now(), SESSION_IDLE
    )

    assert (second["consent_terms_set"], second["consents"]) == (0, 1)
    assert await storage.get_consent(consent_id) is None
