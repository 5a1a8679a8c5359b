"""Erasing a person's link to the records (AVG art. 17), as a page of the workspace.

The act is the audit API's own (`gateway.audit.erasure.erase_subject`), logged there as
`subject_link_erased` with the officer and the reason, never the person; this page says what it
does and does not undo, takes the officer's confirmation and answers with the outcome. Only the
officer who oversees every organisation sees the page in the menu or may open it; any other gets
the API's own refusal as a page.

The number the officer types is read once and goes no further than the erasure: not back into
the page, a URL, a log line or an error. The confirmation is a box ticked on the same form, under
the explanation, rather than a second page: a second page would have to hand the number back to
the browser to post it again.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from gateway.audit.erasure import erase_subject, verify_may_erase
from gateway.errors import NotFound
from gateway.officer.i18n import Translator
from gateway.officer.render import Frame, gateway_of, render
from gateway.officer.search import FormProblem, form_subject, identifier_systems
from gateway.officer.signin import SignedIn, checked_form, form_text, frame_for, signed_in
from gateway.policy.retention import ERASURE_REASONS
from gateway.subject import Subject

__all__ = ["routes"]

routes = web.RouteTableDef()
_FIELDS = ("bsn", "system", "reason", "confirm")
CONFIRMED = "erase"  # the value of the ticked confirmation box


def _reasons(t: Translator) -> list[tuple[str, str]]:
    """The reasons an erasure may give, as (code, words in the page's language)."""
    return [(code, t(f"erase.reason.{code}")) for code in ERASURE_REASONS]


def _form_page(
    request: web.Request,
    officer: SignedIn,
    frame: Frame,
    *,
    problem: FormProblem | None = None,
    chosen: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    values = {
        "problem": problem,
        "systems": identifier_systems(gateway_of(request), officer.language),
        "reasons": _reasons(frame.t),
        # The kind of number and the reason are kept for a correction; the number never is.
        "chosen": {name: (chosen or {}).get(name, "") for name in ("system", "reason")},
    }
    return render(request, "erase_form.html", frame, values, status=status)


def _read_form(fields: Mapping[str, str], request: web.Request) -> tuple[Subject, str]:
    """The person and the reason of a confirmed form, or the FormProblem that explains why not."""
    person = form_subject(fields, gateway_of(request).catalogue.identifier_systems)
    if person is None:
        raise FormProblem("search.bad_bsn", "bsn")
    if fields["reason"] not in ERASURE_REASONS:
        raise FormProblem("erase.bad_reason", "reason")
    if fields["confirm"] != CONFIRMED:
        raise FormProblem("erase.not_confirmed", "confirm")
    return person, fields["reason"]


@routes.get("/erase")
async def erase_form(request: web.Request) -> web.Response:
    """The erasure form, with what erasure does and does not do above the confirmation."""
    officer = await signed_in(request)
    verify_may_erase(officer.oversight)
    return _form_page(request, officer, frame_for(request, officer, "erase"))


@routes.post("/erase")
async def erase(request: web.Request) -> web.Response:
    """Erase the named person's link once the officer confirmed; answer what happened."""
    officer = await signed_in(request)
    # Refused before the form is even read: an officer who may not erase gets the API's answer.
    verify_may_erase(officer.oversight)
    form = await checked_form(request, officer)
    frame = frame_for(request, officer, "erase")
    fields = {name: form_text(form, name) for name in _FIELDS}
    try:
        person, reason = _read_form(fields, request)
    except FormProblem as problem:
        return _form_page(request, officer, frame, problem=problem, chosen=fields, status=400)
    try:
        index = await erase_subject(
            gateway_of(request), person, reason, officer.sender, officer.oversight
        )
    except NotFound:
        # As the API: nothing is linked to this person, nothing changed, nothing logged.
        return render(request, "erase_done.html", frame, {"index": None}, status=404)
    return render(
        request,
        "erase_done.html",
        frame,
        {"index": index, "reason": frame.t(f"erase.reason.{reason}")},
    )
