"""Helpers every resource module uses: read a JSON body, authenticate the caller, make ids."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from gateway.container import Gateway
from gateway.errors import Forbidden, InvalidRequest, InvalidToken
from gateway.ids import new_id, random_bytes
from gateway.log.entry import parse_time
from gateway.policy.decision import Caller
from gateway.web.context import GATEWAY
from gateway.web.limits import check_json_shape

__all__ = [
    "authenticate",
    "gateway",
    "json_answer",
    "new_id",
    "query_time",
    "random_bytes",
    "read_form",
    "read_json",
    "whole_number",
]


def gateway(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, or InvalidRequest. Size limits are enforced by aiohttp."""
    if request.content_type not in ("application/json", "application/fhir+json"):
        raise InvalidRequest(
            "the request body must be JSON", "Send Content-Type: application/json."
        )
    raw = await request.read()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = _slow_json(raw)
    settings = gateway(request).settings
    check_json_shape(body, max_depth=settings.max_json_depth, max_items=settings.max_json_items)
    return body


def _slow_json(raw: bytes) -> Any:
    """What orjson refused, read by the standard library: integers beyond 64 bits are valid
    JSON; NaN and Infinity are not (and orjson is right to refuse them)."""

    def no_constants(name: str) -> Any:
        raise ValueError(name)

    try:
        body = json.loads(raw, parse_constant=no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidRequest("the request body is not valid JSON") from None
    try:
        # What orjson refused for a lone surrogate ("\ud800") or a number past a double's
        # range (1e999, read as infinity) must not get in: neither can be written back as
        # JSON, in a log entry, a sealed message or an answer.
        json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError, RecursionError):
        raise InvalidRequest(
            "the request body holds a string that is not valid Unicode (a lone surrogate) "
            "or a number beyond the range of a double",
            "Send text as UTF-8 and numbers within the range the API documents.",
        ) from None
    return body


async def read_form(request: web.Request) -> MultiDictProxy[str]:
    """The request's URL-encoded form (empty for any other content type), or InvalidRequest.

    aiohttp's `request.post()` decodes with whatever charset the caller names and fails on
    bytes that are not in it; a form here is UTF-8, percent-escapes included, or refused.
    """
    if request.content_type != "application/x-www-form-urlencoded":
        return MultiDictProxy(MultiDict())
    if (request.charset or "utf-8").lower() not in ("utf-8", "utf8"):
        raise InvalidRequest(
            "a form must be encoded in UTF-8", "Send the form without a charset, or as UTF-8."
        )
    raw = await request.read()
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest(
            "the form is not valid UTF-8", "Percent-encode the form's text as UTF-8."
        ) from None
    return MultiDictProxy(MultiDict(pairs))


def json_answer(body: Any, *, status: int = 200) -> web.Response:
    """A JSON answer serialised by orjson (the hot paths' answers)."""
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


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
    gw.limiter.check(partner.id, partner.kind, claims.actor_id, time.monotonic())
    return Caller(partner, claims.actor_id, claims.actor_role)


def whole_number(raw: str) -> int | None:
    """`raw` as a non-negative whole number of at most 18 digits, else None.

    ASCII digits only: str.isdigit() also says yes to "¹" and "٣", which int() refuses or reads
    differently; and the length is checked before int() so a huge string costs nothing.
    """
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


def query_time(request: web.Request, name: str) -> datetime | None:
    """Query parameter `name` as an aware time (RFC 3339, or a date at midnight UTC), or None."""
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        moment = parse_time(raw) if "T" in raw else parse_time(raw + "T00:00:00+00:00")
    except ValueError:
        raise InvalidRequest(
            f"query parameter '{name}' must be an RFC 3339 time or a date"
        ) from None
    if moment.tzinfo is None:
        raise InvalidRequest(f"query parameter '{name}' must carry a time zone (e.g. Z)")
    return moment
