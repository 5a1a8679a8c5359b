"""`POST /v1/subjects/birth-date`: correct the birth date held for a child (`service.birth_dates`)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from aiohttp import web

from gateway.clock import DUTCH_TIME
from gateway.errors import InvalidRequest
from gateway.service import birth_dates
from gateway.service.birth_dates import CORRECTION_REASONS
from gateway.subject import parse_subject
from gateway.web.common import authenticate, gateway, read_json

__all__ = ["CORRECTION_REASONS", "routes"]

routes = web.RouteTableDef()

_FIELDS: Final = frozenset({"subject", "birth_date", "case_id", "reason"})
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CASE_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")


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
    index = await birth_dates.correct_birth_date(gw, caller, named, birth_date, case_id, reason)
    return web.json_response({"birth_date": "corrected", "reason": reason, "log_index": index})


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
