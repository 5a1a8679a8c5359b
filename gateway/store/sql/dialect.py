"""What SQLite and PostgreSQL spell differently: bound parameters, type names, a few clauses.

Statements are written once, with `?` for each bound argument and `{name}` for the words a
dialect spells its own way (`{int64}`, `{bytes}`, `{skip_locked}`...), and rendered per dialect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["POSTGRESQL", "SQLITE", "Dialect"]

_PARAM = re.compile(r"\?")
_KEPT = 4096  # rendered statements remembered per dialect


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str  # "sqlite" | "postgresql"
    numbered: bool  # $1, $2... instead of ?
    words: dict[str, str] = field(default_factory=dict)
    _rendered: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def render(self, template: str) -> str:
        """`template` with this dialect's words and, on PostgreSQL, `?` numbered from $1."""
        text = self._rendered.get(template)
        if text is None:
            text = template.format_map(self.words) if "{" in template else template
            if self.numbered:
                counter = iter(range(1, 100_000))
                text = _PARAM.sub(lambda _: f"${next(counter)}", text)
            if len(self._rendered) < _KEPT:  # statements built per call are not all kept
                self._rendered[template] = text
        return text

    def param(self, n: int) -> str:
        """The n-th bound argument (1-based)."""
        return f"${n}" if self.numbered else "?"


SQLITE = Dialect(
    "sqlite",
    numbered=False,
    words={
        "int64": "INTEGER",
        "bytes": "BLOB",
        "counted_key": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "serial_key": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "flag": "INTEGER NOT NULL DEFAULT 0",
        "skip_locked": "",
        "for_update": "",
        "greatest": "MAX",
        # Inside the writer's IMMEDIATE transaction no other process appends: max + 1 is gap-free.
        "log_size": "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries",
    },
)
POSTGRESQL = Dialect(
    "postgresql",
    numbered=True,
    words={
        "int64": "BIGINT",
        "bytes": "BYTEA",
        # The inbox's sequence numbers come from the `inbox_head` counter (see schema.py).
        "counted_key": "BIGINT PRIMARY KEY",
        "serial_key": "BIGSERIAL PRIMARY KEY",
        "flag": "BOOLEAN NOT NULL DEFAULT FALSE",
        "skip_locked": " FOR UPDATE SKIP LOCKED",
        "for_update": " FOR UPDATE",
        "greatest": "GREATEST",
        "log_size": "SELECT size FROM log_head",
    },
)
