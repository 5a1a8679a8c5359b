"""The container as the web layer hands it to every handler (`request.app[GATEWAY]`)."""

from __future__ import annotations

from aiohttp import web

from gateway.container import Gateway

__all__ = ["GATEWAY", "Gateway"]

GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway", Gateway)
