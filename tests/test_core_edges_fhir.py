"""The FHIR R4 Consent form at its edges: every element a FHIR consumer reads, pinned exactly.

`consent_to_fhir` is what a partner's FHIR client receives for a recorded consent; each test
compares the whole resource with a literal one, so a changed system, code, date or element name
fails here (mutation testing, `make mutate`, docs/mutation-testing.md, showed the suite let such
slips through). The reading direction, `consent_body_from_fhir`, is pinned by the element each
refusal names and by the exact body a resource stands for.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.consent import Consent

from consent import ConsentRecord, Evidence, Giver, withdraw
from consent.fhir import consent_body_from_fhir, consent_to_fhir
from gateway.errors import ConsentInvalid

SUBJECT = "ab" * 32
RECORDED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def record(**changes: Any) -> ConsentRecord:
    fields: dict[str, Any] = {
        "consent_id": "cns_0001",
        "subject": SUBJECT,
        "birth_date": None,
        "given_by": (Giver("subject"),),
        "purposes": frozenset({"school-closure-notice"}),
        "senders": frozenset(),
        "recipients": frozenset({"kind:school"}),
        "valid_from": date(2026, 3, 1),
        "valid_until": None,
        "evidence": Evidence("written", "form 2026-0042"),
        "recorded_by": "wijkteam-utrecht",
        "recorded_at": RECORDED,
    }
    fields.update(changes)
    return ConsentRecord(**fields)


def no_agb(partner: str) -> str | None:
    return None


AGB_OF = {"ggd-utrecht": "01234567", "huisarts-oost": "07654321"}.get
PSEUDONYM = "https://social-domain-gateway.nl/fhir/NamingSystem/subject-pseudonym"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ROLE_CODES = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
PARTNER = "https://social-domain-gateway.nl/fhir/NamingSystem/partner-id"
AGB = "http://fhir.nl/fhir/NamingSystem/agb-z"
KIND = "https://social-domain-gateway.nl/fhir/NamingSystem/partner-kind"
PURPOSE = "https://social-domain-gateway.nl/fhir/CodeSystem/purpose"
BSN = "http://fhir.nl/fhir/NamingSystem/bsn"
SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LEERLING = "urn:example:leerlingnummer"
A_BSN = "111222333"


def actor(role: str, system: str, value: str) -> dict[str, Any]:
    return {
        "role": {"coding": [{"system": PARTICIPATION, "code": role}]},
        "reference": {"identifier": {"system": system, "value": value}},
    }


def guardian(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "RelatedPerson",
        "id": f"custodian-{n}",
        "patient": {"identifier": {"system": PSEUDONYM, "value": SUBJECT}},
        "relationship": [{"coding": [{"system": ROLE_CODES, "code": "GUARD"}]}],
        **extra,
    }


def test_a_consent_given_by_the_subject_alone_is_the_whole_resource_below():
    Consent.parse_obj(consent_to_fhir(record(), now=NOW, agb_of=no_agb))
    assert consent_to_fhir(record(), now=NOW, agb_of=no_agb) == {
        "resourceType": "Consent",
        "id": "cns.0001",
        "identifier": [
            {
                "system": "https://social-domain-gateway.nl/fhir/NamingSystem/consent-id",
                "value": "cns_0001",
            }
        ],
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
            "identifier": {
                "system": "https://social-domain-gateway.nl/fhir/NamingSystem/subject-pseudonym",
                "value": SUBJECT,
            }
        },
        "dateTime": "2026-03-01T09:30:00+00:00",
        "performer": [
            {
                "identifier": {
                    "system": "https://social-domain-gateway.nl/fhir/NamingSystem/subject-pseudonym",
                    "value": SUBJECT,
                }
            }
        ],
        "organization": [
            {
                "identifier": {
                    "system": "https://social-domain-gateway.nl/fhir/NamingSystem/partner-id",
                    "value": "wijkteam-utrecht",
                }
            }
        ],
        "extension": [
            {
                "url": "https://social-domain-gateway.nl/fhir/StructureDefinition/consent-evidence-method",
                "valueCode": "written",
            }
        ],
        "sourceAttachment": {"title": "form 2026-0042"},
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ]
        },
        "provision": {
            "type": "permit",
            "period": {"start": "2026-03-01"},
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
                            "system": "https://social-domain-gateway.nl/fhir/NamingSystem/partner-kind",
                            "value": "school",
                        }
                    },
                }
            ],
            "purpose": [
                {
                    "system": "https://social-domain-gateway.nl/fhir/CodeSystem/purpose",
                    "code": "school-closure-notice",
                }
            ],
        },
    }


def test_a_consent_by_a_child_and_a_named_custodian_from_two_senders_to_three_parties():
    consent = record(
        given_by=(Giver("subject"), Giver("custodian", "M. de Vries")),
        purposes=frozenset({"youth-care-referral", "closure-notice"}),
        senders=frozenset({"wijkteam-utrecht", "ggd-utrecht"}),
        recipients=frozenset({"kind:school", "huisarts-oost", "jeugdzorg-midden"}),
        valid_until=date(2027, 3, 1),
        evidence=Evidence("verbal", "call note 17"),
    )
    resource = consent_to_fhir(consent, now=NOW, agb_of=AGB_OF)
    Consent.parse_obj(resource)  # what a FHIR client reads is a valid R4 Consent
    assert resource["contained"] == [guardian(1)]
    assert resource["performer"] == [
        {"identifier": {"system": PSEUDONYM, "value": SUBJECT}},
        {"reference": "#custodian-1"},
    ]
    assert resource["provision"] == {
        "type": "permit",
        "period": {"start": "2026-03-01", "end": "2027-02-28"},
        "actor": [
            actor("CST", AGB, "01234567"),
            actor("CST", PARTNER, "wijkteam-utrecht"),
            actor("IRCP", AGB, "07654321"),
            actor("IRCP", PARTNER, "jeugdzorg-midden"),
            actor("IRCP", KIND, "school"),
        ],
        "purpose": [
            {"system": PURPOSE, "code": "closure-notice"},
            {"system": PURPOSE, "code": "youth-care-referral"},
        ],
    }
    assert resource["extension"] == [
        {
            "url": "https://social-domain-gateway.nl/fhir/StructureDefinition/consent-evidence-method",
            "valueCode": "verbal",
        }
    ]
    assert resource["sourceAttachment"] == {"title": "call note 17"}
    everything_else = {
        k: v
        for k, v in consent_to_fhir(record(), now=NOW, agb_of=no_agb).items()
        if k not in {"performer", "provision", "extension", "sourceAttachment"}
    }
    assert {k: v for k, v in resource.items() if k in everything_else} == everything_else
    assert set(resource) == {*everything_else, "contained", "performer", "provision"} | {
        "extension",
        "sourceAttachment",
    }


def test_a_custodians_name_appears_only_where_names_are_shown():
    consent = record(given_by=(Giver("custodian", "M. de Vries"), Giver("custodian")))
    hidden = consent_to_fhir(consent, now=NOW, agb_of=no_agb)
    assert hidden["contained"] == [guardian(0), guardian(1)]
    assert hidden["performer"] == [{"reference": "#custodian-0"}, {"reference": "#custodian-1"}]
    shown = consent_to_fhir(consent, now=NOW, agb_of=no_agb, show_giver_names=True)
    Consent.parse_obj(shown)
    assert shown["contained"] == [guardian(0, name=[{"text": "M. de Vries"}]), guardian(1)]
    assert "M. de Vries" not in repr(hidden)


@pytest.mark.parametrize(
    ("changes", "at", "fhir_status"),
    [
        ({}, NOW, "active"),
        ({"valid_from": date(2026, 7, 1)}, NOW, "active"),  # pending: given, not yet in force
        ({"valid_until": date(2026, 6, 1)}, NOW, "inactive"),  # expired
        ({"withdrawn_at": NOW}, NOW, "inactive"),
        ({"withdrawn_at": NOW + timedelta(seconds=1)}, NOW, "active"),
    ],
)
def test_the_fhir_status_is_active_while_the_consent_can_hold_and_inactive_after(
    changes: dict[str, Any], at: datetime, fhir_status: str
):
    assert consent_to_fhir(record(**changes), now=at, agb_of=no_agb)["status"] == fhir_status


def test_the_period_end_is_the_last_day_the_consent_holds():
    consent = record(valid_from=date(2026, 1, 1), valid_until=date(2026, 1, 2))
    period = consent_to_fhir(consent, now=NOW, agb_of=no_agb)["provision"]["period"]
    assert period == {"start": "2026-01-01", "end": "2026-01-01"}


def test_withdrawing_sets_the_moment_once_and_a_later_withdrawal_does_not_move_it():
    consent = record()
    first = withdraw(consent, now=NOW)
    assert first.withdrawn_at == NOW
    assert first == record(withdrawn_at=NOW)
    assert withdraw(first, now=NOW) is first
    assert withdraw(first, now=NOW + timedelta(days=1)) is first
    earlier = withdraw(first, now=NOW - timedelta(days=1))
    assert earlier.withdrawn_at == NOW - timedelta(days=1)
    assert earlier == record(withdrawn_at=NOW - timedelta(days=1))
    with pytest.raises(ValueError, match=r"^now must be a timezone-aware datetime$"):
        withdraw(consent, now=NOW.replace(tzinfo=None))


def fhir(**changes: Any) -> dict[str, Any]:
    """A consent a 17-year-old gave for closure notices to schools, as FHIR; `changes` replace
    top-level elements (None removes one)."""
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"system": SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"identifier": {"system": BSN, "value": A_BSN}},
        "performer": [{"identifier": {"system": BSN, "value": A_BSN}}],
        "sourceAttachment": {"title": "form 7"},
        "provision": {
            "type": "permit",
            "actor": [actor("IRCP", KIND, "school")],
            "purpose": [{"system": PURPOSE, "code": "closure-notice"}],
        },
    }
    for key, value in changes.items():
        if value is None:
            del resource[key]
        else:
            resource[key] = value
    return resource


def provision(**changes: Any) -> dict[str, Any]:
    """The example's provision with `changes` (None removes an element)."""
    result = copy.deepcopy(fhir()["provision"])
    for key, value in changes.items():
        if value is None:
            del result[key]
        else:
            result[key] = value
    return result


