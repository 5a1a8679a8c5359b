"""HL7 FHIR R4 Consent in and out: the same records and rules as `POST /v1/consents`.

In: a Consent resource becomes the body of `POST /v1/consents` (then parsed with the same rules:
age rules, scope, window). Unsupported or contradictory content raises ConsentInvalid naming the
FHIR element, never silently dropped: a consent that says more than the gateway can enforce
must not be recorded as if it said less.

Mapping (see docs/standards.md):
- patient: `Reference.identifier` with the BSN naming system or an identifier system the
  catalogue declares (a person without a BSN, e.g. by onderwijsnummer), or a contained Patient
  with such an identifier (the BSN preferred) and `birthDate`;
- performer: the patient (the person consents), or a contained RelatedPerson (a representative):
  its `relationship` holds a v3-RoleCode (PRN for a parent, GUARD for a guardian, mentor or
  curator) and, for the representative kinds, a code of the gateway's representation code system
  (`parent_sole_authority`, `parent_joint_authority`, `guardian`, `guardian_gi`, `mentor`,
  `curator`); without that code a custodian relationship code (GUARD, PRN, FTH, ...) makes the
  legacy `custodian`. The evidence of authority is the RelatedPerson's authority-evidence
  extension (`establishedBy`, `reference`); a child of 12 to 15 deciding alone is the Consent's
  minor-decides-alone extension (`ground`, `reference`). `provision.actor` stays for the parties
  the agreement lets share (senders and recipients), not for who gave it;
- provision.type `permit`; provision.period -> valid_from / valid_until (FHIR's end is inclusive,
  the gateway's valid_until is the first day it no longer holds);
- provision.actor: role `CST` (custodian of the information: the sender, `from`) or `IRCP`
  (information recipient, `to`), each an Organization by identifier (gateway partner id, AGB, or
  a partner kind);
- provision.purpose: codes from the gateway's purpose code system.
Out: the record as a Consent; the patient appears by pseudonym only, since the BSN is not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import date, timedelta
from typing import Any, Final

from gateway.errors import ConsentInvalid

from .model import ConsentRecord, status

__all__ = [
    "AGB_SYSTEM",
    "AUTHORITY_EXTENSION",
    "BSN_SYSTEM",
    "DECIDES_ALONE_EXTENSION",
    "KIND_SYSTEM",
    "PARTNER_SYSTEM",
    "PSEUDONYM_SYSTEM",
    "PURPOSE_SYSTEM",
    "REPRESENTATION_SYSTEM",
    "consent_body_from_fhir",
    "consent_to_fhir",
]

BSN_SYSTEM: Final = "http://fhir.nl/fhir/NamingSystem/bsn"
AGB_SYSTEM: Final = "http://fhir.nl/fhir/NamingSystem/agb-z"
PARTNER_SYSTEM: Final = "https://social-domain-gateway.nl/fhir/NamingSystem/partner-id"
KIND_SYSTEM: Final = "https://social-domain-gateway.nl/fhir/NamingSystem/partner-kind"
PSEUDONYM_SYSTEM: Final = "https://social-domain-gateway.nl/fhir/NamingSystem/subject-pseudonym"
PURPOSE_SYSTEM: Final = "https://social-domain-gateway.nl/fhir/CodeSystem/purpose"
CONSENT_ID_SYSTEM: Final = "https://social-domain-gateway.nl/fhir/NamingSystem/consent-id"
EVIDENCE_EXTENSION: Final = (
    "https://social-domain-gateway.nl/fhir/StructureDefinition/consent-evidence-method"
)
SCOPE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/consentscope"
PARTICIPATION_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
LOINC: Final = "http://loinc.org"
CUSTODIAN_CODES: Final = frozenset({"GUARD", "PRN", "FTH", "MTH", "PRNFOST", "STPPRN", "NPRN"})
ROLE_CODE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
REPRESENTATION_SYSTEM: Final = "https://social-domain-gateway.nl/fhir/CodeSystem/representation"
AUTHORITY_EXTENSION: Final = (
    "https://social-domain-gateway.nl/fhir/StructureDefinition/authority-evidence"
)
DECIDES_ALONE_EXTENSION: Final = (
    "https://social-domain-gateway.nl/fhir/StructureDefinition/minor-decides-alone"
)
# The v3-RoleCode each representative kind is shown with beside the gateway's own code.
_V3_CODE: Final = {
    "custodian": "GUARD",
    "parent_sole_authority": "PRN",
    "parent_joint_authority": "PRN",
    "guardian": "GUARD",
    "guardian_gi": "GUARD",
    "mentor": "GUARD",
    "curator": "GUARD",
}
_REPRESENTATIVE_CODES: Final = frozenset(_V3_CODE) - {"custodian"}
_EXTENSION_PARTS: Final = {
    AUTHORITY_EXTENSION: frozenset({"establishedBy", "reference"}),
    DECIDES_ALONE_EXTENSION: frozenset({"ground", "reference"}),
}

_SUPPORTED_TOP: Final = frozenset(
    {
        "resourceType",
        "id",
        "meta",
        "text",
        "contained",
        "extension",
        "identifier",
        "status",
        "scope",
        "category",
        "patient",
        "dateTime",
        "performer",
        "organization",
        "sourceAttachment",
        "sourceReference",
        "policy",
        "policyRule",
        "provision",
    }
)
_SUPPORTED_PROVISION: Final = frozenset({"type", "period", "actor", "purpose"})


def _invalid(element: str, problem: str, fix: str) -> ConsentInvalid:
    return ConsentInvalid(f"FHIR Consent.{element}: {problem}", fix, element=f"Consent.{element}")


def _codes(concept: Any) -> set[tuple[str, str]]:
    if not isinstance(concept, Mapping):
        return set()
    return {
        (str(c.get("system")), str(c.get("code")))
        for c in concept.get("coding", [])
        if isinstance(c, Mapping)
    }


def _contained(resource: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found = {}
    for item in resource.get("contained", []) or []:
        if isinstance(item, Mapping) and isinstance(item.get("id"), str):
            found["#" + item["id"]] = item
    return found


def _identifier(ref: Any, element: str) -> tuple[str, str]:
    identifier = ref.get("identifier") if isinstance(ref, Mapping) else None
    if not isinstance(identifier, Mapping):
        raise _invalid(
            element, "needs an identifier", "Refer to it by identifier (system and value)."
        )
    system, value = identifier.get("system"), identifier.get("value")
    if not isinstance(system, str) or not isinstance(value, str):
        raise _invalid(element, "identifier needs a system and a value", "Give both.")
    return system, value


def _undeclared(systems: Collection[str]) -> ConsentInvalid:
    # The caller's system is not repeated: whatever was sent there stays out of the error.
    return _invalid(
        "patient.identifier.system",
        "is neither the BSN naming system nor an identifier system the catalogue declares",
        f"Identify the patient with one of: {', '.join([BSN_SYSTEM, *sorted(systems)])}.",
    )


def _as_subject(system: Any, value: Any) -> dict[str, Any]:
    """The API's subject form of a (system, value) identifier already known to be accepted."""
    if system == BSN_SYSTEM:
        return {"bsn": value}
    return {"identifier": {"system": system, "value": value}}


