"""Roles in a case: hand procesregie over, set who directs the help for a child, and show who
directs what.

Who may do which is decided in `gateway.policy.roles`; each change is one transaction with its
log entry (`procesregie_handed_over`, `child_direction_set`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.errors import NotFound, ProcesregieConflict
from gateway.log.entry import LogEntry, Sender, format_time
from gateway.policy.cases import case_not_found, is_member
from gateway.policy.decision import Caller
from gateway.policy.lifecycle import verify_active
from gateway.policy.roles import verify_may_direct_child, verify_may_hand_over
from gateway.service.deps import CaseContext
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import Case, HouseholdChild, NetworkMember

__all__ = ["case_of_member", "direct_child", "hand_over", "roles_json"]


async def case_of_member(
    gw: CaseContext, caller: Caller, case_id: str
) -> tuple[Case, list[NetworkMember]]:
    """The case and its members when the caller is one; else the one 404 every non-member gets."""
    case = await gw.storage.get_case(case_id)
    members = [] if case is None else await gw.storage.case_network(case_id)
    if case is None or not is_member(members, caller.partner.id):
        raise case_not_found()
    return case, members


def roles_json(
    case: Case,
    members: Sequence[NetworkMember],
    children: Sequence[HouseholdChild],
    shown: set[str],
) -> dict[str, Any]:
    """Who directs what, naming only the partners the viewer may know of (`shown`)."""
    holder = case.director if case.director in shown else None
    return {
        "procesregie": {
            "partner": holder,
            # The professional acting for the holder, where the holder itself may be named.
            "actor": case.director_actor if holder is not None else None,
        },
        "casusregie": [
            {"column": m.care_column, "partner": m.partner_id}
            for m in sorted(members, key=lambda m: m.care_column or "")
            if m.role == "casusregisseur" and m.partner_id in shown
        ],
        "children": [
            {
                "child_ref": c.child_ref,
                # null: the procesregisseur directs the child's help with the household's
                "directed_by": c.directed_by if c.directed_by in shown else None,
            }
            for c in children
        ],
    }


async def hand_over(gw: CaseContext, caller: Caller, case_id: str, to: str) -> dict[str, Any]:
    """The holder hands procesregie to a member that may hold it (to itself: a new acting
    professional of the same partner); the new holder's acceptance is implicit."""
    case, members = await case_of_member(gw, caller, case_id)
    verify_may_hand_over(case, members, caller=caller.partner, target_id=to, partners=gw.partners)
    verify_active(case)
    target = next(m for m in members if m.partner_id == to)
    # The acting professional is known from a token only: the caller's, when it keeps the role;
    # a new holder's is recorded when one of its professionals takes it (a hand-over to itself).
    actor = caller.actor_id if to == caller.partner.id else None
    now = gw.now()
    entry = LogEntry(
        time=now,
        decision="procesregie_handed_over",
        sender=Sender(caller.partner.id, caller.actor_id, caller.actor_role),
        recipient=to,
        case_id=case_id,
        trace=current_trace_json(),
        details={"role": "procesregisseur"},
    )
    index = await gw.storage.hand_over(case_id, caller.partner.id, target, actor, entry)
    if index is None:  # changed meanwhile: handed over, closed, or the member removed
        raise ProcesregieConflict(
            "procesregie of this case changed while it was being handed over",
            "GET /v1/cases/{case_id} shows who holds procesregie now.",
        )
    return {
        "case_id": case_id,
        "procesregie": {"partner": to, "actor": actor},
        "handed_over_by": caller.partner.id,
        "handed_over_at": format_time(now),
        "log_index": index,
    }


async def direct_child(
    gw: CaseContext, caller: Caller, case_id: str, child_ref: str, directed_by: str | None
) -> dict[str, Any]:
    """Set the certified institution that directs the help for a child under its measure, or
    (None) give the direction back to the procesregisseur."""
    case, members = await case_of_member(gw, caller, case_id)
    child = next((c for c in await gw.storage.household(case_id) if c.child_ref == child_ref), None)
    verify_may_direct_child(
        case, members, child, caller=caller.partner, directed_by=directed_by, partners=gw.partners
    )
    verify_active(case)
    assert child is not None
    entry = LogEntry(
        time=gw.now(),
        decision="child_direction_set",
        sender=Sender(caller.partner.id, caller.actor_id, caller.actor_role),
        recipient=directed_by,
        subject=child.subject,
        case_id=case_id,
        trace=current_trace_json(),
    )
    index = await gw.storage.direct_child(case_id, child_ref, directed_by, entry)
    if index is None:
        raise NotFound(
            "the case's household holds no child with this child_ref",
            "GET /v1/cases/{case_id}/household lists the children.",
        )
    return {
        "case_id": case_id,
        "child_ref": child_ref,
        "directed_by": directed_by,
        "log_index": index,
    }
