"""`/v1/cases/{case_id}/network`: which partners are involved in a case (like the Verwijsindex).

Only the fact of involvement, a role and a professional contact are kept, never case content.
A social team registers others; any partner may register itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from gateway.errors import Forbidden, InvalidRequest, NotFound, UnknownRecipient
from gateway.log.entry import format_time
from gateway.store.base import NetworkMember
from gateway.web.common import authenticate, gateway, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()
ROLES = frozenset({"procesregisseur", "referrer", "involved"})
_CASE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CONTACT_FIELDS = {"name": 100, "phone": 20, "email": 254}


def _case_id(request: web.Request) -> str:
    case_id = request.match_info["case_id"]
    if not _CASE_ID.match(case_id):
        raise InvalidRequest("the case id must be 1-64 letters, digits, '.', '_' or '-'")
    return case_id


def _contact(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not set(value) <= set(_CONTACT_FIELDS):
        raise InvalidRequest("'contact' must be an object with name, phone and/or email")
    for key, limit in _CONTACT_FIELDS.items():
        item = value.get(key)
        if item is not None and (not isinstance(item, str) or not 1 <= len(item) <= limit):
            raise InvalidRequest(f"'contact.{key}' must be a string of at most {limit} characters")
    return json.dumps(value, sort_keys=True)


def _member_json(member: NetworkMember) -> dict[str, Any]:
    return {
        "partner": member.partner_id,
        "role": member.role,
        "contact": None if member.contact is None else json.loads(member.contact),
        "registered_by": member.registered_by,
        "registered_at": format_time(member.registered_at),
    }


@routes.put("/v1/cases/{case_id}/network/{partner_id}")
async def register(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    partner_id = request.match_info["partner_id"]
    partner = gw.partners.get(partner_id)
    if partner is None or partner.kind == "privacy_officer":
        raise UnknownRecipient(
            f"partner '{partner_id}' is not registered",
            "Check the partner id; GET /v1/partners lists the registered partners.",
        )
    if caller.partner.kind != "social_team" and partner_id != caller.partner.id:
        raise Forbidden(
            "only a social team may register other partners in a case network",
            "Register your own organisation, or ask the social team (procesregisseur).",
        )
    body = await read_json(request) if request.can_read_body else {}
    if not isinstance(body, dict) or not set(body) <= {"role", "contact"}:
        raise InvalidRequest("the body must be an object with 'role' and optional 'contact'")
    role = body.get("role", "involved")
    if role not in ROLES:
        raise InvalidRequest(f"'role' must be one of {', '.join(sorted(ROLES))}")
    if role == "procesregisseur" and partner.kind != "social_team":
        raise InvalidRequest("the procesregisseur of a case is a social team")
    member = NetworkMember(
        case_id=case_id,
        partner_id=partner_id,
        role=role,
        contact=_contact(body.get("contact")),
        registered_by=caller.partner.id,
        registered_at=gw.now(),
    )
    created = await gw.storage.register_involvement(member)
    return web.json_response(_member_json(member), status=201 if created else 200)


@routes.get("/v1/cases/{case_id}/network")
async def network(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    members = await gw.storage.case_network(case_id)
    if not any(m.partner_id == caller.partner.id for m in members):
        # Not being in the network and the network not existing look the same from outside.
        raise NotFound("no case network you are part of has this id")
    return web.json_response({"case_id": case_id, "members": [_member_json(m) for m in members]})
