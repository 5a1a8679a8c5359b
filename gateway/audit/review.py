"""Break-glass uses opened for the officer's review, and the officer's judgement on one."""

from __future__ import annotations

import json
from typing import Any

from gateway.audit.deps import ReviewContext
from gateway.delivery.atrest import AtRestCipher
from gateway.errors import NotFound
from gateway.log.entry import LogEntry, Sender, format_time
from gateway.policy.oversight import Oversight
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import BreakGlassRecord

__all__ = ["break_glass_view", "record_review"]


def break_glass_view(cipher: AtRestCipher, record: BreakGlassRecord) -> dict[str, Any]:
    """A break-glass record opened for the officer: justification, meldcode answers, review."""
    opened = json.loads(cipher.open(record.sealed, b"break-glass:" + record.exchange_id.encode()))
    note = None
    if record.sealed_note is not None:
        note = cipher.open(record.sealed_note, b"break-glass-note:" + record.exchange_id.encode())
    return {
        "exchange_id": record.exchange_id,
        "sender": record.sender,
        "actor": opened.get("actor"),
        "purpose": record.purpose,
        "created_at": format_time(record.created_at),
        "justification": opened["justification"],
        "meldcode": opened["meldcode"],
        "status": record.status,
        "reviewed_by": record.reviewed_by,
        "reviewed_at": None if record.reviewed_at is None else format_time(record.reviewed_at),
        "review_note": None if note is None else note.decode(),
    }


async def record_review(
    gw: ReviewContext,
    exchange_id: str,
    *,
    justified: bool,
    note: str,
    officer: Sender,
    oversight: Oversight,
) -> tuple[str, int]:
    """Store an officer's judgement on a break-glass use of an organisation it oversees, with
    its log entry: (status, index). Another organisation's use is NotFound, as a missing one."""
    now = gw.now()
    status = "justified" if justified else "unjustified"
    index = await gw.storage.review_break_glass(
        exchange_id,
        status=status,
        by=officer.partner,
        at=now,
        sealed_note=gw.cipher.seal(note.encode(), b"break-glass-note:" + exchange_id.encode()),
        entry=LogEntry(
            time=now,
            decision="break_glass_reviewed",
            reason=status,
            exchange_id=exchange_id,
            sender=officer,
            break_glass=True,
            trace=current_trace_json(),
        ),
        senders=oversight.parties,
    )
    if index is None:
        raise NotFound(
            "no break-glass disclosure with that exchange id that you may review",
            "GET /v1/audit/break-glass lists the uses of the organisations you oversee.",
        )
    return status, index
