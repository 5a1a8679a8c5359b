"""Helpers every resource module uses: read a JSON body, authenticate the caller, make ids."""

from __future__ import annotations

import json
import secrets
from typing import Any

from aiohttp import web

from gateway.errors import Forbidden, InvalidRequest, InvalidToken
from gateway.policy.decision import Caller
from gateway.web.context import GATEWAY, Gateway

__all__ = ["authenticate", "gateway", "new_id", "read_json"]


def gateway(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


def new_id(prefix: str) -> str:
    """A random, unguessable identifier such as `ex_3J...`."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, or InvalidRequest. Size limits are enforced by aiohttp."""
    if request.content_type not in ("application/json", "application/fhir+json"):
        raise InvalidRequest(
            "the request body must be JSON", "Send Content-Type: application/json."
        )
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("the request body is not valid JSON") from None


def authenticate(request: web.Request, *, officer: bool = False) -> Caller:
    """The caller behind the Bearer token; `officer` selects audit-only (or exchange-only) use.

    A token stops working at once when its partner or its signing key is removed from the
    registry, because both are checked on every request, not only when the token is issued.
    """
    gw = gateway(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("a Bearer access token is required")
    now = gw.now()
    claims = gw.tokens.verify(token.strip(), now=now)
    partner = gw.partners.get(claims.partner_id)
    key = None if partner is None else partner.keys.signing_key(claims.kid)
    if partner is None or key is None:
        raise InvalidToken("the access token's partner or key is no longer registered")
    if key.expires is not None and key.expires <= now:
        raise InvalidToken("the key the access token was issued for has expired")
    is_officer = partner.kind == "privacy_officer"
    if officer and not is_officer:
        raise Forbidden(
            "only privacy officers may use the audit API",
            "Use an account of kind privacy_officer.",
        )
    if not officer and is_officer:
        raise Forbidden(
            "a privacy officer account may only use /v1/audit",
            "Use a partner account to exchange messages.",
        )
    return Caller(partner, claims.actor_id, claims.actor_role)
