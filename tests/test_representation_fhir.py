"""The representative acting, in HL7 FHIR R4 Consent: out and back in, for each kind.

A representative is a contained RelatedPerson in `Consent.performer` whose relationship carries a
v3-RoleCode and the gateway's representation code; its evidence of authority is the
authority-evidence extension; a child of 12 to 15 deciding alone is the Consent's
minor-decides-alone extension. References travel only to the recorder (``show_giver_names``).
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fhir.resources.R4B.consent import Consent

from consent import Authority, ConsentRecord, Evidence, Giver, MinorDecision
from consent.fhir import (
    AUTHORITY_EXTENSION,
    BSN_SYSTEM,
    DECIDES_ALONE_EXTENSION,
    PSEUDONYM_SYSTEM,
    REPRESENTATION_SYSTEM,
    consent_body_from_fhir,
    consent_to_fhir,
)
from consent.parse import parse_consent_request
from gateway.errors import ConsentInvalid

SUBJECT = "ef" * 32
A_BSN = "999992351"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
ROLE_CODES = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ORDER = Authority(established_by="court_order", reference="beschikking C/19/2026/17")
REGISTER = Authority(established_by="gezagsregister", reference="gezagsregister 2026-0113")


def _record(birth_date: date, *givers: Giver) -> ConsentRecord:
    return ConsentRecord(
        consent_id="cns_0002",
        subject=SUBJECT,
        birth_date=birth_date,
        given_by=givers,
        purposes=frozenset({"closure-notice"}),
        senders=frozenset({"swt-noord"}),
        recipients=frozenset({"kind:school"}),
        valid_from=date(2026, 11, 1),
        valid_until=None,
        evidence=Evidence("written", "form 2026-0042"),
        recorded_by="swt-noord",
        recorded_at=NOW,
    )


def _back_in(resource: dict[str, Any], birth_date: date) -> dict[str, Any]:
    """The outgoing resource as a partner would send it in: the patient by BSN, not pseudonym."""
    sent = copy.deepcopy(resource)
    for key in ("id", "identifier", "dateTime", "organization", "policyRule"):
        sent.pop(key)
    sent["contained"] = [
        *sent.get("contained", []),
        {
            "resourceType": "Patient",
            "id": "p",
            "identifier": [{"system": BSN_SYSTEM, "value": A_BSN}],
            "birthDate": birth_date.isoformat(),
        },
    ]
    sent["patient"] = {"reference": "#p"}
    sent["performer"] = [
        {"reference": "#p"} if "identifier" in ref else ref for ref in sent["performer"]
    ]
    return sent


KINDS: dict[str, tuple[date, tuple[Giver, ...]]] = {
    "sole parental authority": (
        date(2016, 3, 1),
        (Giver("parent_sole_authority", "M. Bakker", authority=REGISTER),),
    ),
    "joint parental authority": (
        date(2013, 3, 1),
        (
            Giver("subject"),
            Giver("parent_joint_authority", "A. de Vries", authority=REGISTER),
            Giver("parent_joint_authority", "B. de Vries", authority=Authority("brp", "BRP 7")),
        ),
    ),
    "a guardian": (date(2016, 3, 1), (Giver("guardian", "K. Smit", authority=ORDER),)),
    "a certified institution as guardian": (
        date(2016, 3, 1),
        (Giver("guardian_gi", authority=ORDER),),
    ),
    "a mentor": (date(1960, 3, 1), (Giver("mentor", "J. Mulder", authority=ORDER),)),
    "a curator": (date(1960, 3, 1), (Giver("curator", authority=ORDER),)),
    "a child of 13 deciding alone": (
        date(2013, 3, 1),
        (Giver("subject", decides_alone=MinorDecision("persistent_wish", "assessment 4")),),
    ),
    "a legacy custodian": (date(2016, 3, 1), (Giver("custodian", "P. Jansen"),)),
}


@pytest.mark.parametrize(("birth_date", "givers"), KINDS.values(), ids=KINDS)
def test_each_representative_kind_goes_out_as_fhir_and_comes_back_as_the_same_givers(
    birth_date: date, givers: tuple[Giver, ...]
) -> None:
    resource = consent_to_fhir(
        _record(birth_date, *givers), now=NOW, agb_of=lambda _: None, show_giver_names=True
    )
    Consent.parse_obj(resource)
    body = consent_body_from_fhir(_back_in(resource, birth_date), partner_by_agb=lambda _: None)
    draft = parse_consent_request(
        body,
        recorded_by="swt-noord",
        now=NOW,
        new_id=lambda: "cns_0003",
        known_purposes=frozenset({"closure-notice"}),
    )
    assert draft.given_by == givers
    assert [g.name for g in draft.given_by] == [g.name for g in givers]


def test_a_joint_holder_goes_out_with_prn_and_the_gateways_code_and_its_evidence() -> None:
    record = _record(date(2016, 3, 1), Giver("parent_joint_authority", "A", authority=REGISTER))
    resource = consent_to_fhir(record, now=NOW, agb_of=lambda _: None, show_giver_names=True)
    assert resource["performer"] == [{"reference": "#representative-0"}]
    assert resource["contained"] == [
        {
            "resourceType": "RelatedPerson",
            "id": "representative-0",
            "patient": {"identifier": {"system": PSEUDONYM_SYSTEM, "value": SUBJECT}},
            "relationship": [
                {
                    "coding": [
                        {"system": ROLE_CODES, "code": "PRN"},
                        {"system": REPRESENTATION_SYSTEM, "code": "parent_joint_authority"},
                    ]
                }
            ],
            "extension": [
                {
                    "url": AUTHORITY_EXTENSION,
                    "extension": [
                        {"url": "establishedBy", "valueCode": "gezagsregister"},
                        {"url": "reference", "valueString": "gezagsregister 2026-0113"},
                    ],
                }
            ],
            "name": [{"text": "A"}],
        }
    ]


def test_a_party_other_than_the_recorder_sees_the_kinds_of_evidence_never_their_references():
    record = _record(
        date(2013, 3, 1),
        Giver("subject", decides_alone=MinorDecision("serious_harm", "assessment 4")),
        Giver("guardian_gi", authority=ORDER),
    )
    resource = consent_to_fhir(record, now=NOW, agb_of=lambda _: None)
    Consent.parse_obj(resource)
    text = str(resource)
    assert "beschikking" not in text
    assert "assessment 4" not in text
    assert resource["contained"][0]["extension"] == [
        {
            "url": AUTHORITY_EXTENSION,
            "extension": [{"url": "establishedBy", "valueCode": "court_order"}],
        }
    ]
    assert resource["extension"][-1] == {
        "url": DECIDES_ALONE_EXTENSION,
        "extension": [{"url": "ground", "valueCode": "serious_harm"}],
    }


def _incoming(relationship: list[dict[str, Any]], **related: Any) -> dict[str, Any]:
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
        "patient": {"identifier": {"system": BSN_SYSTEM, "value": A_BSN}},
        "contained": [
            {"resourceType": "RelatedPerson", "id": "r", "relationship": relationship, **related}
        ],
        "performer": [{"reference": "#r"}],
        "sourceAttachment": {"title": "form 7"},
        "provision": {"type": "permit"},
    }


def test_a_parent_coded_only_in_v3_stays_a_legacy_custodian_as_before() -> None:
    resource = _incoming([{"coding": [{"system": ROLE_CODES, "code": "PRN"}]}])
    body = consent_body_from_fhir(resource, partner_by_agb=lambda _: None)
    assert body["given_by"] == [{"role": "custodian"}]


def test_a_representative_kind_without_its_evidence_of_authority_is_refused_by_element() -> None:
    resource = _incoming([{"coding": [{"system": REPRESENTATION_SYSTEM, "code": "guardian_gi"}]}])
    with pytest.raises(ConsentInvalid) as refused:
        consent_body_from_fhir(resource, partner_by_agb=lambda _: None)
    assert refused.value.extra == {"element": "Consent.performer[0].extension"}
    assert "authority-evidence" in refused.value.message


@pytest.mark.parametrize(
    "codes",
    [["voogd"], ["mentor", "curator"], ["subject"]],
    ids=["an unknown code", "two codes", "the subject as a representative"],
)
def test_a_representation_code_that_is_not_one_kind_is_refused(codes: list[str]) -> None:
    resource = _incoming(
        [{"coding": [{"system": REPRESENTATION_SYSTEM, "code": code} for code in codes]}]
    )
    with pytest.raises(ConsentInvalid) as refused:
        consent_body_from_fhir(resource, partner_by_agb=lambda _: None)
    assert refused.value.extra == {"element": "Consent.performer[0].relationship"}


def test_the_authority_evidence_extension_given_twice_is_refused() -> None:
    evidence = {
        "url": AUTHORITY_EXTENSION,
        "extension": [{"url": "establishedBy", "valueCode": "court_order"}],
    }
    resource = _incoming(
        [{"coding": [{"system": REPRESENTATION_SYSTEM, "code": "mentor"}]}],
        extension=[evidence, evidence],
    )
    with pytest.raises(ConsentInvalid) as refused:
        consent_body_from_fhir(resource, partner_by_agb=lambda _: None)
    assert refused.value.extra == {"element": "Consent.performer[0].extension"}


def test_a_childs_decision_without_the_child_among_the_performers_is_refused() -> None:
    resource = _incoming(
        [{"coding": [{"system": ROLE_CODES, "code": "GUARD"}]}],
    )
    resource["extension"] = [
        {
            "url": DECIDES_ALONE_EXTENSION,
            "extension": [{"url": "ground", "valueCode": "serious_harm"}],
        }
    ]
    with pytest.raises(ConsentInvalid) as refused:
        consent_body_from_fhir(resource, partner_by_agb=lambda _: None)
    assert refused.value.extra == {"element": "Consent.extension"}


@pytest.mark.parametrize(
    "parts",
    [
        [{"url": "establishedBy", "valueCode": "court_order"}, {"url": "note", "valueString": "x"}],
        [
            {"url": "establishedBy", "valueCode": "court_order"},
            {"url": "establishedBy", "valueCode": "brp"},
        ],
        ["not a part"],
    ],
    ids=["an unknown part", "a part twice", "a part that is no object"],
)
def test_an_authority_evidence_part_the_gateway_does_not_record_is_refused_not_dropped(
    parts: list[Any],
) -> None:
    resource = _incoming(
        [{"coding": [{"system": REPRESENTATION_SYSTEM, "code": "curator"}]}],
        extension=[{"url": AUTHORITY_EXTENSION, "extension": parts}],
    )
    with pytest.raises(ConsentInvalid) as refused:
        consent_body_from_fhir(resource, partner_by_agb=lambda _: None)
    assert refused.value.extra == {"element": "Consent.performer[0].extension"}
