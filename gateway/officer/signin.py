"""Signing in with a one-time link, the session behind every page, and signing out.

Pages know the officer only by the session cookie; an Authorization header is never looked at,
so no partner's (or officer's) API token opens a page. Signing in and out are logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from aiohttp import web

from gateway.audit.erasure import may_erase
from gateway.config import Partner
from gateway.i18n import negotiate_language
from gateway.log.entry import LogEntry, Sender
from gateway.officer.i18n import Translator, pick_language
from gateway.officer.render import Frame, frame, gateway_of, render
from gateway.officer.sessions import (
    LINK_LIFETIME,
    SESSION_ABSOLUTE,
    SESSION_IDLE,
    CookiePolicy,
    CsrfRefused,
    LinkUnusable,
    NotAnOfficer,
    NotSignedIn,
    cookie_policy,
    csrf_token,
    needs_touch,
    new_secret,
    new_session,
    secret_hash,
    verify_csrf,
    verify_session_alive,
)
from gateway.policy.oversight import Oversight, oversight_of
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import OfficerSession
from gateway.web.common import read_form

__all__ = [
    "LANGUAGE",
    "OFFICER_ROLE",
    "SignedIn",
    "checked_form",
    "form_text",
    "frame_for",
    "request_language",
    "routes",
    "signed_in",
]

log = structlog.get_logger("gateway.officer")
routes = web.RouteTableDef()

OFFICER_ROLE = "privacy_officer"
LANGUAGE: web.RequestKey[str] = web.RequestKey("officer_language", str)
_SIGN_IN_FORM = "officer-sign-in"
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The officer behind a live session."""

    partner: Partner
    session: OfficerSession
    secret: str  # the cookie's value: forms' CSRF tokens derive from it
    language: str

    @property
    def sender(self) -> Sender:
        """How the officer appears in log entries."""
        return Sender(self.partner.id, self.session.actor, OFFICER_ROLE)

    @property
    def oversight(self) -> Oversight:
        """Whose log entries this officer may see."""
        return oversight_of(self.partner)

    @property
    def csrf(self) -> str:
        return csrf_token(self.secret)


def _policy(request: web.Request) -> CookiePolicy:
    # Behind a TLS-terminating proxy the request itself is plain http; public_url tells.
    secure = request.secure or gateway_of(request).settings.public_url.startswith("https://")
    return cookie_policy(secure)


def request_language(request: web.Request) -> str:
    """The language a page answers in before (or without) a session."""
    return pick_language(
        request.get(LANGUAGE),
        request.query.get("lang"),
        negotiate_language(request.headers.get("Accept-Language")),
    )


def _officer_partner(request: web.Request, partner_id: str) -> Partner:
    partner = gateway_of(request).partners.get(partner_id)
    if partner is None or partner.kind != OFFICER_ROLE:
        raise NotAnOfficer("this account is not a registered privacy officer")
    return partner


async def signed_in(request: web.Request) -> SignedIn:
    """The signed-in officer, or NotSignedIn (401) / NotAnOfficer (403)."""
    gw = gateway_of(request)
    secret = request.cookies.get(_policy(request).session_name, "")
    if not _SECRET_SHAPE.fullmatch(secret):
        raise NotSignedIn("no officer session: sign in first")
    session = await gw.storage.officer_session(secret_hash(secret))
    if session is None:
        raise NotSignedIn("this session has ended: sign in again")
    now = gw.now()
    verify_session_alive(session, now)
    partner = _officer_partner(request, session.officer)
    language = pick_language(request.query.get("lang"), session.language)
    request[LANGUAGE] = language
    if needs_touch(session, now, language):
        await gw.storage.touch_officer_session(session.session_hash, now, language)
    return SignedIn(partner, session, secret, language)


def form_text(form: Mapping[str, object], name: str) -> str:
    """A form field's text ('' when absent or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def checked_form(request: web.Request, officer: SignedIn) -> Mapping[str, object]:
    """The posted form, once its CSRF token proves it came from this session's pages."""
    form = await read_form(request)
    verify_csrf(officer.secret, form_text(form, "csrf") or None)
    return form


