"""Sign-in links, sessions and CSRF tokens of the officer's workspace: pure rules, no I/O.

A sign-in link carries 32 random bytes; storage keeps only their SHA-256, so a copy of the
database signs nobody in. The same holds for the session cookie. The CSRF token of a form is
derived from the session's own secret (HMAC), so it needs no storage and one session's token
is worthless in another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from gateway.errors import Forbidden, InvalidToken
from gateway.store.base import OfficerLink, OfficerSession

__all__ = [
    "LANGUAGES",
    "LINK_LIFETIME",
    "SESSION_ABSOLUTE",
    "SESSION_IDLE",
    "TOUCH_AFTER",
    "CookiePolicy",
    "CsrfRefused",
    "LinkUnusable",
    "NotAnOfficer",
    "NotSignedIn",
    "SessionExpired",
    "cookie_policy",
    "csrf_token",
    "needs_touch",
    "new_secret",
    "new_session",
    "new_sign_in_link",
    "secret_hash",
    "verify_csrf",
    "verify_session_alive",
]

LINK_LIFETIME = timedelta(minutes=15)
SESSION_IDLE = timedelta(hours=8)
SESSION_ABSOLUTE = timedelta(hours=12)
# Recording every request's time would make each page view a write; a minute's precision
# is plenty against an idle limit of hours.
TOUCH_AFTER = timedelta(minutes=1)
LANGUAGES = ("nl", "en")
_SECRET_BYTES = 32


class NotSignedIn(InvalidToken):
    """No live officer session: the cookie is missing, unknown, revoked or expired."""

    default_how_to_fix = (
        "Ask the operator for a sign-in link (gateway officer sign-in-link) and open it."
    )
    text_key: ClassVar[str] = "error.not_signed_in"  # what the page says, in its language


class SessionExpired(NotSignedIn):
    """The session was idle for 8 hours, or began 12 hours ago."""

    text_key = "error.session_expired"


class LinkUnusable(NotSignedIn):
    """A sign-in link or code that is unknown, used already, or expired."""

    default_how_to_fix = "Ask the operator for a new sign-in link; each works once, 15 minutes."
    text_key = "error.link_unusable"


class NotAnOfficer(Forbidden):
    """The account is not (or no longer) a registered privacy officer."""

    default_how_to_fix = "Sign in with a privacy officer's account."
    text_key: ClassVar[str] = "error.not_officer"


class CsrfRefused(Forbidden):
    """A form arrived without this session's CSRF token."""

    default_how_to_fix = "Reload the page and submit the form again."
    text_key: ClassVar[str] = "error.csrf"


def new_secret() -> str:
    """32 random bytes, URL-safe: a sign-in link's token or a session cookie's value."""
    return secrets.token_urlsafe(_SECRET_BYTES)


def secret_hash(secret: str) -> str:
    """What storage keeps instead of a secret: its hex SHA-256."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_sign_in_link(officer: str, actor: str, now: datetime) -> tuple[str, OfficerLink]:
    """A new one-time link for an officer: the token to hand over and the record to keep."""
    token = new_secret()
    return token, OfficerLink(secret_hash(token), officer, actor, now + LINK_LIFETIME)


def new_session(link: OfficerLink, now: datetime, language: str) -> tuple[str, OfficerSession]:
    """A session for whoever redeemed `link`: the cookie value and the record to keep."""
    token = new_secret()
    return token, OfficerSession(secret_hash(token), link.officer, link.actor, now, now, language)


def verify_session_alive(session: OfficerSession, now: datetime) -> None:
    """Raise SessionExpired when a session has been idle too long or lived too long."""
    if now - session.seen_at >= SESSION_IDLE:
        raise SessionExpired("the session expired after 8 hours without use")
    if now - session.created_at >= SESSION_ABSOLUTE:
        raise SessionExpired("the session expired 12 hours after signing in")


def needs_touch(session: OfficerSession, now: datetime, language: str) -> bool:
    """Whether storage should hear of this use (time moved on, or the language changed)."""
    return now - session.seen_at >= TOUCH_AFTER or language != session.language


def csrf_token(secret: str, purpose: str = "officer-form") -> str:
    """The CSRF token that forms of the session (or sign-in attempt) holding `secret` carry."""
    mac = hmac.new(secret.encode("utf-8"), purpose.encode("ascii"), hashlib.sha256)
    return mac.hexdigest()


def verify_csrf(secret: str, presented: str | None, purpose: str = "officer-form") -> None:
    """Raise CsrfRefused unless `presented` is the token of `secret`, compared in constant time."""
    expected = csrf_token(secret, purpose)
    if presented is None or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise CsrfRefused("the form's security token is missing or belongs to another session")


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """How the session cookie is named and flagged on one connection."""

    session_name: str
    sign_in_name: str  # the short-lived cookie binding the sign-in form to its browser
    secure: bool


def cookie_policy(secure: bool) -> CookiePolicy:
    """`__Host-` names with Secure over TLS (bound to this host, path /); plain names on http."""
    if secure:
        return CookiePolicy("__Host-gw_officer", "__Host-gw_officer_sign_in", True)
    return CookiePolicy("gw_officer", "gw_officer_sign_in", False)
