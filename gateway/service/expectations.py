"""Replies a partner owes or is owed, as the API shows them: open, overdue or closed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.log.entry import format_time
from gateway.policy.decision import Caller
from gateway.service.deps import ExpectationContext
from gateway.store.base import Expectation

__all__ = ["STATUSES", "expectation_json", "list_expectations", "status_of"]

STATUSES = ("open", "overdue", "closed", "cancelled", "all")


def status_of(e: Expectation, now: datetime) -> str:
    """open, overdue, closed (answered) or cancelled (its case closed before an answer)."""
    if e.cancelled_reason is not None:
        return "cancelled"
    if e.closed_at is not None:
        return "closed"
    return "overdue" if e.due_at < now else "open"


def expectation_json(e: Expectation, now: datetime, caller: str) -> dict[str, Any]:
    return {
        "expectation_id": e.expectation_id,
        "purpose": e.purpose,
        "origin_purpose": e.origin_purpose,
        "origin_exchange_id": e.origin_exchange_id,
        "case_id": e.case_id,
        "owed_by": e.owed_by,
        "owed_to": e.owed_to,
        "direction": "you_owe" if e.owed_by == caller else "owed_to_you",
        "child_ref": e.child_ref,
        "opened_at": format_time(e.opened_at),
        "due_at": format_time(e.due_at),
        "status": status_of(e, now),
        "closed_at": None if e.closed_at is None else format_time(e.closed_at),
        "closed_by": e.closed_by,
        "cancelled_reason": e.cancelled_reason,
    }


async def list_expectations(
    gw: ExpectationContext, caller: Caller, wanted: str, case_id: str | None
) -> dict[str, Any]:
    """The caller's expectations with status `wanted` ("open" includes overdue), as of now."""
    now = gw.now()
    found = await gw.storage.expectations_for(
        caller.partner.id, open_only=wanted in ("open", "overdue"), limit=1000
    )
    items = [
        expectation_json(e, now, caller.partner.id)
        for e in found
        if (case_id is None or e.case_id == case_id)
        and (
            wanted == "all"
            or status_of(e, now) == wanted
            or (wanted == "open" and status_of(e, now) == "overdue")
        )
    ]
    return {"expectations": items, "as_of": format_time(now)}
