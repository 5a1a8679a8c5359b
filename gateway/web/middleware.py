"""Middlewares: one place turns every error into the contract's JSON, and binds request context."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from gateway.errors import GatewayError, InvalidRequest, NotFound, PayloadTooLarge
from gateway.i18n import Language, localize_error
from gateway.standards.tracecontext import fsc_transaction_problem, trace_from_headers, use_trace
from gateway.web.common import random_bytes
from gateway.web.language import mark_language, request_language, vary_on_language

__all__ = ["edge_middleware", "error_middleware", "error_response", "trace_middleware"]

log = structlog.get_logger("gateway.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A caller's X-Request-Id is echoed and bound to every log line of its call: only a plain token.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def error_response(error: GatewayError, language: Language = "en") -> web.Response:
    """The contract's error body with the error's status (and Bearer challenge for 401), its
    texts in `language` where the catalogue has them (else wholly English), and
    `Content-Language` saying which."""
    response = _localized(error.to_body(), error.status, language)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    retry_after = error.extra.get("retry_after")
    if retry_after is None and error.status == 503:
        retry_after = 1  # storage or capacity trouble passes; say when to try again
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _localized(body: dict[str, Any], status: int, language: Language) -> web.Response:
    localized, answered_in = localize_error(body, language)
    response = web.json_response(localized, status=status)
    mark_language(response, answered_in)
    return response


@web.middleware
async def trace_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """W3C Trace Context on every call: the caller's trace continued (or a new one started),
    current while the call is answered, and its `traceparent` returned, errors included."""
    trace = trace_from_headers(request.headers)
    use_trace(trace)
    response = await handler(request)
    response.headers.setdefault("traceparent", trace.traceparent())
    if trace.tracestate is not None:
        response.headers.setdefault("tracestate", trace.tracestate)
    return response


@web.middleware
async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse, before any handler reads them, inputs no handler should have to think about.

    - An `Fsc-Transaction-Id` that is not the UUID v7 FSC defines: that id goes into log
      entries, so free text in it would be a caller's words in the disclosure log.
    - A NUL character or a lone surrogate in a path or query parameter (percent-encoded as
      `%00` or `%ED%A0%80`): no identifier holds one, and PostgreSQL cannot store a NUL.
    """
    refusal = _edge_refusal(request)
    if refusal is None:
        return await handler(request)
    if request.path == "/v1/token":
        # The token endpoint answers in OAuth's error shape (RFC 6749 5.2).
        return web.json_response(
            {"error": "invalid_request", "error_description": refusal.message}, status=400
        )
    raise refusal


def _edge_refusal(request: web.Request) -> InvalidRequest | None:
    problem = fsc_transaction_problem(request.headers.get("Fsc-Transaction-Id"))
    if problem is not None:
        return InvalidRequest(
            problem,
            "Send the transaction id your FSC Outway made (e.g. 0189f7e5-c883-7106-8272-"
            "ccb7fcba0575), or leave the header out.",
        )
    texts = [*request.match_info.values(), *request.query.keys(), *request.query.values()]
    if not all(_plain_text(text) for text in texts):
        return InvalidRequest(
            "a path or query parameter holds a NUL character or text that is not valid Unicode",
            "Send parameters as percent-encoded UTF-8 text without control characters.",
        )
    return None


def _plain_text(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    sent_id = request.headers.get("X-Request-Id", "")
    request_id = sent_id if _REQUEST_ID.fullmatch(sent_id) else random_bytes(16).hex()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        request_id=request_id, method=request.method, path=request.path
    )
    language = request_language(request)
    try:
        response = await handler(request)
    except GatewayError as error:
        log.info("request_refused", code=error.code, status=error.status)
        response = error_response(error, language)
    except web.HTTPRequestEntityTooLarge:
        response = error_response(
            PayloadTooLarge("the request body is larger than the gateway accepts"), language
        )
    except web.HTTPNotFound:
        response = error_response(
            NotFound("no such resource", "Check the path against /v1/openapi.json."), language
        )
    except web.HTTPMethodNotAllowed as exc:
        wrong_method = InvalidRequest(
            f"method {request.method} is not allowed here",
            f"Use one of: {', '.join(sorted(exc.allowed_methods))}.",
        )
        response = _localized(wrong_method.to_body(), 405, language)
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
    except web.HTTPException:
        raise
    except Exception:
        log.exception("internal_error")
        body = {
            "error": {
                "code": "internal_error",
                "message": "the gateway failed to handle this request",
                "how_to_fix": "Retry later; if it persists, give the operator the request id "
                + request_id,
            }
        }
        response = _localized(body, 500, language)
    response.headers["X-Request-Id"] = request_id
    # Any answer may be a refusal in the caller's language, so every answer varies with it.
    vary_on_language(response)
    return response
