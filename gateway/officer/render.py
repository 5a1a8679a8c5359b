"""Turning a page's values into HTML: the Jinja2 templates (autoescaped) and the page frame."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from gateway.container import Gateway
from gateway.log.entry import format_time
from gateway.officer.i18n import Translator
from gateway.web.context import GATEWAY

__all__ = [
    "PAGES",
    "SECURITY_HEADERS",
    "STYLESHEET",
    "Frame",
    "frame",
    "gateway_of",
    "page_environment",
    "render",
]

_HERE = Path(__file__).resolve().parent
STYLESHEET = _HERE / "static" / "officer.css"

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

PAGES: web.AppKey[jinja2.Environment] = web.AppKey("officer_pages", jinja2.Environment)


def _when(moment: datetime | str | None) -> str:
    """A moment as officers read it: `2026-11-25 10:00:03` (UTC)."""
    if moment is None:
        return ""
    text = moment if isinstance(moment, str) else format_time(moment)
    return text[:19].replace("T", " ")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def page_environment() -> jinja2.Environment:
    """The templates, with autoescaping on for everything and unknown names an error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["b64"] = _b64
    return env


@dataclass(frozen=True, slots=True)
class Frame:
    """What every page around its content needs: language, menu, who is signed in."""

    t: Translator
    path: str  # this page, for the language switch
    query: tuple[tuple[str, str], ...] = ()  # its query but `lang`, kept when switching
    current: str | None = None  # the menu item to mark
    officer_name: str | None = None
    actor: str | None = None
    csrf: str | None = None  # the session's form token; None before signing in
    oversees: str | None = None  # whose entries the officer sees, in words
    may_erase: bool = False  # whether the menu offers erasure (only to whom may do it)

    def language_href(self, language: str) -> str:
        """This page in another language."""
        return f"{self.path}?{urlencode([*self.query, ('lang', language)])}"


def frame(request: web.Request, t: Translator, **more: Any) -> Frame:
    """The frame of this request's page (GET query kept for the language switch)."""
    kept = tuple((k, v) for k, v in request.query.items() if k != "lang")
    return Frame(t=t, path=request.path, query=kept, **more)


def render(
    request: web.Request,
    template: str,
    frame: Frame,
    values: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    """A page as an HTML response (security headers are added by the pages' middleware)."""
    env = request.config_dict[PAGES]
    text = env.get_template(template).render(frame=frame, t=frame.t, **(values or {}))
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def gateway_of(request: web.Request) -> Gateway:
    """The gateway's services; pages live in a sub-application, so look through to the root."""
    return request.config_dict[GATEWAY]
