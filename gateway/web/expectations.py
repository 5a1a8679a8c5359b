"""`GET /v1/expectations`: replies a partner owes or is owed, open or overdue, with deadlines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from gateway.errors import InvalidRequest
from gateway.log.entry import format_time
from gateway.store.base import Expectation
from gateway.web.common import authenticate, gateway

__all__ = ["expectation_json", "routes"]

routes = web.RouteTableDef()
STATUSES = ("open", "overdue", "closed", "all")


def status_of(e: Expectation, now: datetime) -> str:
    if e.closed_at is not None:
        return "closed"
    return "overdue" if e.due_at < now else "open"


def expectation_json(e: Expectation, now: datetime, caller: str) -> dict[str, Any]:
    return {
        "expectation_id": e.expectation_id,
        "purpose": e.purpose,
        "origin_purpose": e.origin_purpose,
        "origin_exchange_id": e.origin_exchange_id,
        "case_id": e.case_id,
        "owed_by": e.owed_by,
        "owed_to": e.owed_to,
        "direction": "you_owe" if e.owed_by == caller else "owed_to_you",
        "child_ref": e.child_ref,
        "opened_at": format_time(e.opened_at),
        "due_at": format_time(e.due_at),
        "status": status_of(e, now),
        "closed_at": None if e.closed_at is None else format_time(e.closed_at),
        "closed_by": e.closed_by,
    }


@routes.get("/v1/expectations")
async def expectations(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    wanted = request.query.get("status", "open")
    if wanted not in STATUSES:
        raise InvalidRequest(f"'status' must be one of {', '.join(STATUSES)}")
    case_id = request.query.get("case_id")
    now = gw.now()
    found = await gw.storage.expectations_for(
        caller.partner.id, open_only=wanted in ("open", "overdue"), limit=1000
    )
    items = [
        expectation_json(e, now, caller.partner.id)
        for e in found
        if (case_id is None or e.case_id == case_id)
        and (
            wanted == "all"
            or status_of(e, now) == wanted
            or (wanted == "open" and status_of(e, now) == "overdue")
        )
    ]
    return web.json_response({"expectations": items, "as_of": format_time(now)})
