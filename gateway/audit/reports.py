"""The subject access report (AVG art. 15): what the log holds about one person, in plain words."""

from __future__ import annotations

from typing import Any

from gateway.audit.deps import AuditContext, Directory
from gateway.audit.search import log_look, oversees_json
from gateway.log.entry import LogEntry, Sender, format_time
from gateway.policy.oversight import Oversight
from gateway.store.base import LogFilter, LogRow, LogStore
from gateway.store.links import logged_subject

__all__ = ["subject_report"]


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
    "case_closed": "closed a case",
    "case_reopened": "reopened a case",
    "procesregie_handed_over": "handed over procesregie of a case",
    "child_direction_set": "set who directs the help for the person as a child in a case",
    "household_child_registered": "registered the person as a child in a case's household",
    "urgent_escalated": "sent an urgent message that was not acknowledged in time",
}


def _sentence(gw: Directory, entry: LogEntry) -> str:
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


def _partner_name(gw: Directory, partner_id: str) -> str:
    partner = gw.partners.get(partner_id)
    return partner_id if partner is None else partner.name


async def _subject_rows(store: LogStore, subject: str, oversight: Oversight) -> list[LogRow]:
    rows: list[LogRow] = []
    after: int | None = None
    flt = LogFilter(subject=subject, parties=oversight.parties)
    while True:
        page = await store.search_log(flt, after=after, limit=1000)
        rows.extend(page)
        if len(page) < 1000:
            return rows
        after = page[-1].index


async def subject_report(
    gw: AuditContext,
    subject: str,
    officer: Sender,
    *,
    oversight: Oversight,
    subject_system: str | None = None,
) -> dict[str, Any]:
    """Everything the log holds about one person that the officer may see (what the
    organisations it oversees did), in plain language; the look is logged."""
    rows = await _subject_rows(gw.storage, subject, oversight)
    # A person nothing is linked to (never seen, or erased) is named by no pseudonym.
    shown = logged_subject(subject)
    await log_look(gw, officer, shown, "subject_access_report", subject_system=subject_system)
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
        "subject": shown,
        "count": len(items),
        "disclosures": items,
    }
