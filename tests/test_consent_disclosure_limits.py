"""What a refusal, a check answer or a consent's FHIR form tells a partner about consents it has no
part in: nothing. Over real HTTP on both back ends, each test an attacker's attempt with its own
valid token.

A partner learns consent ids, scopes, withdrawal dates and the subject's age band only from the
consents it recorded or is named in; anyone else gets "no consent covers this exchange" and the
rule for every age band, exactly what it would get for a child without any consent. Custodian
names go to the recorder only, in the JSON form and the FHIR form alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from fhir.resources.R4B.consent import Consent

from tests.conftest import Running, example
from tests.helpers import Answer, Http, valid_bsn

EXCHANGE_DAY = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TEAM, PROVIDER, SCHOOL = "swt-denhelder", "zorg-noord", "school-de-es"
CUSTODIAN = "Marieke Jansen"
THIRTEEN = "2013-05-01"  # 13 on EXCHANGE_DAY
EVERY_AGE_BAND = ["subject_or_custodian"]


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    running.clock.moment = EXCHANGE_DAY
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


async def record(
    http: Http, partner: str, bsn: str, purposes: Sequence[str], to: Sequence[str]
) -> str:
    """``partner`` records the consent of a 13-year-old and a custodian for its own sending."""
    answer = await http.call(
        "POST",
        "/v1/consents",
        token=await http.token(partner),
        json_body={
            "subject": {"bsn": bsn, "birth_date": THIRTEEN},
            "given_by": [{"role": "subject"}, {"role": "custodian", "name": CUSTODIAN}],
            "purposes": list(purposes),
            "to": list(to),
            "evidence": {"method": "written", "reference": "dossier-2026-0042"},
        },
    )
    assert answer.status == 201, answer.text
    return str(answer.body["consent_id"])


async def withdraw(http: Http, partner: str, consent_id: str) -> None:
    answer = await http.call(
        "POST", f"/v1/consents/{consent_id}/withdraw", token=await http.token(partner)
    )
    assert answer.status == 200, answer.text


def exchange(purpose: str, to: Any, bsn: str) -> dict[str, Any]:
    return {"purpose": purpose, "to": to, "subject": {"bsn": bsn}, "payload": example(purpose)}


async def send(http: Http, sender: str, body: dict[str, Any]) -> Answer:
    return await http.call("POST", "/v1/exchanges", token=await http.token(sender), json_body=body)


async def check(http: Http, sender: str, body: dict[str, Any]) -> Answer:
    answer = await http.call(
        "POST", "/v1/exchanges/check", token=await http.token(sender), json_body=body
    )
    assert answer.status == 200, answer.text
    return answer


def without_subject(text: str, *bsns: str) -> str:
    """The answer's text with the subject's number made alike, to compare two subjects' answers."""
    for bsn in bsns:
        text = text.replace(bsn, "BSN")
    return text


async def test_a_care_provider_learns_no_childs_age_band_or_consents_from_a_refusal(
    running: Running, http: Http
) -> None:
    child, stranger = valid_bsn(201), valid_bsn(202)
    consent_id = await record(http, TEAM, child, ["closure-notice"], [SCHOOL])
    withdrawn_id = await record(http, TEAM, child, ["closure-notice"], ["gi-noordholland"])
    await withdraw(http, TEAM, withdrawn_id)

    refused = await send(http, PROVIDER, exchange("closure-notice", SCHOOL, child))
    assert refused.status == 403, refused.text
    error = refused.body["error"]
    assert error["code"] == "consent_required"
    assert error["missing_consent"]["given_by"] == EVERY_AGE_BAND
    assert error["reasons"] == []
    for secret in (consent_id, withdrawn_id, "withdrawn", "12 to 15", "2026-11-25", TEAM):
        assert secret not in refused.text
    # Word for word what it hears about a child nobody ever recorded a consent for.
    unknown = await send(http, PROVIDER, exchange("closure-notice", SCHOOL, stranger))
    assert without_subject(refused.text, child) == without_subject(unknown.text, stranger)


async def test_a_check_answers_an_outsider_as_for_a_child_without_any_consent(
    running: Running, http: Http
) -> None:
    child, stranger = valid_bsn(203), valid_bsn(204)
    consent_id = await record(http, TEAM, child, ["closure-notice"], ["kind:school"])
    body = exchange("closure-notice", SCHOOL, child)
    del body["payload"]
    answer = await check(http, PROVIDER, body)
    assert (answer.body["allowed"], answer.body["code"]) == (False, "consent_required")
    assert answer.body["missing_consent"]["given_by"] == EVERY_AGE_BAND
    assert consent_id not in answer.text
    assert "12 to 15" not in answer.text
    other = {**body, "subject": {"bsn": stranger}}
    unknown = await check(http, PROVIDER, other)
    assert without_subject(answer.text, child) == without_subject(unknown.text, stranger)


