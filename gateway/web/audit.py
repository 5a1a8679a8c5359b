"""`/v1/audit/...`: the privacy officer's view of the disclosure log, with proofs.

Every call needs a token of a `privacy_officer` partner. Searching by BSN and the subject access
report are themselves logged (`audit_access`): an officer's look at a person's data is a
processing of it too. What each call shows and logs is decided in `gateway.audit`; these
handlers parse the query, call it and answer.

An officer sees only the entries of the organisations it oversees (`gateway.policy.oversight`):
searches, counts and reports hold nothing else, and an entry it may not see answers the same
404 as one that is not there. Checkpoints and consistency proofs name no entry: every officer
gets them.
"""

from __future__ import annotations

import html
from typing import Any

from aiohttp import web

from gateway.audit.erasure import erase_subject
from gateway.audit.proofs import consistency_proof, inclusion_proof
from gateway.audit.reports import subject_report
from gateway.audit.review import break_glass_view, record_review
from gateway.audit.search import entry_json, log_look, officer_page, officer_sender, visible_row
from gateway.container import Gateway
from gateway.errors import InvalidRequest, NotFound
from gateway.policy.decision import Caller
from gateway.policy.oversight import OVERSEES_ALL, oversight_of
from gateway.standards.fhir_audit import audit_event
from gateway.store.base import LogFilter, LogRow
from gateway.store.links import logged_subject, searchable_pseudonym
from gateway.subject import parse_subject, parse_subject_query
from gateway.web.common import authenticate, gateway, query_time, read_json, whole_number

__all__ = ["routes"]

routes = web.RouteTableDef()
MAX_LIMIT = 500


def _int(request: web.Request, name: str, *, default: int | None = None, low: int = 0) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise InvalidRequest(f"query parameter '{name}' is required")
        return default
    number = whole_number(raw)
    if number is None or number < low:
        raise InvalidRequest(f"query parameter '{name}' must be a whole number of at least {low}")
    return number


@routes.get("/v1/audit/entries")
async def entries(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request, officer=True)
    named = parse_subject_query(request.query, gw.catalogue.identifier_systems)
    subject = (
        None if named is None else await searchable_pseudonym(gw.storage, gw.pseudonymiser, named)
    )
    limit = min(_int(request, "limit", default=100, low=1), MAX_LIMIT)
    after_raw = request.query.get("after")
    after = None if not after_raw else _int(request, "after")
    flt = LogFilter(
        subject=subject,
        partner=request.query.get("partner") or None,
        purpose=request.query.get("purpose") or None,
        decision=request.query.get("decision") or None,
        since=query_time(request, "since"),
        until=query_time(request, "until"),
    )
    rows, following = await officer_page(
        gw.storage, flt, oversight_of(caller.partner), after=after, limit=limit
    )
    if named is not None:
        await log_look(
            gw,
            officer_sender(caller),
            logged_subject(subject),
            "search_by_subject",
            subject_system=named.system,
        )
    return web.json_response(
        {
            "entries": [entry_json(r) for r in rows],
            "next": None if following is None else str(following),
        }
    )


async def _row(gw: Gateway, request: web.Request, caller: Caller) -> LogRow:
    """The entry the path's `{index}` names, if the caller may see it, or NotFound."""
    index = whole_number(request.match_info["index"])
    if index is None:
        raise NotFound("no such log entry")
    return await visible_row(gw.storage, index, oversight_of(caller.partner))


@routes.get("/v1/audit/entries/{index}")
async def entry(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request, officer=True)
    return web.json_response(entry_json(await _row(gw, request, caller)))


@routes.get("/v1/audit/entries/{index}/leaf")
async def leaf(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request, officer=True)
    row = await _row(gw, request, caller)
    return web.Response(body=row.leaf, content_type="application/octet-stream")


@routes.get("/v1/audit/entries/{index}/fhir")
async def entry_fhir(request: web.Request) -> web.Response:
    """The entry as an HL7 FHIR R4 AuditEvent resource."""
    gw = gateway(request)
    caller = authenticate(request, officer=True)
    row = await _row(gw, request, caller)
    return web.json_response(
        audit_event(row.index, row.entry.to_json(), gateway_id=gw.settings.id),
        content_type="application/fhir+json",
    )


@routes.get("/v1/audit/checkpoint")
async def checkpoint(request: web.Request) -> web.Response:
    gw = gateway(request)
    authenticate(request, officer=True)
    latest = await gw.storage.latest_checkpoint()
    if latest is None:
        raise NotFound("no checkpoint has been signed yet", "Retry in a second.")
    return web.Response(text=latest.note, content_type="text/plain", charset="utf-8")


@routes.get("/v1/audit/proof/inclusion")
async def inclusion(request: web.Request) -> web.Response:
    """An entry's inclusion proof; for an entry the officer may not see, the entry's 404."""
    gw = gateway(request)
    caller = authenticate(request, officer=True)
    index = _int(request, "index")
    size = _int(request, "tree_size", low=1)
    proof = await inclusion_proof(gw.storage, index, size, oversight_of(caller.partner))
    return web.json_response(proof)


