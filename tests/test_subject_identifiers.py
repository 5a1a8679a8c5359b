"""Subjects without a BSN (issue 10) through the real HTTP gateway, on SQLite and PostgreSQL.

A pupil named by onderwijsnummer, or by a local pupil number the catalogue declares, goes
through the same exchange, consent, household, referrer-status and audit calls as a person
named by BSN; the log holds a pseudonym of system and value together, and says which system.
A subject the catalogue does not know, or a value that fails its format, changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.clock import FixedClock
from gateway.runtime import build_gateway
from gateway.standards.ldv import ATTR_DATA_SUBJECT_ID_TYPE, ldv_records
from gateway.subject import Subject
from gateway.web import create_app
from tests.conftest import (
    BSN_CHILD,
    LOCAL_PUPIL_ID,
    LOCAL_PUPIL_SYSTEM,
    ONDERWIJSNUMMER_CHILD,
    ONDERWIJSNUMMER_SYSTEM,
    Running,
    copy_config,
    example,
)
from tests.helpers import (
    Http,
    assert_contract_error,
    gateway_state,
    linked_pseudonym,
    log_entries,
    relate_client,
)
from tests.test_fhir_consent import fhir_consent

MakeClient = Callable[..., PartnerClient]
PUPIL = {"identifier": {"system": ONDERWIJSNUMMER_SYSTEM, "value": ONDERWIJSNUMMER_CHILD}}
LOCAL_PUPIL = {"identifier": {"system": LOCAL_PUPIL_SYSTEM, "value": LOCAL_PUPIL_ID}}
# A third system, only in the gateway of the two-systems test: nine digits, no check digit test.
NUMERIC_SYSTEM = "urn:example:leerlingnummer"


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


def exchange(subject: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An evaluation-feedback (statutory) from a care provider to the social team."""
    return {
        "purpose": "evaluation-feedback",
        "to": "swt-denhelder",
        "subject": subject,
        "payload": example("evaluation-feedback"),
        **changes,
    }


def pupil_consent(subject: dict[str, Any], purposes: list[str], to: list[str]) -> dict[str, Any]:
    """The consent of a 14-year-old pupil and a parent (the age rules ask for both)."""
    today = date.today()
    return {
        "subject": {**subject, "birth_date": date(today.year - 14, 1, 15).isoformat()},
        "given_by": [{"role": "subject"}, {"role": "custodian", "name": "M. de Vries"}],
        "purposes": purposes,
        "to": to,
        "evidence": {"method": "written", "reference": "toestemming-2026-0310"},
    }


async def subject_of(running: Running, subject: dict[str, Any]) -> str | None:
    return await linked_pseudonym(running, Subject.from_json(subject))


# -- exchanges ---------------------------------------------------------------------------------


async def test_an_exchange_about_a_pupil_by_onderwijsnummer_is_disclosed_and_logged_by_pseudonym(
    running: Running, clients: MakeClient
) -> None:
    provider = clients("zorg-noord")
    # The provider's relation to the pupil (issue 19): in the case, the pupil in its household.
    await relate_client(clients("swt-denhelder"), "zorg-noord", PUPIL)
    sent = await provider.request("POST", "/v1/exchanges", json_body=exchange(PUPIL))

    [disclosure] = sent["disclosures"]
    entries = await log_entries(running)
    entry = entries[disclosure["log_index"]]
    assert entry.decision == "disclosed"
    assert entry.subject == await subject_of(running, PUPIL)
    assert entry.subject != await linked_pseudonym(running, BSN_CHILD)
    assert entry.subject_system == ONDERWIJSNUMMER_SYSTEM
    leaf = (
        await running.gw.storage.log_rows(disclosure["log_index"], disclosure["log_index"] + 1)
    )[0].leaf
    assert ONDERWIJSNUMMER_CHILD.encode() not in leaf
    # The recipient receives the subject as the sender named it.
    [message] = (await clients("swt-denhelder").inbox())["messages"]
    assert message["subject"] == PUPIL
    assert message["exchange_id"] == sent["exchange_id"]
    # An LDV export says which kind of pseudonym the record names.
    [record] = ldv_records(
        disclosure["log_index"],
        entry.to_json(),
        processing_activity=lambda _: None,
        processor_of=lambda p: f"urn:partner:{p}",
        gateway_id=running.gw.settings.id,
    )
    assert record.attributes[ATTR_DATA_SUBJECT_ID_TYPE] == f"pseudonym:{ONDERWIJSNUMMER_SYSTEM}"


