"""`/v1/cases`: open a case, and which partners are involved in it (like the Verwijsindex).

The handlers parse and answer; what a case holds and who may change it is in
`gateway.service.cases` and `gateway.policy.cases`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from gateway.errors import InvalidRequest
from gateway.policy import ExchangeRequest, parse_exchange_request
from gateway.policy.cases import ROLES, parse_dossier_reference, parse_measure
from gateway.policy.lifecycle import (
    CLOSURE_NOTICE,
    parse_close_reason,
    parse_opened_on,
    parse_reopen_reason,
)
from gateway.policy.roles import parse_column
from gateway.service import cases, lifecycle, roles
from gateway.subject import IdentifierSystem, Subject, looks_like_bsn, parse_subject
from gateway.web.common import authenticate, gateway, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()
_CASE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CONTACT_FIELDS = {"name": 100, "phone": 20, "email": 254}
_CHILD_REF = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_CHILDREN = 20


def _case_id(request: web.Request) -> str:
    case_id = request.match_info["case_id"]
    if not _CASE_ID.fullmatch(case_id):
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


@routes.post("/v1/cases")
async def open_case(request: web.Request) -> web.Response:
    """A social team opens a case; the gateway chooses its id, the team directs it."""
    gw = gateway(request)
    caller = authenticate(request)
    body = await read_json(request) if request.body_exists else {}
    if not isinstance(body, dict) or not set(body) <= {
        "dossier_reference",
        "contact",
        "opened_on",
        "opened_on_exchange",
    }:
        raise InvalidRequest(
            "the body must be an object with optional 'dossier_reference', 'contact', "
            "'opened_on' and 'opened_on_exchange'"
        )
    reference = parse_dossier_reference(body.get("dossier_reference"))
    contact = _contact(body.get("contact"))
    opened_on = parse_opened_on(body.get("opened_on"), body.get("opened_on_exchange"))
    answer = await cases.open_case(gw, caller, reference, contact, opened_on)
    return web.json_response(answer, status=201)


async def _lifecycle_body(request: web.Request, *, notice: bool) -> dict[str, Any]:
    """`{"reason": <code>}` (and for a closure an optional `notice`); no note, no free text."""
    body = await read_json(request)
    allowed = {"reason", "notice"} if notice else {"reason"}
    if not isinstance(body, dict) or "reason" not in body or not set(body) <= allowed:
        raise InvalidRequest(
            'the body must be {"reason": <code>}, for a closure with an optional "notice", '
            "and nothing else",
            "Send only a reason code; a note or other free text is not accepted.",
        )
    return body


def _closure_notice(
    systems: Mapping[str, IdentifierSystem], case_id: str, notice: Any
) -> ExchangeRequest | None:
    """The closure notice to send to the case's network, checked before anything changes."""
    if notice is None:
        return None
    if not isinstance(notice, dict) or set(notice) != {"subject", "payload"}:
        raise InvalidRequest(
            "'notice' must be an object with 'subject' and 'payload' (a closure-notice payload)",
            "Name the person as in an exchange and give the closure-notice payload, or leave "
            "'notice' out.",
        )
    return parse_exchange_request(
        {
            "purpose": CLOSURE_NOTICE,
            "to": {"case_network": case_id},
            "subject": notice["subject"],
            "case_id": case_id,
            "payload": notice["payload"],
        },
        payload_required=True,
        identifier_systems=systems,
    )


@routes.get("/v1/cases/{case_id}")
async def case_state(request: web.Request) -> web.Response:
    """The case's state (active or closed) and its history, to its members only."""
    gw = gateway(request)
    caller = authenticate(request)
    return web.json_response(await lifecycle.case_state(gw, caller, _case_id(request)))


@routes.post("/v1/cases/{case_id}/close")
async def close_case(request: web.Request) -> web.Response:
    """The director closes its case; the case's open expectations are cancelled."""
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    body = await _lifecycle_body(request, notice=True)
    reason = parse_close_reason(body["reason"])
    notice = _closure_notice(gw.catalogue.identifier_systems, case_id, body.get("notice"))
    return web.json_response(await lifecycle.close_case(gw, caller, case_id, reason, notice))


@routes.post("/v1/cases/{case_id}/reopen")
async def reopen_case(request: web.Request) -> web.Response:
    """The director reopens its closed case."""
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    reason = parse_reopen_reason((await _lifecycle_body(request, notice=False))["reason"])
    return web.json_response(await lifecycle.reopen_case(gw, caller, case_id, reason))


