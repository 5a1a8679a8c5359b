"""`GET /v1/inbox` and `POST /v1/inbox/{id}/ack`: a recipient pulls its messages and confirms them."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from gateway.container import Gateway
from gateway.delivery import sealed
from gateway.errors import InvalidRequest, NotFound
from gateway.log.entry import LogEntry, Sender, format_time
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import StoredMessage
from gateway.web.common import authenticate, gateway, whole_number

__all__ = ["purge_entry", "routes"]

routes = web.RouteTableDef()
MAX_LIMIT = 100
MAX_LEASE_S = 3600


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    number = whole_number(raw)
    if number is None or not low <= number <= high:
        raise InvalidRequest(
            f"query parameter '{name}' must be a whole number from {low} to {high}"
        )
    return number


def _message_json(gw: Gateway, message: StoredMessage) -> dict[str, Any]:
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
    }
    if message.sealing == "hpke":
        out["sealed"] = {
            "suite": sealed.SUITE_NAME,
            "ciphertext": base64.urlsafe_b64encode(message.body).decode().rstrip("="),
        }
        return out
    opened = json.loads(gw.cipher.open(message.body, message.message_id.encode()))
    out["subject"] = opened["subject"]
    out["payload"] = opened["payload"]
    out["payload_salt"] = opened["payload_salt"]
    if "traceparent" in opened:
        out["traceparent"] = opened["traceparent"]
    return out


@routes.get("/v1/inbox")
async def inbox(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    limit = _int_param(request, "limit", 50, 1, MAX_LIMIT)
    lease = _int_param(request, "lease", 0, 0, MAX_LEASE_S)
    if lease:
        # A leased pull: what it returns is hidden from other leased pulls until acked or the
        # lease runs out, so several workers (or instances) of one partner share the work.
        if "after" in request.query:
            raise InvalidRequest("'after' and 'lease' do not go together: a lease takes the oldest")
        now = gw.now()
        page = await gw.storage.lease_inbox(
            caller.partner.id, limit=limit, now=now, until=now + timedelta(seconds=lease)
        )
        return web.json_response(
            {
                "messages": [_message_json(gw, m) for m in page],
                "next": None,
                "leased_until": format_time(now + timedelta(seconds=lease)),
            }
        )
    after = _int_param(request, "after", 0, 0, 2**62)
    page = await gw.storage.inbox_page(caller.partner.id, after=after, limit=limit + 1)
    more = len(page) > limit
    page = page[:limit]
    return web.json_response(
        {
            "messages": [_message_json(gw, m) for m in page],
            "next": str(page[-1].seq) if more and page else None,
        }
    )


@routes.post("/v1/inbox/{message_id}/ack")
async def ack(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
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

    index = await gw.storage.ack_message(
        caller.partner.id, request.match_info["message_id"], receipt
    )
    if index is None:
        raise NotFound(
            "no such message in your inbox",
            "It may have been acknowledged already; GET /v1/inbox lists what is waiting.",
        )
    return web.Response(status=204)


def purge_entry(now: datetime) -> Any:
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
