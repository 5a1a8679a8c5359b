"""The representative acting, over real HTTP on both back ends: record, list, FHIR, exchange.

A social team records the agreement of both holders of joint authority for a child of 11 and
sends under it; on the child's 12th birthday the same agreement no longer covers and the refusal
names the child. One holder alone is refused when recording, naming the other holder. A mentor
agrees for an adult through the FHIR route, and the school that receives sees the kinds of
evidence, never their references or the representatives' names.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from consent.fhir import AUTHORITY_EXTENSION, BSN_SYSTEM, REPRESENTATION_SYSTEM
from gateway.client.http import GatewayClientError
from tests.conftest import Running, example
from tests.helpers import ClockedClients, Http, assert_contract_error, log_entries, valid_bsn

# 10:00 UTC is 11:00 in Amsterdam: the same calendar date in both.
TWELFTH_BIRTHDAY = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
BORN = "2014-11-25"
PARENT_A = "Anna de Vries"
PARENT_B = "Bram de Vries"
REGISTER = {"established_by": "gezagsregister", "reference": "gezagsregister-extract-2026-0113"}


@pytest.fixture
async def clocked(running: Running) -> AsyncIterator[ClockedClients]:
    running.clock.moment = TWELFTH_BIRTHDAY - timedelta(days=1)
    pool = ClockedClients(running)
    yield pool
    await pool.close()


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    running.clock.moment = TWELFTH_BIRTHDAY - timedelta(days=1)
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


def agreement(bsn: str, *givers: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject": {"bsn": bsn, "birth_date": BORN},
        "given_by": list(givers),
        "purposes": ["information-request"],
        "to": ["school-de-es"],
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }


JOINT_A = {"role": "parent_joint_authority", "name": PARENT_A, "authority": REGISTER}
JOINT_B = {"role": "parent_joint_authority", "name": PARENT_B, "authority": REGISTER}


async def test_both_joint_holders_agreement_carries_an_exchange_until_the_12th_birthday(
    running: Running, clocked: ClockedClients, http: Http
) -> None:
    bsn = valid_bsn(31)
    team = clocked("swt-denhelder")
    before = await running.gw.storage.log_size()
    recorded = await team.record_consent(agreement(bsn, JOINT_A, JOINT_B))
    [entry] = await log_entries(running, before)
    assert entry.decision == "consent_recorded"
    assert entry.details["given_by"] == ["parent_joint_authority"]

    sent = await team.send(
        "information-request", "school-de-es", bsn, example("information-request")
    )
    assert sent["legal_basis"]["type"] == "consent"
    assert sent["consent_id"] == recorded["consent_id"]

    # The recorder sees the names and the gezagsregister reference; the school sees neither.
    mine = await http.call(
        "GET", "/v1/consents", token=await http.token("swt-denhelder"), params={"bsn": bsn}
    )
    assert mine.status == 200, mine.text
    [listed] = json.loads(mine.text)["consents"]
    assert listed["given_by"] == [JOINT_A, JOINT_B]
    # The agreement lifts professional secrecy; no shipped purpose makes it an AVG consent.
    assert listed["avg_consent_purposes"] == []
    theirs = await http.call(
        "GET", "/v1/consents", token=await http.token("school-de-es"), params={"bsn": bsn}
    )
    assert theirs.status == 200, theirs.text
    assert (
        theirs.body["consents"][0]["given_by"]
        == [{"role": "parent_joint_authority", "authority": {"established_by": "gezagsregister"}}]
        * 2
    )
    for secret in (PARENT_A, PARENT_B, REGISTER["reference"], BORN, bsn):
        assert secret not in theirs.text

    as_fhir = await http.call(
        "GET",
        f"/v1/consents/{recorded['consent_id']}/fhir",
        token=await http.token("school-de-es"),
    )
    assert as_fhir.status == 200, as_fhir.text
    codes = [
        coding["code"]
        for related in as_fhir.body["contained"]
        for coding in related["relationship"][0]["coding"]
    ]
    assert codes == ["PRN", "parent_joint_authority"] * 2
    assert REGISTER["reference"] not in as_fhir.text

    running.clock.moment = TWELFTH_BIRTHDAY
    with pytest.raises(GatewayClientError) as refused:
        await team.send("information-request", "school-de-es", bsn, example("information-request"))
    assert refused.value.status == 403
    assert refused.value.code == "consent_required"
    assert refused.value.details["missing_consent"]["given_by"] == ["subject", "custodian"]
    assert refused.value.details["reasons"] == [
        f"consent {recorded['consent_id']}: givers no longer sufficient because the subject "
        "turned 12: the subject must consent too"
    ]


async def test_one_holder_of_joint_authority_alone_is_refused_naming_the_other_holder(
    running: Running, clocked: ClockedClients, http: Http
) -> None:
    bsn = valid_bsn(32)
    before = await running.gw.storage.log_size()
    answer = await http.call(
        "POST",
        "/v1/consents",
        token=await http.token("swt-denhelder"),
        json_body=agreement(bsn, JOINT_A),
    )
    error = assert_contract_error(answer, 422, "consent_invalid")
    assert "the other holder of joint authority (parent_joint_authority)" in error["message"]
    for secret in (PARENT_A, REGISTER["reference"], BORN, bsn):
        assert secret not in answer.text
    assert [e.decision for e in await log_entries(running, before)] == []
    with pytest.raises(GatewayClientError) as refused:
        await clocked("swt-denhelder").send(
            "information-request", "school-de-es", bsn, example("information-request")
        )
    assert refused.value.code == "consent_required"


async def test_a_mentor_agrees_for_an_adult_through_the_fhir_route_and_the_exchange_goes(
    clocked: ClockedClients, http: Http
) -> None:
    bsn = valid_bsn(33)
    resource = {
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
        "contained": [
            {
                "resourceType": "Patient",
                "id": "p",
                "identifier": [{"system": BSN_SYSTEM, "value": bsn}],
                "birthDate": "1958-04-02",
            },
            {
                "resourceType": "RelatedPerson",
                "id": "m",
                "relationship": [{"coding": [{"system": REPRESENTATION_SYSTEM, "code": "mentor"}]}],
                "extension": [
                    {
                        "url": AUTHORITY_EXTENSION,
                        "extension": [
                            {"url": "establishedBy", "valueCode": "court_order"},
                            {"url": "reference", "valueString": "beschikking-kantonrechter-17"},
                        ],
                    }
                ],
            },
        ],
        "patient": {"reference": "#p"},
        "performer": [{"reference": "#m"}],
        "sourceAttachment": {"title": "form 2026-0077"},
        "provision": {
            "type": "permit",
            "actor": [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "IRCP",
                            }
                        ]
                    },
                    "reference": {
                        "identifier": {
                            "system": "https://social-domain-gateway.nl/fhir/NamingSystem/partner-id",
                            "value": "school-de-es",
                        }
                    },
                }
            ],
            "purpose": [
                {
                    "system": "https://social-domain-gateway.nl/fhir/CodeSystem/purpose",
                    "code": "information-request",
                }
            ],
        },
    }
    answer = await http.call(
        "POST", "/v1/consents/fhir", token=await http.token("swt-denhelder"), json_body=resource
    )
    assert answer.status == 201, answer.text
    sent = await clocked("swt-denhelder").send(
        "information-request", "school-de-es", bsn, example("information-request")
    )
    assert sent["consent_id"] == answer.body["consent_id"]


ORDER = {"established_by": "court_order", "reference": "beschikking-2026-0031"}
# giver list, birth date: the recording day is the day before the 12th birthday of BORN.
EACH_KIND: dict[str, tuple[list[dict[str, Any]], str]] = {
    "parent with sole authority": (
        [{"role": "parent_sole_authority", "authority": REGISTER}],
        BORN,
    ),
    "both holders of joint authority": ([JOINT_A, JOINT_B], BORN),
    "guardian": ([{"role": "guardian", "authority": ORDER}], BORN),
    "certified institution as guardian": ([{"role": "guardian_gi", "authority": ORDER}], BORN),
    "child of 13 deciding alone": (
        [{"role": "subject", "decides_alone": {"ground": "serious_harm", "reference": "a-17"}}],
        "2013-06-01",
    ),
    "mentor on the adult's 18th birthday": (
        [{"role": "mentor", "authority": ORDER}],
        "2008-11-24",
    ),
    "curator": ([{"role": "curator", "authority": ORDER}], "1970-01-01"),
}


@pytest.mark.parametrize(("givers", "birth_date"), EACH_KIND.values(), ids=EACH_KIND)
async def test_each_representative_kind_records_an_agreement_that_carries_an_exchange(
    clocked: ClockedClients, givers: list[dict[str, Any]], birth_date: str
) -> None:
    bsn = valid_bsn(40 + list(EACH_KIND.values()).index((givers, birth_date)))
    team = clocked("swt-denhelder")
    body = {**agreement(bsn, *givers), "subject": {"bsn": bsn, "birth_date": birth_date}}
    recorded = await team.record_consent(body)
    sent = await team.send(
        "information-request", "school-de-es", bsn, example("information-request")
    )
    assert sent["consent_id"] == recorded["consent_id"]


async def test_a_mentor_the_day_before_the_adults_18th_birthday_is_refused(http: Http) -> None:
    body = {
        **agreement(valid_bsn(50), {"role": "mentor", "authority": ORDER}),
        "subject": {"bsn": valid_bsn(50), "birth_date": "2008-11-25"},
    }
    answer = await http.call(
        "POST", "/v1/consents", token=await http.token("swt-denhelder"), json_body=body
    )
    error = assert_contract_error(answer, 422, "consent_invalid")
    assert error["field"] == "/given_by"
    assert "A mentor or curator acts for an adult" in error["message"]
