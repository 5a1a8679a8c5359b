"""`POST /v1/exchanges` and `POST /v1/exchanges/check`: parse, call `service.exchanges`, answer."""

from __future__ import annotations

from aiohttp import web

from gateway.config.urgency import ACKNOWLEDGEMENT
from gateway.i18n import localize_check, localize_exchange
from gateway.policy import parse_exchange_request
from gateway.service.exchanges import check_exchange, execute_exchange
from gateway.web.common import authenticate, gateway, json_answer, read_json
from gateway.web.language import mark_language, request_language
from gateway.web.metrics import METRICS

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.post("/v1/exchanges")
async def send(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    body = await read_json(request)
    parsed = parse_exchange_request(
        body, payload_required=True, identifier_systems=gw.catalogue.identifier_systems
    )
    # The exchange continues the call's trace (trace_middleware made it current).
    done = await execute_exchange(gw, caller, parsed)
    urgent = sum(1 for e in done.get("expectations_opened", ()) if e["purpose"] == ACKNOWLEDGEMENT)
    if urgent:
        request.app[METRICS].urgent_messages.labels(caller.partner.id, parsed.purpose).inc(urgent)
    answer, language = localize_exchange(done, request_language(request))
    response = json_answer(answer, status=201)
    mark_language(response, language)
    return response


@routes.post("/v1/exchanges/check")
async def check(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    body = await read_json(request)
    parsed = parse_exchange_request(
        body, payload_required=False, identifier_systems=gw.catalogue.identifier_systems
    )
    answer, language = localize_check(
        await check_exchange(gw, caller, parsed), request_language(request)
    )
    response = web.json_response(answer)
    mark_language(response, language)
    return response
