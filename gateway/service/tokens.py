"""Issuing an access token for a client assertion (RFC 7523), or saying why not (RFC 6749 5.2).

The client hears only the RFC's code: `invalid_request` for a request that is not a well-formed
token request, `unsupported_grant_type` for a grant other than client_credentials, and the terse
`invalid_client` for anything about the assertion or the client, including an actor role the
partner's kind may not hold and a replayed `jti`. What exactly was wrong goes only into the log
as a `token_refused` entry (a fixed reason code, never text the caller sent), which the officers
who oversee the partner can read and the partner's own disclosures never show. Failures come in
bursts from a broken or hostile client: those are counted and logged once per burst, and the
client is slowed down meanwhile.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import jwt
import structlog

from gateway.auth.assertion import AssertionRejected, verify_actor_role, verify_client_assertion
from gateway.auth.tokens import AccessTokenIssuer
from gateway.config import Catalogue, PartnerRegistry, Settings
from gateway.limits import FailedAssertions
from gateway.log.entry import LogEntry, Sender
from gateway.service.deps import Clocked
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import LogStore, ReplayCache

__all__ = [
    "JWT_BEARER",
    "TOKEN_PARAMETERS",
    "TokenContext",
    "TokenGranted",
    "TokenRefused",
    "grant_token",
]

log = structlog.get_logger("gateway.token")

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_PARTNER_ID = re.compile(r"^[a-z0-9-]{2,64}$")
# RFC 6749 3.2: parameters sent without a value count as omitted, none may be sent twice.
TOKEN_PARAMETERS = ("grant_type", "client_assertion_type", "client_assertion", "client_id")


class TokenStorage(ReplayCache, LogStore, Protocol):
    """The used `jti`s and the log that records refusals."""


class TokenContext(Clocked, Protocol):
    """What issuing a token uses."""

    @property
    def settings(self) -> Settings: ...

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def partners(self) -> PartnerRegistry: ...

    @property
    def tokens(self) -> AccessTokenIssuer: ...

    @property
    def failed_assertions(self) -> FailedAssertions: ...

    @property
    def storage(self) -> TokenStorage: ...


@dataclass(frozen=True, slots=True)
class TokenGranted:
    access_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class TokenRefused:
    """The RFC 6749 5.2 code the client hears, the reason the log keeps, and for a burst of
    failures how long the client must wait (answered 429 with Retry-After)."""

    error: str
    reason: str
    retry_after: int | None = None


def _malformed(form: Mapping[str, list[object]] | None) -> TokenRefused | None:
    """The refusal of a request that is no well-formed token request, if any.

    `form` maps each parameter to all its values; None when the body was not form-encoded.
    A missing grant_type is a missing required parameter (`invalid_request`); a grant_type
    that is present but not client_credentials is `unsupported_grant_type`.
    """
    if form is None:
        return TokenRefused("invalid_request", "not_a_form")
    if any(len(form.get(name, [])) > 1 for name in TOKEN_PARAMETERS):
        return TokenRefused("invalid_request", "repeated_parameter")
    values = {name: (form.get(name) or [None])[0] or None for name in TOKEN_PARAMETERS}
    grant_type = values["grant_type"]
    if grant_type is None:
        return TokenRefused("invalid_request", "missing_grant_type")
    if grant_type != "client_credentials":
        return TokenRefused("unsupported_grant_type", "wrong_grant_type")
    if values["client_assertion_type"] != JWT_BEARER:
        return TokenRefused("invalid_request", "wrong_assertion_type")
    assertion = values["client_assertion"]
    if not isinstance(assertion, str):
        return TokenRefused("invalid_request", "missing_assertion")
    client_id = values["client_id"]
    if client_id is not None and not isinstance(client_id, str):
        return TokenRefused("invalid_request", "not_a_form")
    return None


def _claimed_issuer(assertion: str) -> str | None:
    """The unverified `iss` of a refused assertion, only to name the partner in the log."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


async def _log_closed_bursts(ctx: TokenContext, now: datetime, monotonic: float) -> None:
    """One entry per burst of failed token requests, once its window has closed."""
    closed = ctx.failed_assertions.flush(monotonic)
    if closed:
        await ctx.storage.append_log(
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


async def grant_token(
    ctx: TokenContext, form: Mapping[str, list[object]] | None
) -> TokenGranted | TokenRefused:
    """An access token for the form's client assertion, or the refusal (logged as it says)."""
    now = ctx.now()
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
                keys_for=ctx.partners.keys_for,
                audiences=ctx.settings.audiences,
                now=now,
            )
            partner = ctx.partners.get(verified.partner_id)
            assert partner is not None, "a verified assertion names a registered partner"
            verify_actor_role(verified, ctx.catalogue.roles_of(partner.kind))
        except AssertionRejected as rejected:
            refused = TokenRefused("invalid_client", rejected.reason)
            claimed = claimed or (
                verified.partner_id if verified is not None else _claimed_issuer(assertion)
            )
            verified = None
    if verified is not None and not await ctx.storage.use_jti(
        verified.partner_id, verified.jti, verified.replayable_until, now
    ):
        refused = TokenRefused("invalid_client", "jti_replayed")
        claimed = verified.partner_id
    monotonic = time.monotonic()
    await _log_closed_bursts(ctx, now, monotonic)
    if refused is not None or verified is None:
        refused = refused or TokenRefused("invalid_client", "invalid_client")
        return await _refuse(ctx, refused, claimed, now, monotonic)
    partner = ctx.partners.get(verified.partner_id)
    assert partner is not None
    issued = ctx.tokens.issue(
        partner_id=partner.id,
        partner_kind=partner.kind,
        kid=verified.kid,
        actor_id=verified.actor_id,
        actor_role=verified.actor_role,
        now=now,
    )
    log.info("token_issued", partner=partner.id, role=verified.actor_role)
    return TokenGranted(issued.access_token, issued.expires_in)


async def _refuse(
    ctx: TokenContext, refused: TokenRefused, claimed: str | None, now: datetime, monotonic: float
) -> TokenRefused:
    # Only a registered partner id is written down: an attacker's free text stays out of the log.
    known = (
        claimed if claimed and _PARTNER_ID.match(claimed) and ctx.partners.get(claimed) else None
    )
    individually, wait = ctx.failed_assertions.record(known or "", refused.reason, monotonic)
    log.info("token_refused", reason=refused.reason, partner=known)
    if not individually:
        # A burst: counted, logged once when its window closes, and slowed down meanwhile.
        return TokenRefused(refused.error, refused.reason, retry_after=wait)
    await ctx.storage.append_log(
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
    return refused