def body_of(resource: Any, systems: tuple[str, ...] = ()) -> dict[str, Any]:
    return consent_body_from_fhir(
        resource, partner_by_agb={"01234567": "ggd-utrecht"}.get, identifier_systems=systems
    )


def refusal(resource: Any, systems: tuple[str, ...] = ()) -> tuple[str, str, str]:
    """The element, message and how-to-fix of the refusal a partner receives."""
    with pytest.raises(ConsentInvalid) as refused:
        body_of(resource, systems)
    assert set(refused.value.extra) == {"element"}
    return refused.value.extra["element"], refused.value.message, refused.value.how_to_fix


BODY: dict[str, Any] = {
    "subject": {"bsn": A_BSN},
    "given_by": [{"role": "subject"}],
    "purposes": ["closure-notice"],
    "to": ["kind:school"],
    "evidence": {"method": "written", "reference": "form 7"},
}


def test_the_smallest_consent_a_partner_can_send_is_this_body():
    assert body_of(fhir()) == BODY


def test_every_top_level_element_the_gateway_supports_is_accepted_and_ignored_or_read():
    resource = fhir(
        id="c1",
        meta={"profile": ["http://example.org/p"]},
        text={"status": "generated", "div": "<div>x</div>"},
        contained=[],
        extension=[],
        identifier=[{"system": "urn:x", "value": "1"}],
        dateTime="2026-03-01T09:30:00Z",
        organization=[{"identifier": {"system": PARTNER, "value": "wijkteam-utrecht"}}],
        sourceReference={"display": "ignored: the attachment's title comes first"},
        policy=[{"uri": "https://example.org/policy"}],
        policyRule={"coding": [{"system": "urn:x", "code": "OPTIN"}]},
        provision=provision(id="p1", extension=[], period={}),
    )
    assert body_of(resource) == BODY


