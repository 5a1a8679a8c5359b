"""Erasure: an officer removes a person's link to the records for good, on both back ends.

After it, no search or report by the person's BSN (the audit API, a partner's own disclosures,
the officer workspace's search and report) finds what was logged before, the entries themselves
stay unchanged, `gateway log verify` still passes, and a later exchange about the same BSN gets
a fresh pseudonym. Links are made once: concurrent first uses agree, across instances too.
Pseudonyms in use before links existed (schema 8) stay reachable until erased.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.audit.erasure import erase_subject
from gateway.client.http import GatewayClientError, PartnerClient
from gateway.errors import Forbidden
from gateway.log.entry import LogEntry, Sender
from gateway.policy.oversight import Oversight
from gateway.store.base import Storage
from gateway.store.links import find_pseudonym, pseudonym_for
from gateway.subject import Pseudonymiser, Subject
from tests.conftest import BSN_CHILD, BSN_OTHER, Running, example
from tests.helpers import (
    Http,
    assert_contract_error,
    linked_pseudonym,
    log_entries,
    relate,
    seed_referral,
)
from tests.officer_helpers import OfficerBrowser, issue_link
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    PostgresBackend,
    SqliteBackend,
    storage_backend_fixture,
    storage_fixture,
)

MakeClient = Callable[..., PartnerClient]
OFFICER = "fg-denhelder"  # oversees "all": the gateway operator's own officer
ERASE = "/v1/audit/subjects/erase"
GATEWAY = str(Path(sys.executable).with_name("gateway"))
CHILD = Subject("bsn", BSN_CHILD)


async def _feedback(running: Running, clients: MakeClient, bsn: str = BSN_CHILD) -> int:
    """An evaluation feedback from the provider to the team about `bsn`; its log index.

    The provider first gets the relation its report presumes (a referral for the person, seeded
    without log entries so the searches below count only what the tests send). A relation is
    held by pseudonym, so after an erasure the provider needs a new one, as it should.
    """
    await seed_referral(running, "zorg-noord", bsn)
    sent = await clients("zorg-noord").send(
        "evaluation-feedback", "swt-denhelder", bsn, example("evaluation-feedback")
    )
    return int(sent["disclosures"][0]["log_index"])


async def _found_by_bsn(running: Running, clients: MakeClient, bsn: str) -> dict[str, Any]:
    """What each search and report by this BSN shows: entry indices, report items."""
    officer = clients(OFFICER)
    entries = await officer.request("GET", "/v1/audit/entries", params={"bsn": bsn})
    report = await officer.request("GET", "/v1/audit/subject-report", params={"bsn": bsn})
    own = await clients("zorg-noord").request("GET", "/v1/disclosures", params={"bsn": bsn})
    browser = OfficerBrowser(running)
    try:
        await browser.sign_in(await issue_link(running))
        form = await browser.get("/officer/search")
        page = await browser.submit(form, "/officer/search", bsn=bsn)
        assert page.status == 200, page.text
        report_form = await browser.get("/officer/subject-report", lang="en")
        report_page = await browser.submit(report_form, "/officer/subject-report", bsn=bsn)
        assert report_page.status == 200, report_page.text
    finally:
        await browser.close()
    return {
        "audit": [e["index"] for e in entries["entries"] if e["decision"] != "audit_access"],
        "report": [i["index"] for i in report["disclosures"] if i["decision"] != "audit_access"],
        "own": [e["index"] for e in own["entries"]],
        "workspace_search": page.text,
        "workspace_report": report_page.text,
    }


def _verify(running: Running, tmp_path: Path, storage_url: str | None) -> str:
    """`gateway log verify` on this gateway's data folder and storage; its output on success."""
    args = [GATEWAY, "log", "verify", "--data", str(tmp_path / "data")]
    if storage_url is not None:
        args += ["--storage", storage_url]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_an_erased_subject_is_no_longer_found_by_bsn_in_any_search_or_report_while_the_log_still_verifies(
    running: Running, clients: MakeClient, tmp_path: Path, storage_url: str | None
) -> None:
    disclosed = await _feedback(running, clients)
    other = await _feedback(running, clients, BSN_OTHER)
    before = await _found_by_bsn(running, clients, BSN_CHILD)
    assert disclosed in before["audit"]
    assert disclosed in before["report"]
    assert disclosed in before["own"]
    assert f'href="/officer/entries/{disclosed}"' in before["workspace_search"]
    assert "Evaluation feedback" in before["workspace_report"]
    old = await linked_pseudonym(running, BSN_CHILD)
    [leaf_before] = await running.gw.storage.log_rows(disclosed, disclosed + 1)

    erased = await clients(OFFICER).request(
        "POST", ERASE, json_body={"subject": {"bsn": BSN_CHILD}, "reason": "no_longer_necessary"}
    )

    [entry] = await log_entries(running, erased["log_index"])
    assert entry.decision == "subject_link_erased"
    assert entry.reason == "no_longer_necessary"
    assert entry.sender == Sender(OFFICER, f"{OFFICER}-actor-1", "privacy_officer")
    assert entry.subject is None
    assert BSN_CHILD not in entry.canonical().decode()
    assert old is not None
    assert old not in entry.canonical().decode()
    after = await _found_by_bsn(running, clients, BSN_CHILD)
    assert (after["audit"], after["report"], after["own"]) == ([], [], [])
    assert f'href="/officer/entries/{disclosed}"' not in after["workspace_search"]
    assert "Evaluation feedback" not in after["workspace_report"]
    # The entries themselves stay as they were, and the other person is found as before.
    assert await running.gw.storage.log_rows(disclosed, disclosed + 1) == [leaf_before]
    assert other in (await _found_by_bsn(running, clients, BSN_OTHER))["audit"]
    await running.gw.sequencer().integrate()
    assert "log verified" in _verify(running, tmp_path, storage_url)

    # A later exchange about the same person starts a new, unrelated pseudonym.
    later = await _feedback(running, clients)
    fresh = await linked_pseudonym(running, BSN_CHILD)
    assert fresh is not None
    assert fresh != old
    [later_entry] = await log_entries(running, later)
    assert later_entry.subject == fresh
    assert (await _found_by_bsn(running, clients, BSN_CHILD))["audit"] == [later]


