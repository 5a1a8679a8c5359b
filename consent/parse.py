"""Turn the JSON body of ``POST /v1/consents`` into a validated consent draft.

Everything but the subject's number is checked here: the body names the person by
``subject.bsn`` or ``subject.identifier`` (exactly one); the caller validates and
pseudonymises it and completes the draft with ``draft.to_record(pseudonym)``.
Shape problems (missing field, wrong type, bad date, oversized list, unknown field)
raise InvalidRequest; rule problems (age rules on the recording date, unknown
purposes, empty scope, a window that ends before it starts) raise ConsentInvalid.
Messages point at the offending field by JSON Pointer and never echo what was sent,
so no name, birth date or stray BSN lands in an error body or a log line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, cast

from gateway.errors import ConsentInvalid, InvalidRequest

from .age import verify_givers
from .model import (
    AUTHORITY_SOURCES,
    EVIDENCE_METHODS,
    GIVER_ROLES,
    MAX_EVIDENCE_REFERENCE,
    MAX_GIVER_NAME,
    MINOR_DECISION_GROUNDS,
    Authority,
    AuthoritySource,
    ConsentRecord,
    Evidence,
    EvidenceMethod,
    Giver,
    GiverRole,
    MinorDecision,
    MinorDecisionGround,
)
from .representation import contradiction
from .scope import RecordingScope

__all__ = [
    "MAX_GIVERS",
    "MAX_PARTIES",
    "MAX_PURPOSES",
    "RECIPIENT_KINDS",
    "ConsentDraft",
    "parse_consent_request",
]

MAX_PURPOSES: Final = 20
MAX_PARTIES: Final = 50
MAX_GIVERS: Final = 4
RECIPIENT_KINDS: Final[frozenset[str]] = frozenset(
    {
        "social_team",
        "care_provider",
        "certified_institution",
        "school",
        "veilig_thuis",
        "general_practitioner",
        "youth_health_care",
        "work_and_income",
        "compulsory_education",
        "child_protection_board",
    }
)

_PARTNER_ID: Final = re.compile(r"[a-z0-9-]{2,64}")
# The case ids `/v1/cases/{case_id}` takes; never only digits, so a BSN cannot pass as one.
_CASE_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FIELD_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,39}")
_TOP_LEVEL: Final = frozenset(
    {
        "subject",
        "given_by",
        "purposes",
        "from",
        "to",
        "valid_from",
        "valid_until",
        "evidence",
        "case_id",
    }
)
_SUBJECT_FIELDS: Final = frozenset({"bsn", "identifier", "birth_date"})
_GIVER_FIELDS: Final = frozenset({"role", "name", "authority", "decides_alone"})
_AUTHORITY_FIELDS: Final = frozenset({"established_by", "reference"})
_DECISION_FIELDS: Final = frozenset({"ground", "reference"})
_EVIDENCE_FIELDS: Final = frozenset({"method", "reference"})


@dataclass(frozen=True, slots=True)
class ConsentDraft:
    """A validated consent request still waiting for the subject's pseudonym."""

    consent_id: str
    birth_date: date | None = field(repr=False)
    given_by: tuple[Giver, ...]
    purposes: frozenset[str]
    senders: frozenset[str]
    recipients: frozenset[str]
    valid_from: date
    valid_until: date | None
    evidence: Evidence
    recorded_by: str
    recorded_at: datetime
    # The case whose director records the family's agreement (None: the recorder sends itself).
    case_id: str | None
    # The scope in the body's order, so a scope refusal can point at the entry it refuses.
    scope: RecordingScope

    def to_record(self, subject_pseudonym: str, subject_system: str | None = None) -> ConsentRecord:
        """The consent record for the subject behind ``subject_pseudonym`` (hex, never a BSN).

        ``subject_system`` is the identifier system of a person without a BSN (None for a BSN).
        """
        return ConsentRecord(
            consent_id=self.consent_id,
            subject=subject_pseudonym,
            birth_date=self.birth_date,
            given_by=self.given_by,
            purposes=self.purposes,
            senders=self.senders,
            recipients=self.recipients,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            evidence=self.evidence,
            recorded_by=self.recorded_by,
            recorded_at=self.recorded_at,
            withdrawn_at=None,
            subject_system=subject_system,
        )


