"""The subject access report (AVG art. 15) as a printable page: type a BSN, get the report.

The report is the audit API's own (`gateway.audit.reports.subject_report`), which also logs the
look; this page only lays it out in the officer's language, with the date and the officer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.audit.reports import subject_report
from gateway.officer.names import partner_name, purpose_title
from gateway.officer.render import gateway_of, render
from gateway.officer.search import FormProblem, form_subject, identifier_systems
from gateway.officer.signin import checked_form, form_text, frame_for, signed_in
from gateway.store.links import searchable_pseudonym

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/subject-report")
async def report_form(request: web.Request) -> web.Response:
    officer = await signed_in(request)
    systems = identifier_systems(gateway_of(request), officer.language)
    return render(
        request,
        "report_form.html",
        frame_for(request, officer, "report"),
        {"problem": None, "systems": systems},
    )


@routes.post("/subject-report")
async def report(request: web.Request) -> web.Response:
    officer = await signed_in(request)
    form = await checked_form(request, officer)
    gw = gateway_of(request)
    frame = frame_for(request, officer, "report")
    fields = {name: form_text(form, name) for name in ("bsn", "system")}
    systems = identifier_systems(gw, officer.language)
    try:
        person = form_subject(fields, gw.catalogue.identifier_systems)
        if person is None:
            raise FormProblem("search.bad_bsn", "bsn")
    except FormProblem as problem:
        values = {"problem": problem.key, "systems": systems}
        return render(request, "report_form.html", frame, values, status=400)
    data = await subject_report(
        gw,
        await searchable_pseudonym(gw.storage, gw.pseudonymiser, person),
        officer.sender,
        oversight=officer.oversight,
        subject_system=person.system,
    )
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