def frame_for(request: web.Request, officer: SignedIn, current: str | None) -> Frame:
    """The page frame for a signed-in officer, with whose entries it sees and what it may do."""
    t = Translator(officer.language)
    return frame(
        request,
        t,
        current=current,
        officer_name=officer.partner.name,
        actor=officer.session.actor,
        csrf=officer.csrf,
        oversees=oversees_text(request, officer.oversight, t),
        may_erase=may_erase(officer.oversight),
    )


def oversees_text(request: web.Request, oversight: Oversight, t: Translator) -> str:
    """ "You oversee: ..." in the page's language, the organisations by name."""
    if oversight.organisations is None:
        return t("oversees.all")
    gw = gateway_of(request)
    names = []
    for partner_id in sorted(oversight.organisations):
        partner = gw.partners.get(partner_id)
        names.append(partner_id if partner is None else partner.name)
    return t("oversees.some", names=", ".join(sorted(names)))


def _set_cookie(
    response: web.Response, policy: CookiePolicy, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="Strict",
        secure=policy.secure,
        path="/",
    )


def _drop_cookie(response: web.Response, policy: CookiePolicy, name: str) -> None:
    response.del_cookie(name, path="/", secure=policy.secure, httponly=True, samesite="Strict")


@routes.get("/sign-in")
async def sign_in_page(request: web.Request) -> web.Response:
    """The sign-in form: a link's token waits for a button press, so link scanners use nothing."""
    policy = _policy(request)
    token = request.query.get("token", "")
    nonce = new_secret()
    response = render(
        request,
        "sign_in.html",
        frame(request, Translator(request_language(request))),
        {
            "token": token if _SECRET_SHAPE.fullmatch(token) else "",
            "form_token": csrf_token(nonce, _SIGN_IN_FORM),
            "signed_out": request.query.get("signed_out") == "1",
        },
    )
    # Binds the form to this browser (login CSRF); gone once the link's lifetime has passed.
    _set_cookie(response, policy, policy.sign_in_name, nonce, int(LINK_LIFETIME.total_seconds()))
    return response


@routes.post("/sign-in")
async def sign_in(request: web.Request) -> web.Response:
    """Redeem a link or code once: start a session, log the sign-in, set the cookie."""
    gw = gateway_of(request)
    policy = _policy(request)
    form = await read_form(request)
    nonce = request.cookies.get(policy.sign_in_name, "")
    if not _SECRET_SHAPE.fullmatch(nonce):
        raise CsrfRefused("the sign-in form was not opened in this browser")
    verify_csrf(nonce, form_text(form, "csrf") or None, _SIGN_IN_FORM)
    token = form_text(form, "token") or form_text(form, "code")
    now = gw.now()
    link = None
    if _SECRET_SHAPE.fullmatch(token):
        link = await gw.storage.take_officer_link(secret_hash(token), now)
    if link is None:
        log.info("officer_sign_in_refused")
        raise LinkUnusable("this sign-in link is unknown, already used or expired")
    _officer_partner(request, link.officer)
    language = pick_language(form_text(form, "lang"), request_language(request))
    secret, session = new_session(link, now, language)
    await gw.storage.start_officer_session(
        session,
        LogEntry(
            time=now,
            decision="officer_signed_in",
            reason="sign_in_link",
            sender=Sender(link.officer, link.actor, OFFICER_ROLE),
            trace=current_trace_json(),
        ),
        idle_before=now - SESSION_IDLE,
    )
    response = web.Response(status=303, headers={"Location": "/officer/"})
    _set_cookie(
        response, policy, policy.session_name, secret, int(SESSION_ABSOLUTE.total_seconds())
    )
    _drop_cookie(response, policy, policy.sign_in_name)
    return response


@routes.post("/sign-out")
async def sign_out(request: web.Request) -> web.Response:
    """Revoke the session in storage (so its cookie is worthless everywhere) and log it."""
    gw = gateway_of(request)
    officer = await signed_in(request)
    await checked_form(request, officer)
    await gw.storage.end_officer_session(
        officer.session.session_hash,
        LogEntry(
            time=gw.now(),
            decision="officer_signed_out",
            sender=officer.sender,
            trace=current_trace_json(),
        ),
    )
    response = web.Response(
        status=303,
        headers={"Location": f"/officer/sign-in?signed_out=1&lang={officer.language}"},
    )
    _drop_cookie(response, _policy(request), _policy(request).session_name)
    return response
