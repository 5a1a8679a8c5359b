"""One birth date per subject: held sealed, set once, corrected only as a logged act.

The gateway holds one birth date per subject pseudonym, sealed with the at-rest key like consent
records. The first consent that gives a birth date sets it; a consent whose birth date contradicts
it is refused (`birth_date_mismatch`); the age rules are evaluated against it. Correcting it is
`POST /v1/subjects/birth-date`, open to the social team that directs a case (its procesregisseur)
whose household holds the child, with a reason from a closed list; the log entry names the act,
the reason and the case, never a date.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from aiohttp import web

from gateway.clock import DUTCH_TIME
from gateway.container import Gateway
from gateway.errors import Forbidden, InvalidRequest
from gateway.log.entry import LogEntry, Sender
from gateway.policy.decision import Caller
from gateway.standards.tracecontext import current_trace_json
from gateway.subject import parse_subject
from gateway.web.common import authenticate, gateway, read_json

__all__ = [
    "CORRECTION_REASONS",
    "claim_birth_date",
    "held_birth_date",
    "routes",
]

routes = web.RouteTableDef()

# Why a held birth date may be corrected: the codes enter the log, free text never does.
CORRECTION_REASONS: Final = frozenset(
    {
        "recording_error",  # the date was mistyped when a consent was recorded
        "verified_in_brp",  # the Basisregistratie Personen shows another date
        "verified_by_document",  # an identity document shows another date
    }
)
_FIELDS: Final = frozenset({"subject", "birth_date", "case_id", "reason"})
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CASE_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _aad(subject: str) -> bytes:
    # Binds the ciphertext to its row: a sealed date moved to another subject does not open.
    return b"birth-date:" + subject.encode()


def _seal(gw: Gateway, subject: str, birth_date: date) -> bytes:
    return gw.cipher.seal(birth_date.isoformat().encode(), _aad(subject))


def _open(gw: Gateway, subject: str, sealed: bytes) -> date:
    return date.fromisoformat(gw.cipher.open(sealed, _aad(subject)).decode())


async def held_birth_date(gw: Gateway, subject: str) -> date | None:
    """The birth date the gateway holds for the subject behind this pseudonym, or None."""
    sealed = await gw.storage.held_birth_date(subject)
    return None if sealed is None else _open(gw, subject, sealed)


async def claim_birth_date(gw: Gateway, subject: str, birth_date: date) -> date:
    """Hold ``birth_date`` for the subject unless a date is held already; answer the held date."""
    return _open(
        gw, subject, await gw.storage.claim_birth_date(subject, _seal(gw, subject, birth_date))
    )


@routes.post("/v1/subjects/birth-date")
async def correct_birth_date(request: web.Request) -> web.Response:
    """The social team that directs a case of the child corrects the birth date held for it."""
    gw = gateway(request)
    caller = authenticate(request)
    body = await read_json(request)
    if not isinstance(body, dict) or set(body) != _FIELDS:
        raise InvalidRequest(
            "the body must be an object with exactly 'subject', 'birth_date', 'case_id' and "
            "'reason'",
            f"Send {{subject: {{bsn}} or {{identifier}}, birth_date: YYYY-MM-DD, case_id, reason: "
            f"one of {', '.join(sorted(CORRECTION_REASONS))}}}.",
        )
    birth_date = _birth_date(body["birth_date"], gw.now().astimezone(DUTCH_TIME).date())
    reason = body["reason"]
    if not isinstance(reason, str) or reason not in CORRECTION_REASONS:
        raise InvalidRequest(
            f"'reason' must be one of {', '.join(sorted(CORRECTION_REASONS))}",
            "Give the reason as one of the codes; free text is not kept.",
            field="/reason",
        )
    case_id = body["case_id"]
    if not isinstance(case_id, str) or not _CASE_ID.fullmatch(case_id) or case_id.isdigit():
        raise InvalidRequest("'case_id' must be a case id", field="/case_id")
    named = parse_subject(body["subject"], gw.catalogue.identifier_systems, where="subject")
    subject = gw.pseudonymiser.pseudonym_of(named)
    now = gw.now()
    entry = LogEntry(
        time=now,
        decision="birth_date_corrected",
        reason=reason,
        sender=Sender(caller.partner.id, caller.actor_id, caller.actor_role),
        subject=subject,
        subject_system=named.system,
        case_id=case_id,
        trace=current_trace_json(),
    )
    if not await _directs_a_case_of(gw, caller, case_id, subject):
        # Logged without the case id (it may name no case at all) and without any date.
        await gw.storage.append_log(
            [
                LogEntry(
                    time=now,
                    decision="refused",
                    reason="forbidden",
                    sender=entry.sender,
                    subject=subject,
                    subject_system=named.system,
                    trace=entry.trace,
                    details={"act": "birth_date_correction"},
                )
            ]
        )
        # One answer whether the case exists, has another director or lacks this child.
        raise Forbidden(
            "only the social team that directs a case whose household holds this child may "
            "correct the child's birth date",
            "Correct it as the case's procesregisseur, with the child registered in the case's "
            "household (PUT /v1/cases/{case_id}/household).",
        )
    index = await gw.storage.correct_birth_date(subject, _seal(gw, subject, birth_date), entry)
    return web.json_response({"birth_date": "corrected", "reason": reason, "log_index": index})


async def _directs_a_case_of(gw: Gateway, caller: Caller, case_id: str, subject: str) -> bool:
    if caller.partner.kind != "social_team":
        return False
    members = await gw.storage.case_network(case_id)
    directs = any(
        m.partner_id == caller.partner.id and m.role == "procesregisseur" for m in members
    )
    if not directs:
        return False
    return any(child.subject == subject for child in await gw.storage.household(case_id))


def _birth_date(value: Any, today: date) -> date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise InvalidRequest("'birth_date' must be a date as YYYY-MM-DD", field="/birth_date")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest("'birth_date' is not a calendar date", field="/birth_date") from None
    if parsed > today:
        raise InvalidRequest("'birth_date' lies in the future", field="/birth_date")
    return parsed
