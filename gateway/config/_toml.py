"""Small typed readers for values of a parsed TOML table, raising ConfigError with context."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from gateway.config.errors import ConfigError

T = TypeVar("T")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file, or raise ConfigError naming it."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(path, "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"not valid TOML: {exc}") from None


class Table:
    """One TOML table being read, remembering file and entry for error messages."""

    def __init__(self, path: Path, entry: str, data: Any) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(path, "must be a table", entry)
        self.path = path
        self.entry = entry
        self.data: Mapping[str, Any] = data

    def fail(self, problem: str) -> ConfigError:
        return ConfigError(self.path, problem, self.entry)

    def _get(self, key: str, kind: type[T], default: T | None, required: bool) -> T | None:
        if key not in self.data:
            if required:
                raise self.fail(f"missing required key '{key}'")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(f"'{key}' must be a {kind.__name__}, not {type(value).__name__}")
        return value

    def text(self, key: str, default: str | None = None, *, required: bool = True) -> str:
        value = self._get(key, str, default, required and default is None)
        if value is None:
            raise self.fail(f"missing required key '{key}'")
        return value

    def opt_text(self, key: str) -> str | None:
        return self._get(key, str, None, False)

    def integer(self, key: str, default: int | None = None, *, minimum: int = 0) -> int:
        value = self._get(key, int, default, default is None)
        assert value is not None
        if value < minimum:
            raise self.fail(f"'{key}' must be at least {minimum}, not {value}")
        return value

    def seconds(
        self, key: str, default: float, *, low: float = 0.0, high: float = math.inf
    ) -> float:
        """A duration: a finite positive number of seconds, within [low, high] when given."""
        value = self._get(key, float, default, False)
        assert value is not None
        if not (value > 0 and math.isfinite(value)):
            raise self.fail(f"'{key}' must be a positive number of seconds, not {value}")
        if not low <= value <= high:
            raise self.fail(f"'{key}' must be between {low:g} and {high:g} seconds")
        return value

    def flag(self, key: str, default: bool | None = None) -> bool:
        value = self._get(key, bool, default, default is None)
        assert value is not None
        return value

    def texts(
        self, key: str, *, required: bool = True, allowed: frozenset[str] | None = None
    ) -> tuple[str, ...]:
        value = self._get(key, list, [] if not required else None, required)
        assert value is not None
        out: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise self.fail(f"'{key}' must be a list of strings")
            if allowed is not None and item not in allowed:
                raise self.fail(
                    f"'{key}' has '{item}', expected one of {', '.join(sorted(allowed))}"
                )
            out.append(item)
        return tuple(out)

    def table(self, key: str, *, required: bool = True) -> Table | None:
        if key not in self.data:
            if required:
                raise self.fail(f"missing required table '{key}'")
            return None
        return Table(self.path, f"{self.entry}.{key}", self.data[key])

    def reject_unknown(self, known: frozenset[str]) -> None:
        unknown = sorted(set(self.data) - known)
        if unknown:
            raise self.fail(f"unknown key(s) {', '.join(repr(k) for k in unknown)}")