@routes.get("/v1/audit/proof/consistency")
async def consistency(request: web.Request) -> web.Response:
    gw = gateway(request)
    authenticate(request, officer=True)
    first = _int(request, "first")
    second = _int(request, "second")
    return web.json_response(await consistency_proof(gw.storage, first, second))


@routes.get("/v1/audit/subject-report")
async def subject_access(request: web.Request) -> web.StreamResponse:
    """AVG art. 15: everything the log holds about one person, in plain language."""
    gw = gateway(request)
    caller = authenticate(request, officer=True)
    named = parse_subject_query(request.query, gw.catalogue.identifier_systems)
    if named is None:
        raise InvalidRequest(
            "query parameter 'bsn' (or 'identifier_system' with 'identifier_value') is required"
        )
    subject = await searchable_pseudonym(gw.storage, gw.pseudonymiser, named)
    report = await subject_report(
        gw,
        subject,
        officer_sender(caller),
        oversight=oversight_of(caller.partner),
        subject_system=named.system,
    )
    wants_html = request.query.get("format") == "html" or (
        "text/html" in request.headers.get("Accept", "") and request.query.get("format") != "json"
    )
    if not wants_html:
        return web.json_response(report)
    return web.Response(
        text=_report_html(report, caller), content_type="text/html", charset="utf-8"
    )


def _report_html(report: dict[str, Any], caller: Caller) -> str:
    oversees = report["oversees"]
    scope = (
        "every organisation using the gateway"
        if oversees == OVERSEES_ALL
        else ", ".join(oversees) + " (the organisations this officer oversees)"
    )
    rows = "\n".join(
        f"<tr><td>{html.escape(i['time'][:16].replace('T', ' '))}</td>"
        f"<td>{html.escape(i['text'])}</td></tr>"
        for i in report["disclosures"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Subject access report (AVG art. 15)</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#111}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #555;padding:.4rem;vertical-align:top;text-align:left}}
@media print{{body{{margin:0}}}}</style></head>
<body>
<h1>Subject access report / Inzageverzoek (AVG art. 15)</h1>
<p>Generated on {html.escape(report["generated_at"])} by {html.escape(caller.partner.name)}
({html.escape(caller.actor_id)}). It lists every recorded exchange of information about this person
through the gateway: who shared what kind of information with whom, when, why and on which basis.
The contents of the messages are not kept by the gateway and are not shown.</p>
<p>It covers what these organisations did: {html.escape(scope)}.</p>
<p>Number of records: {report["count"]}</p>
<table><thead><tr><th scope="col">When (UTC)</th><th scope="col">What happened</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""


@routes.get("/v1/audit/break-glass")
async def break_glass_queue(request: web.Request) -> web.Response:
    """Break-glass disclosures, pending review first; each with its justification."""
    gw = gateway(request)
    caller = authenticate(request, officer=True)
    status = request.query.get("status") or None
    if status not in (None, "pending", "justified", "unjustified"):
        raise InvalidRequest("'status' must be pending, justified or unjustified")
    records = await gw.storage.break_glass_records(
        status=status, limit=500, senders=oversight_of(caller.partner).parties
    )
    return web.json_response({"break_glass": [break_glass_view(gw.cipher, r) for r in records]})


@routes.post("/v1/audit/break-glass/{exchange_id}/review")
async def review_break_glass(request: web.Request) -> web.Response:
    """The officer's judgement on one break-glass use; the review is itself logged."""
    gw = gateway(request)
    caller = authenticate(request, officer=True)
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("justified"), bool):
        raise InvalidRequest("the body must be {justified: true|false, note: '...'}")
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > 1000 or set(body) - {"justified", "note"}:
        raise InvalidRequest("'note' must be a string of at most 1000 characters")
    exchange_id = request.match_info["exchange_id"]
    status, index = await record_review(
        gw,
        exchange_id,
        justified=body["justified"],
        note=note,
        officer=officer_sender(caller),
        oversight=oversight_of(caller.partner),
    )
    return web.json_response({"exchange_id": exchange_id, "status": status, "log_index": index})


@routes.post("/v1/audit/subjects/erase")
async def erase_subject_link(request: web.Request) -> web.Response:
    """Erase a person's link to the records (docs/retention.md); the erasure is logged."""
    gw = gateway(request)
    caller = authenticate(request, officer=True)
    body = await read_json(request)
    if not isinstance(body, dict) or set(body) != {"subject", "reason"}:
        raise InvalidRequest(
            "the body must be {subject: {bsn: '...'} or {identifier: {...}}, reason: '...'}",
            "Name the person as an exchange does and give the reason code (see the OpenAPI).",
        )
    named = parse_subject(body["subject"], gw.catalogue.identifier_systems)
    index = await erase_subject(
        gw, named, body["reason"], officer_sender(caller), oversight_of(caller.partner)
    )
    return web.json_response({"erased": True, "log_index": index})
