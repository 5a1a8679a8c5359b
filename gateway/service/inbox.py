"""A recipient's inbox: pull messages (paged, or leased to one of several workers), confirm them,
and the log entry for a message purged unread at the end of its retention.

An urgent message (its purpose's `urgent` rule applied) carries `urgent: true` and the moment it
must be acknowledged by, for as long as its receipt is owed; a leased pull takes urgent messages
first, and the first page of a paged pull lists them again on top, in `urgent`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from gateway.config.urgency import ACKNOWLEDGEMENT
from gateway.delivery import sealed
from gateway.delivery.atrest import AtRestCipher
from gateway.errors import NotFound
from gateway.log.entry import LogEntry, Sender, format_time
from gateway.policy.decision import Caller
from gateway.service.deps import InboxContext
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import StoredMessage

__all__ = ["acknowledge", "inbox_page", "leased_page", "message_json", "purge_entry"]


MAX_URGENT_LISTED = 50  # urgent messages listed on top of a first page


def message_json(
    cipher: AtRestCipher, message: StoredMessage, acknowledge_by: datetime | None = None
) -> dict[str, Any]:
    """A message as its recipient gets it: sealed to its key as is, else opened from rest.

    `acknowledge_by` is set for an urgent message whose receipt is still owed.
    """
    out: dict[str, Any] = {
        "id": message.message_id,
        "exchange_id": message.exchange_id,
        "disclosure_id": message.disclosure_id,
        "purpose": message.purpose,
        "from": {"partner": message.sender_partner, "actor_role": message.sender_role},
        "case_id": message.case_id,
        "in_reply_to": message.in_reply_to,
        "sent_at": format_time(message.sent_at),
        "retain_until": format_time(message.retain_until),
        "urgent": acknowledge_by is not None,
    }
    if acknowledge_by is not None:
        out["acknowledge_by"] = format_time(acknowledge_by)
    if message.sealing == "hpke":
        out["sealed"] = {
            "suite": sealed.SUITE_NAME,
            "ciphertext": base64.urlsafe_b64encode(message.body).decode().rstrip("="),
        }
        return out
    opened = json.loads(cipher.open(message.body, message.message_id.encode()))
    out["subject"] = opened["subject"]
    out["payload"] = opened["payload"]
    out["payload_salt"] = opened["payload_salt"]
    if "traceparent" in opened:
        out["traceparent"] = opened["traceparent"]
    return out


async def leased_page(
    gw: InboxContext, caller: Caller, *, limit: int, lease_s: int
) -> dict[str, Any]:
    """The oldest messages, hidden from other leased pulls until acked or the lease runs out,
    so several workers (or instances) of one partner share the work."""
    now = gw.now()
    receives_urgent = _receives_urgent(gw, caller)
    page = await gw.storage.lease_inbox(
        caller.partner.id,
        limit=limit,
        now=now,
        until=now + timedelta(seconds=lease_s),
        urgent_first=receives_urgent,
    )
    urgent = await _urgent(gw, caller.partner.id) if page and receives_urgent else {}
    return {
        "messages": [message_json(gw.cipher, m, urgent.get(m.exchange_id)) for m in page],
        "next": None,
        "leased_until": format_time(now + timedelta(seconds=lease_s)),
    }


async def inbox_page(gw: InboxContext, caller: Caller, *, after: int, limit: int) -> dict[str, Any]:
    """One page of the caller's waiting messages after cursor `after`, and the next cursor."""
    page = await gw.storage.inbox_page(caller.partner.id, after=after, limit=limit + 1)
    more = len(page) > limit
    page = page[:limit]
    urgent = await _urgent(gw, caller.partner.id) if _receives_urgent(gw, caller) else {}
    out: dict[str, Any] = {
        "messages": [message_json(gw.cipher, m, urgent.get(m.exchange_id)) for m in page],
        "next": str(page[-1].seq) if more and page else None,
    }
    if after == 0:
        # On top of the first page, so an urgent message is seen whatever waits before it;
        # it appears again in `messages` in its place, so a client that skips this misses none.
        waiting = (
            await gw.storage.urgent_inbox(caller.partner.id, limit=MAX_URGENT_LISTED)
            if urgent
            else []
        )
        out["urgent"] = [message_json(gw.cipher, m, urgent.get(m.exchange_id)) for m in waiting]
    return out


def _receives_urgent(gw: InboxContext, caller: Caller) -> bool:
    """Whether the caller's kind receives a purpose that can be urgent; others skip the lookups
    (a care provider owing many replies would scan them on every pull for nothing)."""
    kind = caller.partner.kind
    return any(p.urgent is not None and kind in p.recipient_kinds for p in gw.catalogue)


async def _urgent(gw: InboxContext, recipient: str) -> dict[str, datetime]:
    """The urgent messages whose receipt the recipient owes: exchange id -> acknowledge by."""
    owed = await gw.storage.open_expectations(owed_by=recipient, purpose=ACKNOWLEDGEMENT)
    return {e.origin_exchange_id: e.due_at for e in owed if e.origin_exchange_id is not None}


async def acknowledge(gw: InboxContext, caller: Caller, message_id: str) -> None:
    """Confirm receipt: the message leaves the inbox and a `delivered` entry is logged."""
    now = gw.now()
    sender = Sender(caller.partner.id, caller.actor_id, caller.actor_role)
    trace = current_trace_json()  # read here: storage may build the entry on another thread

    def receipt(message: StoredMessage) -> LogEntry:
        return LogEntry(
            time=now,
            decision="delivered",
            exchange_id=message.exchange_id,
            disclosure_id=message.disclosure_id,
            purpose=message.purpose,
            sender=sender,
            recipient=message.recipient,
            subject=message.subject,
            subject_system=message.subject_system,
            case_id=message.case_id,
            trace=trace,
            details={"message_id": message.message_id},
        )

    index = await gw.storage.ack_message(caller.partner.id, message_id, receipt)
    if index is None:
        raise NotFound(
            "no such message in your inbox",
            "It may have been acknowledged already; GET /v1/inbox lists what is waiting.",
        )


def purge_entry(now: datetime) -> Callable[[StoredMessage], LogEntry]:
    """The log entry for a message purged unacknowledged at its retain_until."""

    def make(message: StoredMessage) -> LogEntry:
        return LogEntry(
            time=now,
            decision="purged",
            reason="retention_expired",
            exchange_id=message.exchange_id,
            disclosure_id=message.disclosure_id,
            purpose=message.purpose,
            sender=Sender(message.sender_partner, None, message.sender_role),
            recipient=message.recipient,
            subject=message.subject,
            subject_system=message.subject_system,
            case_id=message.case_id,
            details={
                "message_id": message.message_id,
                "retain_until": format_time(message.retain_until),
            },
        )

    return make
