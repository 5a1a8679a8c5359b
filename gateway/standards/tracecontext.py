"""W3C Trace Context (level 1): read, start and pass on `traceparent` and `tracestate`.

One call is one span of a trace: a caller's `traceparent` names the trace and its own span
(our parent); without one the gateway starts a new trace, so every exchange can be followed.
The web layer keeps the current call's context in a context variable (`current_trace`), so
that log entries written while answering the call name it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = [
    "TraceContext",
    "child_of",
    "current_trace",
    "current_trace_json",
    "parse_traceparent",
    "trace_from_headers",
    "use_trace",
]

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_MAX_TRACESTATE = 512
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass(frozen=True, slots=True)
class TraceContext:
    """The trace an exchange belongs to: its own span, the caller's span and the FSC transaction."""

    trace_id: str  # 32 lowercase hex
    span_id: str  # 16 lowercase hex: this exchange's span at the gateway
    parent_span_id: str | None = None  # the caller's span, when it sent a traceparent
    sampled: bool = True
    tracestate: str | None = None
    fsc_transaction_id: str | None = None

    def traceparent(self) -> str:
        """The header to pass on: version 00, our span as the recipient's parent."""
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    def to_json(self) -> dict[str, str]:
        """What a log entry's `trace` key holds (no tracestate: it is the vendors', not ours)."""
        out = {"trace_id": self.trace_id, "span_id": self.span_id}
        if self.parent_span_id is not None:
            out["parent_span_id"] = self.parent_span_id
        if self.fsc_transaction_id is not None:
            out["fsc_transaction_id"] = self.fsc_transaction_id
        return out


@dataclass(frozen=True, slots=True)
class _Parent:
    trace_id: str
    span_id: str
    sampled: bool


def parse_traceparent(header: str | None) -> _Parent | None:
    """The caller's trace and span, or None when absent or invalid (the spec says: restart)."""
    if header is None:
        return None
    match = _TRACEPARENT.match(header.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    # Version ff is forbidden; version 00 has no trailing fields; later versions may add some.
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return _Parent(trace_id, span_id, bool(int(flags, 16) & 1))


def _random_hex(size: int) -> str:
    return os.urandom(size).hex()


def child_of(
    parent: _Parent | None,
    *,
    tracestate: str | None = None,
    fsc_transaction_id: str | None = None,
    random_hex: Callable[[int], str] = _random_hex,
) -> TraceContext:
    """A new span for this exchange: in the caller's trace, or in a new one."""
    span_id = random_hex(8)
    if parent is None:
        # A tracestate without a valid traceparent means nothing; the spec says drop it.
        return TraceContext(
            trace_id=random_hex(16), span_id=span_id, fsc_transaction_id=fsc_transaction_id
        )
    state = tracestate.strip() if tracestate else None
    return TraceContext(
        trace_id=parent.trace_id,
        span_id=span_id,
        parent_span_id=parent.span_id,
        sampled=parent.sampled,
        tracestate=state if state and len(state) <= _MAX_TRACESTATE else None,
        fsc_transaction_id=fsc_transaction_id,
    )


def trace_from_headers(headers: Mapping[str, str]) -> TraceContext:
    """The exchange's trace context from a request's headers (case-insensitive mapping)."""
    fsc = headers.get("Fsc-Transaction-Id")
    return child_of(
        parse_traceparent(headers.get("traceparent")),
        tracestate=headers.get("tracestate"),
        fsc_transaction_id=fsc.strip()[:128] if fsc and fsc.strip() else None,
    )


_CURRENT: ContextVar[TraceContext | None] = ContextVar("gateway_trace", default=None)


def use_trace(trace: TraceContext) -> None:
    """Make `trace` the current call's context (each request runs in a task of its own)."""
    _CURRENT.set(trace)


def current_trace() -> TraceContext | None:
    """The trace context of the call being answered; None outside one (CLI, background)."""
    return _CURRENT.get()


def current_trace_json() -> dict[str, str] | None:
    """What a log entry written while answering the current call records as its `trace`."""
    trace = _CURRENT.get()
    return None if trace is None else trace.to_json()