def test_the_full_mapping_of_a_consent_by_a_child_and_its_custodians():
    resource = fhir(
        contained=[
            {
                "resourceType": "Patient",
                "id": "kid",
                "identifier": [
                    {"system": LEERLING, "value": "L-1"},
                    {"system": "urn:example:other", "value": "O-1"},
                    {"system": BSN, "value": A_BSN},
                ],
                "birthDate": "2012-05-01",
            },
            {
                "resourceType": "RelatedPerson",
                "id": "mum",
                "name": [{"text": "M. de Vries"}],
                "relationship": [{"coding": [{"system": ROLE_CODES, "code": "MTH"}]}],
            },
            {
                "resourceType": "RelatedPerson",
                "id": "dad",
                "name": [{"given": ["Jan", "Piet"], "family": "Jansen"}],
                "relationship": [{"coding": [{"system": ROLE_CODES, "code": "FTH"}]}],
            },
            {
                "resourceType": "RelatedPerson",
                "id": "aunt",
                "name": [{}],
                "relationship": [{"text": "aunt"}, {"coding": [{"system": "x", "code": "GUARD"}]}],
            },
            {
                "resourceType": "RelatedPerson",
                "id": "foster",
                "relationship": [{"coding": [{"system": ROLE_CODES, "code": "PRNFOST"}]}],
            },
            {"id": 7},
            "not a resource",
        ],
        patient={"reference": "#kid"},
        performer=[
            {"reference": "#kid"},
            {"reference": "#mum"},
            {"reference": "#dad"},
            {"reference": "#aunt"},
            {"reference": "#foster"},
        ],
        extension=[
            {"url": "urn:other", "valueCode": "written"},
            {
                "url": "https://social-domain-gateway.nl/fhir/StructureDefinition/consent-evidence-method",
                "valueCode": "digital",
            },
            "not an extension",
        ],
        sourceAttachment=None,
        sourceReference={"reference": "DocumentReference/42"},
        provision=provision(
            period={"start": "2026-03-01T10:00:00+01:00", "end": "2027-02-28"},
            actor=[
                actor("CST", PARTNER, "wijkteam-utrecht"),
                actor("CST", AGB, "01234567"),
                actor("IRCP", PARTNER, "huisarts-oost"),
                actor("IRCP", KIND, "school"),
            ],
            purpose=[
                {"system": PURPOSE, "code": "closure-notice"},
                {"system": PURPOSE, "code": "youth-care-referral"},
            ],
        ),
    )
    assert body_of(resource, (LEERLING,)) == {
        "subject": {"bsn": A_BSN, "birth_date": "2012-05-01"},
        "given_by": [
            {"role": "subject"},
            {"role": "custodian", "name": "M. de Vries"},
            {"role": "custodian", "name": "Jan Piet Jansen"},
            {"role": "custodian"},
            {"role": "custodian"},
        ],
        "purposes": ["closure-notice", "youth-care-referral"],
        "from": ["wijkteam-utrecht", "ggd-utrecht"],
        "to": ["huisarts-oost", "kind:school"],
        "evidence": {"method": "digital", "reference": "DocumentReference/42"},
        "valid_from": "2026-03-01",
        "valid_until": "2027-03-01",
    }


