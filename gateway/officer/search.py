"""Searching the log and opening one entry with its inclusion proof.

The search is a POST form, so a BSN never sits in a URL (history, proxies, logs). It is turned
into the log's pseudonym at once; the page shows neither, and the next-page form carries only
the pseudonym. Every search and every opened entry is logged as the officer's look.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from gateway.audit.integrity import prove_entry
from gateway.audit.search import entry_json, log_look, officer_page
from gateway.container import Gateway
from gateway.errors import InvalidRequest, InvalidSubject, NotFound
from gateway.log.entry import DECISIONS
from gateway.officer.i18n import Translator
from gateway.officer.names import partner_name, purpose_title
from gateway.officer.render import Frame, gateway_of, render
from gateway.officer.signin import SignedIn, checked_form, form_text, frame_for, signed_in
from gateway.store.base import LogFilter, LogRow
from gateway.store.links import UNLINKED, logged_subject, searchable_pseudonym
from gateway.subject import IdentifierSystem, Subject, parse_subject, validate_bsn
from gateway.web.common import whole_number

__all__ = [
    "FormProblem",
    "SearchQuery",
    "form_subject",
    "identifier_systems",
    "parse_search",
    "routes",
]

routes = web.RouteTableDef()
PAGE_SIZE = 50
_ID = re.compile(r"[a-z0-9-]{1,64}")
_PSEUDONYM = re.compile(r"[0-9a-f]{64}")
_FIELDS = ("partner", "purpose", "decision", "since", "until")


class FormProblem(ValueError):
    """A search form field that cannot be used; `key` is the text that explains it."""

    def __init__(self, key: str, field: str) -> None:
        super().__init__(key)
        self.key = key
        self.field = field


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A search as the form asked it, with the person already a pseudonym."""

    subject: str | None = None
    subject_system: str | None = None  # the identifier system; None for a BSN
    partner: str | None = None
    purpose: str | None = None
    decision: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    after: int | None = None

    def log_filter(self) -> LogFilter:
        return LogFilter(
            subject=self.subject,
            partner=self.partner,
            purpose=self.purpose,
            decision=self.decision,
            since=None if self.since is None else datetime.combine(self.since, time(0), UTC),
            until=None
            if self.until is None
            else datetime.combine(self.until + timedelta(days=1), time(0), UTC),
        )

    def facts(self) -> dict[str, str]:
        """The filters other than the person, as logged with the look (no personal data)."""
        return {
            name: str(value)
            for name, value in (
                ("partner", self.partner),
                ("purpose", self.purpose),
                ("decision", self.decision),
                ("since", self.since),
                ("until", self.until),
            )
            if value is not None
        }

    def carried(self) -> list[tuple[str, str]]:
        """Hidden fields that make the next page the same search (the pseudonym, not the BSN)."""
        fields = list(self.facts().items())
        if self.subject is not None:
            fields.insert(0, ("subject", self.subject))
            if self.subject_system is not None:
                fields.insert(1, ("system", self.subject_system))
        return fields


