"""`GET /v1/inbox` and `POST /v1/inbox/{id}/ack`: a recipient pulls its messages and confirms them."""

from __future__ import annotations

from aiohttp import web

from gateway.errors import InvalidRequest
from gateway.service import inbox as inbox_service
from gateway.web.common import authenticate, gateway, whole_number

__all__ = ["routes"]

routes = web.RouteTableDef()
MAX_LIMIT = 100
MAX_LEASE_S = 3600


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    number = whole_number(raw)
    if number is None or not low <= number <= high:
        raise InvalidRequest(
            f"query parameter '{name}' must be a whole number from {low} to {high}"
        )
    return number


@routes.get("/v1/inbox")
async def inbox(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    limit = _int_param(request, "limit", 50, 1, MAX_LIMIT)
    lease = _int_param(request, "lease", 0, 0, MAX_LEASE_S)
    if lease:
        if "after" in request.query:
            raise InvalidRequest("'after' and 'lease' do not go together: a lease takes the oldest")
        return web.json_response(
            await inbox_service.leased_page(gw, caller, limit=limit, lease_s=lease)
        )
    after = _int_param(request, "after", 0, 0, 2**62)
    return web.json_response(await inbox_service.inbox_page(gw, caller, after=after, limit=limit))


@routes.post("/v1/inbox/{message_id}/ack")
async def ack(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    await inbox_service.acknowledge(gw, caller, request.match_info["message_id"])
    return web.Response(status=204)
