"""`GET /v1/expectations`: replies a partner owes or is owed, open or overdue, with deadlines."""

from __future__ import annotations

from aiohttp import web

from gateway.errors import InvalidRequest
from gateway.service.expectations import STATUSES, list_expectations
from gateway.web.common import authenticate, gateway

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/v1/expectations")
async def expectations(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    wanted = request.query.get("status", "open")
    if wanted not in STATUSES:
        raise InvalidRequest(f"'status' must be one of {', '.join(STATUSES)}")
    case_id = request.query.get("case_id")
    return web.json_response(await list_expectations(gw, caller, wanted, case_id))
