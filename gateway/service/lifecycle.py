"""A case's life: its state and history, closing it (cancelling what is owed) and reopening it.

Who may do what, and what a closed case refuses, is in `gateway.policy.lifecycle`; each
closure and reopening is one transaction with its log entry (`case_closed`, `case_reopened`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from gateway.errors import CaseClosed, CaseNotClosed, GatewayError
from gateway.log.entry import LogEntry, Sender, format_time
from gateway.policy import ExchangeRequest
from gateway.policy.cases import reachable_members, visible_members
from gateway.policy.decision import Caller
from gateway.policy.lifecycle import (
    CLOSURE_NOTICE,
    REFERRER_STATUS,
    verify_may_close,
    verify_may_reopen,
)
from gateway.policy.minimal import check_payload
from gateway.service.deps import CaseContext, ExchangeContext
from gateway.service.exchanges import check_exchange, execute_exchange
from gateway.service.expectations import expectation_json
from gateway.service.roles import case_of_member, roles_json
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import Case, CaseEvent, Expectation, NetworkMember

__all__ = ["case_state", "close_case", "reopen_case"]


def _shown(gw: CaseContext, caller: Caller, members: Sequence[NetworkMember]) -> set[str]:
    """The partners the caller may know of in this case (the network listing's rule)."""
    visible = visible_members(
        members,
        viewer=caller.partner,
        partners=gw.partners,
        visibility=gw.catalogue.case_network_visibility,
    )
    return {m.partner_id for m in visible}


def _entry(caller: Caller, decision: str, event: CaseEvent, details: dict[str, Any]) -> LogEntry:
    return LogEntry(
        time=event.at,
        decision=decision,
        reason=event.reason,
        sender=Sender(caller.partner.id, caller.actor_id, caller.actor_role),
        case_id=event.case_id,
        trace=current_trace_json(),
        details=details,
    )


async def case_state(gw: CaseContext, caller: Caller, case_id: str) -> dict[str, Any]:
    """The case's state and history, to its members; a partner they may not see is not named."""
    case, members = await case_of_member(gw, caller, case_id)
    shown = _shown(gw, caller, members)

    def named(partner: str | None) -> str | None:
        return partner if partner in shown else None

    opened: dict[str, Any] = {
        "event": "opened",
        "at": format_time(case.opened_at),
        "by": named(case.opened_by),
        "reason": case.opened_on,
    }
    if (case.opened_by or case.director) == caller.partner.id:
        # Like the dossier reference: the opening team's own link to the referral, shown to it
        # alone (also after it handed procesregie over).
        opened["exchange_id"] = case.opened_on_exchange
    history = [opened] + [
        {"event": e.event, "at": format_time(e.at), "by": named(e.by_partner), "reason": e.reason}
        for e in await gw.storage.case_events(case_id)
    ]
    return {
        "case_id": case_id,
        "state": case.state,
        "director": named(case.director),
        "history": history,
        **roles_json(case, members, await gw.storage.household(case_id), shown),
    }


async def close_case(
    gw: ExchangeContext,
    caller: Caller,
    case_id: str,
    reason: str,
    notice: ExchangeRequest | None = None,
) -> dict[str, Any]:
    """The director closes its case: every open expectation of the case is cancelled with the
    reason. The answer names the members a closure notice should reach; with `notice` (a
    closure-notice to the case's network) it is sent too, and the answer says per member
    whether it was disclosed or refused, and why."""
    case, members = await case_of_member(gw, caller, case_id)
    verify_may_close(case, caller.partner)
    purpose = gw.catalogue.get(CLOSURE_NOTICE)
    if notice is not None and notice.payload is not None and purpose is not None:
        # A notice that could never go is refused before the case closes, not after.
        check_payload(purpose.id, purpose.payload_schema, notice.payload)
    event = CaseEvent(case_id, "closed", reason, caller.partner.id, gw.now())

    def entry(cancelled: Sequence[Expectation]) -> LogEntry:
        return _entry(
            caller,
            "case_closed",
            event,
            {
                "expectations_cancelled": len(cancelled),
                "expectation_ids": sorted(e.expectation_id for e in cancelled),
            },
        )

    closure = await gw.storage.close_case(event, entry)
    if closure is None:  # closed meanwhile by a concurrent call
        raise CaseClosed(
            "the case is closed already",
            "Nothing to do; reopen it (POST /v1/cases/{case_id}/reopen) if help starts again.",
        )
    shown = _shown(gw, caller, members)
    # Who should hear of the closure: the members a case-network send of the closer reaches
    # (those it may see and that may see it), never one it may not know of.
    reached = reachable_members(
        members,
        sender=caller.partner,
        partners=gw.partners,
        visibility=gw.catalogue.case_network_visibility,
    )
    told: dict[str, Any] = {"purpose": CLOSURE_NOTICE, "to": reached, "sent": False}
    if notice is not None:
        told.update(await _send_notice(gw, caller, notice, reached))
    referrer = await _original_referrer(gw, case, caller)
    return {
        "case_id": case_id,
        "state": "closed",
        "reason": reason,
        "closed_at": format_time(event.at),
        "log_index": closure.log_index,
        # What was cancelled between partners the closer may see; the rest is in the log.
        "expectations_cancelled": [
            expectation_json(e, event.at, caller.partner.id)
            for e in closure.cancelled
            if e.owed_by in shown and e.owed_to in shown
        ],
        "closure_notice": told,
        "referrer": None
        if referrer is None
        else {
            "partner": referrer,
            "purpose": REFERRER_STATUS,
            "status": "transferred" if reason == "transferred" else "closed",
            "sent": False,
        },
    }


async def _original_referrer(gw: ExchangeContext, case: Case, caller: Caller) -> str | None:
    """The partner whose referral the case was opened on, to be told the case closed.

    The sender of the exchange `opened_on_exchange` as the log shows it disclosed to the team
    that opened the case; None when the case was opened on no exchange, the log holds no such
    disclosure to the opener, or the sender is no partner to tell (the closer itself, or no
    longer registered). The closer tells it with a referrer-status naming the closed case.
    """
    if case.opened_on_exchange is None or case.opened_by is None:
        return None
    sender = await gw.storage.referral_sender(case.opened_on_exchange, case.opened_by)
    partner = None if sender is None else gw.partners.get(sender)
    if partner is None or partner.kind == "privacy_officer" or partner.id == caller.partner.id:
        return None
    return partner.id


async def _send_notice(
    gw: ExchangeContext, caller: Caller, notice: ExchangeRequest, reached: Sequence[str]
) -> dict[str, Any]:
    """Send the closure notice to the case's network as one exchange, like any other send.

    The closure stands whatever becomes of the notice: a refused notice is reported, not
    raised, and can be sent again with POST /v1/exchanges (a closed case's network still takes
    a closure notice). When the whole send is refused (every member refused, or the message
    itself), each member's own reason is checked, writing nothing.
    """
    try:
        sent = await execute_exchange(gw, caller, notice)
    except GatewayError as whole:
        refused = []
        for member in reached:
            alone = await check_exchange(gw, caller, dataclasses.replace(notice, to=(member,)))
            code = whole.code if alone["allowed"] else alone["code"]
            refused.append({"recipient": member, "code": code})
        return {"sent": False, "code": whole.code, "disclosed": [], "refused": refused}
    return {
        "sent": True,
        "exchange_id": sent["exchange_id"],
        "disclosed": [d["recipient"] for d in sent["disclosures"]],
        "refused": [
            {"recipient": r["recipient"], "code": r.get("code")} for r in sent.get("refused", [])
        ],
    }


async def reopen_case(gw: CaseContext, caller: Caller, case_id: str, reason: str) -> dict[str, Any]:
    """The director reopens its closed case; cancelled expectations stay cancelled."""
    case, _ = await case_of_member(gw, caller, case_id)
    verify_may_reopen(case, caller.partner)
    event = CaseEvent(case_id, "reopened", reason, caller.partner.id, gw.now())
    index = await gw.storage.reopen_case(event, _entry(caller, "case_reopened", event, {}))
    if index is None:  # reopened meanwhile by a concurrent call
        raise CaseNotClosed(
            "the case is not closed",
            "Only a closed case is reopened; GET /v1/cases/{case_id} shows its state.",
        )
    return {
        "case_id": case_id,
        "state": "active",
        "reason": reason,
        "reopened_at": format_time(event.at),
        "log_index": index,
    }
