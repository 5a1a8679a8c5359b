"""The HTTP surface: the aiohttp application, its middlewares and one module per resource."""

from gateway.web.app import create_app

__all__ = ["create_app"]