def _subject(
    resource: Mapping[str, Any],
    contained: Mapping[str, Mapping[str, Any]],
    systems: Collection[str],
) -> tuple[dict[str, Any], str | None, str | None]:
    """The subject in the API's form, the birth date if given, and the contained Patient's ref."""
    patient = resource.get("patient")
    if not isinstance(patient, Mapping):
        raise _invalid(
            "patient",
            "is required (the person the consent is about)",
            "Give patient.identifier with the BSN naming system.",
        )
    accepted = {BSN_SYSTEM, *systems}
    local = patient.get("reference")
    birth_date = None
    if isinstance(local, str) and local in contained:
        target = contained[local]
        if target.get("resourceType") != "Patient":
            raise _invalid("patient", "must refer to a Patient", "Refer to a contained Patient.")
        identifiers = [i for i in target.get("identifier", []) if isinstance(i, Mapping)]
        usable = [i for i in identifiers if i.get("system") in accepted]
        if identifiers and not usable:
            raise _undeclared(systems)
        # The BSN first: where a person has one, the gateway names them by it.
        usable.sort(key=lambda i: i.get("system") != BSN_SYSTEM)
        system, value = (
            (usable[0].get("system"), usable[0].get("value")) if usable else (None, None)
        )
        birth_date = target.get("birthDate")
    else:
        system, value = _identifier(patient, "patient")
        if system not in accepted:
            raise _undeclared(systems)
        local = None
    if not isinstance(value, str):
        raise _invalid(
            "patient",
            "has no BSN or declared identifier",
            f"Add an identifier with system {BSN_SYSTEM} (or a declared identifier system).",
        )
    if birth_date is not None and not isinstance(birth_date, str):
        raise _invalid("contained.Patient.birthDate", "must be a date", "Give YYYY-MM-DD.")
    return _as_subject(system, value), birth_date, local


