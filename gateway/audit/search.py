"""Pages of the disclosure log as an officer or a partner may see them, and the logged look."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from gateway.audit.deps import AuditContext, AuditLog
from gateway.config import Catalogue, PartnerRegistry
from gateway.errors import NotFound
from gateway.log.entry import LogEntry, Sender
from gateway.policy.decision import Caller
from gateway.policy.oversight import OVERSEES_ALL, Oversight
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import LogFilter, LogRow, LogStore

__all__ = [
    "entry_json",
    "log_look",
    "officer_page",
    "officer_sender",
    "oversees_json",
    "own_page",
    "search_page",
    "shown_to_partner",
    "visible_row",
]

# Entries a partner may not see are skipped; a page of its own reads at most this many batches
# of the log before it answers what it has found (with a cursor to go on from).
_MAX_BATCHES = 8


def entry_json(row: LogRow) -> dict[str, Any]:
    """A log entry as the audit API shows it: the leaf's fields plus its index."""
    return {"index": row.index, **row.entry.to_json()}


def officer_sender(caller: Caller) -> Sender:
    """The officer as the log names it: its partner, actor and role."""
    return Sender(caller.partner.id, caller.actor_id, caller.actor_role)


def oversees_json(oversight: Oversight) -> str | list[str]:
    """Whose entries an officer sees, as `partners.toml` says it: "all" or the partner ids."""
    if oversight.organisations is None:
        return OVERSEES_ALL
    return sorted(oversight.organisations)


async def log_look(
    gw: AuditLog,
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
    store: LogStore, flt: LogFilter, *, after: int | None, limit: int
) -> tuple[list[LogRow], int | None]:
    """One page of a log search and the cursor of the next page (None on the last)."""
    rows = await store.search_log(flt, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].index if more and rows else None


async def officer_page(
    store: LogStore, flt: LogFilter, oversight: Oversight, *, after: int | None, limit: int
) -> tuple[list[LogRow], int | None]:
    """One page of the entries matching `flt` that the officer may see, and the next cursor."""
    flt = dataclasses.replace(flt, parties=oversight.parties)
    return await search_page(store, flt, after=after, limit=limit)


async def visible_row(store: LogStore, index: int, oversight: Oversight) -> LogRow:
    """Entry `index` if the officer may see it; else the same NotFound as for no entry at all,
    so that an officer cannot tell another organisation's entry from a gap."""
    rows = await store.log_rows(index, index + 1)
    if not rows or not oversight.may_see(rows[0].entry):
        raise NotFound(
            f"no log entry {index} that you may see",
            "GET /v1/audit/checkpoint gives the log's size; entries that name none of the "
            "organisations you oversee are not shown to you.",
        )
    return rows[0]


def shown_to_partner(
    catalogue: Catalogue, partners: PartnerRegistry, caller: Caller, entry: LogEntry
) -> bool:
    """Whether an entry of the log is the caller's to see in its disclosure list.

    Never a `token_refused` entry: whoever holds one of the partner's access tokens could read
    in it which of its forged or replayed assertions failed and why (`bad_signature`,
    `jti_replayed`, ...), the very thing `/v1/token` keeps terse. The partner's privacy officers
    see those entries (`Oversight`), and investigate misuse of its credentials from there.
    """
    pid = caller.partner.id
    if entry.decision == "token_refused":
        return False
    if entry.sender is not None and entry.sender.partner == pid:
        if entry.recipient is None or entry.recipient == pid or "case_network" not in entry.details:
            return True
        # What a case-network send did with a member the sender's kind may not see stays hidden.
        other = partners.get(entry.recipient)
        return other is not None and catalogue.case_network_visibility.sees(
            caller.partner.kind, other.kind
        )
    # As a recipient: what was disclosed to it, never that a share to it was refused.
    return entry.recipient == pid and entry.decision != "refused"


async def own_page(
    gw: AuditContext, caller: Caller, flt: LogFilter, *, after: int | None, limit: int
) -> tuple[list[LogRow], int | None]:
    """One page of the caller's own entries, and the cursor of the next (None on the last)."""
    shown: list[LogRow] = []
    cursor = after
    for _ in range(_MAX_BATCHES):
        rows = await gw.storage.search_log(flt, after=cursor, limit=limit + 1)
        for row in rows:
            if shown_to_partner(gw.catalogue, gw.partners, caller, row.entry):
                if len(shown) == limit:
                    return shown, shown[-1].index
                shown.append(row)
            cursor = row.index
        if len(rows) <= limit:
            return shown, None
    return shown, cursor
