"""`/v1/cases/{case_id}/network`: which partners are involved in a case (like the Verwijsindex).

Only the fact of involvement, a role and a professional contact are kept, never case content.
A social team registers others; any partner may register itself.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from aiohttp import web

from gateway.config.purposes import GI_REPORTING
from gateway.errors import Forbidden, InvalidRequest, NotFound, UnknownRecipient
from gateway.log.entry import format_time
from gateway.policy import parse_exchange_request
from gateway.store.base import Expectation, HouseholdChild, NetworkMember
from gateway.subject import parse_subject
from gateway.web.common import authenticate, gateway, new_id, read_json
from gateway.web.context import Gateway
from gateway.web.exchanges import execute_exchange
from gateway.web.expectations import expectation_json

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
    # body_exists, not can_read_body: the body has been read (and kept) before any handler runs.
    body = await read_json(request) if request.body_exists else {}
    if not isinstance(body, dict) or not set(body) <= {"role", "contact", "reported_via"}:
        raise InvalidRequest(
            "the body must be an object with 'role', and optional 'contact' and 'reported_via'"
        )
    reported_via = body.get("reported_via")
    if reported_via is not None and (
        partner.kind != "certified_institution"
        or not isinstance(reported_via, str)
        or reported_via not in GI_REPORTING
    ):
        raise InvalidRequest(
            "'reported_via' (direct or beschermingstafel) applies to a certified institution only"
        )
    role = body.get("role", "involved")
    if not isinstance(role, str) or role not in ROLES:
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
    answer = _member_json(member)
    if created and partner.kind == "certified_institution":
        opened = await _expect_gi_report(gw, case_id, partner.id, reported_via or "direct", member)
        answer["expectations_opened"] = [
            expectation_json(e, member.registered_at, caller.partner.id) for e in opened
        ]
    return web.json_response(answer, status=201 if created else 200)


async def _expect_gi_report(
    gw: Gateway, case_id: str, gi: str, reported_via: str, member: NetworkMember
) -> list[Expectation]:
    """A GI joining a case owes the procesregisseur its waiting-list status, by a deadline."""
    members = await gw.storage.case_network(case_id)
    director = next((m.partner_id for m in members if m.role == "procesregisseur"), None)
    if director is None:
        director = member.registered_by if member.registered_by != gi else None
    if director is None:
        return []
    opened = [
        Expectation(
            expectation_id=new_id("exp"),
            purpose=p.id,
            origin_purpose="case-network",
            origin_exchange_id=None,
            case_id=case_id,
            owed_by=gi,
            owed_to=director,
            subject=None,
            child_ref=None,
            opened_at=member.registered_at,
            due_at=member.registered_at + timedelta(days=p.expected_when_gi_joins[reported_via]),
        )
        for p in gw.catalogue
        if reported_via in p.expected_when_gi_joins
    ]
    await gw.storage.add_expectations(opened)
    return opened


_CHILD_REF = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_CHILDREN = 20


@routes.put("/v1/cases/{case_id}/household")
async def register_household(request: web.Request) -> web.Response:
    """The social team registers the children of a case's household (kept as pseudonyms)."""
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    if caller.partner.kind != "social_team":
        raise Forbidden(
            "only the social team registers a household",
            "Ask the procesregisseur of the case to register the children.",
        )
    body = await read_json(request)
    children = body.get("children") if isinstance(body, dict) else None
    if not isinstance(children, list) or not 1 <= len(children) <= MAX_CHILDREN:
        raise InvalidRequest(f"'children' must be a list of 1 to {MAX_CHILDREN} children")
    parsed: list[HouseholdChild] = []
    now = gw.now()
    systems = gw.catalogue.identifier_systems
    for n, child in enumerate(children):
        if not isinstance(child, dict) or set(child) not in (
            {"bsn", "child_ref"},
            {"identifier", "child_ref"},
        ):
            raise InvalidRequest(
                f"children[{n}] must be an object with 'child_ref' and either 'bsn' or "
                "'identifier' (a child without a BSN)"
            )
        ref = child["child_ref"]
        if not isinstance(ref, str) or not _CHILD_REF.match(ref) or ref.isdigit():
            raise InvalidRequest(
                f"children[{n}].child_ref must be a short opaque reference (letters, digits, '-', "
                "'_'; not only digits, so it can never be a BSN)"
            )
        named = parse_subject(
            {k: v for k, v in child.items() if k != "child_ref"}, systems, where=f"children[{n}]"
        )
        subject = gw.pseudonymiser.pseudonym_of(named)
        parsed.append(HouseholdChild(case_id, ref, subject, caller.partner.id, now))
    if len({c.child_ref for c in parsed}) != len(parsed):
        raise InvalidRequest("each child needs its own child_ref")
    for child in parsed:
        await gw.storage.register_child(child)
    return await _household_answer(gw, case_id)


@routes.get("/v1/cases/{case_id}/household")
async def household(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    members = await gw.storage.case_network(case_id)
    if not any(m.partner_id == caller.partner.id for m in members):
        raise NotFound("no case network you are part of has this id")
    return await _household_answer(gw, case_id)


async def _household_answer(gw: Gateway, case_id: str) -> web.Response:
    children = await gw.storage.household(case_id)
    return web.json_response(
        {"case_id": case_id, "children": [{"child_ref": c.child_ref} for c in children]}
    )


@routes.post("/v1/cases/{case_id}/referrer-status")
async def referrer_status(request: web.Request) -> web.Response:
    """One call for the team: tell the family's original referrer where the case stands."""
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    body = await read_json(request)
    known = {"bsn", "identifier", "status", "action_description"}
    if not isinstance(body, dict) or not set(body) <= known:
        raise InvalidRequest("the body must be {bsn | identifier, status, action_description?}")
    if ("bsn" in body) == ("identifier" in body) or "status" not in body:
        raise InvalidRequest("'status' and one of 'bsn' or 'identifier' are required")
    members = await gw.storage.case_network(case_id)
    referrer = next((m.partner_id for m in members if m.role == "referrer"), None)
    if referrer is None:
        raise UnknownRecipient(
            f"case '{case_id}' has no original referrer registered",
            "Register the referrer with PUT /v1/cases/{case_id}/network/{partner_id} and "
            '{"role": "referrer"}.',
        )
    payload = {k: body[k] for k in ("status", "action_description") if k in body}
    parsed = parse_exchange_request(
        {
            "purpose": "referrer-status",
            "to": referrer,
            "subject": {k: body[k] for k in ("bsn", "identifier") if k in body},
            "case_id": case_id,
            "payload": payload,
        },
        payload_required=True,
        identifier_systems=gw.catalogue.identifier_systems,
    )
    return web.json_response(await execute_exchange(gw, caller, parsed), status=201)


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