def _names_patient(ref: Mapping[str, Any], subject: Mapping[str, Any]) -> bool:
    """Whether a performer reference names the patient by the same identifier."""
    identifier = ref.get("identifier")
    if not isinstance(identifier, Mapping):
        return False
    named = subject.get("identifier") or {"system": BSN_SYSTEM, "value": subject.get("bsn")}
    system = identifier.get("system")
    return identifier.get("value") == named["value"] and system in (None, named["system"])


def _givers(
    resource: Mapping[str, Any],
    contained: Mapping[str, Mapping[str, Any]],
    subject: Mapping[str, Any],
    patient_ref: str | None,
) -> list[dict[str, Any]]:
    performers = resource.get("performer")
    if not isinstance(performers, list) or not performers:
        raise _invalid(
            "performer",
            "is required: who gave the consent",
            "Name the patient and/or a contained RelatedPerson (custodian).",
        )
    givers: list[dict[str, Any]] = []
    for n, ref in enumerate(performers):
        element = f"performer[{n}]"
        local = ref.get("reference") if isinstance(ref, Mapping) else None
        target = contained.get(local) if isinstance(local, str) else None
        if isinstance(ref, Mapping) and (
            (patient_ref is not None and ref.get("reference") == patient_ref)
            or _names_patient(ref, subject)
        ):
            giver: dict[str, Any] = {"role": "subject"}
            decision = _sub_extensions(resource, DECIDES_ALONE_EXTENSION, "extension")
            if decision is not None:
                giver["decides_alone"] = {
                    "ground": decision.get("ground"),
                    "reference": decision.get("reference"),
                }
            givers.append(giver)
            continue
        if target is None or target.get("resourceType") != "RelatedPerson":
            raise _invalid(
                element,
                "must be the patient or a contained RelatedPerson",
                "Consent is given by the person or by a custodian.",
            )
        relationships = set().union(*(_codes(r) for r in target.get("relationship", []) or [{}]))
        giver = {"role": _representative_role(relationships, element)}
        authority = _sub_extensions(target, AUTHORITY_EXTENSION, f"{element}.extension")
        if authority is not None:
            giver["authority"] = {
                "established_by": authority.get("establishedBy"),
                "reference": authority.get("reference"),
            }
        elif giver["role"] != "custodian":
            raise _invalid(
                f"{element}.extension",
                f"a {giver['role']} needs the authority-evidence extension",
                f"Add extension {AUTHORITY_EXTENSION} with establishedBy (gezagsregister, "
                "court_order or brp) and reference to the RelatedPerson.",
            )
        names = target.get("name") or []
        if names and isinstance(names[0], Mapping):
            text = (
                names[0].get("text")
                or " ".join([*names[0].get("given", []), names[0].get("family", "")]).strip()
            )
            if text:
                giver["name"] = text
        givers.append(giver)
    return givers


