"""`/v1/audit/...`: the privacy officer's view of the disclosure log, with proofs.

Every call needs a token of a `privacy_officer` partner. Searching by BSN and the subject access
report are themselves logged (`audit_access`): an officer's look at a person's data is a
processing of it too.

An officer sees only the entries of the organisations it oversees (`gateway.policy.oversight`):
searches, counts and reports hold nothing else, and an entry it may not see answers the same
404 as one that is not there. Checkpoints and consistency proofs name no entry: every officer
gets them.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from gateway.container import Gateway
from gateway.errors import InvalidRequest, NotFound
from gateway.log.entry import LogEntry, Sender, format_time, parse_time
from gateway.log.merkle import consistency_proof_nodes, inclusion_proof_nodes, resolve_proof
from gateway.policy.decision import Caller
from gateway.policy.oversight import OVERSEES_ALL, Oversight, oversight_of
from gateway.standards.fhir_audit import audit_event
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import BreakGlassRecord, LogFilter, LogRow
from gateway.subject import parse_subject_query
from gateway.web.common import authenticate, gateway, read_json, whole_number

__all__ = [
    "break_glass_view",
    "entry_json",
    "log_look",
    "officer_page",
    "oversees_json",
    "proof_hashes",
    "record_review",
    "routes",
    "search_page",
    "subject_report",
]

routes = web.RouteTableDef()
MAX_LIMIT = 500


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


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


def query_time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        moment = parse_time(raw) if "T" in raw else parse_time(raw + "T00:00:00+00:00")
    except ValueError:
        raise InvalidRequest(
            f"query parameter '{name}' must be an RFC 3339 time or a date"
        ) from None
    if moment.tzinfo is None:
        raise InvalidRequest(f"query parameter '{name}' must carry a time zone (e.g. Z)")
    return moment


def entry_json(row: LogRow) -> dict[str, Any]:
    """A log entry as the audit API shows it: the leaf's fields plus its index."""
    return {"index": row.index, **row.entry.to_json()}


def _officer(caller: Caller) -> Sender:
    return Sender(caller.partner.id, caller.actor_id, caller.actor_role)


def oversees_json(oversight: Oversight) -> str | list[str]:
    """Whose entries an officer sees, as `partners.toml` says it: "all" or the partner ids."""
    if oversight.organisations is None:
        return OVERSEES_ALL
    return sorted(oversight.organisations)


async def log_look(
    gw: Gateway,
    officer: Sender,
    subject: str | None,
    what: str,
    details: Mapping[str, Any] | None = None,
    *,
    subject_system: str | None = None,
) -> int:
    """Log an officer's look at the log (`audit_access`): looking is processing too.

    `subject_system` is the identifier system of a person looked up without a BSN.
    """
    [index] = await gw.storage.append_log(
        [
            LogEntry(
                time=gw.now(),
                decision="audit_access",
                reason=what,
                sender=officer,
                subject=subject,
                subject_system=subject_system,
                trace=current_trace_json(),
                details=details or {},
            )
        ]
    )
    return index


async def search_page(
    gw: Gateway, flt: LogFilter, *, after: int | None, limit: int
) -> tuple[list[LogRow], int | None]:
    """One page of a log search and the cursor of the next page (None on the last)."""
    rows = await gw.storage.search_log(flt, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].index if more and rows else None


async def officer_page(
    gw: Gateway, flt: LogFilter, oversight: Oversight, *, after: int | None, limit: int
) -> tuple[list[LogRow], int | None]:
    """One page of the entries matching `flt` that the officer may see, and the next cursor."""
    flt = dataclasses.replace(flt, parties=oversight.parties)
    return await search_page(gw, flt, after=after, limit=limit)


@routes.get("/v1/audit/entries")
async def entries(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request, officer=True)
    named = parse_subject_query(request.query, gw.catalogue.identifier_systems)
    subject = None if named is None else gw.pseudonymiser.pseudonym_of(named)
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
        gw, flt, oversight_of(caller.partner), after=after, limit=limit
    )
    if named is not None:
        await log_look(
            gw, _officer(caller), subject, "search_by_subject", subject_system=named.system
        )
    return web.json_response(
        {
            "entries": [entry_json(r) for r in rows],
            "next": None if following is None else str(following),
        }
    )