def _date(fields: Mapping[str, str], name: str) -> date | None:
    raw = fields.get(name, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FormProblem("search.bad_date", name) from None


def _choice(fields: Mapping[str, str], name: str, allowed: Callable[[str], object]) -> str | None:
    raw = fields.get(name, "")
    if not raw:
        return None
    if not allowed(raw):
        raise FormProblem("search.bad_choice", "bsn" if name == "subject" else name)
    return raw


def form_subject(
    fields: Mapping[str, str], systems: Mapping[str, IdentifierSystem]
) -> Subject | None:
    """The person a form names: a BSN, or a number of the identifier system chosen beside it
    (a pupil's onderwijsnummer, say). None when the number is left empty."""
    number = fields.get("bsn", "").strip().replace(" ", "")
    if not number:
        return None
    system = fields.get("system", "")
    if not system:
        try:
            return Subject("bsn", validate_bsn(number))
        except InvalidSubject:
            raise FormProblem("search.bad_bsn", "bsn") from None
    try:
        return parse_subject({"identifier": {"system": system, "value": number}}, systems)
    except (InvalidSubject, InvalidRequest):
        raise FormProblem("search.bad_number", "bsn") from None


def parse_search(
    fields: Mapping[str, str],
    pseudonym_of: Callable[[Subject], str],
    systems: Mapping[str, IdentifierSystem],
) -> SearchQuery:
    """Read the search form; the number goes through `pseudonym_of` and goes no further."""
    subject = None
    named = form_subject(fields, systems)
    system = None if named is None else named.system
    if named is not None:
        subject = pseudonym_of(named)
    elif fields.get("subject"):
        subject = _choice(fields, "subject", _PSEUDONYM.fullmatch)
        system = _choice(fields, "system", systems.__contains__)
    after = fields.get("after", "")
    return SearchQuery(
        subject=subject,
        subject_system=system,
        partner=_choice(fields, "partner", _ID.fullmatch),
        purpose=_choice(fields, "purpose", _ID.fullmatch),
        decision=_choice(fields, "decision", DECISIONS.__contains__),
        since=_date(fields, "since"),
        until=_date(fields, "until"),
        after=whole_number(after),
    )


def identifier_systems(gw: Gateway, language: str) -> list[tuple[str, str]]:
    """The number systems a form may name a person by besides the BSN, as (system, title)."""
    return [
        (s.system, s.title.get(language) or s.system)
        for s in gw.catalogue.identifier_systems.values()
    ]


def _options(gw: Gateway, t: Translator) -> dict[str, list[tuple[str, str]]]:
    return {
        "partner": sorted(((p.id, p.name) for p in gw.partners), key=lambda o: o[1]),
        "purpose": [(p.id, purpose_title(gw, p.id, t.language)) for p in gw.catalogue],
        "system": identifier_systems(gw, t.language),
        "decision": sorted(((d, t.decision(d)) for d in DECISIONS), key=lambda o: o[1]),
    }


def _result(gw: Gateway, t: Translator, row: LogRow) -> dict[str, Any]:
    entry = row.entry
    return {
        "index": row.index,
        "time": entry.time,
        "decision": t.decision(entry.decision),
        "reason": t.reason_of(entry.decision, entry.reason),
        "purpose": purpose_title(gw, entry.purpose, t.language) if entry.purpose else "",
        "sender": partner_name(gw, entry.sender.partner if entry.sender else None),
        "recipient": partner_name(gw, entry.recipient) if entry.recipient else "",
        "break_glass": entry.break_glass,
    }


def _search_page(
    request: web.Request,
    frame: Frame,
    values: Mapping[str, Any],
    *,
    status: int = 200,
) -> web.Response:
    gw = gateway_of(request)
    blank: dict[str, Any] = {
        "options": _options(gw, frame.t),
        "query": SearchQuery(),
        "chosen": {},
        "problem": None,
        "results": None,
        "next_after": None,
        "by_subject": False,
    }
    return render(request, "search.html", frame, {**blank, **values}, status=status)


@routes.get("/search")
async def search_form(request: web.Request) -> web.Response:
    officer = await signed_in(request)
    return _search_page(request, frame_for(request, officer, "search"), {})


@routes.post("/search")
async def search(request: web.Request) -> web.Response:
    """Run a search and log it; a BSN is never echoed, not even back into its input."""
    officer: SignedIn = await signed_in(request)
    form = await checked_form(request, officer)
    gw = gateway_of(request)
    frame = frame_for(request, officer, "search")
    names = ("bsn", "system", "subject", "after", *_FIELDS)
    fields = {name: form_text(form, name) for name in names}
    try:
        systems = gw.catalogue.identifier_systems
        named = form_subject(fields, systems)
        found = (
            None
            if named is None
            else await searchable_pseudonym(gw.storage, gw.pseudonymiser, named)
        )
        query = parse_search(fields, lambda _: found or UNLINKED, systems)
    except FormProblem as problem:
        # The other filters are kept for the officer to correct; the BSN never comes back.
        chosen = {name: fields[name] for name in _FIELDS}
        return _search_page(request, frame, {"problem": problem, "chosen": chosen}, status=400)
    rows, following = await officer_page(
        gw.storage, query.log_filter(), officer.oversight, after=query.after, limit=PAGE_SIZE
    )
    facts: dict[str, Any] = {"filters": query.facts()}
    if query.after is not None:
        facts["after"] = query.after
    await log_look(
        gw,
        officer.sender,
        logged_subject(query.subject),
        "search_by_subject" if query.subject else "search",
        facts,
        subject_system=query.subject_system,
    )
    return _search_page(
        request,
        frame,
        {
            "query": query,
            "chosen": query.facts(),
            "results": [_result(gw, frame.t, row) for row in rows],
            "next_after": following,
            "by_subject": query.subject is not None,
        },
    )


@routes.get("/entries/{index}")
async def entry(request: web.Request) -> web.Response:
    """Everything the log holds for one entry, and its inclusion proof verified; an entry the
    officer may not see is as absent as one that is not there."""
    officer = await signed_in(request)
    gw = gateway_of(request)
    index = whole_number(request.match_info["index"])
    rows = [] if index is None else await gw.storage.log_rows(index, index + 1)
    if not rows or not officer.oversight.may_see(rows[0].entry):
        raise NotFound("the log has no such entry")
    row = rows[0]
    proof = await prove_entry(gw, row)
    await log_look(gw, officer.sender, row.entry.subject, "entry_viewed", {"index": row.index})
    frame = frame_for(request, officer, "search")
    return render(
        request,
        "entry.html",
        frame,
        {
            "index": row.index,
            "fields": _entry_fields(gw, frame.t, row),
            "leaf": row.leaf.decode("utf-8", errors="replace"),
            "proof": proof,
        },
    )


def _entry_fields(gw: Gateway, t: Translator, row: LogRow) -> list[tuple[str, str, str]]:
    """Every field of the entry as (name, label, text); ids get their names beside them."""
    entry = row.entry
    named = {
        "purpose": purpose_title(gw, entry.purpose, t.language) if entry.purpose else None,
        "recipient": partner_name(gw, entry.recipient) if entry.recipient else None,
        "decision": t.decision(entry.decision),
    }
    out = []
    for name, value in entry_json(row).items():
        text = _text(t, value)
        if named.get(name) and named[name] != text:
            text = f"{text} ({named[name]})"
        if name == "sender" and entry.sender is not None:
            text = f"{partner_name(gw, entry.sender.partner)}: {text}"
        label = t(f"field.{name}") if t.has(f"field.{name}") else name
        out.append((name, label, text))
    return out


def _text(t: Translator, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return t("yes") if value else t("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        parts = [
            f"{key}: {json.dumps(item, ensure_ascii=False) if isinstance(item, dict | list) else item}"
            for key, item in sorted(value.items())
        ]
        return "; ".join(parts) or "—"
    return str(value)