def parse_consent_request(
    body: Mapping[str, Any],
    *,
    recorded_by: str,
    now: datetime,
    new_id: Callable[[], str],
    known_purposes: frozenset[str],
) -> ConsentDraft:
    """Validate a ``POST /v1/consents`` body (all but the subject's number) into a ConsentDraft.

    ``from`` defaults to ``[recorded_by]`` and ``valid_from`` to ``now``'s date;
    ``case_id`` is optional (the case whose director records for its members);
    ``valid_until`` is an exclusive end date. The age rules are checked on ``now``'s date.
    """
    if not isinstance(body, Mapping):
        raise InvalidRequest("The body must be a JSON object.", field="")
    _only_fields(body, _TOP_LEVEL, "")
    today = now.date()

    subject = _object(body, "subject", "/subject")
    _only_fields(subject, _SUBJECT_FIELDS, "/subject")
    if "bsn" not in subject and "identifier" not in subject:
        raise InvalidRequest(
            "Field /subject/bsn is required (or /subject/identifier for a person without a BSN).",
            field="/subject/bsn",
        )
    if "bsn" in subject and "identifier" in subject:
        raise InvalidRequest(
            "Fields /subject/bsn and /subject/identifier exclude each other: name the person once.",
            field="/subject/identifier",
        )
    birth_date = _optional_date(subject, "birth_date", "/subject/birth_date")
    if birth_date is not None and birth_date > today:
        raise ConsentInvalid(
            "Field /subject/birth_date lies in the future.",
            "Correct the subject's birth date.",
            field="/subject/birth_date",
        )

    given_by = _givers(body)
    purposes = _purposes(body, known_purposes)
    senders = _senders(body, recorded_by)
    recipients = _recipients(body)

    valid_from = _optional_date(body, "valid_from", "/valid_from") or today
    valid_until = _optional_date(body, "valid_until", "/valid_until")
    if valid_until is not None and valid_until <= valid_from:
        raise ConsentInvalid(
            "Field /valid_until must lie after /valid_from (valid_until is the first day "
            "the consent no longer holds).",
            "Give a valid_until after valid_from, or leave it out for open-ended consent.",
            field="/valid_until",
        )
    if valid_until is not None and valid_until <= today:
        raise ConsentInvalid(
            "Field /valid_until lies in the past: the consent would already have expired.",
            "Give a valid_until after today, or leave it out for open-ended consent.",
            field="/valid_until",
        )

    evidence = _evidence(body)
    case_id = _case_id(body)
    verify_givers(birth_date, given_by, today)

    return ConsentDraft(
        consent_id=new_id(),
        birth_date=birth_date,
        given_by=given_by,
        purposes=purposes,
        senders=senders,
        recipients=recipients,
        valid_from=valid_from,
        valid_until=valid_until,
        evidence=evidence,
        recorded_by=recorded_by,
        recorded_at=now,
        case_id=case_id,
        scope=RecordingScope(
            purposes=tuple(body["purposes"]),
            senders=tuple(body["from"]) if body.get("from") is not None else (recorded_by,),
            recipients=tuple(body["to"]),
        ),
    )


def _case_id(body: Mapping[str, Any]) -> str | None:
    value = body.get("case_id")
    if value is None:
        return None
    if not isinstance(value, str) or not _CASE_ID.fullmatch(value) or value.isdigit():
        raise InvalidRequest(
            "Field /case_id must be a case id (1-64 letters, digits, '.', '_' or '-', not only "
            "digits).",
            field="/case_id",
        )
    return value


def _givers(body: Mapping[str, Any]) -> tuple[Giver, ...]:
    entries = _list(body, "given_by", "/given_by", MAX_GIVERS)
    givers: list[Giver] = []
    for index, entry in enumerate(entries):
        pointer = f"/given_by/{index}"
        if not isinstance(entry, Mapping):
            raise InvalidRequest(f"Field {pointer} must be an object.", field=pointer)
        _only_fields(entry, _GIVER_FIELDS, pointer)
        role = _string(entry, "role", f"{pointer}/role")
        if role not in GIVER_ROLES:
            raise InvalidRequest(
                f"Field {pointer}/role must be one of {', '.join(sorted(GIVER_ROLES))}.",
                field=f"{pointer}/role",
            )
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= MAX_GIVER_NAME):
            raise InvalidRequest(
                f"Field {pointer}/name must be a string of 1 to {MAX_GIVER_NAME} characters.",
                field=f"{pointer}/name",
            )
        givers.append(
            Giver(
                role=cast(GiverRole, role),
                name=name,
                authority=_authority(entry, role, pointer),
                decides_alone=_decides_alone(entry, role, pointer),
            )
        )
    if not givers:
        raise ConsentInvalid(
            "Field /given_by is empty: nobody gave the consent.",
            "List who gave the consent: the subject and/or a custodian, as the age rules require.",
            field="/given_by",
        )
    if sum(1 for giver in givers if giver.role == "subject") > 1:
        raise ConsentInvalid(
            "Field /given_by lists the subject more than once.",
            "List the subject once; list each custodian as a separate giver.",
            field="/given_by",
        )
    problem = contradiction(givers)
    if problem is not None:
        raise ConsentInvalid(
            f"Field /given_by {problem}.",
            "List the representatives who hold authority now, as the gezagsregister or the "
            "court's order shows: one parent with sole authority, both holders of joint "
            "authority, or the guardian; for an adult the mentor or curator.",
            field="/given_by",
        )
    return tuple(givers)