async def test_a_bsn_exchange_still_logs_the_bsn_pseudonym_and_no_system(
    running: Running, clients: MakeClient
) -> None:
    await relate_client(clients("swt-denhelder"), "zorg-noord", BSN_CHILD)
    sent = await clients("zorg-noord").send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    entry = (await log_entries(running))[sent["disclosures"][0]["log_index"]]
    assert entry.subject == await linked_pseudonym(running, BSN_CHILD)
    assert entry.subject_system is None
    assert "subject_system" not in entry.to_json()


async def test_a_consent_recorded_for_the_pupils_identifier_covers_the_exchange(
    running: Running, clients: MakeClient
) -> None:
    team = clients("swt-denhelder")
    payload = example("information-request")
    with pytest.raises(GatewayClientError) as refused:
        await team.request(
            "POST",
            "/v1/exchanges",
            json_body={
                "purpose": "information-request",
                "to": "school-de-es",
                "subject": LOCAL_PUPIL,
                "payload": payload,
            },
        )
    assert (refused.value.status, refused.value.code) == (403, "consent_required")

    recorded = await team.record_consent(
        pupil_consent(LOCAL_PUPIL, ["information-request"], ["school-de-es"])
    )
    sent = await team.request(
        "POST",
        "/v1/exchanges",
        json_body={
            "purpose": "information-request",
            "to": "school-de-es",
            "subject": LOCAL_PUPIL,
            "payload": payload,
        },
    )
    assert sent["legal_basis"]["type"] == "consent"
    assert sent["consent_id"] == recorded["consent_id"]
    entries = await log_entries(running)
    consent_entry = entries[recorded["log_index"]]
    assert consent_entry.decision == "consent_recorded"
    assert consent_entry.subject == await subject_of(running, LOCAL_PUPIL)
    assert consent_entry.subject_system == LOCAL_PUPIL_SYSTEM
    # The consent is about this pupil number only: an onderwijsnummer is another subject.
    checked = await team.request(
        "POST",
        "/v1/exchanges/check",
        json_body={"purpose": "information-request", "to": "school-de-es", "subject": PUPIL},
    )
    assert (checked["allowed"], checked["code"]) == (False, "consent_required")


async def test_consents_are_listed_by_identifier_and_a_local_system_keeps_to_its_purposes(
    running: Running, clients: MakeClient, http: Http
) -> None:
    team = clients("swt-denhelder")
    recorded = await team.record_consent(
        pupil_consent(PUPIL, ["closure-notice", "referral"], ["kind:school", "zorg-noord"])
    )
    listed = await team.request(
        "GET",
        "/v1/consents",
        params={
            "identifier_system": ONDERWIJSNUMMER_SYSTEM,
            "identifier_value": ONDERWIJSNUMMER_CHILD,
        },
    )
    assert [c["consent_id"] for c in listed["consents"]] == [recorded["consent_id"]]
    by_bsn = await team.request("GET", "/v1/consents", params={"bsn": BSN_CHILD})
    assert by_bsn["consents"] == []

    token = await http.token("swt-denhelder")
    before = await gateway_state(running)
    # The local pupil number is declared for school-related purposes only, not for a referral.
    answer = await http.call(
        "POST",
        "/v1/consents",
        token=token,
        json_body=pupil_consent(LOCAL_PUPIL, ["referral"], ["zorg-noord"]),
    )
    error = assert_contract_error(answer, 400, "invalid_subject")
    assert "referral" in error["message"]
    answer = await http.call(
        "POST",
        "/v1/exchanges",
        token=token,
        json_body={
            "purpose": "referral",
            "to": "zorg-noord",
            "subject": LOCAL_PUPIL,
            "payload": example("referral"),
        },
    )
    assert_contract_error(answer, 400, "invalid_subject")
    assert LOCAL_PUPIL_ID not in answer.text
    assert await gateway_state(running) == before


