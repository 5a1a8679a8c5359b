"""Small working receivers on loopback for the outbox: an OTLP/HTTP logbook and a VNG
Verwerkingenlogging API, each checking what it receives against the standard's own schema,
and each able to go down (connection refused) and come back on the same port."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from gateway.clock import FixedClock
from gateway.runtime import build_gateway
from gateway.web import create_app
from tests.conftest import Running, copy_config
from tests.standards_helpers import ldv_problems, verwerkingsactie_validator

_BSN_LIKE = re.compile(rb"(?<![0-9a-fA-F])\d{9}(?![0-9a-fA-F])")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoopbackService:
    """An aiohttp app on a fixed loopback port that can be stopped and started again."""

    def __init__(self, app: web.Application) -> None:
        self.port = free_port()
        self._app = app
        self._runner: web.AppRunner | None = None
        self.hang = False  # accept the request, never answer (a receiver stuck, not down)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _maybe_hang(self) -> None:
        if self.hang:
            await asyncio.sleep(3600)


class OtlpReceiver(LoopbackService):
    """OTLP/HTTP traces (`POST /v1/traces`, protobuf or JSON); keeps every LDV record it took.

    A request with a span that is no valid LDV record, or with anything BSN-shaped in it, is
    answered 400 and kept in `rejected`, so a test sees the gateway sent something wrong.
    """

    path = "/v1/traces"

    def __init__(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        super().__init__(app)
        self.spans: list[Span] = []
        self.content_types: set[str] = set()
        self.rejected: list[str] = []

    @property
    def url(self) -> str:
        return self.base + self.path

    async def _handle(self, request: web.Request) -> web.Response:
        await self._maybe_hang()
        body = await request.read()
        if _BSN_LIKE.search(body):
            self.rejected.append("a nine-digit number in the export")
            return web.Response(status=400)
        try:
            message = _parse_otlp(request.content_type, body)
        except Exception as exc:
            self.rejected.append(f"unparseable: {exc}")
            return web.Response(status=400)
        spans = [
            span
            for resource in message.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
        problems = [p for span in spans for p in ldv_problems(span)]
        if problems:
            self.rejected.extend(problems)
            return web.Response(status=400)
        self.spans.extend(spans)
        self.content_types.add(request.content_type)
        if request.content_type == "application/json":
            return web.json_response({})
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )

    def span_ids(self) -> list[str]:
        return [span.span_id.hex() for span in self.spans]


def _parse_otlp(content_type: str, body: bytes) -> ExportTraceServiceRequest:
    if content_type == "application/x-protobuf":
        return ExportTraceServiceRequest.FromString(body)
    if content_type != "application/json":
        raise ValueError(f"content type {content_type}")
    data = json.loads(body)
    # OTLP/JSON writes ids as hex where protobuf's JSON mapping has base64.
    for resource in data.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return json_format.Parse(json.dumps(data), ExportTraceServiceRequest())


class VngReceiver(LoopbackService):
    """A VNG Verwerkingenlogging write API: `POST /api/v1/verwerkingsacties`, validated
    against the published OpenAPI schema, answered 201 with the stored action."""

    path = "/api/v1/verwerkingsacties"

    def __init__(self, secret: str | None = None) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        super().__init__(app)
        self.secret = secret
        self.actions: list[dict[str, Any]] = []
        self.rejected: list[str] = []
        self.refuse_next = 0  # answer this many valid requests 400 (a receiver's own rule)
        self.delay_s = 0.0  # answer this much later (a slow receiver)
        # Called with each accepted request, e.g. to move a test clock on.
        self.on_request: Callable[[web.Request], None] | None = None
        self._validator = verwerkingsactie_validator()

    @property
    def url(self) -> str:
        return self.base + self.path

    async def _handle(self, request: web.Request) -> web.Response:
        await self._maybe_hang()
        if self.secret is not None:
            header = request.headers.get("Authorization", "")
            try:
                claims = jwt.decode(header.removeprefix("Bearer "), self.secret, ["HS256"])
            except jwt.InvalidTokenError as exc:
                self.rejected.append(f"bad JWT-Claims token: {exc}")
                return web.json_response({"title": "unauthorised"}, status=403)
            if not claims.get("client_id"):
                self.rejected.append("JWT-Claims token without client_id")
                return web.json_response({"title": "unauthorised"}, status=403)
        body = await request.json()
        errors = sorted(e.message for e in self._validator.iter_errors(body))
        if errors:
            self.rejected.extend(errors)
            return web.json_response({"invalidParams": errors}, status=400)
        if self.on_request is not None:
            self.on_request(request)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.refuse_next:
            self.refuse_next -= 1
            return web.json_response({"title": "refused by the receiver's rule"}, status=400)
        action_id = str(uuid.uuid4())
        stored = {**body, "actieId": action_id, "url": f"{self.url}/{action_id}"}
        self.actions.append(stored)
        return web.json_response(stored, status=201)


def outbox_config(
    destination: Path,
    *,
    logbook: str | None = None,
    encoding: str = "protobuf",
    vng: Mapping[str, str] | None = None,
    vng_auth: Mapping[str, tuple[str, str]] | None = None,
    outbox: str = "retry_initial_s = 1\nretry_max_s = 8\nbatch = 50\n",
) -> Path:
    """A copy of the shipped config with a logbook, partners' Verwerkingenlogging URLs (and
    JWT-Claims client ids with the environment variable holding the secret) and `[outbox]`."""
    config = copy_config(destination)
    settings = (config / "gateway.toml").read_text()
    if logbook is not None:
        settings += f'\n[logbook]\nurl = "{logbook}"\nencoding = "{encoding}"\ntimeout_s = 2\n'
    if outbox:
        settings += f"\n[outbox]\n{outbox}"
    (config / "gateway.toml").write_text(settings)
    partners = (config / "partners.toml").read_text()
    for partner_id, url in (vng or {}).items():
        auth = (vng_auth or {}).get(partner_id)
        extra = "" if auth is None else f', client_id = "{auth[0]}", secret_env = "{auth[1]}"'
        line = f'id = "{partner_id}"\n'
        assert line in partners, partner_id
        partners = partners.replace(
            line, f'{line}verwerkingenlogging = {{ url = "{url}", timeout_s = 2{extra} }}\n'
        )
    (config / "partners.toml").write_text(partners)
    return config


@contextlib.asynccontextmanager
async def serve(
    config: Path,
    data: Path,
    storage_url: str | None,
    clock: FixedClock,
    *,
    background: bool = False,
) -> AsyncIterator[Running]:
    """A gateway on loopback on this config (background tasks, the outbox's too, when asked)."""
    gw = build_gateway(config, data, storage_url, clock=clock)
    server = TestServer(create_app(gw, background=background), host="127.0.0.1")
    await server.start_server()
    try:
        yield Running(gw, server, clock)
    finally:
        await server.close()
