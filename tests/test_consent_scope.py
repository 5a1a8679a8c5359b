"""Who may create a legal basis, and for whom: the recording scope of a consent, and the one birth
date the gateway holds per subject, over real HTTP on both back ends.

Each test is an attack with a partner's own valid token: naming other senders, claiming to direct
a case, shifting a child into another age band with another birth date, correcting a birth date
without directing the child's case. Each refusal leaves the registry as it was, and is logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from gateway.log.entry import LogEntry, Sender
from gateway.store.base import Case, HouseholdChild, NetworkMember, Storage
from gateway.store.links import pseudonym_for
from gateway.subject import Subject
from tests.conftest import Running, example
from tests.helpers import (
    Answer,
    Http,
    assert_contract_error,
    linked_pseudonym,
    log_entries,
    valid_bsn,
)
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    storage_backend_fixture,
    storage_fixture,
)

# 10:00 UTC is 11:00 in Amsterdam: the same calendar date in both.
EXCHANGE_DAY = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TEAM, PROVIDER, SCHOOL, GI = "swt-denhelder", "zorg-noord", "school-de-es", "gi-noordholland"
CUSTODIAN = "Marieke Jansen"
THIRTEEN = "2013-05-01"  # 13 on EXCHANGE_DAY: the child and a custodian consent
TEN = "2016-05-01"  # 10 on EXCHANGE_DAY: a custodian consents
ADULT = "2000-05-01"  # 26 on EXCHANGE_DAY: the person consents


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    running.clock.moment = EXCHANGE_DAY
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


async def open_case(http: Http, case_id: str, members: dict[str, str]) -> str:
    """The team opens a case it directs (procesregisseur) with these members; its id.

    The one place a case is set up here, so the way cases are opened can change in one spot.
    """
    token = await http.token(TEAM)
    opened = await http.call("POST", "/v1/cases", token=token, json_body={})
    assert opened.status == 201, opened.text
    case_id = str(opened.body["case_id"])  # the gateway chooses the id; the team directs it
    for partner, role in members.items():
        answer = await http.call(
            "PUT", f"/v1/cases/{case_id}/network/{partner}", token=token, json_body={"role": role}
        )
        assert answer.status in (200, 201), answer.text
    return case_id


async def register_in_household(http: Http, case_id: str, bsn: str) -> None:
    """The director registers the child in the case's household, as a case consent needs."""
    answer = await http.call(
        "PUT",
        f"/v1/cases/{case_id}/household",
        token=await http.token(TEAM),
        json_body={"children": [{"bsn": bsn, "child_ref": "kind-1"}]},
    )
    assert answer.status == 200, answer.text


def consent_body(
    bsn: str,
    *,
    purposes: Sequence[str],
    to: Sequence[str],
    senders: Sequence[str] | None = None,
    birth_date: str | None = ADULT,
    givers: Sequence[str] = ("subject",),
    case_id: str | None = None,
) -> dict[str, Any]:
    names = {"subject": "Noor Jansen", "custodian": CUSTODIAN}
    body: dict[str, Any] = {
        "subject": {"bsn": bsn, **({"birth_date": birth_date} if birth_date else {})},
        "given_by": [{"role": role, "name": names[role]} for role in givers],
        "purposes": list(purposes),
        "to": list(to),
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }
    if senders is not None:
        body["from"] = list(senders)
    if case_id is not None:
        body["case_id"] = case_id
    return body


async def record(http: Http, partner: str, body: dict[str, Any]) -> Answer:
    return await http.call("POST", "/v1/consents", token=await http.token(partner), json_body=body)


async def record_for_a_ten_year_old(http: Http, bsn: str) -> Answer:
    """The team records a custodian's consent for a child of 10, for its closure notice."""
    body = consent_body(
        bsn, purposes=["closure-notice"], to=[SCHOOL], birth_date=TEN, givers=["custodian"]
    )
    return await record(http, TEAM, body)


async def check(
    http: Http, sender: str, purpose: str, to: str, bsn: str, in_reply_to: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"purpose": purpose, "to": to, "subject": {"bsn": bsn}}
    if in_reply_to is not None:
        body["in_reply_to"] = in_reply_to
    answer = await http.call(
        "POST", "/v1/exchanges/check", token=await http.token(sender), json_body=body
    )
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.body
    return body