async def test_erasing_a_person_nothing_is_linked_to_is_not_found_and_logs_nothing(
    running: Running, clients: MakeClient
) -> None:
    await _feedback(running, clients)
    officer = clients(OFFICER)
    body = {"subject": {"bsn": BSN_CHILD}, "reason": "objection"}
    await officer.request("POST", ERASE, json_body=body)
    size = await running.gw.storage.log_size()

    with pytest.raises(GatewayClientError) as again:
        await officer.request("POST", ERASE, json_body=body)
    with pytest.raises(GatewayClientError) as never_seen:
        await officer.request("POST", ERASE, json_body={**body, "subject": {"bsn": BSN_OTHER}})

    assert (again.value.status, again.value.code) == (404, "not_found")
    assert (never_seen.value.status, never_seen.value.code) == (404, "not_found")
    assert await running.gw.storage.log_size() == size


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


async def test_a_care_provider_trying_to_erase_a_childs_link_is_refused_and_the_link_stays(
    running: Running, clients: MakeClient, http: Http
) -> None:
    await _feedback(running, clients)
    linked = await linked_pseudonym(running, BSN_CHILD)
    size = await running.gw.storage.log_size()

    answer = await http.call(
        "POST",
        ERASE,
        token=await http.token("zorg-noord"),
        json_body={"subject": {"bsn": BSN_CHILD}, "reason": "objection"},
    )

    assert_contract_error(answer, 403, "forbidden")
    assert await linked_pseudonym(running, BSN_CHILD) == linked
    assert await running.gw.storage.log_size() == size


async def test_an_officer_overseeing_only_a_school_trying_to_erase_a_link_is_refused(
    running: Running, clients: MakeClient
) -> None:
    await _feedback(running, clients)
    linked = await linked_pseudonym(running, BSN_CHILD)
    school_officer = Oversight("fg-school-de-es", frozenset({"school-de-es"}))
    size = await running.gw.storage.log_size()

    with pytest.raises(Forbidden):
        await erase_subject(
            running.gw,
            CHILD,
            "objection",
            Sender("fg-school-de-es", "inspector", "privacy_officer"),
            school_officer,
        )

    assert await linked_pseudonym(running, BSN_CHILD) == linked
    assert await running.gw.storage.log_size() == size


