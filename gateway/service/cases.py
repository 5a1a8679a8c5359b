"""Cases: open one, register and remove the partners involved (like the Verwijsindex), hold the
household's children, and tell the family's referrer where the case stands.

Only the fact of involvement, a role and a professional contact are kept, never case content.
Who may open, register, remove and see what is decided in `gateway.policy.cases`; every change
of membership is a log entry.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from gateway.config import Partner, PartnerRegistry
from gateway.config.purposes import GI_REPORTING
from gateway.errors import Forbidden, InvalidRequest, UnknownRecipient
from gateway.ids import new_id, random_bytes
from gateway.log.entry import LogEntry, Sender, format_time
from gateway.policy import parse_exchange_request
from gateway.policy.cases import (
    Measure,
    case_not_found,
    directs,
    is_member,
    no_procesregisseur,
    verify_may_open,
    verify_may_register,
    verify_may_remove,
    visible_members,
)
from gateway.policy.decision import Caller
from gateway.policy.lifecycle import verify_active
from gateway.policy.roles import column_taken, verify_casusregie
from gateway.service.deps import CaseContext, ExchangeContext
from gateway.service.exchanges import execute_exchange
from gateway.service.expectations import expectation_json
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import Case, CaseStore, Expectation, HouseholdChild, NetworkMember
from gateway.store.links import pseudonym_for
from gateway.subject import Subject, looks_like_bsn

__all__ = [
    "household",
    "network",
    "open_case",
    "referrer_status",
    "register_household",
    "register_member",
    "registered_partner",
    "remove_member",
]


def _new_case_id() -> str:
    """`case_` and 128 random bits in lower-case base32: unguessable, easy to read aloud.

    An id that looks_like_bsn (8 or more digits in a row: about one in a million) is drawn again,
    so that no case id ever looks like a BSN to a log scanner or a partner's BSN filter.
    """
    while True:
        case_id = "case_" + base64.b32encode(random_bytes(16)).decode().rstrip("=").lower()
        if not looks_like_bsn(case_id):
            return case_id


def _member_json(member: NetworkMember, shown: set[str]) -> dict[str, Any]:
    return {
        "partner": member.partner_id,
        "role": member.role,
        "column": member.care_column,
        "contact": None if member.contact is None else json.loads(member.contact),
        # Who registered a member is shown only where that partner is itself visible.
        "registered_by": member.registered_by if member.registered_by in shown else None,
        "registered_at": format_time(member.registered_at),
    }


async def _member_of(store: CaseStore, caller: Caller, case_id: str) -> list[NetworkMember]:
    """The case's members when the caller is one; else the one 404 every non-member gets."""
    members = await store.case_network(case_id)
    if not is_member(members, caller.partner.id):
        raise case_not_found()
    return members


