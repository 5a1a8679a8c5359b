"""The workspace as a sub-application under `/officer/`, with its own middleware and stylesheet."""

from __future__ import annotations

from aiohttp import web

from gateway.officer import erasure, overview, refusals, report, review, search, signin
from gateway.officer.middleware import pages_middleware
from gateway.officer.render import PAGES, STYLESHEET, page_environment

__all__ = ["PREFIX", "setup_officer_web"]

PREFIX = "/officer"
_STYLESHEET: web.AppKey[bytes] = web.AppKey("officer_stylesheet", bytes)


async def _stylesheet(request: web.Request) -> web.Response:
    return web.Response(body=request.app[_STYLESHEET], content_type="text/css", charset="utf-8")


def setup_officer_web(app: web.Application) -> None:
    """Serve the privacy officer's workspace under /officer/ in `app` (which holds GATEWAY)."""
    pages = web.Application(middlewares=[pages_middleware])
    pages[PAGES] = page_environment()
    pages[_STYLESHEET] = STYLESHEET.read_bytes()
    for module in (signin, overview, search, review, refusals, report, erasure):
        pages.add_routes(module.routes)
    pages.router.add_get("/static/officer.css", _stylesheet)
    app.add_subapp(PREFIX, pages)
