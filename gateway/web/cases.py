"""`/v1/cases`: open a case, and which partners are involved in it (like the Verwijsindex).

Only the fact of involvement, a role and a professional contact are kept, never case content.
Who may open, register, remove and see what is decided in `gateway.policy.cases`; every change
of membership is a log entry.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from typing import Any

from aiohttp import web

from gateway.config.purposes import GI_REPORTING
from gateway.container import Gateway
from gateway.errors import Forbidden, InvalidRequest, UnknownRecipient
from gateway.log.entry import LogEntry, Sender, format_time
from gateway.policy import parse_exchange_request
from gateway.policy.cases import (
    ROLES,
    case_not_found,
    is_member,
    parse_dossier_reference,
    parse_measure,
    verify_may_open,
    verify_may_register,
    verify_may_remove,
    visible_members,
)
from gateway.policy.decision import Caller
from gateway.service.exchanges import execute_exchange
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import Case, Expectation, HouseholdChild, NetworkMember
from gateway.subject import looks_like_bsn, parse_subject
from gateway.web.common import authenticate, gateway, new_id, random_bytes, read_json
from gateway.web.expectations import expectation_json

__all__ = ["routes"]

routes = web.RouteTableDef()
_CASE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CONTACT_FIELDS = {"name": 100, "phone": 20, "email": 254}


def _case_id(request: web.Request) -> str:
    case_id = request.match_info["case_id"]
    if not _CASE_ID.match(case_id):
        raise InvalidRequest("the case id must be 1-64 letters, digits, '.', '_' or '-'")
    return case_id


def _new_case_id() -> str:
    """`case_` and 128 random bits in lower-case base32: unguessable, easy to read aloud.

    An id that looks_like_bsn (8 or more digits in a row: about one in a million) is drawn again,
    so that no case id ever looks like a BSN to a log scanner or a partner's BSN filter.
    """
    while True:
        case_id = "case_" + base64.b32encode(random_bytes(16)).decode().rstrip("=").lower()
        if not looks_like_bsn(case_id):
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


def _member_json(member: NetworkMember, shown: set[str]) -> dict[str, Any]:
    return {
        "partner": member.partner_id,
        "role": member.role,
        "contact": None if member.contact is None else json.loads(member.contact),
        # Who registered a member is shown only where that partner is itself visible.
        "registered_by": member.registered_by if member.registered_by in shown else None,
        "registered_at": format_time(member.registered_at),
    }


async def _member_of(gw: Gateway, caller: Caller, case_id: str) -> list[NetworkMember]:
    """The case's members when the caller is one; else the one 404 every non-member gets."""
    members = await gw.storage.case_network(case_id)
    if not is_member(members, caller.partner.id):
        raise case_not_found()
    return members


def _membership_entry(
    gw: Gateway,
    caller: Caller,
    decision: str,
    case_id: str,
    partner_id: str,
    details: dict[str, Any],
) -> LogEntry:
    return LogEntry(
        time=gw.now(),
        decision=decision,
        sender=Sender(caller.partner.id, caller.actor_id, caller.actor_role),
        recipient=partner_id,
        case_id=case_id,
        trace=current_trace_json(),
        details=details,
    )


@routes.post("/v1/cases")
async def open_case(request: web.Request) -> web.Response:
    """A social team opens a case; the gateway chooses its id, the team directs it."""
    gw = gateway(request)
    caller = authenticate(request)
    verify_may_open(caller.partner)
    body = await read_json(request) if request.body_exists else {}
    if not isinstance(body, dict) or not set(body) <= {"dossier_reference", "contact"}:
        raise InvalidRequest(
            "the body must be an object with optional 'dossier_reference' and 'contact'"
        )
    reference = parse_dossier_reference(body.get("dossier_reference"))
    contact = _contact(body.get("contact"))
    now = gw.now()
    case = Case(_new_case_id(), caller.partner.id, reference, now)
    director = NetworkMember(
        case.case_id, caller.partner.id, "procesregisseur", contact, caller.partner.id, now
    )
    index = await gw.storage.open_case(
        case,
        director,
        _membership_entry(
            gw, caller, "case_opened", case.case_id, caller.partner.id, {"role": "procesregisseur"}
        ),
    )
    return web.json_response(
        {
            "case_id": case.case_id,
            "dossier_reference": reference,
            "director": caller.partner.id,
            "opened_at": format_time(now),
            "log_index": index,
        },
        status=201,
    )