@pytest.mark.parametrize("code", ["GUARD", "PRN", "FTH", "MTH", "PRNFOST", "STPPRN", "NPRN"])
def test_each_custodian_relationship_code_makes_a_custodian(code: str):
    resource = fhir(
        contained=[
            {
                "resourceType": "RelatedPerson",
                "id": "c",
                "name": [{"family": "Jansen"}],
                "relationship": [{"coding": [{"system": ROLE_CODES, "code": code}]}],
            }
        ],
        performer=[{"reference": "#c"}],
    )
    assert body_of(resource)["given_by"] == [{"role": "custodian", "name": "Jansen"}]


def test_a_person_without_a_bsn_is_named_by_a_declared_identifier():
    by_reference = fhir(
        patient={"identifier": {"system": LEERLING, "value": "L-1"}},
        performer=[{"identifier": {"system": LEERLING, "value": "L-1"}}],
    )
    expected = {"identifier": {"system": LEERLING, "value": "L-1"}}
    assert body_of(by_reference, (LEERLING,))["subject"] == expected
    contained = fhir(
        contained=[
            {
                "resourceType": "Patient",
                "id": "p",
                "identifier": [
                    {"system": "urn:example:other", "value": "O-1"},
                    {"system": LEERLING, "value": "L-1"},
                ],
            }
        ],
        patient={"reference": "#p"},
        performer=[{"reference": "#p"}],
    )
    assert body_of(contained, (LEERLING,))["subject"] == expected


