"""W3C Trace Context (level 1): read, start and pass on `traceparent` and `tracestate`.

One call is one span of a trace: a caller's `traceparent` names the trace and its own span
(our parent); without one the gateway starts a new trace, so every exchange can be followed.
The web layer keeps the current call's context in a context variable (`current_trace`), so
that log entries written while answering the call name it.

What a caller sends in these headers is free text until checked, and part of it reaches the
disclosure log (trace and span ids, the FSC transaction id) or the recipient's message
(`tracestate`). So each is parsed strictly and what fails is never kept as it came:

- `traceparent`: the W3C grammar exactly; anything else is ignored and a new trace started.
- `tracestate`: the W3C list grammar (at most 32 members, keys and values as the spec
  defines them, 512 characters in all); a header that fails is dropped whole, and a member
  that could carry a BSN (`looks_like_bsn`: 8 or more digits in a row, or nine digits passing
  the elfproef across single separators, in its key or its value) is dropped alone, so
  that no person number travels beside the purpose's payload.
- `Fsc-Transaction-Id`: a UUID version 7 in its canonical text form, as the FSC logging
  extension defines the transaction id (`fsc_transaction_id`); `fsc_transaction_problem`
  names what is wrong with one, and the web layer refuses such a call with `invalid_request`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from gateway.subject import looks_like_bsn

__all__ = [
    "TraceContext",
    "child_of",
    "current_trace",
    "current_trace_json",
    "fsc_transaction_problem",
    "parse_traceparent",
    "parse_tracestate",
    "trace_from_headers",
    "use_trace",
]

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_MAX_TRACESTATE = 512
_MAX_TRACESTATE_MEMBERS = 32
# W3C Trace Context level 1, 3.3.1: a key is a simple key or a multi-tenant `tenant@system`;
# a value is 1-256 printable ASCII characters other than ',' and '=', not ending in a space.
_TRACESTATE_KEY = re.compile(
    r"[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}"
)
_TRACESTATE_VALUE = re.compile(r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]")
# FSC logging extension: the transaction id is a UUID v7 (36 characters, RFC 9562 layout).
_FSC_TRANSACTION_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)
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
    return TraceContext(
        trace_id=parent.trace_id,
        span_id=span_id,
        parent_span_id=parent.span_id,
        sampled=parent.sampled,
        tracestate=parse_tracestate(tracestate),
        fsc_transaction_id=fsc_transaction_id,
    )


def parse_tracestate(header: str | None) -> str | None:
    """The `tracestate` to pass on, rebuilt from its valid members; None when there is none.

    A header that breaks the W3C grammar anywhere (a bad key or value, a duplicate key, more
    than 32 members, over 512 characters) is dropped whole, as the spec allows; a member that
    could carry a BSN (looks_like_bsn, key or value) is dropped alone.
    """
    if header is None or len(header) > _MAX_TRACESTATE:
        return None
    members: list[str] = []
    keys: set[str] = set()
    for raw in header.split(","):
        member = raw.strip(" \t")
        if not member:
            continue  # empty list-members are allowed and ignored
        key, equals, value = member.partition("=")
        if (
            not equals
            or _TRACESTATE_KEY.fullmatch(key) is None
            or _TRACESTATE_VALUE.fullmatch(value) is None
            or key in keys
        ):
            return None
        keys.add(key)
        if not looks_like_bsn(f"{key}={value}"):
            members.append(f"{key}={value}")
    if len(keys) > _MAX_TRACESTATE_MEMBERS or not members:
        return None
    return ",".join(members)


def fsc_transaction_problem(header: str | None) -> str | None:
    """What is wrong with an `Fsc-Transaction-Id` header value; None when absent or valid."""
    if header is None:
        return None
    if not header.isascii() or _FSC_TRANSACTION_ID.fullmatch(header.lower()) is None:
        return (
            "the Fsc-Transaction-Id header must be a UUID version 7 in its canonical form "
            "(8-4-4-4-12 hexadecimal digits), as the FSC logging extension defines it"
        )
    return None


def trace_from_headers(headers: Mapping[str, str]) -> TraceContext:
    """The exchange's trace context from a request's headers (case-insensitive mapping).

    An invalid `Fsc-Transaction-Id` is left out here (the web layer refuses the call before
    anything is written); only a valid one, lower-cased, is kept.
    """
    fsc = headers.get("Fsc-Transaction-Id")
    valid_fsc = fsc is not None and fsc_transaction_problem(fsc) is None
    return child_of(
        parse_traceparent(headers.get("traceparent")),
        tracestate=headers.get("tracestate"),
        fsc_transaction_id=fsc.lower() if fsc is not None and valid_fsc else None,
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
