"""`GET /v1/disclosures`: a partner's own view of the log, with proofs it can check itself.

A partner sees every entry in which it is the sender (what it sent, and what it was refused), and
every entry in which it is the recipient of what was disclosed to it; for each one it can get the
exact leaf, an RFC 9162 inclusion proof and the signed checkpoint it leads to: so it can verify,
without trusting the operator, what was disclosed in its name. It never learns from this list that
a share *to* it was refused, nor of a case network's member its kind may not see
(`[case_network_visibility]`).
"""

from __future__ import annotations

import base64

from aiohttp import web

from gateway.container import Gateway
from gateway.errors import InvalidRequest, NotFound
from gateway.log.entry import LogEntry
from gateway.log.merkle import inclusion_proof_nodes
from gateway.policy.decision import Caller
from gateway.store.base import LogFilter, LogRow
from gateway.subject import parse_subject_query
from gateway.web.audit import entry_json, proof_hashes, query_time
from gateway.web.common import authenticate, gateway, whole_number

__all__ = ["routes"]

routes = web.RouteTableDef()
MAX_LIMIT = 500
# Entries a partner may not see are skipped; a page reads at most this many batches of the log
# before it answers what it has found (with a cursor to go on from).
_MAX_BATCHES = 8


def _shown_to(gw: Gateway, caller: Caller, entry: LogEntry) -> bool:
    """Whether an entry of the log is the caller's to see in its disclosure list."""
    pid = caller.partner.id
    if entry.sender is not None and entry.sender.partner == pid:
        if entry.recipient is None or entry.recipient == pid or "case_network" not in entry.details:
            return True
        # What a case-network send did with a member the sender's kind may not see stays hidden.
        other = gw.partners.get(entry.recipient)
        return other is not None and gw.catalogue.case_network_visibility.sees(
            caller.partner.kind, other.kind
        )
    # As a recipient: what was disclosed to it, never that a share to it was refused.
    return entry.recipient == pid and entry.decision != "refused"


async def _own_page(
    gw: Gateway, caller: Caller, flt: LogFilter, *, after: int | None, limit: int
) -> tuple[list[LogRow], int | None]:
    """One page of the caller's own entries, and the cursor of the next (None on the last)."""
    shown: list[LogRow] = []
    cursor = after
    for _ in range(_MAX_BATCHES):
        rows = await gw.storage.search_log(flt, after=cursor, limit=limit + 1)
        for row in rows:
            if _shown_to(gw, caller, row.entry):
                if len(shown) == limit:
                    return shown, shown[-1].index
                shown.append(row)
            cursor = row.index
        if len(rows) <= limit:
            return shown, None
    return shown, cursor


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
    rows, following = await _own_page(
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
    rows = await gw.storage.log_rows(index, index + 1)
    entry = rows[0].entry if rows else None
    if entry is None or not _shown_to(gw, caller, entry):
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