# -- refusals that change nothing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "code"),
    [
        (
            {"identifier": {"system": "urn:example:elsewhere", "value": LOCAL_PUPIL_ID}},
            "invalid_subject",
        ),
        (
            {"identifier": {"system": ONDERWIJSNUMMER_SYSTEM, "value": "100252333"}},
            "invalid_subject",
        ),
        ({"identifier": {"system": ONDERWIJSNUMMER_SYSTEM, "value": BSN_CHILD}}, "invalid_subject"),
        ({"identifier": {"system": LOCAL_PUPIL_SYSTEM, "value": "DH-42"}}, "invalid_subject"),
        ({"identifier": {"system": "bsn", "value": BSN_CHILD}}, "invalid_subject"),
        ({"identifier": {"system": LOCAL_PUPIL_SYSTEM}}, "invalid_request"),
        ({"bsn": BSN_CHILD, **LOCAL_PUPIL}, "invalid_request"),
    ],
    ids=[
        "unknown_system",
        "check_digit",
        "bsn_as_onderwijsnummer",
        "local_format",
        "bsn_as_system",
        "no_value",
        "both",
    ],
)
async def test_a_bad_identifier_is_refused_without_a_trace_and_never_echoed(
    running: Running, http: Http, subject: dict[str, Any], code: str
) -> None:
    token = await http.token("zorg-noord")
    before = await gateway_state(running)
    for path in ("/v1/exchanges", "/v1/exchanges/check"):
        answer = await http.call("POST", path, token=token, json_body=exchange(subject))
        error = assert_contract_error(answer, 400, code)
        for value in (LOCAL_PUPIL_ID, BSN_CHILD, "100252333", "DH-42"):
            assert value not in answer.text
        if subject["identifier"].get("system") == "urn:example:elsewhere":
            assert "urn:example:elsewhere" in error["message"]
            assert ONDERWIJSNUMMER_SYSTEM in error["how_to_fix"]
            assert error["accepted_systems"] == sorted(running.gw.catalogue.identifier_systems)
    assert await gateway_state(running) == before


# -- the same value under two systems -------------------------------------------------------------


