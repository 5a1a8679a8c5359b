"""HL7 FHIR R4 Consent in and out, with the same rules as the gateway's own consent API."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.consent import Consent

from consent.fhir import (
    BSN_SYSTEM,
    KIND_SYSTEM,
    PARTNER_SYSTEM,
    PSEUDONYM_SYSTEM,
    PURPOSE_SYSTEM,
)
from gateway.client.http import GatewayClientError
from tests.conftest import BSN_CHILD, example

PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


def fourteen_years_ago() -> str:
    today = date.today()
    return date(today.year - 14, 1, 15).isoformat()


def fhir_consent(**changes: Any) -> dict[str, Any]:
    """A consent by a 14-year-old and a parent for closure notices from the team to schools."""
    start = date.today()
    resource: dict[str, Any] = {
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
                "id": "child",
                "identifier": [{"system": BSN_SYSTEM, "value": BSN_CHILD}],
                "birthDate": fourteen_years_ago(),
            },
            {
                "resourceType": "RelatedPerson",
                "id": "mother",
                "patient": {"reference": "#child"},
                "relationship": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                                "code": "MTH",
                            }
                        ]
                    }
                ],
                "name": [{"text": "M. de Vries"}],
            },
        ],
        "patient": {"reference": "#child"},
        "performer": [{"reference": "#child"}, {"reference": "#mother"}],
        "sourceAttachment": {"title": "toestemmingsformulier 2026-0042"},
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ]
        },
        "provision": {
            "type": "permit",
            "period": {
                "start": start.isoformat(),
                "end": (start + timedelta(days=364)).isoformat(),
            },
            "actor": [
                {
                    "role": {"coding": [{"system": PARTICIPATION, "code": "CST"}]},
                    "reference": {
                        "identifier": {"system": PARTNER_SYSTEM, "value": "swt-denhelder"}
                    },
                },
                {
                    "role": {"coding": [{"system": PARTICIPATION, "code": "IRCP"}]},
                    "reference": {"identifier": {"system": KIND_SYSTEM, "value": "school"}},
                },
            ],
            "purpose": [{"system": PURPOSE_SYSTEM, "code": "closure-notice"}],
        },
    }
    Consent.parse_obj(resource)  # the example itself is valid FHIR
    for path, value in changes.items():
        target = resource
        *parents, last = path.split(".")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return resource


async def test_a_fhir_consent_is_recorded_and_covers_the_exchange(running, clients):
    team = clients("swt-denhelder")
    recorded = await team.request("POST", "/v1/consents/fhir", json_body=fhir_consent())
    assert recorded["status"] == "active"
    sent = await team.send("closure-notice", "school-de-es", BSN_CHILD, example("closure-notice"))
    assert sent["consent_id"] == recorded["consent_id"]


async def test_the_recorded_consent_comes_back_as_valid_fhir_without_the_bsn(running, clients):
    team = clients("swt-denhelder")
    recorded = await team.request("POST", "/v1/consents/fhir", json_body=fhir_consent())
    resource = await team.request("GET", f"/v1/consents/{recorded['consent_id']}/fhir")
    parsed = Consent.parse_obj(resource)
    assert parsed.status == "active"
    assert resource["patient"]["identifier"]["system"] == PSEUDONYM_SYSTEM
    assert BSN_CHILD not in str(resource)
    assert "M. de Vries" in str(resource["contained"])
    provision = resource["provision"]
    assert [p["code"] for p in provision["purpose"]] == ["closure-notice"]
    assert {a["role"]["coding"][0]["code"] for a in provision["actor"]} == {"CST", "IRCP"}
    assert provision["period"]["end"] == fhir_consent()["provision"]["period"]["end"]
    await team.withdraw_consent(recorded["consent_id"])
    again = await team.request("GET", f"/v1/consents/{recorded['consent_id']}/fhir")
    assert again["status"] == "inactive"


@pytest.mark.parametrize(
    ("changes", "element"),
    [
        ({"status": "draft"}, "Consent.status"),
        ({"provision.type": "deny"}, "Consent.provision.type"),
        ({"provision.provision": [{"type": "permit"}]}, "Consent.provision.provision"),
        (
            {"provision.data": [{"meaning": "instance", "reference": {"reference": "x"}}]},
            "Consent.provision.data",
        ),
        ({"patient": None}, "Consent.patient"),
        ({"performer": [{"reference": "#nobody"}]}, "Consent.performer[0]"),
        (
            {"provision.purpose": [{"system": "http://example.org/other", "code": "x"}]},
            "Consent.provision.purpose[0].system",
        ),
        (
            {"provision.actor.1.role": {"coding": [{"system": PARTICIPATION, "code": "AUT"}]}},
            "Consent.provision.actor[1].role",
        ),
        ({"sourceAttachment": None}, "Consent.source[x]"),
        ({"resourceType": "Patient"}, "Consent.resourceType"),
    ],
)
async def test_unsupported_or_contradictory_fhir_is_refused_naming_the_element(
    running, clients, changes, element
):
    team = clients("swt-denhelder")
    with pytest.raises(GatewayClientError) as refused:
        await team.request("POST", "/v1/consents/fhir", json_body=fhir_consent(**changes))
    assert (refused.value.status, refused.value.code) == (422, "consent_invalid")
    assert refused.value.details["element"] == element


async def test_fhir_consent_follows_the_age_rules(running, clients):
    resource = fhir_consent()
    resource["performer"] = [{"reference": "#mother"}]  # a 14-year-old must consent too
    team = clients("swt-denhelder")
    with pytest.raises(GatewayClientError) as refused:
        await team.request("POST", "/v1/consents/fhir", json_body=resource)
    assert refused.value.code == "consent_invalid"
    listed = await team.request("GET", "/v1/consents", params={"bsn": BSN_CHILD})
    assert listed["consents"] == []


def test_the_fixture_builder_does_not_share_state():
    first = fhir_consent(status="draft")
    assert fhir_consent()["status"] == "active"
    assert copy.deepcopy(first)["status"] == "draft"
