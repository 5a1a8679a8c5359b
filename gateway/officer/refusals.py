"""Refusal patterns: which partners are refused most, for which reason, and what would help.

Repeated refusals of one kind are where an organisation needs consent forms, agreements or a
software fix; this page is how the product shows that privacy was not the real obstacle.
"""

from __future__ import annotations

from aiohttp import web

from gateway.audit.activity import PERIODS, period_ending, refusal_matrix, repeated_refusals
from gateway.officer.names import partner_name, purpose_title
from gateway.officer.overview import period_of
from gateway.officer.render import gateway_of, render
from gateway.officer.signin import frame_for, signed_in

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/refusals")
async def refusals(request: web.Request) -> web.Response:
    officer = await signed_in(request)
    gw = gateway_of(request)
    frame = frame_for(request, officer, "refusals")
    t = frame.t
    days = period_of(request)
    period = period_ending(gw.now(), days)
    counts = await gw.storage.refusal_counts(
        period.since, period.until, parties=officer.oversight.parties
    )
    matrix = refusal_matrix(counts)
    repeated = [
        {
            "partner": partner_name(gw, c.partner),
            "reason": t.reason(c.reason),
            "purpose": purpose_title(gw, c.purpose, officer.language),
            "recipient": partner_name(gw, c.recipient),
            "count": c.count,
            "hint": t.hint(c.reason),
        }
        for c in repeated_refusals(counts)
    ]
    return render(
        request,
        "refusals.html",
        frame,
        {
            "days": days,
            "periods": PERIODS,
            "period": period,
            "reasons": [(t.reason(r), t.hint(r)) for r in matrix.reasons],
            "rows": [
                (partner_name(gw, partner), total, cells) for partner, total, cells in matrix.rows
            ],
            "repeated": repeated,
        },
    )
