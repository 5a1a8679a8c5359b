"""`GET /v1/disclosures`: a partner's own view of the log, with proofs it can check itself.

A partner sees every entry in which it is the sender or the recipient, and for each one can get
the exact leaf, an RFC 9162 inclusion proof and the signed checkpoint it leads to: so it can
verify, without trusting the operator, what was disclosed in its name.
"""

from __future__ import annotations

import base64

from aiohttp import web

from gateway.errors import InvalidRequest, NotFound
from gateway.log.merkle import inclusion_proof_nodes
from gateway.store.base import LogFilter
from gateway.subject import parse_subject_query
from gateway.web.audit import entry_json, proof_hashes, query_time, search_page
from gateway.web.common import authenticate, gateway, whole_number

__all__ = ["routes"]

routes = web.RouteTableDef()
MAX_LIMIT = 500


def _number(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if not raw:
        return default
    number = whole_number(raw)
    if number is None:
        raise InvalidRequest(f"query parameter '{name}' must be a whole number")
    return number


@routes.get("/v1/disclosures")
async def disclosures(request: web.Request) -> web.Response:
    gw = gateway(request)
    caller = authenticate(request)
    subject = parse_subject_query(request.query, gw.catalogue.identifier_systems)
    limit = min(_number(request, "limit", 100) or 100, MAX_LIMIT)
    flt = LogFilter(
        subject=None if subject is None else gw.pseudonymiser.pseudonym_of(subject),
        partner=caller.partner.id,
        purpose=request.query.get("purpose") or None,
        decision=request.query.get("decision") or None,
        since=query_time(request, "since"),
        until=query_time(request, "until"),
    )
    rows, following = await search_page(gw, flt, after=_number(request, "after", None), limit=limit)
    return web.json_response(
        {
            "entries": [entry_json(r) for r in rows],
            "next": None if following is None else str(following),
        }
    )


@routes.get("/v1/disclosures/{index}/proof")
async def proof(request: web.Request) -> web.Response:
    """The leaf, its inclusion proof and the checkpoint it verifies against (own entries only)."""
    gw = gateway(request)
    caller = authenticate(request)
    index = whole_number(request.match_info["index"])
    if index is None:
        raise NotFound("no such log entry")
    rows = await gw.storage.log_rows(index, index + 1)
    entry = rows[0].entry if rows else None
    involved = entry is not None and caller.partner.id in (
        entry.recipient,
        None if entry.sender is None else entry.sender.partner,
    )
    if not involved:
        # Not yours and not there look the same: the log's other entries are not your business.
        raise NotFound("no log entry of yours has that index")
    latest = await gw.storage.latest_checkpoint()
    if latest is None or latest.size <= index:
        raise NotFound("that entry is not covered by a signed checkpoint yet", "Retry in a second.")
    hashes = await proof_hashes(gw, inclusion_proof_nodes(index, latest.size))
    return web.json_response(
        {
            "index": index,
            "tree_size": latest.size,
            "leaf": base64.b64encode(rows[0].leaf).decode(),
            "hashes": [base64.b64encode(h).decode() for h in hashes],
            "checkpoint": latest.note,
        }
    )