def _membership_entry(
    gw: CaseContext,
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


async def open_case(
    gw: CaseContext,
    caller: Caller,
    reference: str | None,
    contact: str | None,
    opened_on: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """A social team opens a case; the gateway chooses its id, the team directs it.

    `opened_on` is what it was opened on (a code of OPENED_ON) and the referral's exchange id.
    """
    verify_may_open(caller.partner)
    now = gw.now()
    occasion, exchange_id = opened_on
    case = Case(
        _new_case_id(),
        caller.partner.id,
        reference,
        now,
        opened_by=caller.partner.id,
        opened_on=occasion,
        opened_on_exchange=exchange_id,
        director_actor=caller.actor_id,
    )
    director = NetworkMember(
        case.case_id, caller.partner.id, "procesregisseur", contact, caller.partner.id, now
    )
    details: dict[str, Any] = {"role": "procesregisseur"}
    if occasion is not None:
        details["opened_on"] = occasion
    if exchange_id is not None:
        details["opened_on_exchange"] = exchange_id
    index = await gw.storage.open_case(
        case,
        director,
        _membership_entry(gw, caller, "case_opened", case.case_id, caller.partner.id, details),
    )
    return {
        "case_id": case.case_id,
        "dossier_reference": reference,
        "director": caller.partner.id,
        "opened_at": format_time(now),
        "opened_on": occasion,
        "opened_on_exchange": exchange_id,
        "state": case.state,
        "log_index": index,
    }


def registered_partner(partners: PartnerRegistry, partner_id: str, reported_via: Any) -> Partner:
    """The registered partner to involve in a case; `reported_via` fits a GI only."""
    partner = partners.get(partner_id)
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
    return partner


async def register_member(
    gw: CaseContext,
    caller: Caller,
    case_id: str,
    partner: Partner,
    *,
    role: str,
    measure: Measure | None,
    contact: str | None,
    reported_via: str | None,
    column: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Register (or change) a partner's involvement in a case: (the member as shown, created)."""
    case = await gw.storage.get_case(case_id)
    members = [] if case is None else await gw.storage.case_network(case_id)
    verify_may_register(
        case, members, caller=caller.partner, target=partner, role=role, measure=measure
    )
    verify_casusregie(members, target_id=partner.id, role=role, column=column)
    assert case is not None
    verify_active(case)
    before = next((m for m in members if m.partner_id == partner.id), None)
    member = NetworkMember(
        case_id=case_id,
        partner_id=partner.id,
        role=role,
        contact=contact,
        registered_by=caller.partner.id,
        registered_at=gw.now(),
        care_column=column,
        measure=None if measure is None else measure.type,
    )
    details: dict[str, Any] = {"role": role}
    if column is not None:
        details["column"] = column
    if before is not None:
        details["previous_role"] = before.role
    if measure is not None:
        details["measure"] = measure.to_json()
    stored = await gw.storage.register_involvement(
        member,
        _membership_entry(
            gw,
            caller,
            "case_member_added" if before is None else "case_member_changed",
            case_id,
            partner.id,
            details,
        ),
    )
    if stored is None:  # the column was given to another member meanwhile
        raise column_taken()
    created = stored
    shown = {m.partner_id for m in members} | {partner.id, caller.partner.id}
    answer = _member_json(member, shown)
    if measure is not None:
        answer["measure"] = measure.to_json()
    if created and partner.kind == "certified_institution":
        opened = await _expect_gi_report(gw, case, partner.id, reported_via or "direct", member)
        answer["expectations_opened"] = [
            expectation_json(e, member.registered_at, caller.partner.id) for e in opened
        ]
    return answer, created


async def remove_member(
    gw: CaseContext, caller: Caller, case_id: str, partner_id: str
) -> dict[str, Any]:
    """The director ends a partner's involvement in its case; the change is logged."""
    case = await gw.storage.get_case(case_id)
    members = [] if case is None else await gw.storage.case_network(case_id)
    verify_may_remove(case, members, caller=caller.partner, target_id=partner_id)
    before = next(m for m in members if m.partner_id == partner_id)
    entry = _membership_entry(
        gw, caller, "case_member_removed", case_id, partner_id, {"role": before.role}
    )
    if not await gw.storage.remove_involvement(case_id, partner_id, entry):
        after = await gw.storage.get_case(case_id)
        if after is not None and after.director == partner_id:
            raise no_procesregisseur()  # handed procesregie meanwhile by a concurrent call
        raise case_not_found()  # removed meanwhile by a concurrent call
    return {"case_id": case_id, "partner": partner_id, "removed": True}


async def _expect_gi_report(
    gw: CaseContext, case: Case, gi: str, reported_via: str, member: NetworkMember
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
            due_at=p.gi_join_due(reported_via, member.registered_at),
        )
        for p in gw.catalogue
        if reported_via in p.expected_when_gi_joins
    ]
    await gw.storage.add_expectations(opened)
    return opened


async def _require_director(store: CaseStore, caller: Caller, case_id: str) -> Case:
    """The case when the caller directs it; a non-member gets the case's 404."""
    await _member_of(store, caller, case_id)
    case = await store.get_case(case_id)
    if case is None or not directs(case, caller.partner):
        raise Forbidden(
            "only the social team that directs the case registers its household",
            "Ask the procesregisseur of the case to register the children.",
        )
    return case


async def register_household(
    gw: CaseContext, caller: Caller, case_id: str, children: list[tuple[str, Subject]]
) -> dict[str, Any]:
    """Hold the household's children (child_ref and the named child, kept as a pseudonym).

    Only the case's director registers them, and each registration is a log entry naming the
    child by its pseudonym: it is what makes the director one who may record consent for the
    child's case and correct the child's birth date.
    """
    verify_active(await _require_director(gw.storage, caller, case_id))
    now = gw.now()
    parsed = [
        (
            HouseholdChild(
                case_id,
                ref,
                await pseudonym_for(gw.storage, gw.pseudonymiser, named, now),
                caller.partner.id,
                now,
            ),
            named.system,
        )
        for ref, named in children
    ]
    if len({c.child_ref for c, _ in parsed}) != len(parsed):
        raise InvalidRequest("each child needs its own child_ref")
    for child, system in parsed:
        entry = LogEntry(
            time=now,
            decision="household_child_registered",
            sender=Sender(caller.partner.id, caller.actor_id, caller.actor_role),
            subject=child.subject,
            subject_system=system,
            case_id=case_id,
            trace=current_trace_json(),
        )
        await gw.storage.register_child(child, entry)
    return await _household_answer(gw.storage, case_id)


async def household(store: CaseStore, caller: Caller, case_id: str) -> dict[str, Any]:
    """The household's children by child_ref, to the case's members only."""
    await _member_of(store, caller, case_id)
    return await _household_answer(store, case_id)


async def _household_answer(store: CaseStore, case_id: str) -> dict[str, Any]:
    children = await store.household(case_id)
    return {"case_id": case_id, "children": [{"child_ref": c.child_ref} for c in children]}


async def referrer_status(
    gw: ExchangeContext,
    caller: Caller,
    case_id: str,
    subject: dict[str, Any],
    payload: dict[str, Any],
) -> dict[str, Any]:
    """One call for the team: tell the family's original referrer where the case stands."""
    members = visible_members(
        await _member_of(gw.storage, caller, case_id),
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
    parsed = parse_exchange_request(
        {
            "purpose": "referrer-status",
            "to": referrer,
            "subject": subject,
            "case_id": case_id,
            "payload": payload,
        },
        payload_required=True,
        identifier_systems=gw.catalogue.identifier_systems,
    )
    return await execute_exchange(gw, caller, parsed)


async def network(gw: CaseContext, caller: Caller, case_id: str) -> dict[str, Any]:
    """The members the caller may see (the catalogue's [case_network_visibility]), to members only."""
    members = visible_members(
        await _member_of(gw.storage, caller, case_id),
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
    if case is not None:
        holder = case.director if case.director in shown else None
        answer["procesregie"] = {
            "partner": holder,
            "actor": case.director_actor if holder is not None else None,
        }
    if case is not None and (case.opened_by or case.director) == caller.partner.id:
        # The opening team's own dossier reference is shown to it alone, also after it handed
        # procesregie over.
        answer["dossier_reference"] = case.dossier_reference
    return answer
