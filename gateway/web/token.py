"""`POST /v1/token`: a partner's client assertion in, a short-lived access token out (RFC 7523).

Failures answer as RFC 6749 section 5.2 says, and nothing more: `invalid_request` for a request
that is not a well-formed token request (not form-encoded, a required parameter missing or
repeated, a client assertion type other than jwt-bearer), `unsupported_grant_type` for a grant
other than client_credentials, and the terse `invalid_client` for anything about the assertion
or the client, including an actor role the partner's kind may not hold. What exactly was wrong
goes only into the disclosure log as a `token_refused` entry, which the privacy officers who
oversee the partner (and the operator's officer) can read and an attacker cannot: the entry is
never in the partner's own `GET /v1/disclosures` nor its proofs (`gateway.audit.search`
`shown_to_partner`), so a stolen access token does not tell which forged assertions failed how.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import jwt
import structlog
from aiohttp import web

from gateway.auth.assertion import AssertionRejected, verify_actor_role, verify_client_assertion
from gateway.container import Gateway
from gateway.errors import InvalidRequest
from gateway.log.entry import LogEntry, Sender
from gateway.standards.tracecontext import current_trace_json
from gateway.web.common import gateway, read_form

__all__ = ["routes"]

log = structlog.get_logger("gateway.token")
routes = web.RouteTableDef()

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_PARTNER_ID = re.compile(r"^[a-z0-9-]{2,64}$")
_FORM = "application/x-www-form-urlencoded"
# RFC 6749 3.2: parameters sent without a value count as omitted, none may be sent twice.
_PARAMETERS = ("grant_type", "client_assertion_type", "client_assertion", "client_id")
_DESCRIPTIONS = {
    "invalid_request": "malformed token request",
    "unsupported_grant_type": "only grant_type=client_credentials is supported",
    "invalid_client": "client authentication failed",
}


@dataclass(frozen=True, slots=True)
class _Refused:
    """Why a token request is refused: the RFC 6749 5.2 code the client hears, and the
    reason the log keeps (a fixed code, never text the caller sent)."""

    error: str
    reason: str


def _malformed(form: Mapping[str, list[object]] | None) -> _Refused | None:
    """The RFC 6749 5.2 refusal of a request that is no well-formed token request, if any.

    `form` maps each parameter to all its values; None when the body was not form-encoded.
    A missing grant_type is a missing required parameter (`invalid_request`); a grant_type
    that is present but not client_credentials is `unsupported_grant_type`.
    """
    if form is None:
        return _Refused("invalid_request", "not_a_form")
    if any(len(form.get(name, [])) > 1 for name in _PARAMETERS):
        return _Refused("invalid_request", "repeated_parameter")
    values = {name: (form.get(name) or [None])[0] or None for name in _PARAMETERS}
    grant_type = values["grant_type"]
    if grant_type is None:
        return _Refused("invalid_request", "missing_grant_type")
    if grant_type != "client_credentials":
        return _Refused("unsupported_grant_type", "wrong_grant_type")
    if values["client_assertion_type"] != JWT_BEARER:
        return _Refused("invalid_request", "wrong_assertion_type")
    assertion = values["client_assertion"]
    if not isinstance(assertion, str):
        return _Refused("invalid_request", "missing_assertion")
    client_id = values["client_id"]
    if client_id is not None and not isinstance(client_id, str):
        return _Refused("invalid_request", "not_a_form")
    return None


def _refusal(status: int, error: str, description: str) -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description},
        status=status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _claimed_issuer(assertion: str) -> str | None:
    """The unverified `iss` of a refused assertion, only to name the partner in the log."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


async def _log_closed_bursts(gw: Gateway, now: datetime) -> None:
    """One entry per burst of failed token requests, once its window has closed."""
    closed = gw.failed_assertions.flush(time.monotonic())
    if closed:
        await gw.storage.append_log(
            [
                LogEntry(
                    time=now,
                    decision="token_refused",
                    reason="burst",
                    sender=None if not client else Sender(client, None, None),
                    details={"attempts": count, "reasons": reasons},
                )
                for client, count, reasons in closed
            ]
        )


async def _form(request: web.Request) -> dict[str, list[object]] | None:
    """Every value of every parameter of a form-encoded body; None for any other body."""
    if request.content_type != _FORM:
        return None
    try:
        posted = await read_form(request)
    except InvalidRequest:
        return None  # a form not in UTF-8 is no form
    form: dict[str, list[object]] = {}
    for name, value in posted.items():
        form.setdefault(name, []).append(value)
    return form


@routes.post("/v1/token")
async def token(request: web.Request) -> web.Response:
    gw = gateway(request)
    now = gw.now()
    form = await _form(request)
    refused = _malformed(form)
    claimed: str | None = None
    verified = None
    if refused is None:
        assert form is not None
        assertion = str(form["client_assertion"][0])
        client_id = (form.get("client_id") or [None])[0]
        claimed = client_id if isinstance(client_id, str) and client_id else None
        try:
            verified = verify_client_assertion(
                assertion,
                client_id=claimed,
                keys_for=gw.partners.keys_for,
                audiences=gw.settings.audiences,
                now=now,
            )
            partner = gw.partners.get(verified.partner_id)
            assert partner is not None, "a verified assertion names a registered partner"
            verify_actor_role(verified, gw.catalogue.roles_of(partner.kind))
        except AssertionRejected as rejected:
            refused = _Refused("invalid_client", rejected.reason)
            claimed = claimed or (
                verified.partner_id if verified is not None else _claimed_issuer(assertion)
            )
            verified = None
    if verified is not None and not await gw.storage.use_jti(
        verified.partner_id, verified.jti, verified.replayable_until, now
    ):
        refused = _Refused("invalid_client", "jti_replayed")
        claimed = verified.partner_id
    await _log_closed_bursts(gw, now)
    if refused is not None or verified is None:
        refused = refused or _Refused("invalid_client", "invalid_client")
        # Only a registered partner id is written down: an attacker's free text stays out of the log.
        known = (
            claimed if claimed and _PARTNER_ID.match(claimed) and gw.partners.get(claimed) else None
        )
        individually, wait = gw.failed_assertions.record(
            known or "", refused.reason, time.monotonic()
        )
        log.info("token_refused", reason=refused.reason, partner=known)
        if not individually:
            # A burst: counted, logged once when its window closes, and slowed down meanwhile.
            response = _refusal(429, refused.error, "too many failed attempts; retry later")
            response.headers["Retry-After"] = str(wait)
            return response
        await gw.storage.append_log(
            [
                LogEntry(
                    time=now,
                    decision="token_refused",
                    reason=refused.reason,
                    sender=None if known is None else Sender(known, None, None),
                    trace=current_trace_json(),
                )
            ]
        )
        return _refusal(400, refused.error, _DESCRIPTIONS[refused.error])
    partner = gw.partners.get(verified.partner_id)
    assert partner is not None
    issued = gw.tokens.issue(
        partner_id=partner.id,
        partner_kind=partner.kind,
        kid=verified.kid,
        actor_id=verified.actor_id,
        actor_role=verified.actor_role,
        now=now,
    )
    log.info("token_issued", partner=partner.id, role=verified.actor_role)
    return web.json_response(
        {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
