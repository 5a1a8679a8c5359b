"""`/v1/consents`: record, list and withdraw consent (the rules: `gateway.service.consents`)."""

from __future__ import annotations

from aiohttp import web

from consent import consent_body_from_fhir
from gateway.errors import InvalidRequest
from gateway.service import consents
from gateway.subject import parse_subject_query
from gateway.web.common import authenticate, gateway, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.post("/v1/consents")
async def record_consent(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    answer = await consents.record_consent(gw, caller, await read_json(request))
    return web.json_response(answer, status=201)


@routes.post("/v1/consents/fhir")
async def record_fhir_consent(request: web.Request) -> web.Response:
    """An HL7 FHIR R4 Consent in, recorded with the same rules as POST /v1/consents."""
    gw = gateway(request)
    caller = authenticate(request)
    resource = await read_json(request)
    by_agb = {p.identifiers["agb"]: p.id for p in gw.partners if "agb" in p.identifiers}
    body = consent_body_from_fhir(
        resource,
        partner_by_agb=by_agb.get,
        identifier_systems=frozenset(gw.catalogue.identifier_systems),
    )
    # A FHIR Consent has no place for the gateway's case: the director names it in the query.
    case_id = request.query.get("case_id")
    if case_id is not None:
        body["case_id"] = case_id
    answer = await consents.record_consent(gw, caller, body)
    return web.json_response(answer, status=201)


@routes.get("/v1/consents/{consent_id}/fhir")
async def fhir_consent(request: web.Request) -> web.Response:
    """The consent as an HL7 FHIR R4 Consent (the person by pseudonym: the BSN is not kept)."""
    gw = gateway(request)
    caller = authenticate(request)
    resource = await consents.fhir_consent(gw, caller, request.match_info["consent_id"])
    return web.json_response(resource, content_type="application/fhir+json")


@routes.get("/v1/consents")
async def list_consents(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    named = parse_subject_query(request.query, gw.catalogue.identifier_systems)
    if named is None:
        raise InvalidRequest(
            "query parameter 'bsn' (or 'identifier_system' with 'identifier_value') is required",
            "Call GET /v1/consents?bsn=... or ?identifier_system=...&identifier_value=...",
        )
    return web.json_response({"consents": await consents.list_consents(gw, caller, named)})


@routes.post("/v1/consents/{consent_id}/withdraw")
async def withdraw_consent(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    answer = await consents.withdraw_consent(gw, caller, request.match_info["consent_id"])
    return web.json_response(answer)