async def test_a_partner_party_to_other_consents_hears_only_about_its_own(
    running: Running, http: Http
) -> None:
    child = valid_bsn(205)
    teams = await record(http, TEAM, child, ["closure-notice"], [SCHOOL])
    providers = await record(http, PROVIDER, child, ["closure-notice"], [TEAM])
    refused = await send(http, PROVIDER, exchange("closure-notice", SCHOOL, child))
    assert refused.status == 403, refused.text
    error = refused.body["error"]
    assert error["reasons"] == [
        f"consent {providers}: recipient '{SCHOOL}' (kind school) not in scope"
    ]
    assert teams not in refused.text
    # A party to one of the child's consents may know who must consent at the child's age.
    assert error["missing_consent"]["given_by"] == ["subject", "custodian"]


async def test_the_partner_that_recorded_a_withdrawn_consent_is_told_why_it_no_longer_covers(
    running: Running, http: Http
) -> None:
    child = valid_bsn(206)
    consent_id = await record(http, TEAM, child, ["closure-notice"], [SCHOOL])
    await withdraw(http, TEAM, consent_id)
    refused = await send(http, TEAM, exchange("closure-notice", SCHOOL, child))
    error = refused.body["error"]
    assert error["reasons"] == [f"consent {consent_id}: withdrawn on 2026-11-25"]
    assert error["missing_consent"]["given_by"] == ["subject", "custodian"]


async def open_case(http: Http, members: dict[str, str], children: Sequence[str] = ()) -> str:
    """The team opens a case (the gateway chooses its id), registers these members and these
    children of the household (a consent recorded for the case covers its children only)."""
    token = await http.token(TEAM)
    opened = await http.call("POST", "/v1/cases", token=token, json_body={})
    assert opened.status == 201, opened.text
    case_id = str(opened.body["case_id"])
    for partner, role in members.items():
        joined = await http.call(
            "PUT", f"/v1/cases/{case_id}/network/{partner}", token=token, json_body={"role": role}
        )
        assert joined.status == 201, joined.text
    if children:
        household = [{"bsn": bsn, "child_ref": f"kind-{n}"} for n, bsn in enumerate(children)]
        registered = await http.call(
            "PUT",
            f"/v1/cases/{case_id}/household",
            token=token,
            json_body={"children": household},
        )
        assert registered.status == 200, registered.text
    return case_id


async def test_a_case_network_send_tells_the_sender_nothing_of_consents_it_has_no_part_in(
    running: Running, http: Http
) -> None:
    child = valid_bsn(207)
    case_id = await open_case(http, {PROVIDER: "involved", SCHOOL: "referrer"})
    # A case-network send reaches only members that see the sender and that it sees
    # ([case_network_visibility]): the team's reaches the provider and the school.
    providers = await record(http, PROVIDER, child, ["closure-notice"], [SCHOOL])
    await record(http, TEAM, child, ["closure-notice"], [PROVIDER])
    sent = await send(http, TEAM, exchange("closure-notice", {"case_network": case_id}, child))
    assert sent.status == 201, sent.text
    [refused] = sent.body["refused"]
    assert refused["recipient"] == SCHOOL
    assert providers not in sent.text


async def fhir_of(http: Http, partner: str, consent_id: str) -> Answer:
    return await http.call(
        "GET", f"/v1/consents/{consent_id}/fhir", token=await http.token(partner)
    )


async def test_a_recipient_reads_no_custodian_names_from_the_fhir_form_or_the_listing(
    running: Running, http: Http
) -> None:
    child = valid_bsn(208)
    consent_id = await record(http, TEAM, child, ["closure-notice"], [SCHOOL])
    as_recipient = await fhir_of(http, SCHOOL, consent_id)
    assert as_recipient.status == 200, as_recipient.text
    assert CUSTODIAN not in as_recipient.text
    Consent.parse_obj(as_recipient.body)  # still valid FHIR, the custodian by role only
    [related] = as_recipient.body["contained"]
    assert related["resourceType"] == "RelatedPerson"
    assert "name" not in related
    listing = await http.call(
        "GET", "/v1/consents", token=await http.token(SCHOOL), params={"bsn": child}
    )
    assert listing.status == 200, listing.text
    assert CUSTODIAN not in listing.text
    # The recorder wrote the names down itself: both forms show them to it alike.
    as_recorder = await fhir_of(http, TEAM, consent_id)
    assert CUSTODIAN in as_recorder.text
    mine = await http.call(
        "GET", "/v1/consents", token=await http.token(TEAM), params={"bsn": child}
    )
    assert CUSTODIAN in mine.text


