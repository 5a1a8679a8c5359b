"""The break-glass review queue: every disclosure made under break-glass waits for a judgement.

The page shows each use's justification and meldcode answers (sealed at rest, opened here), so
viewing the queue is logged; a review goes through the same code as the audit API's review and
is logged as `break_glass_reviewed`.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from gateway.audit.review import break_glass_view, record_review
from gateway.audit.search import log_look
from gateway.container import Gateway
from gateway.errors import NotFound
from gateway.officer.names import partner_name, purpose_title
from gateway.officer.render import gateway_of, render
from gateway.officer.signin import SignedIn, checked_form, form_text, frame_for, signed_in
from gateway.store.base import BreakGlassRecord

__all__ = ["routes"]

routes = web.RouteTableDef()
MAX_NOTE = 1000
_EXCHANGE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_QUEUE_LIMIT = 500


async def _queue(
    gw: Gateway, officer: SignedIn
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Pending uses (oldest first) and reviewed ones (latest review first), names filled in."""
    language = officer.language
    senders = officer.oversight.parties
    pending = await gw.storage.break_glass_records(
        status="pending", limit=_QUEUE_LIMIT, senders=senders
    )
    reviewed = [
        record
        for status in ("justified", "unjustified")
        for record in await gw.storage.break_glass_records(
            status=status, limit=_QUEUE_LIMIT, senders=senders
        )
    ]
    reviewed.sort(key=lambda r: (r.reviewed_at or r.created_at, r.exchange_id), reverse=True)

    def view(record: BreakGlassRecord) -> dict[str, Any]:
        item = break_glass_view(gw.cipher, record)
        item["sender_name"] = partner_name(gw, item["sender"])
        item["purpose_title"] = purpose_title(gw, item["purpose"], language)
        item["reviewer_name"] = partner_name(gw, item["reviewed_by"]) if item["reviewed_by"] else ""
        return item

    return [view(r) for r in pending], [view(r) for r in reviewed]


async def _queue_page(
    request: web.Request,
    officer: SignedIn,
    *,
    problem: str | None = None,
    problem_for: str | None = None,
    status: int = 200,
) -> web.Response:
    gw = gateway_of(request)
    pending, reviewed = await _queue(gw, officer)
    await log_look(
        gw,
        officer.sender,
        None,
        "break_glass_queue_viewed",
        {"pending": len(pending), "reviewed": len(reviewed)},
    )
    return render(
        request,
        "break_glass.html",
        frame_for(request, officer, "break_glass"),
        {
            "pending": pending,
            "reviewed": reviewed,
            "saved": request.query.get("saved") == "1",
            "problem": problem,
            "problem_for": problem_for,
            "max_note": MAX_NOTE,
        },
        status=status,
    )


@routes.get("/break-glass")
async def queue(request: web.Request) -> web.Response:
    return await _queue_page(request, await signed_in(request))


@routes.post("/break-glass/{exchange_id}/review")
async def review(request: web.Request) -> web.Response:
    """Mark one break-glass use justified or not, with a note; the review is logged."""
    officer = await signed_in(request)
    form = await checked_form(request, officer)
    exchange_id = request.match_info["exchange_id"]
    if not _EXCHANGE_ID.fullmatch(exchange_id):
        raise NotFound("no break-glass disclosure with that exchange id")
    judgement = form_text(form, "judgement")
    note = form_text(form, "note")
    if judgement not in ("justified", "unjustified"):
        return await _queue_page(
            request, officer, problem="bg.choose", problem_for=exchange_id, status=400
        )
    if len(note) > MAX_NOTE:
        return await _queue_page(
            request, officer, problem="bg.note_too_long", problem_for=exchange_id, status=400
        )
    await record_review(
        gateway_of(request),
        exchange_id,
        justified=judgement == "justified",
        note=note,
        officer=officer.sender,
        oversight=officer.oversight,
    )
    return web.Response(status=303, headers={"Location": "/officer/break-glass?saved=1"})