def _authority(entry: Mapping[str, Any], role: str, pointer: str) -> Authority | None:
    """A representative's authority evidence; required for every role but subject and custodian."""
    where = f"{pointer}/authority"
    if entry.get("authority") is None:
        if role in ("subject", "custodian"):
            return None
        raise ConsentInvalid(
            f"Field {where} is required for role {role}: how the authority was established.",
            "Give authority.established_by (gezagsregister, court_order or brp) and "
            "authority.reference (e.g. the number of the gezagsregister extract or the order).",
            field=where,
        )
    if role == "subject":
        raise ConsentInvalid(
            f"Field {where} is for a representative; the subject acts for themselves.",
            f"Remove {where}.",
            field=where,
        )
    evidence = _object(entry, "authority", where)
    _only_fields(evidence, _AUTHORITY_FIELDS, where)
    source = _string(evidence, "established_by", f"{where}/established_by")
    if source not in AUTHORITY_SOURCES:
        raise InvalidRequest(
            f"Field {where}/established_by must be one of {', '.join(sorted(AUTHORITY_SOURCES))}.",
            field=f"{where}/established_by",
        )
    reference = _bounded(evidence, "reference", f"{where}/reference")
    return Authority(established_by=cast(AuthoritySource, source), reference=reference)


def _decides_alone(entry: Mapping[str, Any], role: str, pointer: str) -> MinorDecision | None:
    """The assessment that a child of 12 to 15 agrees alone; only on the subject's giver."""
    where = f"{pointer}/decides_alone"
    if entry.get("decides_alone") is None:
        return None
    if role != "subject":
        raise ConsentInvalid(
            f"Field {where} is for the subject: only a child of 12 to 15 decides alone.",
            f"Remove {where}.",
            field=where,
        )
    decision = _object(entry, "decides_alone", where)
    _only_fields(decision, _DECISION_FIELDS, where)
    ground = _string(decision, "ground", f"{where}/ground")
    if ground not in MINOR_DECISION_GROUNDS:
        raise InvalidRequest(
            f"Field {where}/ground must be one of {', '.join(sorted(MINOR_DECISION_GROUNDS))}.",
            field=f"{where}/ground",
        )
    reference = _bounded(decision, "reference", f"{where}/reference")
    return MinorDecision(ground=cast(MinorDecisionGround, ground), reference=reference)


def _bounded(container: Mapping[str, Any], key: str, pointer: str) -> str:
    value = _string(container, key, pointer)
    if not 1 <= len(value) <= MAX_EVIDENCE_REFERENCE:
        raise InvalidRequest(
            f"Field {pointer} must be 1 to {MAX_EVIDENCE_REFERENCE} characters.", field=pointer
        )
    return value


def _purposes(body: Mapping[str, Any], known_purposes: frozenset[str]) -> frozenset[str]:
    entries = _list(body, "purposes", "/purposes", MAX_PURPOSES)
    for index, entry in enumerate(entries):
        pointer = f"/purposes/{index}"
        if not isinstance(entry, str):
            raise InvalidRequest(f"Field {pointer} must be a string.", field=pointer)
        if entry not in known_purposes:
            raise ConsentInvalid(
                f"Field {pointer} is not a purpose in the catalogue.",
                "Use purpose ids from the catalogue (GET /v1/purposes lists them).",
                field=pointer,
            )
    if not entries:
        raise ConsentInvalid(
            "Field /purposes is empty: the consent would cover nothing.",
            "List the purposes the subject consented to.",
            field="/purposes",
        )
    return frozenset(entries)