async def test_a_sender_named_in_a_consent_it_did_not_record_reads_no_custodian_names(
    running: Running, http: Http
) -> None:
    child = valid_bsn(209)
    token = await http.token(TEAM)
    case_id = await open_case(http, {SCHOOL: "referrer"}, [child])
    recorded = await http.call(
        "POST",
        "/v1/consents",
        token=token,
        json_body={
            "subject": {"bsn": child, "birth_date": THIRTEEN},
            "given_by": [{"role": "subject"}, {"role": "custodian", "name": CUSTODIAN}],
            "purposes": ["information-reply"],
            "from": [SCHOOL],
            "to": [TEAM],
            "case_id": case_id,
            "evidence": {"method": "written", "reference": "dossier-2026-0042"},
        },
    )
    assert recorded.status == 201, recorded.text
    as_sender = await fhir_of(http, SCHOOL, recorded.body["consent_id"])
    assert as_sender.status == 200, as_sender.text
    assert CUSTODIAN not in as_sender.text


async def test_a_school_party_to_a_case_consent_learns_from_it_no_member_its_kind_may_not_see(
    running: Running, http: Http
) -> None:
    child = valid_bsn(209)
    gi = "gi-noordholland"
    case_id = await open_case(
        http, {SCHOOL: "referrer", PROVIDER: "involved", gi: "involved"}, [child]
    )
    recorded = await http.call(
        "POST",
        "/v1/consents",
        token=await http.token(TEAM),
        json_body={
            "subject": {"bsn": child, "birth_date": THIRTEEN},
            "given_by": [{"role": "subject"}, {"role": "custodian", "name": CUSTODIAN}],
            "purposes": ["closure-notice"],
            "from": [TEAM],
            "to": [SCHOOL, PROVIDER, gi],
            "evidence": {"method": "written", "reference": "dossier-2026-0042"},
            "case_id": case_id,
        },
    )
    assert recorded.status == 201, recorded.text
    consent_id = recorded.body["consent_id"]
    school = await http.token(SCHOOL)

    listed = await http.call("GET", "/v1/consents", token=school, params={"bsn": child})
    fhir = await http.call("GET", f"/v1/consents/{consent_id}/fhir", token=school)
    team_view = await http.call(
        "GET", "/v1/consents", token=await http.token(TEAM), params={"bsn": child}
    )

    # Not shown with the hidden members cut out (that gap told the school they exist), but not
    # at all: for the school it is as absent as a consent it has no part in (review finding F4).
    assert listed.body["consents"] == []
    assert fhir.status == 404, fhir.text
    for hidden in (gi, PROVIDER, "12345678"):  # the provider's AGB would name it too
        assert hidden not in fhir.text
        assert hidden not in listed.text
    # The recorder, who directs the case, sees the whole consent.
    assert sorted(team_view.body["consents"][0]["to"]) == sorted([SCHOOL, PROVIDER, gi])


async def test_a_sender_reading_its_own_refusal_in_its_disclosures_learns_no_more_than_the_refusal_said(
    running: Running, http: Http
) -> None:
    child = valid_bsn(211)
    consent_id = await record(http, TEAM, child, ["closure-notice"], [SCHOOL])
    refused = await send(http, PROVIDER, exchange("closure-notice", SCHOOL, child))
    assert refused.status == 403, refused.text
    told = refused.body["error"]["missing_consent"]
    assert told["given_by"] == EVERY_AGE_BAND

    # The log keeps the missing consent as the refusal gave it to the sender, not the full one
    # (which would name the child's age band): /v1/disclosures shows the sender its own entry.
    listed = await http.call(
        "GET",
        "/v1/disclosures",
        token=await http.token(PROVIDER),
        params={"bsn": child},
    )
    assert listed.status == 200, listed.text
    [entry] = [e for e in listed.body["entries"] if e["decision"] == "refused"]
    assert entry["reason"] == "consent_required"
    assert entry["details"]["missing_consent"] == told
    for secret in (consent_id, "12 to 15", '"custodian"', CUSTODIAN, THIRTEEN, TEAM):
        assert secret not in listed.text