def _representative_role(relationships: set[tuple[str, str]], element: str) -> str:
    """The giver role a RelatedPerson's relationship codes stand for."""
    ours = {code for system, code in relationships if system == REPRESENTATION_SYSTEM}
    if ours:
        if len(ours) > 1 or not ours <= _REPRESENTATIVE_CODES:
            raise _invalid(
                f"{element}.relationship",
                "needs exactly one code of the representation code system",
                f"Use one of {', '.join(sorted(_REPRESENTATIVE_CODES))} ({REPRESENTATION_SYSTEM}).",
            )
        return next(iter(ours))
    if not {code for _, code in relationships} & CUSTODIAN_CODES:
        raise _invalid(
            f"{element}.relationship",
            "is not a custodian relationship",
            f"Use one of {', '.join(sorted(CUSTODIAN_CODES))} (v3-RoleCode).",
        )
    return "custodian"


def _sub_extensions(owner: Mapping[str, Any], url: str, element: str) -> dict[str, Any] | None:
    """The values of a complex extension's parts by their url, or None when it is absent."""
    found = [
        ext
        for ext in owner.get("extension", []) or []
        if isinstance(ext, Mapping) and ext.get("url") == url
    ]
    if not found:
        return None
    if len(found) > 1:
        raise _invalid(element, f"has extension {url} more than once", "Give it once.")
    parts: dict[str, Any] = {}
    for part in found[0].get("extension", []) or []:
        name = part.get("url") if isinstance(part, Mapping) else None
        if name not in _EXTENSION_PARTS[url] or name in parts:
            # Not dropped in silence: a part the gateway does not record would be lost.
            raise _invalid(
                element,
                f"extension {url} has a part the gateway does not take, or one twice",
                f"Give each of {', '.join(sorted(_EXTENSION_PARTS[url]))} once.",
            )
        parts[name] = part.get("valueCode", part.get("valueString"))
    return parts


def _party(ref: Any, element: str, partner_by_agb: Callable[[str], str | None]) -> str:
    system, value = _identifier(ref, element)
    if system == PARTNER_SYSTEM:
        return value
    if system == KIND_SYSTEM:
        return f"kind:{value}"
    if system == AGB_SYSTEM:
        partner = partner_by_agb(value)
        if partner is None:
            raise _invalid(
                f"{element}.identifier",
                "names an AGB code of no registered partner",
                "Use a registered partner's AGB code or partner id.",
            )
        return partner
    raise _invalid(
        f"{element}.identifier.system",
        f"{system} is not supported",
        f"Use {PARTNER_SYSTEM}, {AGB_SYSTEM} or {KIND_SYSTEM}.",
    )


def _provision(
    resource: Mapping[str, Any], partner_by_agb: Callable[[str], str | None]
) -> tuple[list[str], list[str], list[str], str | None, str | None]:
    provision = resource.get("provision")
    if not isinstance(provision, Mapping):
        raise _invalid(
            "provision", "is required", "State what is permitted: period, actors, purposes."
        )
    unsupported = sorted(set(provision) - _SUPPORTED_PROVISION - {"id", "extension"})
    if unsupported:
        raise _invalid(
            f"provision.{unsupported[0]}",
            "is not supported",
            "The gateway enforces consent by purpose, parties and period only; remove it.",
        )
    if provision.get("type") != "permit":
        raise _invalid(
            "provision.type",
            "must be 'permit'",
            "Record a permit; a refusal is the absence of consent.",
        )
    senders: list[str] = []
    recipients: list[str] = []
    for n, actor in enumerate(provision.get("actor", []) or []):
        element = f"provision.actor[{n}]"
        roles = {
            code for system, code in _codes(actor.get("role")) if system == PARTICIPATION_SYSTEM
        }
        party = _party(actor.get("reference"), f"{element}.reference", partner_by_agb)
        if roles == {"IRCP"}:
            recipients.append(party)
        elif roles == {"CST"} and not party.startswith("kind:"):
            senders.append(party)
        else:
            raise _invalid(
                f"{element}.role",
                "must be IRCP (recipient) or CST (sender, a partner)",
                f"Code the role in {PARTICIPATION_SYSTEM}.",
            )
    purposes = []
    for n, coding in enumerate(provision.get("purpose", []) or []):
        if not isinstance(coding, Mapping) or coding.get("system") != PURPOSE_SYSTEM:
            raise _invalid(
                f"provision.purpose[{n}].system",
                f"must be {PURPOSE_SYSTEM}",
                "Code purposes from the gateway's catalogue.",
            )
        purposes.append(str(coding.get("code")))
    period = provision.get("period") or {}
    start, end = period.get("start"), period.get("end")
    return (
        purposes,
        senders,
        recipients,
        _date(start, "provision.period.start"),
        _date(end, "provision.period.end"),
    )


