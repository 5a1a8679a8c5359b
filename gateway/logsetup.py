"""Structured logs (structlog): JSON off a terminal, and never a BSN or a payload in them."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["configure_logging", "redact"]

# Any run of exactly nine digits could be a BSN: blank it, whatever field it is in.
_BSN_SHAPED = re.compile(r"(?<!\d)\d{9}(?!\d)")
_FORBIDDEN_KEYS = frozenset(
    {"payload", "bsn", "subject_bsn", "body", "birth_date", "identifier", "identifier_value"}
)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _BSN_SHAPED.sub("[redacted]", value)
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 100_000_000 <= value <= 999_999_999
    ):
        return "[redacted]"
    if isinstance(value, dict):
        return {k: "[redacted]" if k in _FORBIDDEN_KEYS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: drop payload-like keys and blank BSN-shaped values everywhere."""
    for key in list(event_dict):
        if key in _FORBIDDEN_KEYS:
            event_dict[key] = "[redacted]"
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure_logging(*, json: bool | None = None, level: int = logging.INFO) -> None:
    """Configure structlog once for the process."""
    as_json = (not sys.stderr.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