def _senders(body: Mapping[str, Any], recorded_by: str) -> frozenset[str]:
    if body.get("from") is None:
        return frozenset({recorded_by})
    entries = _list(body, "from", "/from", MAX_PARTIES)
    for index, entry in enumerate(entries):
        pointer = f"/from/{index}"
        if not isinstance(entry, str) or not _PARTNER_ID.fullmatch(entry):
            raise InvalidRequest(
                f"Field {pointer} must be a partner id ([a-z0-9-]{{2,64}}).", field=pointer
            )
    if not entries:
        raise ConsentInvalid(
            "Field /from is empty: no partner could send under this consent.",
            "List the sending partner ids, or leave /from out to mean the recording partner.",
            field="/from",
        )
    return frozenset(entries)


def _recipients(body: Mapping[str, Any]) -> frozenset[str]:
    entries = _list(body, "to", "/to", MAX_PARTIES)
    for index, entry in enumerate(entries):
        pointer = f"/to/{index}"
        if not isinstance(entry, str) or not _is_recipient(entry):
            raise InvalidRequest(
                f"Field {pointer} must be a partner id ([a-z0-9-]{{2,64}}) or 'kind:' followed "
                f"by one of {', '.join(sorted(RECIPIENT_KINDS))}.",
                field=pointer,
            )
    if not entries:
        raise ConsentInvalid(
            "Field /to is empty: no partner could receive under this consent.",
            "List the recipient partner ids or kinds (e.g. kind:care_provider).",
            field="/to",
        )
    return frozenset(entries)


def _is_recipient(entry: str) -> bool:
    if entry.startswith("kind:"):
        return entry.removeprefix("kind:") in RECIPIENT_KINDS
    return _PARTNER_ID.fullmatch(entry) is not None


def _evidence(body: Mapping[str, Any]) -> Evidence:
    evidence = _object(body, "evidence", "/evidence")
    _only_fields(evidence, _EVIDENCE_FIELDS, "/evidence")
    method = _string(evidence, "method", "/evidence/method")
    if method not in EVIDENCE_METHODS:
        raise InvalidRequest(
            f"Field /evidence/method must be one of {', '.join(sorted(EVIDENCE_METHODS))}.",
            field="/evidence/method",
        )
    reference = _string(evidence, "reference", "/evidence/reference")
    if not 1 <= len(reference) <= MAX_EVIDENCE_REFERENCE:
        raise InvalidRequest(
            f"Field /evidence/reference must be 1 to {MAX_EVIDENCE_REFERENCE} characters.",
            field="/evidence/reference",
        )
    return Evidence(method=cast(EvidenceMethod, method), reference=reference)


def _only_fields(container: Mapping[str, Any], allowed: frozenset[str], pointer: str) -> None:
    # Unknown fields are refused rather than ignored: a stray free-text field is
    # exactly how personal data would slip into the registry unnoticed.
    unknown = sorted(key for key in container if key not in allowed)
    if unknown:
        # Echo the key only when it looks like a field name, never arbitrary text.
        named = unknown[0] if _FIELD_NAME.fullmatch(unknown[0]) else None
        where = pointer or "/"
        problem = (
            f"Field {pointer}/{named} is not taken by this call"
            if named
            else f"Object {where} has a field this call does not take"
        )
        raise InvalidRequest(
            f"{problem}; allowed in {where} are {', '.join(sorted(allowed))}.",
            field=f"{pointer}/{named}" if named else pointer,
        )


def _object(container: Mapping[str, Any], key: str, pointer: str) -> Mapping[str, Any]:
    value = container.get(key)
    if value is None:
        raise InvalidRequest(f"Field {pointer} is required.", field=pointer)
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"Field {pointer} must be an object.", field=pointer)
    return value


def _list(container: Mapping[str, Any], key: str, pointer: str, limit: int) -> list[Any]:
    value = container.get(key)
    if value is None:
        raise InvalidRequest(f"Field {pointer} is required.", field=pointer)
    if not isinstance(value, list):
        raise InvalidRequest(f"Field {pointer} must be a list.", field=pointer)
    if len(value) > limit:
        raise InvalidRequest(f"Field {pointer} has more than {limit} entries.", field=pointer)
    return value


def _string(container: Mapping[str, Any], key: str, pointer: str) -> str:
    value = container.get(key)
    if value is None:
        raise InvalidRequest(f"Field {pointer} is required.", field=pointer)
    if not isinstance(value, str):
        raise InvalidRequest(f"Field {pointer} must be a string.", field=pointer)
    return value


def _optional_date(container: Mapping[str, Any], key: str, pointer: str) -> date | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise InvalidRequest(f"Field {pointer} must be a date as YYYY-MM-DD.", field=pointer)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"Field {pointer} is not a calendar date.", field=pointer) from None