@pytest.mark.parametrize(
    "performer",
    [
        {"identifier": {"system": BSN, "value": A_BSN}},
        {"identifier": {"value": A_BSN}},  # the system may be left out: the value names them
    ],
)
def test_the_patient_named_as_performer_by_identifier_is_the_subject(performer: dict[str, Any]):
    assert body_of(fhir(performer=[performer]))["given_by"] == [{"role": "subject"}]


def test_a_subject_named_by_a_declared_identifier_is_the_performer_only_by_that_identifier():
    resource = fhir(
        patient={"identifier": {"system": LEERLING, "value": "L-1"}},
        performer=[{"identifier": {"system": BSN, "value": "L-1"}}],
    )
    assert refusal(resource, (LEERLING,))[0] == "Consent.performer[0]"


def test_a_period_without_an_end_has_no_valid_until_and_one_without_start_no_valid_from():
    open_ended = body_of(fhir(provision=provision(period={"start": "2026-03-01"})))
    assert open_ended == {**BODY, "valid_from": "2026-03-01"}
    until = body_of(fhir(provision=provision(period={"end": "2026-12-31"})))
    assert until == {**BODY, "valid_until": "2027-01-01"}
    assert body_of(fhir(provision=provision(actor=None, purpose=None))) == {
        **BODY,
        "purposes": [],
        "to": [],
    }
    explicit_nulls = {"type": "permit", "actor": None, "purpose": None, "period": None}
    assert body_of(fhir(provision=explicit_nulls)) == {
        **BODY,
        "purposes": [],
        "to": [],
    }


def test_the_evidence_reference_falls_back_from_title_to_display_to_reference():
    both = {"display": "signed form", "reference": "DocumentReference/42"}
    assert body_of(fhir(sourceAttachment=None, sourceReference=both))["evidence"] == {
        "method": "written",
        "reference": "signed form",
    }
    assert body_of(fhir(sourceAttachment={"title": ""}, sourceReference=both))["evidence"] == {
        "method": "written",
        "reference": "signed form",
    }


SOURCE_REQUIRED = (
    "Consent.source[x]",
    "FHIR Consent.source[x]: is required: where the proof of consent is kept",
    "Give sourceAttachment.title or sourceReference (e.g. the form's number).",
)
UNSUPPORTED_PROVISION_HINT = (
    "The gateway enforces consent by purpose, parties and period only; remove it."
)
PATIENT_REQUIRED = (
    "Consent.patient",
    "FHIR Consent.patient: is required (the person the consent is about)",
    "Give patient.identifier with the BSN naming system.",
)
NO_IDENTIFIER = (
    "Consent.patient",
    "FHIR Consent.patient: has no BSN or declared identifier",
    f"Add an identifier with system {BSN} (or a declared identifier system).",
)
ROLE_REFUSED = (
    "Consent.provision.actor[0].role",
    "FHIR Consent.provision.actor[0].role: must be IRCP (recipient) or CST (sender, a partner)",
    f"Code the role in {PARTICIPATION}.",
)
NOT_A_GIVER = (
    "Consent.performer[0]",
    "FHIR Consent.performer[0]: must be the patient or a contained RelatedPerson",
    "Consent is given by the person or by a custodian.",
)
PERFORMER_REQUIRED = (
    "Consent.performer",
    "FHIR Consent.performer: is required: who gave the consent",
    "Name the patient and/or a contained RelatedPerson (custodian).",
)