async def ask_school(http: Http, bsn: str) -> str:
    """The team's information request to the school about `bsn` (on the person's agreement),
    open for the school's reply: a reply is checked, as it is sent, against an open request."""
    recorded = await record(
        http, TEAM, consent_body(bsn, purposes=["information-request"], to=[SCHOOL])
    )
    assert recorded.status == 201, recorded.text
    asked = await http.call(
        "POST",
        "/v1/exchanges",
        token=await http.token(TEAM),
        json_body={
            "purpose": "information-request",
            "to": SCHOOL,
            "subject": {"bsn": bsn},
            "payload": {"topics": ["attendance"]},
        },
    )
    assert asked.status == 201, asked.text
    return str(asked.body["exchange_id"])


async def listed(http: Http, partner: str, bsn: str) -> list[dict[str, Any]]:
    answer = await http.call(
        "GET", "/v1/consents", token=await http.token(partner), params={"bsn": bsn}
    )
    assert answer.status == 200, answer.text
    consents: list[dict[str, Any]] = answer.body["consents"]
    return consents


async def assert_refused_and_logged(
    running: Running, answer: Answer, before: int, status: int, code: str, bsn: str
) -> dict[str, Any]:
    """The refusal's contract shape, and exactly one log entry for it: no consent, no BSN."""
    error = assert_contract_error(answer, status, code)
    entries = await log_entries(running, before)
    assert [(e.decision, e.reason, e.consent_id) for e in entries] == [("refused", code, None)]
    assert entries[0].subject is not None
    assert bsn not in entries[0].canonical().decode()
    return error


# -- recording scope ------------------------------------------------------------------------------