@routes.put("/v1/cases/{case_id}/network/{partner_id}")
async def register(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    partner_id = request.match_info["partner_id"]
    # Everything that does not depend on the case is checked first, so its answer can never
    # tell an existing case from another.
    body = await read_json(request) if request.body_exists else {}
    if not isinstance(body, dict) or not set(body) <= {
        "role",
        "contact",
        "reported_via",
        "measure",
    }:
        raise InvalidRequest(
            "the body must be an object with 'role', and optional 'contact', 'reported_via' "
            "and 'measure'"
        )
    role = body.get("role", "involved")
    if not isinstance(role, str) or role not in ROLES:
        raise InvalidRequest(f"'role' must be one of {', '.join(sorted(ROLES))}")
    measure = parse_measure(body.get("measure"))
    contact = _contact(body.get("contact"))
    reported_via = body.get("reported_via")
    partner = gw.partners.get(partner_id)
    if partner is None or partner.kind == "privacy_officer":
        raise UnknownRecipient(
            f"partner '{partner_id}' is not registered",
            "Check the partner id; GET /v1/partners lists the registered partners.",
        )
    if reported_via is not None and (
        partner.kind != "certified_institution"
        or not isinstance(reported_via, str)
        or reported_via not in GI_REPORTING
    ):
        raise InvalidRequest(
            "'reported_via' (direct or beschermingstafel) applies to a certified institution only"
        )
    case = await gw.storage.get_case(case_id)
    members = [] if case is None else await gw.storage.case_network(case_id)
    verify_may_register(
        case, members, caller=caller.partner, target=partner, role=role, measure=measure
    )
    assert case is not None
    before = next((m for m in members if m.partner_id == partner_id), None)
    member = NetworkMember(
        case_id=case_id,
        partner_id=partner_id,
        role=role,
        contact=contact,
        registered_by=caller.partner.id,
        registered_at=gw.now(),
    )
    details: dict[str, Any] = {"role": role}
    if before is not None:
        details["previous_role"] = before.role
    if measure is not None:
        details["measure"] = measure.to_json()
    created = await gw.storage.register_involvement(
        member,
        _membership_entry(
            gw,
            caller,
            "case_member_added" if before is None else "case_member_changed",
            case_id,
            partner_id,
            details,
        ),
    )
    shown = {m.partner_id for m in members} | {partner_id, caller.partner.id}
    answer = _member_json(member, shown)
    if measure is not None:
        answer["measure"] = measure.to_json()
    if created and partner.kind == "certified_institution":
        opened = await _expect_gi_report(gw, case, partner.id, reported_via or "direct", member)
        answer["expectations_opened"] = [
            expectation_json(e, member.registered_at, caller.partner.id) for e in opened
        ]
    return web.json_response(answer, status=201 if created else 200)


@routes.delete("/v1/cases/{case_id}/network/{partner_id}")
async def remove(request: web.Request) -> web.Response:
    """The director ends a partner's involvement in its case; the change is logged."""
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    partner_id = request.match_info["partner_id"]
    case = await gw.storage.get_case(case_id)
    members = [] if case is None else await gw.storage.case_network(case_id)
    verify_may_remove(case, members, caller=caller.partner, target_id=partner_id)
    before = next(m for m in members if m.partner_id == partner_id)
    entry = _membership_entry(
        gw, caller, "case_member_removed", case_id, partner_id, {"role": before.role}
    )
    if not await gw.storage.remove_involvement(case_id, partner_id, entry):
        raise case_not_found()  # removed meanwhile by a concurrent call
    return web.json_response({"case_id": case_id, "partner": partner_id, "removed": True})


async def _expect_gi_report(
    gw: Gateway, case: Case, gi: str, reported_via: str, member: NetworkMember
) -> list[Expectation]:
    """A GI joining a case owes the case's director its waiting-list status, by a deadline."""
    director = case.director
    case_id = case.case_id
    if director is None or director == gi:
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
    await _member_of(gw, caller, case_id)
    case = await gw.storage.get_case(case_id)
    if case is None or caller.partner.id != case.director:
        raise Forbidden(
            "only the social team that directs the case registers its household",
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
        if not isinstance(ref, str) or not _CHILD_REF.match(ref) or looks_like_bsn(ref):
            raise InvalidRequest(
                f"children[{n}].child_ref must be a short opaque reference (letters, digits, '-', "
                "'_'; nothing that could be a BSN, such as 8 or more digits in a row)"
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
    await _member_of(gw, caller, case_id)
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
    members = visible_members(
        await _member_of(gw, caller, case_id),
        viewer=caller.partner,
        partners=gw.partners,
        visibility=gw.catalogue.case_network_visibility,
    )
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
    """The members the caller may see (the catalogue's [case_network_visibility]), to members only."""
    gw = gateway(request)
    caller = authenticate(request)
    case_id = _case_id(request)
    members = visible_members(
        await _member_of(gw, caller, case_id),
        viewer=caller.partner,
        partners=gw.partners,
        visibility=gw.catalogue.case_network_visibility,
    )
    shown = {m.partner_id for m in members}
    answer: dict[str, Any] = {
        "case_id": case_id,
        "members": [_member_json(m, shown) for m in members],
    }
    case = await gw.storage.get_case(case_id)
    if case is not None and case.director == caller.partner.id:
        # The team's own dossier reference is shown to the team alone.
        answer["dossier_reference"] = case.dossier_reference
    return web.json_response(answer)
