"""Health, readiness, the purpose catalogue, the partner list and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from gateway.delivery.notify import notification_signer
from gateway.errors import NotFound, StorageUnavailable
from gateway.web.common import authenticate, gateway
from gateway.web.limits import IN_FLIGHT
from gateway.web.openapi import openapi_document

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers; also names the gateway (the token audience)."""
    return web.json_response({"status": "ok", "gateway_id": gateway(request).settings.id})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Readiness: storage answers and this worker is not shedding load.

    `in_flight` and `max_in_flight` are this worker's (the one that answered): while the
    count is at the cap, new calls get `503 overloaded` and readiness says `shedding_load`.
    """
    in_flight = request.app[IN_FLIGHT]
    load = {"in_flight": in_flight.count, "max_in_flight": in_flight.cap}
    try:
        await gateway(request).storage.ping()
    except StorageUnavailable:
        return web.json_response(
            {"status": "unavailable", "storage": "unreachable", **load}, status=503
        )
    if in_flight.shedding:
        return web.json_response({"status": "shedding_load", "storage": "ok", **load}, status=503)
    return web.json_response({"status": "ready", "storage": "ok", **load})


@routes.get("/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(gateway(request).settings.public_url))


@routes.get("/v1/purposes")
async def purposes(request: web.Request) -> web.Response:
    gw = gateway(request)
    return web.json_response(
        {
            "purposes": [p.to_json() for p in gw.catalogue],
            # What `subject.identifier.system` may name besides a BSN, with its format.
            "identifier_systems": [s.to_json() for s in gw.catalogue.identifier_systems.values()],
        }
    )


@routes.get("/v1/purposes/{purpose_id}")
async def purpose(request: web.Request) -> web.Response:
    gw = gateway(request)
    found = gw.catalogue.get(request.match_info["purpose_id"])
    if found is None:
        raise NotFound("no such purpose", "GET /v1/purposes lists the catalogue.")
    return web.json_response({**found.to_json(), "payload_schema": found.schema})


@routes.get("/v1/partners")
async def partners(request: web.Request) -> web.Response:
    """Registered partners (public facts only), for choosing a recipient."""
    gw = gateway(request)
    authenticate(request)
    return web.json_response(
        {
            "partners": [
                {
                    "id": p.id,
                    "name": p.name,
                    "kind": p.kind,
                    **dict(p.identifiers),
                    "sealed_delivery": p.keys.encryption is not None,
                }
                for p in gw.partners
                if p.kind != "privacy_officer"
            ]
        }
    )


@routes.get("/v1/notifications/keys")
async def notification_keys(request: web.Request) -> web.Response:
    """The public keys webhook notifications are signed with (JWKS)."""
    return web.json_response({"keys": [notification_signer(gateway(request).data).jwk]})
