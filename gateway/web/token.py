"""`POST /v1/token`: a partner's client assertion in, a short-lived access token out (RFC 7523).

The form is read here and answered as RFC 6749 section 5.2 says; what is granted or refused, and
what the log keeps of a refusal, is `gateway.service.tokens`. A refusal's exact reason goes only
into the disclosure log as a `token_refused` entry, which the privacy officers who oversee the
partner (and the operator's officer) can read and an attacker cannot: the entry is never in the
partner's own `GET /v1/disclosures` nor its proofs (`gateway.audit.search` `shown_to_partner`),
so a stolen access token does not tell which forged assertions failed how.
"""

from __future__ import annotations

from aiohttp import web

from gateway.errors import InvalidRequest
from gateway.service.tokens import TokenGranted, grant_token
from gateway.web.common import gateway, read_form

__all__ = ["routes"]

routes = web.RouteTableDef()

_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_DESCRIPTIONS = {
    "invalid_request": "malformed token request",
    "unsupported_grant_type": "only grant_type=client_credentials is supported",
    "invalid_client": "client authentication failed",
}


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
    outcome = await grant_token(gateway(request), await _form(request))
    if isinstance(outcome, TokenGranted):
        return web.json_response(
            {
                "access_token": outcome.access_token,
                "token_type": "Bearer",
                "expires_in": outcome.expires_in,
            },
            headers=_NO_STORE,
        )
    if outcome.retry_after is not None:
        return web.json_response(
            {"error": outcome.error, "error_description": "too many failed attempts; retry later"},
            status=429,
            headers={**_NO_STORE, "Retry-After": str(outcome.retry_after)},
        )
    return web.json_response(
        {"error": outcome.error, "error_description": _DESCRIPTIONS[outcome.error]},
        status=400,
        headers=_NO_STORE,
    )