async def visible_row(gw: Gateway, index: int, oversight: Oversight) -> LogRow:
    """Entry `index` if the officer may see it; else the same NotFound as for no entry at all,
    so that an officer cannot tell another organisation's entry from a gap."""
    rows = await gw.storage.log_rows(index, index + 1)
    if not rows or not oversight.may_see(rows[0].entry):
        raise NotFound(
            f"no log entry {index} that you may see",
            "GET /v1/audit/checkpoint gives the log's size; entries that name none of the "
            "organisations you oversee are not shown to you.",
        )
    return rows[0]


async def _row(gw: Gateway, request: web.Request, caller: Caller) -> LogRow:
    """The entry the path's `{index}` names, if the caller may see it, or NotFound."""
    index = whole_number(request.match_info["index"])
    if index is None:
        raise NotFound("no such log entry")
    return await visible_row(gw, index, oversight_of(caller.partner))


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


async def _integrated_size(gw: Gateway) -> int:
    latest = await gw.storage.latest_checkpoint()
    return 0 if latest is None else latest.size


@routes.get("/v1/audit/checkpoint")
async def checkpoint(request: web.Request) -> web.Response:
    gw = gateway(request)
    authenticate(request, officer=True)
    latest = await gw.storage.latest_checkpoint()
    if latest is None:
        raise NotFound("no checkpoint has been signed yet", "Retry in a second.")
    return web.Response(text=latest.note, content_type="text/plain", charset="utf-8")


async def proof_hashes(gw: Gateway, elements: list[list[tuple[int, int]]]) -> list[bytes]:
    """The hashes of a proof whose stored nodes `*_proof_nodes` named; NotFound if missing."""
    keys = [key for element in elements for key in element]
    found = await gw.storage.tree_nodes(keys)
    if len(found) != len(set(keys)):
        raise NotFound("the tree is not integrated that far yet", "Retry in a second.")
    return resolve_proof(elements, lambda level, index: found[(level, index)])


@routes.get("/v1/audit/proof/inclusion")
async def inclusion(request: web.Request) -> web.Response:
    """An entry's inclusion proof; for an entry the officer may not see, the entry's 404."""
    gw = gateway(request)
    caller = authenticate(request, officer=True)
    index = _int(request, "index")
    size = _int(request, "tree_size", low=1)
    integrated = await _integrated_size(gw)
    if size > integrated:
        raise InvalidRequest(
            f"tree_size {size} is larger than the latest checkpoint ({integrated})",
            "Ask for a tree size no larger than the size in GET /v1/audit/checkpoint.",
        )
    if index >= size:
        raise InvalidRequest("index must be smaller than tree_size")
    # The leaf hash would let an officer test guesses at another organisation's entry.
    await visible_row(gw, index, oversight_of(caller.partner))
    hashes = await proof_hashes(gw, inclusion_proof_nodes(index, size))
    leaf_hash = (await gw.storage.tree_nodes([(0, index)]))[(0, index)]
    return web.json_response(
        {
            "index": index,
            "tree_size": size,
            "leaf_hash": _b64(leaf_hash),
            "hashes": [_b64(h) for h in hashes],
        }
    )


@routes.get("/v1/audit/proof/consistency")
async def consistency(request: web.Request) -> web.Response:
    gw = gateway(request)
    authenticate(request, officer=True)
    first = _int(request, "first")
    second = _int(request, "second")
    integrated = await _integrated_size(gw)
    if second > integrated:
        raise InvalidRequest(
            f"second {second} is larger than the latest checkpoint ({integrated})",
            "Ask for sizes no larger than the size in GET /v1/audit/checkpoint.",
        )
    if first == 0:
        # RFC 9162 2.1.4.1 defines PROOF(m, D[n]) only for 0 < m: a proof from the empty tree
        # would prove nothing, so there is none to give.
        raise InvalidRequest(
            "first must be at least 1: RFC 9162 defines no consistency proof from the empty tree",
            "Ask for 0 < first <= second; every tree trivially extends the empty one.",
        )
    if first > second:
        raise InvalidRequest("first must not be larger than second")
    # Equal sizes: the proof is empty and the roots must be equal (what verifiers such as
    # RFC 9162 2.1.4.2 implementations and Go's tlog expect); otherwise PROOF(first, D[second]).
    elements = [] if first == second else consistency_proof_nodes(first, second)
    hashes = await proof_hashes(gw, elements)
    return web.json_response(
        {"first": first, "second": second, "hashes": [_b64(h) for h in hashes]}
    )


