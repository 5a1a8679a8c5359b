"""The language of an API answer: chosen once per request from `Accept-Language`, told back in
`Content-Language`, and announced in `Vary` so that no cache serves one language for another."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from gateway.i18n import Language, negotiate_language

__all__ = ["mark_language", "request_language", "vary_on_language"]

_LANGUAGE: Final[web.RequestKey[str]] = web.RequestKey("api_language", str)


def request_language(request: web.Request) -> Language:
    """The language this request's texts are written in (read once, then kept on the request)."""
    chosen = request.get(_LANGUAGE)
    if chosen is not None:
        return "en" if chosen == "en" else "nl"
    language = negotiate_language(request.headers.get("Accept-Language"))
    request[_LANGUAGE] = language
    return language


def vary_on_language(response: web.StreamResponse) -> None:
    """Add `Accept-Language` to the response's `Vary` (once)."""
    present = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
    if not any(v.lower() == "accept-language" for v in present):
        response.headers["Vary"] = ", ".join([*present, "Accept-Language"])


def mark_language(response: web.StreamResponse, language: Language) -> None:
    """Say which language the answer's texts are in, and that it depends on Accept-Language."""
    response.headers["Content-Language"] = language
    vary_on_language(response)