@routes.put("/v1/cases/{case_id}/network/{partner_id}")
async def register(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    # Everything that does not depend on the case is checked first, so its answer can never
    # tell an existing case from another.
    body = await read_json(request) if request.body_exists else {}
    if not isinstance(body, dict) or not set(body) <= {
        "role",
        "contact",
        "reported_via",
        "measure",
        "column",
    }:
        raise InvalidRequest(
            "the body must be an object with 'role', and optional 'contact', 'reported_via', "
            "'measure' and 'column'"
        )
    role = body.get("role", "involved")
    if not isinstance(role, str) or role not in ROLES:
        raise InvalidRequest(f"'role' must be one of {', '.join(sorted(ROLES))}")
    column = parse_column(role, body.get("column"))
    measure = parse_measure(body.get("measure"))
    contact = _contact(body.get("contact"))
    reported_via = body.get("reported_via")
    partner = cases.registered_partner(gw.partners, request.match_info["partner_id"], reported_via)
    answer, created = await cases.register_member(
        gw,
        caller,
        case_id,
        partner,
        role=role,
        measure=measure,
        contact=contact,
        reported_via=reported_via,
        column=column,
    )
    return web.json_response(answer, status=201 if created else 200)


@routes.post("/v1/cases/{case_id}/hand-over")
async def hand_over(request: web.Request) -> web.Response:
    """The holder of procesregie hands it to a member that may hold it (logged)."""
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    body = await read_json(request)
    if not isinstance(body, dict) or set(body) != {"to"} or not isinstance(body["to"], str):
        raise InvalidRequest(
            'the body must be {"to": <partner id>} and nothing else',
            "Name the partner that takes procesregie over; it must be a member of the case.",
        )
    return web.json_response(await roles.hand_over(gw, caller, case_id, body["to"]))


@routes.put("/v1/cases/{case_id}/household/{child_ref}/direction")
async def direct_child(request: web.Request) -> web.Response:
    """Set the certified institution that directs the help for a child under its measure."""
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    child_ref = request.match_info["child_ref"]
    if not _CHILD_REF.fullmatch(child_ref) or looks_like_bsn(child_ref):
        raise InvalidRequest("the child_ref must be a short opaque reference")
    body = await read_json(request)
    directed_by = body.get("directed_by", ...) if isinstance(body, dict) else ...
    if (
        not isinstance(body, dict)
        or set(body) != {"directed_by"}
        or not (directed_by is None or isinstance(directed_by, str))
    ):
        raise InvalidRequest(
            'the body must be {"directed_by": <partner id> | null} and nothing else',
            "Name the certified institution that directs the child's help, or null to give "
            "it back to the procesregisseur.",
        )
    answer = await roles.direct_child(gw, caller, case_id, child_ref, directed_by)
    return web.json_response(answer)


@routes.delete("/v1/cases/{case_id}/network/{partner_id}")
async def remove(request: web.Request) -> web.Response:
    """The director ends a partner's involvement in its case; the change is logged."""
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    partner_id = request.match_info["partner_id"]
    return web.json_response(await cases.remove_member(gw, caller, case_id, partner_id))


@routes.put("/v1/cases/{case_id}/household")
async def register_household(request: web.Request) -> web.Response:
    """The social team registers the children of a case's household (kept as pseudonyms)."""
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    body = await read_json(request)
    children = body.get("children") if isinstance(body, dict) else None
    if not isinstance(children, list) or not 1 <= len(children) <= MAX_CHILDREN:
        raise InvalidRequest(f"'children' must be a list of 1 to {MAX_CHILDREN} children")
    parsed: list[tuple[str, Subject]] = []
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
        if not isinstance(ref, str) or not _CHILD_REF.fullmatch(ref) or looks_like_bsn(ref):
            raise InvalidRequest(
                f"children[{n}].child_ref must be a short opaque reference (letters, digits, '-', "
                "'_'; nothing that could be a BSN, such as 8 or more digits in a row)"
            )
        named = parse_subject(
            {k: v for k, v in child.items() if k != "child_ref"}, systems, where=f"children[{n}]"
        )
        parsed.append((ref, named))
    return web.json_response(await cases.register_household(gw, caller, case_id, parsed))


@routes.get("/v1/cases/{case_id}/household")
async def household(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    return web.json_response(await cases.household(gw.storage, caller, case_id))


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
    subject = {k: body[k] for k in ("bsn", "identifier") if k in body}
    payload = {k: body[k] for k in ("status", "action_description") if k in body}
    answer = await cases.referrer_status(gw, caller, case_id, subject, payload)
    return web.json_response(answer, status=201)


@routes.get("/v1/cases/{case_id}/network")
async def network(request: web.Request) -> web.Response:
    """The members the caller may see (the catalogue's [case_network_visibility]), to members only."""
    gw = gateway(request)
    caller = authenticate(request)
    return web.json_response(await cases.network(gw, caller, _case_id(request)))
