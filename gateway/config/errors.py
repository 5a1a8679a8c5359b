"""The one error configuration loading raises: it names the file, the entry and the problem."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConfigError"]


class ConfigError(Exception):
    """A configuration file is missing or wrong; the message says where and what."""

    def __init__(self, path: Path | str, problem: str, entry: str | None = None) -> None:
        where = f"{path}" if entry is None else f"{path}: {entry}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.entry = entry
        self.problem = problem