@pytest.fixture
async def two_systems(
    tmp_path: Path, clock: FixedClock, storage_url: str | None
) -> AsyncIterator[Running]:
    """A gateway whose catalogue also declares a nine-digit pupil number without a check."""
    config = copy_config(tmp_path / "config")
    with (config / "purposes.toml").open("a", encoding="utf-8") as catalogue:
        catalogue.write(
            "\n[[identifier_system]]\n"
            f'system = "{NUMERIC_SYSTEM}"\n'
            'title = { nl = "Leerlingnummer", en = "Pupil number" }\n'
            'pattern = "^[0-9]{9}$"\n'
        )
    gw = build_gateway(config, tmp_path / "data", storage_url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    try:
        yield Running(gw, server, clock)
    finally:
        await server.close()


async def test_the_same_value_under_two_systems_or_as_a_bsn_is_logged_as_different_people(
    two_systems: Running,
) -> None:
    running = two_systems
    subjects = [
        PUPIL,
        {"identifier": {"system": NUMERIC_SYSTEM, "value": ONDERWIJSNUMMER_CHILD}},
        {"identifier": {"system": NUMERIC_SYSTEM, "value": BSN_CHILD}},
        {"bsn": BSN_CHILD},
    ]
    async with running.client("swt-denhelder") as team:
        # The provider's relation to each of the four (issue 19), each named as it is below.
        await relate_client(team, "zorg-noord", *subjects)
    async with running.client("zorg-noord") as provider:
        sent = [
            await provider.request("POST", "/v1/exchanges", json_body=exchange(s)) for s in subjects
        ]
    entries = await log_entries(running)
    logged = [entries[s["disclosures"][0]["log_index"]] for s in sent]
    assert [e.subject_system for e in logged] == [
        ONDERWIJSNUMMER_SYSTEM,
        NUMERIC_SYSTEM,
        NUMERIC_SYSTEM,
        None,
    ]
    assert [e.subject for e in logged] == [await subject_of(running, s) for s in subjects]
    assert len({e.subject for e in logged}) == 4
    assert logged[3].subject == await linked_pseudonym(running, BSN_CHILD)


# -- the privacy officer --------------------------------------------------------------------------


async def test_the_officer_finds_a_pupil_by_identifier_and_the_look_is_logged(
    running: Running, clients: MakeClient, http: Http
) -> None:
    provider = clients("zorg-noord")
    await relate_client(clients("swt-denhelder"), "zorg-noord", PUPIL, BSN_CHILD)
    about_pupil = await provider.request("POST", "/v1/exchanges", json_body=exchange(PUPIL))
    await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    officer = clients("fg-denhelder")
    query = {"identifier_system": ONDERWIJSNUMMER_SYSTEM, "identifier_value": ONDERWIJSNUMMER_CHILD}

    found = await officer.request("GET", "/v1/audit/entries", params=query)
    # Besides the exchange, the pupil's registration in the household (the relation) is found.
    disclosed = [e for e in found["entries"] if e["decision"] == "disclosed"]
    assert [e["exchange_id"] for e in disclosed] == [about_pupil["exchange_id"]]
    assert {e["decision"] for e in found["entries"]} == {"disclosed", "household_child_registered"}
    assert disclosed[0]["subject_system"] == ONDERWIJSNUMMER_SYSTEM
    look = (await log_entries(running))[-1]
    assert (look.decision, look.reason) == ("audit_access", "search_by_subject")
    assert look.subject == await subject_of(running, PUPIL)
    assert look.subject_system == ONDERWIJSNUMMER_SYSTEM

    report = await officer.request("GET", "/v1/audit/subject-report", params=query)
    assert report["subject"] == await subject_of(running, PUPIL)
    indices = [item["index"] for item in report["disclosures"]]
    assert about_pupil["disclosures"][0]["log_index"] in indices
    assert ONDERWIJSNUMMER_CHILD not in str(report)
    assert (await log_entries(running))[-1].reason == "subject_access_report"

    token = await http.token("fg-denhelder")
    before = await gateway_state(running)
    for params in (
        {"identifier_system": ONDERWIJSNUMMER_SYSTEM},
        {"identifier_value": ONDERWIJSNUMMER_CHILD},
        {"bsn": BSN_CHILD, **query},
    ):
        for path in ("/v1/audit/entries", "/v1/audit/subject-report"):
            answer = await http.call("GET", path, token=token, params=params)
            assert_contract_error(answer, 400, "invalid_request")
            assert ONDERWIJSNUMMER_CHILD not in answer.text
    bad = {"identifier_system": ONDERWIJSNUMMER_SYSTEM, "identifier_value": "100252333"}
    answer = await http.call("GET", "/v1/audit/entries", token=token, params=bad)
    assert_contract_error(answer, 400, "invalid_subject")
    assert await gateway_state(running) == before


# -- household, referrer status, FHIR consent -------------------------------------------------------


async def test_a_household_child_and_the_referrer_status_take_an_identifier(
    running: Running, clients: MakeClient
) -> None:
    team = clients("swt-denhelder")
    case = (await team.open_case())["case_id"]
    household = await team.request(
        "PUT",
        f"/v1/cases/{case}/household",
        json_body={
            "children": [
                {"bsn": BSN_CHILD, "child_ref": "kind-1"},
                {**LOCAL_PUPIL, "child_ref": "kind-2"},
            ]
        },
    )
    assert household["children"] == [{"child_ref": "kind-1"}, {"child_ref": "kind-2"}]
    stored = {c.child_ref: c.subject for c in await running.gw.storage.household(case)}
    assert stored["kind-2"] == await subject_of(running, LOCAL_PUPIL)

    await team.register_member(case, "school-de-es", role="referrer")
    await team.record_consent(pupil_consent(LOCAL_PUPIL, ["referrer-status"], ["school-de-es"]))
    sent = await team.request(
        "POST",
        f"/v1/cases/{case}/referrer-status",
        json_body={**LOCAL_PUPIL, "status": "help_started"},
    )
    assert sent["legal_basis"]["type"] == "consent"
    [message] = (await clients("school-de-es").inbox())["messages"]
    assert message["subject"] == LOCAL_PUPIL
    with pytest.raises(GatewayClientError) as both:
        await team.request(
            "POST",
            f"/v1/cases/{case}/referrer-status",
            json_body={**LOCAL_PUPIL, "bsn": BSN_CHILD, "status": "help_started"},
        )
    assert (both.value.status, both.value.code) == (400, "invalid_request")


async def test_a_fhir_consent_names_the_pupil_by_a_declared_system_or_is_refused(
    running: Running, clients: MakeClient, http: Http
) -> None:
    team = clients("swt-denhelder")
    resource = fhir_consent()
    resource["contained"][0]["identifier"] = [
        {"system": ONDERWIJSNUMMER_SYSTEM, "value": ONDERWIJSNUMMER_CHILD}
    ]
    recorded = await team.request("POST", "/v1/consents/fhir", json_body=resource)
    entry = (await log_entries(running))[recorded["log_index"]]
    assert entry.subject == await subject_of(running, PUPIL)
    assert entry.subject_system == ONDERWIJSNUMMER_SYSTEM
    sent = await team.request(
        "POST",
        "/v1/exchanges",
        json_body={
            "purpose": "closure-notice",
            "to": "school-de-es",
            "subject": PUPIL,
            "payload": example("closure-notice"),
        },
    )
    assert sent["consent_id"] == recorded["consent_id"]

    undeclared = fhir_consent()
    undeclared["contained"][0]["identifier"] = [
        {"system": "urn:example:elsewhere", "value": LOCAL_PUPIL_ID}
    ]
    answer = await http.call(
        "POST", "/v1/consents/fhir", token=await http.token("swt-denhelder"), json_body=undeclared
    )
    error = assert_contract_error(answer, 422, "consent_invalid")
    assert error["element"] == "Consent.patient.identifier.system"
    assert LOCAL_PUPIL_ID not in answer.text