async def test_a_school_recording_a_consent_naming_the_social_team_as_sender_is_refused_and_no_exchange_becomes_allowed(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(101)
    before = await running.gw.storage.log_size()
    answer = await record(
        http,
        SCHOOL,
        consent_body(bsn, purposes=["information-request"], to=[SCHOOL], senders=[TEAM]),
    )
    error = await assert_refused_and_logged(
        running, answer, before, 403, "consent_scope_not_allowed", bsn
    )
    assert error["field"] == "/from/0"
    assert await listed(http, TEAM, bsn) == []
    assert await listed(http, SCHOOL, bsn) == []
    checked = await check(http, TEAM, "information-request", SCHOOL, bsn)
    assert (checked["allowed"], checked["code"]) == (False, "consent_required")


async def test_a_school_naming_itself_beside_the_social_team_as_senders_is_refused(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(102)
    before = await running.gw.storage.log_size()
    answer = await record(
        http,
        SCHOOL,
        consent_body(
            bsn,
            purposes=["information-reply", "information-request"],
            to=[TEAM, SCHOOL],
            senders=[SCHOOL, TEAM],
        ),
    )
    await assert_refused_and_logged(running, answer, before, 403, "consent_scope_not_allowed", bsn)
    checked = await check(http, TEAM, "information-request", SCHOOL, bsn)
    assert checked["allowed"] is False


async def test_a_care_provider_recording_consent_for_a_purpose_its_kind_may_not_send_is_refused(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(103)
    before = await running.gw.storage.log_size()
    answer = await record(http, PROVIDER, consent_body(bsn, purposes=["referral"], to=[PROVIDER]))
    error = await assert_refused_and_logged(
        running, answer, before, 403, "consent_scope_not_allowed", bsn
    )
    assert error["field"] == "/purposes/0"


async def test_a_partner_naming_a_bsn_or_an_officer_as_recipient_is_refused_and_the_log_holds_no_such_text(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(104)
    smuggled = valid_bsn(105)  # partner-id-shaped, so only the registry can tell it is no partner
    for recipient in (smuggled, "fg-denhelder", "nobody-registered"):
        before = await running.gw.storage.log_size()
        answer = await record(
            http, TEAM, consent_body(bsn, purposes=["information-request"], to=[SCHOOL, recipient])
        )
        error = await assert_refused_and_logged(
            running, answer, before, 403, "consent_scope_not_allowed", bsn
        )
        assert error["field"] == "/to/1"
        assert recipient not in answer.text
        (entry,) = await log_entries(running, before)
        assert recipient not in entry.canonical().decode()
    assert await listed(http, TEAM, bsn) == []


async def test_a_partner_records_consent_for_what_it_sends_itself(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(104)
    answer = await record(
        http, PROVIDER, consent_body(bsn, purposes=["closure-notice"], to=[SCHOOL])
    )
    assert answer.status == 201, answer.text
    checked = await check(http, PROVIDER, "closure-notice", SCHOOL, bsn)
    assert (checked["allowed"], checked["consent_id"]) == (True, answer.body["consent_id"])


async def test_claiming_to_direct_a_case_is_refused_alike_whether_the_case_exists_or_not(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(105)
    case_id = await open_case(http, "case-scope-1", {SCHOOL: "referrer", PROVIDER: "involved"})
    refusals = []
    for claimed in (case_id, "case-that-does-not-exist"):
        before = await running.gw.storage.log_size()
        answer = await record(
            http,
            PROVIDER,
            consent_body(
                bsn, purposes=["information-reply"], to=[TEAM], senders=[SCHOOL], case_id=claimed
            ),
        )
        refusals.append(
            await assert_refused_and_logged(
                running, answer, before, 403, "consent_scope_not_allowed", bsn
            )
        )
        # A case id the caller wrote is not logged with the refusal.
        assert (await log_entries(running, before))[0].case_id is None
    assert refusals[0] == refusals[1]
    checked = await check(http, SCHOOL, "information-reply", TEAM, bsn)
    assert checked["allowed"] is False


async def test_the_director_of_a_case_records_the_familys_agreement_for_the_schools_reply(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(106)
    case_id = await open_case(http, "case-scope-2", {SCHOOL: "referrer"})
    await register_in_household(http, case_id, bsn)
    before = await running.gw.storage.log_size()
    answer = await record(
        http,
        TEAM,
        consent_body(
            bsn, purposes=["information-reply"], to=[TEAM], senders=[SCHOOL], case_id=case_id
        ),
    )
    assert answer.status == 201, answer.text
    [entry] = await log_entries(running, before)
    assert (entry.decision, entry.case_id) == ("consent_recorded", case_id)
    asked = await ask_school(http, bsn)
    checked = await check(http, SCHOOL, "information-reply", TEAM, bsn, asked)
    assert (checked["allowed"], checked["consent_id"]) == (True, answer.body["consent_id"])
    # The school, a sender named in it, may withdraw it; a member not named in it sees nothing.
    assert await listed(http, PROVIDER, bsn) == []
    withdrawn = await http.call(
        "POST",
        f"/v1/consents/{answer.body['consent_id']}/withdraw",
        token=await http.token(SCHOOL),
    )
    assert (withdrawn.status, withdrawn.body["status"]) == (200, "withdrawn")


@pytest.mark.parametrize(
    ("senders", "to", "field"),
    [
        ([SCHOOL], [PROVIDER], "/to/0"),  # a recipient outside the case
        ([PROVIDER], [TEAM], "/from/0"),  # a sender outside the case
        ([SCHOOL], ["kind:social_team"], "/to/0"),  # a kind reaches partners outside the case
        ([SCHOOL, GI], [TEAM], "/from/1"),  # a member whose kind sends none of the purposes
    ],
)
async def test_the_director_of_a_case_cannot_create_a_legal_basis_beyond_the_cases_members(
    running: Running, http: Http, senders: list[str], to: list[str], field: str
) -> None:
    bsn = valid_bsn(107)
    case_id = await open_case(http, "case-scope-3", {SCHOOL: "referrer", GI: "involved"})
    before = await running.gw.storage.log_size()
    answer = await record(
        http,
        TEAM,
        consent_body(bsn, purposes=["information-reply"], to=to, senders=senders, case_id=case_id),
    )
    error = await assert_refused_and_logged(
        running, answer, before, 403, "consent_scope_not_allowed", bsn
    )
    assert error["field"] == field
    assert await listed(http, TEAM, bsn) == []


async def test_the_fhir_form_is_held_to_the_same_recording_scope(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(108)

    def resource(sender: str) -> dict[str, Any]:
        participation = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
        partner_system = "https://social-domain-gateway.nl/fhir/NamingSystem/partner-id"

        def actor(code: str, partner: str) -> dict[str, Any]:
            return {
                "role": {"coding": [{"system": participation, "code": code}]},
                "reference": {"identifier": {"system": partner_system, "value": partner}},
            }

        return {
            "resourceType": "Consent",
            "status": "active",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "patient-privacy",
                    }
                ]
            },
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {
                "identifier": {"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": bsn}
            },
            "performer": [
                {"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": bsn}}
            ],
            "sourceAttachment": {"title": "form 7"},
            "provision": {
                "type": "permit",
                "actor": [actor("CST", sender), actor("IRCP", TEAM)],
                "purpose": [
                    {
                        "system": "https://social-domain-gateway.nl/fhir/CodeSystem/purpose",
                        "code": "information-reply",
                    }
                ],
            },
        }

    before = await running.gw.storage.log_size()
    refused = await http.call(
        "POST", "/v1/consents/fhir", token=await http.token(PROVIDER), json_body=resource(SCHOOL)
    )
    await assert_refused_and_logged(running, refused, before, 403, "consent_scope_not_allowed", bsn)
    case_id = await open_case(http, "case-scope-4", {SCHOOL: "referrer"})
    # A case consent covers the case's own children only: not yet registered, it is refused.
    before = await running.gw.storage.log_size()
    outside = await http.call(
        "POST",
        "/v1/consents/fhir",
        token=await http.token(TEAM),
        json_body=resource(SCHOOL),
        params={"case_id": case_id},
    )
    error = await assert_refused_and_logged(
        running, outside, before, 403, "consent_scope_not_allowed", bsn
    )
    assert error["field"] == "/subject"
    await register_in_household(http, case_id, bsn)
    recorded = await http.call(
        "POST",
        "/v1/consents/fhir",
        token=await http.token(TEAM),
        json_body=resource(SCHOOL),
        params={"case_id": case_id},
    )
    assert recorded.status == 201, recorded.text
    asked = await ask_school(http, bsn)
    checked = await check(http, SCHOOL, "information-reply", TEAM, bsn, asked)
    assert checked["consent_id"] == recorded.body["consent_id"]


# -- one birth date per subject -------------------------------------------------------------------


async def test_a_partner_recording_a_consent_with_another_birth_date_to_shift_the_child_into_another_age_band_is_refused_naming_no_record(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(111)
    first = await record(
        http,
        TEAM,
        consent_body(
            bsn,
            purposes=["closure-notice"],
            to=[SCHOOL],
            birth_date=THIRTEEN,
            givers=["subject", "custodian"],
        ),
    )
    assert first.status == 201, first.text
    before = await running.gw.storage.log_size()
    # As an adult the child alone would do: the provider tries to make it one.
    answer = await record(
        http,
        PROVIDER,
        consent_body(bsn, purposes=["closure-notice"], to=[SCHOOL], birth_date=ADULT),
    )
    error = await assert_refused_and_logged(
        running, answer, before, 422, "birth_date_mismatch", bsn
    )
    assert error["field"] == "/subject/birth_date"
    for named in (first.body["consent_id"], TEAM, THIRTEEN, ADULT, "2013", "2000", bsn):
        assert named not in answer.text
    leaf = (await log_entries(running, before))[0].canonical().decode()
    assert THIRTEEN not in leaf
    assert ADULT not in leaf
    assert await listed(http, PROVIDER, bsn) == []
    checked = await check(http, PROVIDER, "closure-notice", SCHOOL, bsn)
    assert checked["allowed"] is False


async def test_a_consent_without_a_birth_date_is_held_to_the_date_the_gateway_holds(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(112)
    held = await record_for_a_ten_year_old(http, bsn)
    assert held.status == 201, held.text
    # Without a date the child alone used to pass as 16 or older; the held date says 10.
    before = await running.gw.storage.log_size()
    answer = await record(
        http, PROVIDER, consent_body(bsn, purposes=["closure-notice"], to=[SCHOOL], birth_date=None)
    )
    # The answer tells the provider something of the person (a date is held), so it is logged.
    await assert_refused_and_logged(running, answer, before, 422, "consent_invalid", bsn)
    for band in ("under 12", "12 to 15", "16 or older", TEN):
        assert band not in answer.body["error"]["message"]
    assert await listed(http, PROVIDER, bsn) == []


async def open_case_with_child(http: Http, case_id: str, bsn: str) -> str:
    case_id = await open_case(http, case_id, {SCHOOL: "referrer"})
    await register_in_household(http, case_id, bsn)
    return case_id


async def correct(http: Http, partner: str, bsn: str, birth_date: str, case_id: str) -> Answer:
    return await http.call(
        "POST",
        "/v1/subjects/birth-date",
        token=await http.token(partner),
        json_body={
            "subject": {"bsn": bsn},
            "birth_date": birth_date,
            "case_id": case_id,
            "reason": "verified_in_brp",
        },
    )


async def test_a_birth_date_is_corrected_only_by_the_director_of_a_case_holding_the_child_and_the_log_keeps_no_date(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(113)
    recorded = await record_for_a_ten_year_old(http, bsn)
    assert recorded.status == 201, recorded.text
    assert (await check(http, TEAM, "closure-notice", SCHOOL, bsn))["allowed"] is True
    elsewhere = await open_case(http, "case-birth-0", {SCHOOL: "referrer"})
    case_id = await open_case_with_child(http, "case-birth-1", bsn)

    for partner, claimed in ((SCHOOL, case_id), (TEAM, elsewhere), (TEAM, "case-none")):
        before = await running.gw.storage.log_size()
        refused = await correct(http, partner, bsn, THIRTEEN, claimed)
        await assert_refused_and_logged(running, refused, before, 403, "forbidden", bsn)

    before = await running.gw.storage.log_size()
    corrected = await correct(http, TEAM, bsn, THIRTEEN, case_id)
    assert corrected.status == 200, corrected.text
    [entry] = await log_entries(running, before)
    assert (entry.decision, entry.reason, entry.case_id) == (
        "birth_date_corrected",
        "verified_in_brp",
        case_id,
    )
    assert entry.sender is not None
    assert entry.sender.partner == TEAM
    leaf = entry.canonical().decode()
    assert THIRTEEN not in leaf
    assert TEN not in leaf
    assert bsn not in leaf

    # The custodian's consent alone no longer covers a child of 13, and the old date is refused.
    checked = await check(http, TEAM, "closure-notice", SCHOOL, bsn)
    assert (checked["allowed"], checked["missing_consent"]["given_by"]) == (
        False,
        ["subject", "custodian"],
    )
    old = await record_for_a_ten_year_old(http, bsn)
    assert_contract_error(old, 422, "birth_date_mismatch")
    new = await record(
        http,
        TEAM,
        consent_body(
            bsn,
            purposes=["closure-notice"],
            to=[SCHOOL],
            birth_date=THIRTEEN,
            givers=["subject", "custodian"],
        ),
    )
    assert new.status == 201, new.text
    sent = await http.call(
        "POST",
        "/v1/exchanges",
        token=await http.token(TEAM),
        json_body={
            "purpose": "closure-notice",
            "to": SCHOOL,
            "subject": {"bsn": bsn},
            "payload": example("closure-notice"),
        },
    )
    assert (sent.status, sent.body["consent_id"]) == (201, new.body["consent_id"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": "because I say so"}, "/reason"),
        ({"birth_date": "2099-01-01"}, "/birth_date"),
        ({"birth_date": "01-05-2013"}, "/birth_date"),
    ],
)
async def test_a_correction_with_free_text_or_a_bad_date_is_refused_and_changes_nothing(
    running: Running, http: Http, change: dict[str, str], field: str
) -> None:
    bsn = valid_bsn(114)
    case_id = await open_case_with_child(http, "case-birth-2", bsn)
    before = await running.gw.storage.log_size()
    body = {
        "subject": {"bsn": bsn},
        "birth_date": THIRTEEN,
        "case_id": case_id,
        "reason": "recording_error",
        **change,
    }
    answer = await http.call(
        "POST", "/v1/subjects/birth-date", token=await http.token(TEAM), json_body=body
    )
    error = assert_contract_error(answer, 400, "invalid_request")
    assert error["field"] == field
    assert await running.gw.storage.log_size() == before
    pseudonym = await linked_pseudonym(running, bsn)
    assert pseudonym is None or await running.gw.storage.held_birth_date(pseudonym) is None


async def test_two_consents_racing_to_set_a_birth_date_both_see_the_one_that_won(
    storage: Storage,
) -> None:
    subject = "ab" * 32
    claims = await asyncio.gather(
        *(storage.claim_birth_date(subject, f"sealed-{n}".encode(), EXCHANGE_DAY) for n in range(8))
    )
    assert len(set(claims)) == 1
    assert await storage.held_birth_date(subject) == claims[0]
    assert await storage.claim_birth_date(subject, b"later", EXCHANGE_DAY) == claims[0]
    entry = LogEntry(time=EXCHANGE_DAY, decision="birth_date_corrected", reason="recording_error")
    index = await storage.correct_birth_date(subject, b"corrected", entry)
    assert await storage.held_birth_date(subject) == b"corrected"
    assert [row.entry for row in await storage.log_rows(index, index + 1)] == [entry]
    assert await storage.held_birth_date("cd" * 32) is None


# -- the case's recorded director, and the case's own children ------------------------------------


async def record_for_case(http: Http, bsn: str, case_id: str) -> Answer:
    """The team records, for the case, the family's agreement for the school's reply to it."""
    body = consent_body(
        bsn, purposes=["information-reply"], to=[TEAM], senders=[SCHOOL], case_id=case_id
    )
    return await record(http, TEAM, body)


async def test_a_director_recording_case_consent_about_a_child_of_another_family_is_refused(
    running: Running, http: Http
) -> None:
    family, other = valid_bsn(121), valid_bsn(122)
    case_id = await open_case(http, "case-scope-5", {SCHOOL: "referrer"})
    await register_in_household(http, case_id, family)
    before = await running.gw.storage.log_size()
    # The team directs a case of one family, and tries to make it a legal basis for another child.
    answer = await record_for_case(http, other, case_id)
    error = await assert_refused_and_logged(
        running, answer, before, 403, "consent_scope_not_allowed", other
    )
    assert error["field"] == "/subject"
    assert "household" in error["message"]
    assert "PUT /v1/cases/{case_id}/household" in error["how_to_fix"]
    for named in (other, family, case_id, SCHOOL):
        assert named not in answer.text
    assert (await log_entries(running, before))[0].case_id is None
    assert await listed(http, TEAM, other) == []
    assert (await check(http, SCHOOL, "information-reply", TEAM, other))["allowed"] is False


async def legacy_case_with_a_second_procesregisseur(running: Running, bsn: str) -> str:
    """A case as migration 8 leaves one from before schema 8: its recorded director is another
    social team, and the team under test was once let in as a second procesregisseur (when any
    social team could name itself so). Written through storage, as the migration leaves it."""
    storage, now = running.gw.storage, EXCHANGE_DAY
    case_id, director = "case-2026-0042", "swt-texel"

    def logged(decision: str, partner: str, role: str) -> LogEntry:
        return LogEntry(
            time=now,
            decision=decision,
            sender=Sender(partner, "actor-1", "procesregisseur"),
            recipient=partner,
            case_id=case_id,
            details={"role": role},
        )

    await storage.open_case(
        Case(case_id, director, None, now),
        NetworkMember(case_id, director, "procesregisseur", None, director, now),
        logged("case_opened", director, "procesregisseur"),
    )
    for partner, role in ((SCHOOL, "referrer"), (TEAM, "procesregisseur")):
        await storage.register_involvement(
            NetworkMember(case_id, partner, role, None, partner, now),
            logged("case_member_added", partner, role),
        )
    child = HouseholdChild(
        case_id,
        "kind-1",
        await pseudonym_for(storage, running.gw.pseudonymiser, Subject("bsn", bsn), now),
        director,
        now,
    )
    await storage.register_child(
        child,
        LogEntry(
            time=now,
            decision="household_child_registered",
            sender=Sender(director, "actor-1", "procesregisseur"),
            subject=child.subject,
            case_id=case_id,
        ),
    )
    return case_id


async def test_a_second_procesregisseur_left_from_before_schema_8_neither_records_case_consent_nor_corrects_a_birth_date(
    running: Running, http: Http
) -> None:
    bsn = valid_bsn(123)
    recorded = await record_for_a_ten_year_old(http, bsn)
    assert recorded.status == 201, recorded.text
    case_id = await legacy_case_with_a_second_procesregisseur(running, bsn)
    assert (await running.gw.storage.get_case(case_id)) == Case(
        case_id, "swt-texel", None, EXCHANGE_DAY
    )

    # Its role says procesregisseur; the case says another team directs it.
    before = await running.gw.storage.log_size()
    consent = await record_for_case(http, bsn, case_id)
    error = await assert_refused_and_logged(
        running, consent, before, 403, "consent_scope_not_allowed", bsn
    )
    assert error["field"] == "/case_id"
    assert (await check(http, SCHOOL, "information-reply", TEAM, bsn))["allowed"] is False

    before = await running.gw.storage.log_size()
    corrected = await correct(http, TEAM, bsn, THIRTEEN, case_id)
    await assert_refused_and_logged(running, corrected, before, 403, "forbidden", bsn)
    # The held date is unchanged: the custodian's consent still covers a child of 10.
    assert (await check(http, TEAM, "closure-notice", SCHOOL, bsn))["allowed"] is True
