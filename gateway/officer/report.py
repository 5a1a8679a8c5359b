"""The subject access report (AVG art. 15) as a printable page: type a BSN, get the report.

The report is the audit API's own (`gateway.web.audit.subject_report`), which also logs the
look; this page only lays it out in the officer's language, with the date and the officer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.errors import InvalidSubject
from gateway.officer.names import partner_name, purpose_title
from gateway.officer.render import gateway_of, render
from gateway.officer.signin import checked_form, form_text, frame_for, signed_in
from gateway.subject import validate_bsn
from gateway.web.audit import subject_report

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/subject-report")
async def report_form(request: web.Request) -> web.Response:
    officer = await signed_in(request)
    return render(
        request, "report_form.html", frame_for(request, officer, "report"), {"problem": None}
    )


@routes.post("/subject-report")
async def report(request: web.Request) -> web.Response:
    officer = await signed_in(request)
    form = await checked_form(request, officer)
    gw = gateway_of(request)
    frame = frame_for(request, officer, "report")
    try:
        bsn = validate_bsn(form_text(form, "bsn").replace(" ", ""))
    except InvalidSubject:
        return render(request, "report_form.html", frame, {"problem": "search.bad_bsn"}, status=400)
    data = await subject_report(gw, gw.pseudonymiser.pseudonym(bsn), officer.sender)
    t = frame.t
    items: list[dict[str, Any]] = [
        {
            "time": item["time"],
            "decision": t.decision(item["decision"]),
            "purpose": purpose_title(gw, item["purpose"], officer.language)
            if item["purpose"]
            else "",
            "from": partner_name(gw, item["from"], nobody=t("report.gateway")),
            "to": partner_name(gw, item["to"]) if item["to"] else "",
            "basis": (item["legal_basis"] or {}).get("reference", ""),
            "fields": ", ".join(item["fields"]),
        }
        for item in data["disclosures"]
    ]
    return render(
        request,
        "report.html",
        frame,
        {
            "generated_at": data["generated_at"],
            "officer_name": officer.partner.name,
            "actor": officer.session.actor,
            "count": data["count"],
            "items": items,
        },
    )
