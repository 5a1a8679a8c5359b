"""`POST /v1/token`: a partner's client assertion in, a short-lived access token out (RFC 7523).

Failures answer RFC 6749's terse `invalid_client` and nothing more: what exactly was wrong goes
only into the disclosure log, where a privacy officer can see it and an attacker cannot.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import datetime

import jwt
import structlog
from aiohttp import web

from gateway.auth.assertion import AssertionRejected, verify_client_assertion
from gateway.errors import InvalidRequest
from gateway.log.entry import LogEntry, Sender
from gateway.standards.tracecontext import current_trace_json
from gateway.web.common import gateway, read_form
from gateway.web.context import Gateway

__all__ = ["routes"]

log = structlog.get_logger("gateway.token")
routes = web.RouteTableDef()

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_PARTNER_ID = re.compile(r"^[a-z0-9-]{2,64}$")


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


@routes.post("/v1/token")
async def token(request: web.Request) -> web.Response:
    gw = gateway(request)
    now = gw.now()
    # The contract answers every failure with invalid_client (and logs it), whatever went wrong.
    try:
        form: Mapping[str, str] = await read_form(request)
    except InvalidRequest:
        form = {}  # a form not in UTF-8 is no form: refused below like a missing one
    grant_type = form.get("grant_type")
    assertion_type = form.get("client_assertion_type")
    assertion = form.get("client_assertion")
    client_id = form.get("client_id")
    reason: str | None = None
    claimed = client_id if isinstance(client_id, str) else None
    verified = None
    if not form:
        reason = "not_a_form"
    elif grant_type != "client_credentials":
        reason = "wrong_grant_type"
    elif assertion_type != JWT_BEARER or not isinstance(assertion, str):
        reason = "wrong_assertion_type"
    else:
        try:
            verified = verify_client_assertion(
                assertion,
                client_id=claimed,
                keys_for=gw.partners.keys_for,
                audiences=gw.settings.audiences,
                now=now,
            )
        except AssertionRejected as rejected:
            reason = rejected.reason
            claimed = claimed or _claimed_issuer(assertion)
    if verified is not None and not await gw.storage.use_jti(
        verified.partner_id, verified.jti, verified.expires_at, now
    ):
        reason = "jti_replayed"
        claimed = verified.partner_id
    await _log_closed_bursts(gw, now)
    if reason is not None or verified is None:
        # Only a registered partner id is written down: an attacker's free text stays out of the log.
        known = (
            claimed if claimed and _PARTNER_ID.match(claimed) and gw.partners.get(claimed) else None
        )
        individually, wait = gw.failed_assertions.record(
            known or "", reason or "invalid_client", time.monotonic()
        )
        log.info("token_refused", reason=reason, partner=known)
        if not individually:
            # A burst: counted, logged once when its window closes, and slowed down meanwhile.
            response = _refusal(429, "invalid_client", "too many failed attempts; retry later")
            response.headers["Retry-After"] = str(wait)
            return response
        await gw.storage.append_log(
            [
                LogEntry(
                    time=now,
                    decision="token_refused",
                    reason=reason or "invalid_client",
                    sender=None if known is None else Sender(known, None, None),
                    trace=current_trace_json(),
                )
            ]
        )
        return _refusal(400, "invalid_client", "client authentication failed")
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