def _date(value: Any, element: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) < 10:
        raise _invalid(element, "must be a date or dateTime", "Give YYYY-MM-DD.")
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise _invalid(element, "is not a valid date", "Give YYYY-MM-DD.") from None


def consent_body_from_fhir(
    resource: Any,
    *,
    partner_by_agb: Callable[[str], str | None],
    identifier_systems: Collection[str] = (),
) -> dict[str, Any]:
    """The `POST /v1/consents` body a FHIR R4 Consent stands for; ConsentInvalid names the element.

    `identifier_systems` are the catalogue's identifier systems a patient may be named by
    besides the BSN naming system; the value itself is validated where the body is recorded.
    """
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "Consent":
        raise _invalid("resourceType", "must be 'Consent'", "Send an HL7 FHIR R4 Consent resource.")
    unsupported = sorted(set(resource) - _SUPPORTED_TOP)
    if unsupported:
        raise _invalid(unsupported[0], "is not supported", "Remove it; see docs/standards.md.")
    if resource.get("status") != "active":
        raise _invalid(
            "status",
            "must be 'active' to be recorded",
            "Record a consent once it is given; withdraw with POST /v1/consents/{id}/withdraw.",
        )
    if (SCOPE_SYSTEM, "patient-privacy") not in _codes(resource.get("scope")):
        raise _invalid("scope", "must be patient-privacy", f"Code scope in {SCOPE_SYSTEM}.")
    if not resource.get("category"):
        raise _invalid("category", "is required", f"Use {LOINC} 59284-0 (Patient Consent).")
    contained = _contained(resource)
    subject, birth_date, patient_ref = _subject(resource, contained, identifier_systems)
    givers = _givers(resource, contained, subject, patient_ref)
    decided = _sub_extensions(resource, DECIDES_ALONE_EXTENSION, "extension")
    if decided is not None and not any(giver["role"] == "subject" for giver in givers):
        raise _invalid(
            "extension",
            "minor-decides-alone is given, but the patient is not among the performers",
            "Name the patient in performer: the child decides alone, or remove the extension.",
        )
    purposes, senders, recipients, start, end = _provision(resource, partner_by_agb)
    body: dict[str, Any] = {
        "subject": {**subject, **({"birth_date": birth_date} if birth_date else {})},
        "given_by": givers,
        "purposes": purposes,
        "to": recipients,
        "evidence": _evidence(resource),
    }
    if senders:
        body["from"] = senders
    if start is not None:
        body["valid_from"] = start
    if end is not None:
        # FHIR's period end is the last day it holds; ours is the first day it no longer does.
        body["valid_until"] = (date.fromisoformat(end) + timedelta(days=1)).isoformat()
    return body


def _evidence(resource: Mapping[str, Any]) -> dict[str, str]:
    method = "written"
    for ext in resource.get("extension", []) or []:
        if isinstance(ext, Mapping) and ext.get("url") == EVIDENCE_EXTENSION:
            method = str(ext.get("valueCode"))
    attachment = resource.get("sourceAttachment") or {}
    reference = resource.get("sourceReference") or {}
    text = attachment.get("title") or reference.get("display") or reference.get("reference")
    if not isinstance(text, str) or not text:
        raise _invalid(
            "source[x]",
            "is required: where the proof of consent is kept",
            "Give sourceAttachment.title or sourceReference (e.g. the form's number).",
        )
    return {"method": method, "reference": text}