_DECISION_TEXT = {
    "disclosed": "shared information",
    "refused": "was refused sharing information",
    "delivered": "confirmed receiving information",
    "purged": "had information deleted unread after its retention",
    "consent_recorded": "recorded consent",
    "consent_withdrawn": "recorded the withdrawal of consent",
    "birth_date_corrected": "corrected the birth date the gateway holds for this person",
    "audit_access": "looked up this person in the disclosure log",
    "case_opened": "opened a case",
    "case_member_added": "registered a case network membership",
    "case_member_changed": "changed a case network membership",
    "case_member_removed": "ended a case network membership",
}


def _sentence(gw: Gateway, entry: LogEntry) -> str:
    """One plain-language line: who did what, with whom, why."""
    sender = entry.sender.partner if entry.sender else "the gateway"
    sender_name = _partner_name(gw, sender)
    text = f"{sender_name} {_DECISION_TEXT.get(entry.decision, entry.decision)}"
    purpose = gw.catalogue.get(entry.purpose) if entry.purpose else None
    if purpose is not None:
        text += f" ({purpose.title['en']} / {purpose.title['nl']})"
    if entry.recipient:
        text += f" with {_partner_name(gw, entry.recipient)}"
    if entry.legal_basis:
        text += f", on the basis of {entry.legal_basis.get('reference')}"
    if entry.consent_id:
        text += f" (consent {entry.consent_id})"
    if entry.fields:
        text += f"; information shared: {', '.join(entry.fields)}"
    return text + "."


def _partner_name(gw: Gateway, partner_id: str) -> str:
    partner = gw.partners.get(partner_id)
    return partner_id if partner is None else partner.name


async def _subject_rows(gw: Gateway, subject: str, oversight: Oversight) -> list[LogRow]:
    rows: list[LogRow] = []
    after: int | None = None
    flt = LogFilter(subject=subject, parties=oversight.parties)
    while True:
        page = await gw.storage.search_log(flt, after=after, limit=1000)
        rows.extend(page)
        if len(page) < 1000:
            return rows
        after = page[-1].index


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
    subject = gw.pseudonymiser.pseudonym_of(named)
    report = await subject_report(
        gw,
        subject,
        _officer(caller),
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


async def subject_report(
    gw: Gateway,
    subject: str,
    officer: Sender,
    *,
    oversight: Oversight,
    subject_system: str | None = None,
) -> dict[str, Any]:
    """Everything the log holds about one person that the officer may see (what the
    organisations it oversees did), in plain language; the look is logged."""
    rows = await _subject_rows(gw, subject, oversight)
    await log_look(gw, officer, subject, "subject_access_report", subject_system=subject_system)
    now = gw.now()
    items = [
        {
            "index": r.index,
            "time": format_time(r.entry.time),
            "decision": r.entry.decision,
            "purpose": r.entry.purpose,
            "from": None if r.entry.sender is None else r.entry.sender.partner,
            "to": r.entry.recipient,
            "legal_basis": r.entry.legal_basis,
            "consent_id": r.entry.consent_id,
            "fields": list(r.entry.fields),
            "text": _sentence(gw, r.entry),
        }
        for r in rows
    ]
    return {
        "generated_at": format_time(now),
        "generated_by": {"partner": officer.partner, "actor": officer.actor},
        "oversees": oversees_json(oversight),
        "subject": subject,
        "count": len(items),
        "disclosures": items,
    }


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


def break_glass_view(gw: Gateway, record: BreakGlassRecord) -> dict[str, Any]:
    """A break-glass record opened for the officer: justification, meldcode answers, review."""
    opened = json.loads(
        gw.cipher.open(record.sealed, b"break-glass:" + record.exchange_id.encode())
    )
    note = None
    if record.sealed_note is not None:
        note = gw.cipher.open(
            record.sealed_note, b"break-glass-note:" + record.exchange_id.encode()
        )
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
    return web.json_response({"break_glass": [break_glass_view(gw, r) for r in records]})


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
        officer=_officer(caller),
        oversight=oversight_of(caller.partner),
    )
    return web.json_response({"exchange_id": exchange_id, "status": status, "log_index": index})


async def record_review(
    gw: Gateway,
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