def related(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "RelatedPerson", "id": "r", **extra}


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            ["not", "a", "resource"],
            (
                "Consent.resourceType",
                "FHIR Consent.resourceType: must be 'Consent'",
                "Send an HL7 FHIR R4 Consent resource.",
            ),
        ),
        (
            fhir(resourceType="Patient"),
            (
                "Consent.resourceType",
                "FHIR Consent.resourceType: must be 'Consent'",
                "Send an HL7 FHIR R4 Consent resource.",
            ),
        ),
        (
            fhir(verification=[], except_=[]),
            (
                "Consent.except_",
                "FHIR Consent.except_: is not supported",
                "Remove it; see docs/standards.md.",
            ),
        ),
        (
            fhir(status="proposed"),
            (
                "Consent.status",
                "FHIR Consent.status: must be 'active' to be recorded",
                "Record a consent once it is given; withdraw with POST /v1/consents/{id}/withdraw.",
            ),
        ),
        (
            fhir(scope={"coding": [{"system": SCOPE, "code": "research"}]}),
            (
                "Consent.scope",
                "FHIR Consent.scope: must be patient-privacy",
                f"Code scope in {SCOPE}.",
            ),
        ),
        (
            fhir(scope={"coding": [{"system": "urn:x", "code": "patient-privacy"}]}),
            (
                "Consent.scope",
                "FHIR Consent.scope: must be patient-privacy",
                f"Code scope in {SCOPE}.",
            ),
        ),
        (
            fhir(scope=[{"coding": [{"system": SCOPE, "code": "patient-privacy"}]}]),
            (
                "Consent.scope",
                "FHIR Consent.scope: must be patient-privacy",
                f"Code scope in {SCOPE}.",
            ),
        ),
        (
            fhir(category=[]),
            (
                "Consent.category",
                "FHIR Consent.category: is required",
                "Use http://loinc.org 59284-0 (Patient Consent).",
            ),
        ),
        (fhir(patient=None), PATIENT_REQUIRED),
        (fhir(patient="Patient/1"), PATIENT_REQUIRED),
        (
            fhir(patient={"reference": "Patient/1"}),
            (
                "Consent.patient",
                "FHIR Consent.patient: needs an identifier",
                "Refer to it by identifier (system and value).",
            ),
        ),
        (
            fhir(patient={"identifier": {"system": BSN}}),
            (
                "Consent.patient",
                "FHIR Consent.patient: identifier needs a system and a value",
                "Give both.",
            ),
        ),
        (
            fhir(patient={"identifier": {"value": A_BSN}}),
            (
                "Consent.patient",
                "FHIR Consent.patient: identifier needs a system and a value",
                "Give both.",
            ),
        ),
        (
            fhir(contained=[related(id="p")], patient={"reference": "#p"}),
            (
                "Consent.patient",
                "FHIR Consent.patient: must refer to a Patient",
                "Refer to a contained Patient.",
            ),
        ),
        (
            fhir(contained=[{"resourceType": "Patient", "id": "p"}], patient={"reference": "#p"}),
            NO_IDENTIFIER,
        ),
        (
            fhir(
                contained=[{"resourceType": "Patient", "id": "p", "identifier": [{"system": BSN}]}],
                patient={"reference": "#p"},
            ),
            NO_IDENTIFIER,
        ),
        (
            fhir(
                contained=[
                    {
                        "resourceType": "Patient",
                        "id": "p",
                        "identifier": [{"system": BSN, "value": A_BSN}],
                        "birthDate": 20120501,
                    }
                ],
                patient={"reference": "#p"},
            ),
            (
                "Consent.contained.Patient.birthDate",
                "FHIR Consent.contained.Patient.birthDate: must be a date",
                "Give YYYY-MM-DD.",
            ),
        ),
        (fhir(performer=None), PERFORMER_REQUIRED),
        (fhir(performer=[]), PERFORMER_REQUIRED),
        (fhir(performer={"reference": "#r"}), PERFORMER_REQUIRED),
        (fhir(performer=["#r"]), NOT_A_GIVER),
        (fhir(performer=[{"reference": ["#r"]}]), NOT_A_GIVER),
        (fhir(performer=[{"reference": "#r"}]), NOT_A_GIVER),
        (fhir(performer=[{"identifier": {"system": BSN, "value": "999999999"}}]), NOT_A_GIVER),
        (fhir(performer=[{"identifier": {"system": LEERLING, "value": A_BSN}}]), NOT_A_GIVER),
        (fhir(performer=[{"identifier": "x"}]), NOT_A_GIVER),
        (
            fhir(
                contained=[{"resourceType": "Patient", "id": "r"}], performer=[{"reference": "#r"}]
            ),
            NOT_A_GIVER,
        ),
        (
            fhir(
                contained=[
                    related(relationship=[{"coding": [{"system": ROLE_CODES, "code": "FRND"}]}])
                ],
                performer=[{"reference": "#r"}],
            ),
            (
                "Consent.performer[0].relationship",
                "FHIR Consent.performer[0].relationship: is not a custodian relationship",
                "Use one of FTH, GUARD, MTH, NPRN, PRN, PRNFOST, STPPRN (v3-RoleCode).",
            ),
        ),
        (
            fhir(contained=[related()], performer=[{"reference": "#r"}]),
            (
                "Consent.performer[0].relationship",
                "FHIR Consent.performer[0].relationship: is not a custodian relationship",
                "Use one of FTH, GUARD, MTH, NPRN, PRN, PRNFOST, STPPRN (v3-RoleCode).",
            ),
        ),
        (fhir(sourceAttachment=None), SOURCE_REQUIRED),
        (fhir(sourceAttachment={"title": ""}), SOURCE_REQUIRED),
        (fhir(sourceAttachment={"title": 42}), SOURCE_REQUIRED),
        (
            fhir(provision=None),
            (
                "Consent.provision",
                "FHIR Consent.provision: is required",
                "State what is permitted: period, actors, purposes.",
            ),
        ),
        (
            fhir(provision=provision(securityLabel=[], data=[])),
            (
                "Consent.provision.data",
                "FHIR Consent.provision.data: is not supported",
                UNSUPPORTED_PROVISION_HINT,
            ),
        ),
        (
            fhir(provision=provision(type=None)),
            (
                "Consent.provision.type",
                "FHIR Consent.provision.type: must be 'permit'",
                "Record a permit; a refusal is the absence of consent.",
            ),
        ),
        (
            fhir(provision=provision(actor=[actor("AUT", PARTNER, "x")])),
            ROLE_REFUSED,
        ),
        (
            fhir(provision=provision(actor=[actor("CST", KIND, "school")])),
            ROLE_REFUSED,
        ),
        (
            fhir(
                provision=provision(
                    actor=[
                        {
                            "role": {"coding": [{"system": "urn:x", "code": "IRCP"}]},
                            "reference": {"identifier": {"system": PARTNER, "value": "x"}},
                        }
                    ]
                )
            ),
            ROLE_REFUSED,
        ),
        (
            fhir(
                provision=provision(
                    actor=[
                        {
                            "role": {
                                "coding": [
                                    {"system": PARTICIPATION, "code": "IRCP"},
                                    {"system": PARTICIPATION, "code": "CST"},
                                ]
                            },
                            "reference": {"identifier": {"system": PARTNER, "value": "x"}},
                        }
                    ]
                )
            ),
            ROLE_REFUSED,
        ),
        (
            fhir(provision=provision(actor=[actor("IRCP", AGB, "99999999")])),
            (
                "Consent.provision.actor[0].reference.identifier",
                "FHIR Consent.provision.actor[0].reference.identifier: names an AGB code of no "
                "registered partner",
                "Use a registered partner's AGB code or partner id.",
            ),
        ),
        (
            fhir(provision=provision(actor=[actor("IRCP", "urn:uzi", "1")])),
            (
                "Consent.provision.actor[0].reference.identifier.system",
                "FHIR Consent.provision.actor[0].reference.identifier.system: urn:uzi is not "
                "supported",
                f"Use {PARTNER}, {AGB} or {KIND}.",
            ),
        ),
        (
            fhir(provision=provision(actor=[{"role": {"coding": []}, "reference": None}])),
            (
                "Consent.provision.actor[0].reference",
                "FHIR Consent.provision.actor[0].reference: needs an identifier",
                "Refer to it by identifier (system and value).",
            ),
        ),
        (
            fhir(
                provision=provision(
                    purpose=[{"system": PURPOSE, "code": "a"}, {"system": "urn:x", "code": "b"}]
                )
            ),
            (
                "Consent.provision.purpose[1].system",
                f"FHIR Consent.provision.purpose[1].system: must be {PURPOSE}",
                "Code purposes from the gateway's catalogue.",
            ),
        ),
        (
            fhir(provision=provision(purpose=["closure-notice"])),
            (
                "Consent.provision.purpose[0].system",
                f"FHIR Consent.provision.purpose[0].system: must be {PURPOSE}",
                "Code purposes from the gateway's catalogue.",
            ),
        ),
        (
            fhir(provision=provision(period={"start": "2026-3-1"})),
            (
                "Consent.provision.period.start",
                "FHIR Consent.provision.period.start: must be a date or dateTime",
                "Give YYYY-MM-DD.",
            ),
        ),
        (
            fhir(provision=provision(period={"end": 20261231})),
            (
                "Consent.provision.period.end",
                "FHIR Consent.provision.period.end: must be a date or dateTime",
                "Give YYYY-MM-DD.",
            ),
        ),
        (
            fhir(provision=provision(period={"end": "2026-02-30"})),
            (
                "Consent.provision.period.end",
                "FHIR Consent.provision.period.end: is not a valid date",
                "Give YYYY-MM-DD.",
            ),
        ),
    ],
)
def test_a_refusal_names_the_element_the_problem_and_the_fix(
    resource: Any, expected: tuple[str, str, str]
):
    assert refusal(resource) == expected


