"""Who directs what in a case, as pure rules: procesregie, casusregie per column, a child's help.

"One family, one plan, one regisseur" (docs/workflows.md, "Roles in a case"):

1. Exactly one partner holds procesregie for the household at a time: the case's director,
   with the professional acting for it. Only the holder hands it over, to a member that may
   hold it: a social team, or a certified institution holding a child-protection measure in the
   case. Handing it to itself records a new acting professional of the same partner.
2. Nothing leaves a case with two procesregisseurs or none: no second member registers in that
   role, the holder keeps its role and its place in the network while it holds it
   (`409 procesregie_conflict`, hand it over first).
3. Where more than one organisation helps in a column (youth, wmo, income), one member is that
   column's casusregisseur; a second one for the same column is `409 casusregie_conflict`.
4. Under a child-protection measure the certified institution directs the help for the child
   under the measure, while procesregie for the household may stay where it is. Only a certified
   institution holding a measure in the case directs a child; the holder of procesregie or the
   institution itself sets it, and either gives it back.

A non-member learns nothing: its every call on a case is the case's `404`, checked first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.config.partners import Partner, PartnerRegistry
from gateway.errors import CasusregieConflict, Forbidden, InvalidRequest, NotFound
from gateway.policy.cases import directs
from gateway.store.base import Case, HouseholdChild, NetworkMember

__all__ = [
    "COLUMNS",
    "column_taken",
    "may_hold_procesregie",
    "parse_column",
    "verify_casusregie",
    "verify_may_direct_child",
    "verify_may_hand_over",
]

# The columns of help a casusregisseur directs: youth care (Jeugdwet), social support (Wmo
# 2015) and income (Participatiewet, debt counselling).
COLUMNS = frozenset({"youth", "wmo", "income"})


def parse_column(role: str, value: Any) -> str | None:
    """The column of a casusregisseur (required then, and only then)."""
    if role != "casusregisseur":
        if value is not None:
            raise InvalidRequest("'column' applies to the role 'casusregisseur' only")
        return None
    if not isinstance(value, str) or value not in COLUMNS:
        raise InvalidRequest(
            f"a casusregisseur needs 'column', one of {', '.join(sorted(COLUMNS))}",
            'Name the column of help the partner directs, e.g. "column": "youth".',
        )
    return value


def may_hold_procesregie(partner: Partner | None, member: NetworkMember | None) -> bool:
    """Whether the member may hold procesregie: a social team, or a certified institution
    holding a child-protection measure in this case (rule 1)."""
    if partner is None or member is None:
        return False
    if partner.kind == "social_team":
        return True
    return partner.kind == "certified_institution" and member.measure is not None


def _member(members: Sequence[NetworkMember], partner_id: str) -> NetworkMember | None:
    return next((m for m in members if m.partner_id == partner_id), None)


def verify_may_hand_over(
    case: Case,
    members: Sequence[NetworkMember],
    *,
    caller: Partner,
    target_id: str,
    partners: PartnerRegistry,
) -> None:
    """Return when `caller` (a member) may hand procesregie to `target_id` now; raise otherwise."""
    if not directs(case, caller):
        raise Forbidden(
            "only the partner that holds procesregie hands it over",
            "Ask the case's procesregisseur to hand procesregie over.",
        )
    member = _member(members, target_id)
    if member is None:
        raise NotFound(
            f"partner '{target_id}' is not a member of this case network",
            "Register the partner in the case's network first; GET "
            "/v1/cases/{case_id}/network lists the members.",
        )
    if not may_hold_procesregie(partners.get(target_id), member):
        raise Forbidden(
            "procesregie is held by a social team, or by a certified institution holding a "
            "child-protection measure in the case",
            "Hand procesregie to a social team, or to the certified institution registered with "
            "its measure.",
        )


def verify_casusregie(
    members: Sequence[NetworkMember], *, target_id: str, role: str, column: str | None
) -> None:
    """Return when registering `target_id` as `role` leaves each column one casusregisseur."""
    if role != "casusregisseur":
        return
    other = next(
        (
            m
            for m in members
            if m.role == "casusregisseur" and m.care_column == column and m.partner_id != target_id
        ),
        None,
    )
    if other is not None:
        raise column_taken()


def column_taken() -> CasusregieConflict:
    return CasusregieConflict(
        "this column has a casusregisseur already",
        "Register the partner as 'involved', or first register the present casusregisseur "
        "as 'involved'.",
    )


def verify_may_direct_child(
    case: Case,
    members: Sequence[NetworkMember],
    child: HouseholdChild | None,
    *,
    caller: Partner,
    directed_by: str | None,
    partners: PartnerRegistry,
) -> None:
    """Return when `caller` (a member) may set who directs the child's help; raise otherwise.

    `directed_by` None gives the direction back to the procesregisseur (rule 4).
    """
    holder = directs(case, caller)
    if directed_by is None:
        if not holder and (child is None or child.directed_by != caller.id):
            raise Forbidden(
                "only the procesregisseur, or the certified institution directing the child, "
                "gives the direction of a child's help back",
                "Ask the case's procesregisseur.",
            )
    else:
        member = _member(members, directed_by)
        partner = partners.get(directed_by)
        if (
            member is None
            or partner is None
            or partner.kind != "certified_institution"
            or member.measure is None
        ):
            raise Forbidden(
                "only a certified institution holding a child-protection measure in the case "
                "directs the help for a child",
                "Register the certified institution with its measure (PUT "
                "/v1/cases/{case_id}/network/{partner_id} with 'measure') first.",
            )
        if not holder and directed_by != caller.id:
            raise Forbidden(
                "only the procesregisseur, or the certified institution itself, sets who "
                "directs the help for a child",
                "Ask the case's procesregisseur.",
            )
    if child is None:
        raise NotFound(
            "the case's household holds no child with this child_ref",
            "GET /v1/cases/{case_id}/household lists the children.",
        )
