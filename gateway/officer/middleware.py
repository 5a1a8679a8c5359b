"""The pages' middleware: errors as HTML pages in the officer's language, security headers on all.

It runs inside the gateway's JSON error middleware, only for `/officer/...`, so an officer
never meets the API's JSON errors and the API never answers in HTML.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from gateway.errors import GatewayError
from gateway.i18n import localize_text
from gateway.officer.i18n import TEXTS, Translator
from gateway.officer.render import SECURITY_HEADERS, frame, render
from gateway.officer.signin import request_language

__all__ = ["pages_middleware"]

log = structlog.get_logger("gateway.officer")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error_page(
    request: web.Request,
    status: int,
    *,
    text_key: str | None = None,
    message: str = "",
    how_to_fix: str = "",
    request_id: str | None = None,
) -> web.Response:
    t = Translator(request_language(request))
    texts_language = t.language
    if text_key is not None:
        message, how_to_fix = t(text_key), t(f"{text_key}.fix")
    elif t.language == "nl":
        # A refusal's own texts, in Dutch where the catalogue has them; else both stay English
        # and are marked so (lang="en"), never half translated.
        dutch = [localize_text(text, "nl") if text else "" for text in (message, how_to_fix)]
        if None in dutch:
            texts_language = "en"
        else:
            message, how_to_fix = (text or "" for text in dutch)
    heading = f"error.{status}"
    return render(
        request,
        "error.html",
        frame(request, t),
        {
            "status": status,
            "heading": t(heading) if heading in TEXTS else t("error.title"),
            "message": message,
            "how_to_fix": how_to_fix,
            "texts_language": texts_language,
            "signed_out": status == 401,
            "request_id": request_id,
        },
        status=status,
    )


@web.middleware
async def pages_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except GatewayError as error:
        log.info("officer_page_refused", code=error.code, status=error.status)
        response = _error_page(
            request,
            error.status,
            text_key=getattr(error, "text_key", None),
            message=error.message,
            how_to_fix=error.how_to_fix,
        )
        retry_after = error.extra.get("retry_after")
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
    except web.HTTPNotFound:
        if request.path == "/officer":
            response = web.Response(status=308, headers={"Location": "/officer/"})
        else:
            response = _error_page(request, 404, text_key="error.not_found")
    except web.HTTPMethodNotAllowed as exc:
        response = _error_page(
            request,
            405,
            message=f"method {request.method} is not allowed here",
            how_to_fix=f"Use one of: {', '.join(sorted(exc.allowed_methods))}.",
        )
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
    except web.HTTPRequestEntityTooLarge:
        response = _error_page(request, 413, message="the form is larger than the gateway accepts")
    except web.HTTPException:
        raise
    except Exception:
        # The gateway's outer middleware bound this request's id; the page shows the same one.
        bound = structlog.contextvars.get_contextvars().get("request_id")
        request_id = str(bound) if bound else uuid.uuid4().hex
        log.exception("officer_page_failed")
        response = _error_page(request, 500, text_key="error.internal", request_id=request_id)
    response.headers.update(SECURITY_HEADERS)
    return response