async def test_an_erasure_without_a_known_reason_is_refused_and_changes_nothing(
    running: Running, clients: MakeClient, http: Http
) -> None:
    await _feedback(running, clients)
    linked = await linked_pseudonym(running, BSN_CHILD)
    token = await http.token(OFFICER)
    size = await running.gw.storage.log_size()

    bodies = [
        {"subject": {"bsn": BSN_CHILD}, "reason": "because I say so"},
        {"subject": {"bsn": BSN_CHILD}},
        {"subject": {"bsn": BSN_CHILD}, "reason": "objection", "note": "extra"},
        {"subject": {"bsn": "123456789"}, "reason": "objection"},
    ]
    answers = [await http.call("POST", ERASE, token=token, json_body=b) for b in bodies]

    assert_contract_error(answers[0], 400, "invalid_request")
    assert_contract_error(answers[1], 400, "invalid_request")
    assert_contract_error(answers[2], 400, "invalid_request")
    assert_contract_error(answers[3], 400, "invalid_subject")
    assert all(BSN_CHILD not in a.text for a in answers)
    assert await linked_pseudonym(running, BSN_CHILD) == linked
    assert await running.gw.storage.log_size() == size


# -- the links in storage, on both back ends --------------------------------------------------------

KEY = Pseudonymiser(b"k" * 32)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


async def test_concurrent_first_uses_of_a_subject_on_two_instances_agree_on_one_pseudonym(
    storage_backend: SqliteBackend | PostgresBackend,
) -> None:
    first, second = await storage_backend.open(), await storage_backend.open()

    made = await asyncio.gather(*(pseudonym_for(s, KEY, CHILD, NOW) for s in [first, second] * 8))

    assert len(set(made)) == 1
    assert made[0] != KEY.pseudonym_of(CHILD)  # random, not the HMAC of the BSN
    assert await find_pseudonym(second, KEY, CHILD) == made[0]
    assert await find_pseudonym(first, KEY, Subject("bsn", BSN_OTHER)) is None


async def test_a_link_key_is_never_the_pseudonym_any_record_carries(storage: Storage) -> None:
    pseudonym = await pseudonym_for(storage, KEY, CHILD, NOW)

    assert KEY.link_key(CHILD) not in {pseudonym, KEY.pseudonym_of(CHILD)}
    assert KEY.link_key(CHILD) != KEY.link_key(Subject("bsn", BSN_OTHER))


def _erasure(moment: datetime) -> LogEntry:
    return LogEntry(time=moment, decision="subject_link_erased", reason="objection")


async def test_a_subject_with_records_from_before_schema_9_keeps_its_pseudonym_until_erased(
    storage_backend: SqliteBackend | PostgresBackend,
) -> None:
    legacy = KEY.pseudonym_of(CHILD)
    await storage_backend.create_at_version(8)
    insert = "INSERT INTO consents (consent_id, subject, recorded_by, record) VALUES "
    if isinstance(storage_backend, SqliteBackend):
        with sqlite3.connect(storage_backend.path) as db:
            db.execute(insert + "(?, ?, ?, ?)", ("con_old", legacy, "swt-denhelder", b"\x01"))
        db.close()
    else:
        await storage_backend.sql_rows(
            insert + "($1, $2, $3, $4)", "con_old", legacy, "swt-denhelder", b"\x01"
        )
    storage = storage_backend.make()
    await storage.migrate()
    storage = await storage_backend.open()

    assert await find_pseudonym(storage, KEY, CHILD) == legacy
    assert await pseudonym_for(storage, KEY, CHILD, NOW) == legacy
    assert [c.consent_id for c in await storage.consents_for_subject(legacy)] == ["con_old"]

    index = await storage.erase_subject_link(KEY.link_key(CHILD), legacy, _erasure(NOW))

    assert index is not None
    assert await find_pseudonym(storage, KEY, CHILD) is None
    fresh = await pseudonym_for(storage, KEY, CHILD, NOW)
    assert fresh != legacy
    assert await storage.consents_for_subject(fresh) == []