def consent_to_fhir(
    record: ConsentRecord,
    *,
    now: Any,
    agb_of: Callable[[str], str | None],
    show_giver_names: bool = False,
) -> dict[str, Any]:
    """The record as an R4 Consent. The patient is named by pseudonym: the BSN is not kept.

    A custodian's name appears only with ``show_giver_names`` (the JSON form's rule,
    ``giver_names_shown_to``: for the recorder); otherwise the RelatedPerson carries its role only.
    """
    contained: list[dict[str, Any]] = []
    performers: list[dict[str, Any]] = []
    decision: dict[str, Any] | None = None
    for n, giver in enumerate(record.given_by):
        if giver.role == "subject":
            performers.append({"identifier": {"system": PSEUDONYM_SYSTEM, "value": record.subject}})
            if giver.decides_alone is not None:
                decision = _complex(
                    DECIDES_ALONE_EXTENSION,
                    ("ground", "valueCode", giver.decides_alone.ground),
                    ("reference", "valueString", giver.decides_alone.reference)
                    if show_giver_names
                    else None,
                )
            continue
        coding = [{"system": ROLE_CODE_SYSTEM, "code": _V3_CODE[giver.role]}]
        if giver.role != "custodian":
            coding.append({"system": REPRESENTATION_SYSTEM, "code": giver.role})
        local = f"custodian-{n}" if giver.role == "custodian" else f"representative-{n}"
        related: dict[str, Any] = {
            "resourceType": "RelatedPerson",
            "id": local,
            "patient": {"identifier": {"system": PSEUDONYM_SYSTEM, "value": record.subject}},
            "relationship": [{"coding": coding}],
        }
        if giver.authority is not None:
            related["extension"] = [
                _complex(
                    AUTHORITY_EXTENSION,
                    ("establishedBy", "valueCode", giver.authority.established_by),
                    ("reference", "valueString", giver.authority.reference)
                    if show_giver_names
                    else None,
                )
            ]
        if giver.name and show_giver_names:
            related["name"] = [{"text": giver.name}]
        contained.append(related)
        performers.append({"reference": f"#{local}"})

    def actor(role: str, party: str) -> dict[str, Any]:
        if party.startswith("kind:"):
            identifier = {"system": KIND_SYSTEM, "value": party.removeprefix("kind:")}
        else:
            agb = agb_of(party)
            identifier = (
                {"system": AGB_SYSTEM, "value": agb}
                if agb
                else {"system": PARTNER_SYSTEM, "value": party}
            )
        return {
            "role": {"coding": [{"system": PARTICIPATION_SYSTEM, "code": role}]},
            "reference": {"identifier": identifier},
        }

    period: dict[str, str] = {"start": record.valid_from.isoformat()}
    if record.valid_until is not None:
        period["end"] = (record.valid_until - timedelta(days=1)).isoformat()
    state = status(record, now)
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        # FHIR ids allow [A-Za-z0-9.-] only; the gateway's own id travels as an identifier.
        "id": record.consent_id.replace("_", "."),
        "identifier": [{"system": CONSENT_ID_SYSTEM, "value": record.consent_id}],
        "status": {
            "active": "active",
            "pending": "active",
            "withdrawn": "inactive",
            "expired": "inactive",
        }[state],
        "scope": {"coding": [{"system": SCOPE_SYSTEM, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": LOINC, "code": "59284-0"}]}],
        "patient": {"identifier": {"system": PSEUDONYM_SYSTEM, "value": record.subject}},
        "dateTime": record.recorded_at.isoformat(),
        "performer": performers,
        "organization": [{"identifier": {"system": PARTNER_SYSTEM, "value": record.recorded_by}}],
        "extension": [{"url": EVIDENCE_EXTENSION, "valueCode": record.evidence.method}],
        "sourceAttachment": {"title": record.evidence.reference},
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ]
        },
        "provision": {
            "type": "permit",
            "period": period,
            "actor": [actor("CST", p) for p in sorted(record.senders)]
            + [actor("IRCP", p) for p in sorted(record.recipients)],
            "purpose": [{"system": PURPOSE_SYSTEM, "code": p} for p in sorted(record.purposes)],
        },
    }
    if decision is not None:
        resource["extension"].append(decision)
    if contained:
        resource["contained"] = contained
    return resource


def _complex(url: str, *parts: tuple[str, str, str] | None) -> dict[str, Any]:
    """A complex extension of ``(url, value[x] name, value)`` parts; None parts are left out."""
    return {
        "url": url,
        "extension": [{"url": name, kind: value} for name, kind, value in filter(None, parts)],
    }
