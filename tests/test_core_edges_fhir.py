"""The FHIR R4 Consent form at its edges: every element a FHIR consumer reads, pinned exactly.

`consent_to_fhir` is what a partner's FHIR client receives for a recorded consent; each test
compares the whole resource with a literal one, so a changed system, code, date or element name
fails here (mutation testing, `make mutate`, docs/mutation-testing.md, showed the suite let such
slips through). The reading direction, `consent_body_from_fhir`, is pinned by the element each
refusal names and by the exact body a resource stands for.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from consent import ConsentRecord, Evidence, Giver
from consent.fhir import consent_to_fhir

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


def test_a_consent_given_by_the_subject_alone_is_the_whole_resource_below():
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