# -- the operator's command ---------------------------------------------------------------------


def _erase_cli(
    tmp_path: Path, storage_url: str | None, officer: str, stdin: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    args = [GATEWAY, "subjects", "erase", officer, "--data", str(tmp_path / "data"), *extra]
    if storage_url is not None:
        args += ["--storage", storage_url]
    return subprocess.run(
        args, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


async def test_the_operator_erases_a_link_with_the_command_reading_the_bsn_from_stdin(
    running: Running, clients: MakeClient, tmp_path: Path, storage_url: str | None
) -> None:
    await _feedback(running, clients)
    size = await running.gw.storage.log_size()

    not_an_officer = _erase_cli(
        tmp_path,
        storage_url,
        "zorg-noord",
        BSN_CHILD + "\n",
        "--actor",
        "j-de-vries",
        "--reason",
        "objection",
    )
    done = _erase_cli(
        tmp_path,
        storage_url,
        OFFICER,
        BSN_CHILD + "\n",
        "--actor",
        "j-de-vries",
        "--reason",
        "objection",
    )
    again = _erase_cli(
        tmp_path,
        storage_url,
        OFFICER,
        BSN_CHILD + "\n",
        "--actor",
        "j-de-vries",
        "--reason",
        "objection",
    )
    bsn_as_actor = _erase_cli(
        tmp_path,
        storage_url,
        OFFICER,
        BSN_CHILD + "\n",
        "--actor",
        f"officer-{BSN_OTHER}",
        "--reason",
        "objection",
    )

    assert not_an_officer.returncode == 2
    assert done.returncode == 0, done.stdout + done.stderr
    assert again.returncode == 1
    assert bsn_as_actor.returncode == 2
    assert "--actor must be 1-64 letters" in bsn_as_actor.stderr
    for run in (not_an_officer, done, again, bsn_as_actor):
        assert BSN_CHILD not in run.stdout + run.stderr
    [entry] = await log_entries(running, size)
    assert entry.decision == "subject_link_erased"
    assert entry.sender == Sender(OFFICER, "j-de-vries", "privacy_officer")
    assert (entry.reason, entry.subject) == ("objection", None)
    assert await linked_pseudonym(running, BSN_CHILD) is None


async def test_erasing_a_link_removes_the_records_that_would_lead_back_to_the_person(
    running: Running, clients: MakeClient, http: Http
) -> None:
    """A consent (with a giver's name), the held birth date, the case household's child_ref and
    what is owed about the child would each let someone who knows the family find the old
    pseudonym, and with it every entry; they go with the link. The log's entries stay."""
    case_id = await relate(http, "zorg-noord", BSN_CHILD)
    team = await http.token("swt-denhelder")
    recorded = await http.call(
        "POST",
        "/v1/consents",
        token=team,
        json_body={
            "subject": {"bsn": BSN_CHILD, "birth_date": "2016-03-01"},
            "given_by": [{"role": "custodian", "name": "P. Jansen"}],
            "purposes": ["closure-notice"],
            "to": ["zorg-noord"],
            "evidence": {"method": "written", "reference": "dossier 2026-17"},
        },
    )
    assert recorded.status == 201, recorded.text
    disclosed = await _feedback(running, clients)
    old = await linked_pseudonym(running, BSN_CHILD)
    assert old is not None
    storage = running.gw.storage
    assert await storage.consents_for_subject(old)
    assert await storage.held_birth_date(old) is not None
    assert [c.subject for c in await storage.household(case_id)] == [old]
    owed = await storage.expectations_for("zorg-noord", open_only=False, limit=100)
    assert any(e.subject == old for e in owed)  # the seeded referral's expectation

    await clients(OFFICER).request(
        "POST", ERASE, json_body={"subject": {"bsn": BSN_CHILD}, "reason": "no_longer_necessary"}
    )

    assert await storage.consents_for_subject(old) == []
    assert await storage.held_birth_date(old) is None
    assert await storage.household(case_id) == []
    owed = await storage.expectations_for("zorg-noord", open_only=False, limit=100)
    assert not any(e.subject == old for e in owed)
    entry = (await log_entries(running, disclosed))[0]
    assert entry.subject == old  # the entry itself is unchanged