@pytest.mark.parametrize(
    ("systems", "fix"),
    [
        ((), f"Identify the patient with one of: {BSN}."),
        (
            ("urn:z", LEERLING),
            f"Identify the patient with one of: {BSN}, {LEERLING}, urn:z.",
        ),
    ],
)
def test_an_undeclared_identifier_system_is_refused_listing_the_accepted_ones(
    systems: tuple[str, ...], fix: str
):
    expected = (
        "Consent.patient.identifier.system",
        "FHIR Consent.patient.identifier.system: is neither the BSN naming system nor an "
        "identifier system the catalogue declares",
        fix,
    )
    by_reference = fhir(patient={"identifier": {"system": "urn:other", "value": "1"}})
    assert refusal(by_reference, systems) == expected
    contained = fhir(
        contained=[
            {
                "resourceType": "Patient",
                "id": "p",
                "identifier": [{"system": "urn:other", "value": "1"}],
            }
        ],
        patient={"reference": "#p"},
    )
    assert refusal(contained, systems) == expected


def test_absent_null_and_foreign_entries_in_lists_are_skipped_not_misread():
    resource = fhir(
        scope={"text": "privacy", "coding": ["x", {"system": SCOPE, "code": "patient-privacy"}]},
        provision=provision(
            actor=[
                {
                    "role": {"coding": [None, {"system": PARTICIPATION, "code": "IRCP"}]},
                    "reference": {"identifier": {"system": KIND, "value": "school"}},
                }
            ]
        ),
    )
    resource["contained"] = None
    resource["extension"] = None
    assert body_of(resource) == BODY
    assert refusal(fhir(scope={"text": "privacy"}))[0] == "Consent.scope"
    unnamed = fhir(
        contained=[
            related(
                name=["M. de Vries"],
                relationship=[{"coding": [{"system": ROLE_CODES, "code": "GUARD"}]}],
            )
        ],
        performer=[{"identifier": {"system": BSN, "value": A_BSN}}, {"reference": "#r"}],
    )
    assert body_of(unnamed)["given_by"] == [{"role": "subject"}, {"role": "custodian"}]


def test_a_refused_performer_is_named_by_its_own_index():
    resource = fhir(performer=[{"identifier": {"system": BSN, "value": A_BSN}}, {"reference": ""}])
    assert refusal(resource) == (
        "Consent.performer[1]",
        "FHIR Consent.performer[1]: must be the patient or a contained RelatedPerson",
        "Consent is given by the person or by a custodian.",
    )
