"""`GET /v1/disclosures`: a partner's own view of the log, with proofs it can check itself.

A partner sees every entry in which it is the sender (what it sent, and what it was refused), and
every entry in which it is the recipient of what was disclosed to it; for each one it can get the
exact leaf, an RFC 9162 inclusion proof and the signed checkpoint it leads to: so it can verify,
without trusting the operator, what was disclosed in its name. It never learns from this list that
a share *to* it was refused, nor of a case network's member its kind may not see
(`[case_network_visibility]`), nor why a token request in its name was refused (`token_refused`:
its privacy officers read those).
"""

from __future__ import annotations

from aiohttp import web

from gateway.audit.proofs import disclosure_proof
from gateway.audit.search import entry_json, own_page
from gateway.errors import InvalidRequest, NotFound
from gateway.store.base import LogFilter
from gateway.store.links import searchable_pseudonym
from gateway.subject import parse_subject_query
from gateway.web.common import authenticate, gateway, query_time, whole_number

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
        subject=None
        if subject is None
        else await searchable_pseudonym(gw.storage, gw.pseudonymiser, subject),
        partner=caller.partner.id,
        purpose=request.query.get("purpose") or None,
        decision=request.query.get("decision") or None,
        since=query_time(request, "since"),
        until=query_time(request, "until"),
    )
    rows, following = await own_page(
        gw, caller, flt, after=_number(request, "after", None), limit=limit
    )
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
    proof = await disclosure_proof(gw.storage, gw.catalogue, gw.partners, caller, index)
    return web.json_response(proof)
