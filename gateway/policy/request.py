"""Parse the body of `POST /v1/exchanges` (and `/check`) into a frozen request, or refuse it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.errors import InvalidRequest
from gateway.subject import IdentifierSystem, Subject, parse_subject, require_accepted

__all__ = [
    "MELDCODE_QUESTIONS",
    "BreakGlass",
    "CaseNetworkTarget",
    "ExchangeRequest",
    "parse_exchange_request",
]

# \Z, not $: "$" also matches before a final newline, which would let "id\n" through.
_PARTNER_ID = re.compile(r"^[a-z0-9-]{2,64}\Z")
_CASE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")
_EXCHANGE_ID = re.compile(r"^ex_[A-Za-z0-9_-]{8,64}\Z")
_KNOWN = frozenset({"purpose", "to", "subject", "case_id", "in_reply_to", "break_glass", "payload"})
MAX_RECIPIENTS = 50


@dataclass(frozen=True, slots=True)
class CaseNetworkTarget:
    """`to: {"case_network": id}`: every partner involved in that case."""

    case_id: str


MELDCODE_QUESTIONS = {
    "interest_served": "Which interest does breaking confidentiality serve?",
    "no_other_way": "Can that interest be served only by sharing (no other way)?",
    "consent_not_possible": "Why can consent not be asked, or why is sharing needed without it?",
    "proportionate": "Does that interest clearly outweigh the duty of confidentiality?",
    "minimal_information": "Is only the information strictly necessary shared?",
}


@dataclass(frozen=True, slots=True)
class BreakGlass:
    """A sender's reason to share without the usual basis; only where the purpose allows it.

    Besides a free justification it carries the answers to the five questions of the meldcode's
    conflict-of-duties test (conflict van plichten), so the privacy officer can review them.
    """

    justification: str
    interest_served: str
    no_other_way: bool
    consent_not_possible: str
    proportionate: bool
    minimal_information: bool

    def to_json(self) -> dict[str, object]:
        return {
            "justification": self.justification,
            "meldcode": {
                "interest_served": self.interest_served,
                "no_other_way": self.no_other_way,
                "consent_not_possible": self.consent_not_possible,
                "proportionate": self.proportionate,
                "minimal_information": self.minimal_information,
            },
        }


@dataclass(frozen=True, slots=True)
class ExchangeRequest:
    """A message to send (or to check), validated for shape; policy is decided elsewhere."""

    purpose: str
    to: tuple[str, ...] | CaseNetworkTarget
    subject: Subject
    case_id: str | None
    in_reply_to: str | None
    break_glass: BreakGlass | None
    payload: Mapping[str, Any] | None


def parse_exchange_request(
    body: object,
    *,
    payload_required: bool,
    identifier_systems: Mapping[str, IdentifierSystem] | None = None,
) -> ExchangeRequest:
    """Check the body's shape and the subject; raise InvalidRequest or InvalidSubject.

    `identifier_systems` are the catalogue's systems a subject may name besides a BSN (none:
    only a BSN); a system the catalogue accepts for other purposes only is refused here too.
    """
    systems = identifier_systems or {}
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    unknown = sorted(set(body) - _KNOWN)
    if unknown:
        raise InvalidRequest(
            f"unknown top-level field(s): {', '.join(unknown)}",
            "Send only purpose, to, subject, case_id, in_reply_to, break_glass and payload.",
        )
    missing = [f for f in ("purpose", "to", "subject") if f not in body]
    if payload_required and "payload" not in body:
        missing.append("payload")
    if missing:
        raise InvalidRequest(f"missing required field(s): {', '.join(missing)}")
    purpose = body["purpose"]
    if not isinstance(purpose, str) or not 1 <= len(purpose) <= 64:
        raise InvalidRequest("'purpose' must be a purpose id (a string)")
    subject = parse_subject(body["subject"], systems)
    require_accepted(subject, (purpose,), systems)
    payload = body.get("payload")
    if payload is not None and not isinstance(payload, dict):
        raise InvalidRequest("'payload' must be a JSON object")
    if payload_required and payload is None:
        raise InvalidRequest("'payload' must be a JSON object")
    return ExchangeRequest(
        purpose=purpose,
        to=_recipients(body["to"]),
        subject=subject,
        case_id=_optional(
            body, "case_id", _CASE_ID, "a case id of letters, digits, '.', '_' or '-'"
        ),
        in_reply_to=_optional(body, "in_reply_to", _EXCHANGE_ID, "an exchange id ('ex_...')"),
        break_glass=_break_glass(body.get("break_glass")),
        payload=payload,
    )


def _recipients(value: object) -> tuple[str, ...] | CaseNetworkTarget:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, dict):
        if set(value) != {"case_network"} or not isinstance(value["case_network"], str):
            raise InvalidRequest('\'to\' as an object must be {"case_network": "<case id>"}')
        if not _CASE_ID.match(value["case_network"]):
            raise InvalidRequest("'to.case_network' must be a case id")
        return CaseNetworkTarget(value["case_network"])
    if not isinstance(value, list) or not value:
        raise InvalidRequest(
            "'to' must be a partner id, a non-empty list of them, or a case network"
        )
    if len(value) > MAX_RECIPIENTS:
        raise InvalidRequest(f"'to' names more than {MAX_RECIPIENTS} recipients")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _PARTNER_ID.match(item):
            raise InvalidRequest("each recipient in 'to' must be a partner id ([a-z0-9-]{2,64})")
        if item not in out:
            out.append(item)
    return tuple(out)


def _optional(body: Mapping[str, Any], key: str, pattern: re.Pattern[str], what: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidRequest(f"'{key}' must be {what}")
    return value


def _break_glass(value: object) -> BreakGlass | None:
    if value is None:
        return None
    fix = (
        "Give break_glass as {justification, meldcode: {interest_served, no_other_way, "
        "consent_not_possible, proportionate, minimal_information}}: the five questions of the "
        "meldcode's conflict-of-duties test."
    )
    if not isinstance(value, dict) or set(value) - {"justification", "meldcode"}:
        raise InvalidRequest("'break_glass' must be an object with justification and meldcode", fix)
    justification = value.get("justification")
    if not isinstance(justification, str) or not 20 <= len(justification.strip()) <= 1000:
        raise InvalidRequest(
            "'break_glass.justification' must be a real sentence (20 to 1000 characters)", fix
        )
    answers = value.get("meldcode")
    if not isinstance(answers, dict) or set(answers) != set(MELDCODE_QUESTIONS):
        raise InvalidRequest("'break_glass.meldcode' must answer all five questions", fix)
    texts = ("interest_served", "consent_not_possible")
    for key in texts:
        item = answers[key]
        if not isinstance(item, str) or not 10 <= len(item.strip()) <= 500:
            raise InvalidRequest(f"'break_glass.meldcode.{key}' must be 10 to 500 characters", fix)
    for key in set(MELDCODE_QUESTIONS) - set(texts):
        if not isinstance(answers[key], bool):
            raise InvalidRequest(f"'break_glass.meldcode.{key}' must be true or false", fix)
    failed = [k for k in ("no_other_way", "proportionate", "minimal_information") if not answers[k]]
    if failed:
        raise InvalidRequest(
            "by your own answers the conflict-of-duties test is not met "
            f"({', '.join(failed)}): break-glass is not justified",
            "Share only when there is no other way, it is proportionate and minimal; otherwise "
            "ask for consent or discuss the case with Veilig Thuis anonymously.",
        )
    return BreakGlass(
        justification=justification.strip(),
        interest_served=answers["interest_served"].strip(),
        no_other_way=True,
        consent_not_possible=answers["consent_not_possible"].strip(),
        proportionate=True,
        minimal_information=True,
    )
