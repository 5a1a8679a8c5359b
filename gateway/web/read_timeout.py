"""Cut clients that trickle a request: its head and its body must each arrive within a deadline.

aiohttp bounds how large a request may be, not how long it may take to arrive, and its
keep-alive timer runs only while a connection is idle. A client that sends its head a byte at a
time (slowloris), or its body slower than it could, would hold a connection, and one of the
worker's `max_in_flight` slots, for as long as it liked.

- Head: the first request's head must be complete within `read_timeout_s` of the connection
  opening, every later one within `read_timeout_s` of its first byte. Otherwise the gateway
  answers `408 request_timeout` (when part of a head had arrived) and closes the connection.
- Body: it must be complete within `read_timeout_s` of its head. Otherwise the handler reading
  it gets `RequestTimeout` (408 in the contract's shape) and the connection closes after that answer.

Idle time between requests on a kept-alive connection is aiohttp's `keepalive_timeout`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from gateway.errors import RequestTimeout

__all__ = ["ReadTimeoutRunner"]

log = structlog.get_logger("gateway.http")


def _head_timeout_answer(read_timeout_s: float) -> bytes:
    """The raw 408 written to a client whose request head is overdue; the connection then closes."""
    body = json.dumps(
        RequestTimeout(f"the request head did not arrive within {read_timeout_s:g} s").to_body()
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _DeadlineRequestHandler(RequestHandler):
    """aiohttp's HTTP/1.1 connection protocol with a deadline on every request head and body.

    Relies on aiohttp internals, covered by tests/test_slowloris.py: `_messages`, the queue each
    parsed head (with its body stream) is appended to during `data_received`; `_waiter`, pending
    exactly while the connection waits for its next request (aiohttp's own idle test); and the
    `_loop`, `_close` and `_force_close` every RequestHandler has.
    """

    __slots__ = ("_answer", "_body", "_head_deadline", "_head_started", "_read_timeout_s")

    def __init__(self, manager: web.Server, *, read_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._read_timeout_s = read_timeout_s
        self._answer = _head_timeout_answer(read_timeout_s)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_started = False  # some bytes of the awaited head have arrived
        self._body: tuple[StreamReader, asyncio.TimerHandle] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if data and not self._reading_body():
            # The first byte of a head starts its clock; later bytes do not restart it.
            if self._head_deadline is None:
                self._arm_head_deadline()
            self._head_started = True
        queued = len(self._messages)
        super().data_received(data)
        if len(self._messages) > queued:
            # One or more heads are complete; only the newest can still await its body.
            self._disarm_head()
            payload = self._messages[-1][1]
            if not payload.is_eof():
                self._arm_body_deadline(payload)

    def _reading_body(self) -> bool:
        return self._body is not None and not self._body[0].is_eof()

    def _arm_head_deadline(self) -> None:
        if self._close or self._force_close:
            return
        self._head_deadline = self._loop.call_later(self._read_timeout_s, self._head_overdue)

    def _arm_body_deadline(self, payload: StreamReader) -> None:
        if self._body is not None:
            self._body[1].cancel()
        deadline = self._loop.call_later(self._read_timeout_s, self._body_overdue, payload)
        self._body = (payload, deadline)
        payload.on_eof(deadline.cancel)

    def _disarm_head(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
        self._head_started = False

    def _disarm(self) -> None:
        self._disarm_head()
        if self._body is not None:
            self._body[1].cancel()
            self._body = None

    def _head_overdue(self) -> None:
        self._head_deadline = None
        idle = self._waiter is not None and not self._waiter.done()
        if idle:
            if self._head_started and self.transport is not None:
                self.transport.write(self._answer)
                log.info("request_timeout", part="head")
            # Closing the transport still sends what was written before it.
            self.force_close()
        else:
            # A pipelined request is being answered: finish it, then hang up on the late head.
            log.info("request_timeout", part="head")
            self.close()

    def _body_overdue(self, payload: StreamReader) -> None:
        if payload.is_eof():
            return
        log.info("request_timeout", part="body")
        # The handler reading the body gets a 408; unread, aiohttp's drain after the answer
        # stops at this TimeoutError and closes the connection.
        payload.set_exception(
            RequestTimeout(f"the request body did not arrive within {self._read_timeout_s:g} s")
        )


class _DeadlineServer(web.Server):
    """aiohttp's low-level server, making connections that enforce the read timeout."""

    def __init__(
        self, plain: web.Server, *, read_timeout_s: float, handler_args: dict[str, Any]
    ) -> None:
        super().__init__(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            **handler_args,
        )
        self._read_timeout_s = read_timeout_s
        self._handler_args = handler_args

    def __call__(self) -> RequestHandler:
        return _DeadlineRequestHandler(
            self,
            loop=asyncio.get_running_loop(),
            read_timeout_s=self._read_timeout_s,
            **self._handler_args,
        )


class ReadTimeoutRunner(web.AppRunner):
    """An AppRunner whose connections give every request head and body `read_timeout_s` to arrive.

    Other keyword arguments go to each connection's aiohttp RequestHandler (`keepalive_timeout`,
    `max_line_size`, `max_field_size`, `access_log`, ...); an Application's own `handler_args`
    are not consulted, so pass them here.
    """

    def __init__(
        self,
        app: web.Application,
        *,
        read_timeout_s: float,
        handle_signals: bool = False,
        shutdown_timeout: float = 60.0,
        **handler_args: Any,
    ) -> None:
        if not read_timeout_s > 0:
            raise ValueError("read_timeout_s must be positive")
        super().__init__(
            app, handle_signals=handle_signals, shutdown_timeout=shutdown_timeout, **handler_args
        )
        self._read_timeout_s = read_timeout_s
        self._handler_args = handler_args

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # runs the application's startup hooks
        return _DeadlineServer(
            plain, read_timeout_s=self._read_timeout_s, handler_args=self._handler_args
        )
