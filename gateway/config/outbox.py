"""`[logbook]` and `[outbox]` in `gateway.toml`, `verwerkingenlogging` in `partners.toml`.

The logbook is a Logboek Dataverwerkingen (LDV) endpoint taking OTLP/HTTP trace exports; every
disclosure-log entry goes there as LDV records. A partner's Verwerkingenlogging API (VNG) gets
a `verwerkingsactie` for each disclosure concerning that partner. Both go through the durable
outbox, whose pace and retries `[outbox]` sets.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from gateway.config._toml import Table

__all__ = [
    "Logbook",
    "OutboxSettings",
    "VerwerkingenloggingTarget",
    "read_logbook",
    "read_outbox",
    "read_verwerkingenlogging",
]

HTTP_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s#]*)?$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Logbook:
    """Where LDV records go: an OTLP/HTTP traces endpoint, as protobuf or JSON."""

    url: str
    encoding: str = "protobuf"  # "protobuf" | "json"
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    """How the outbox delivers: batch size, pace and retry backoff."""

    batch: int = 100
    interval_s: float = 1.0
    retry_initial_s: float = 1.0
    retry_max_s: float = 300.0
    lease_s: float = 60.0

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failures: doubling, capped."""
        return float(min(self.retry_max_s, self.retry_initial_s * 2.0 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class VerwerkingenloggingTarget:
    """A partner's own VNG Verwerkingenlogging API (it is the controller of that log)."""

    url: str  # the collection URL verwerkingsacties are POSTed to
    client_id: str | None = None  # ZGW-style JWT-Claims: HS256 token from client id and secret
    secret_env: str | None = None  # the environment variable holding the secret (never the file)
    timeout_s: float = 10.0

    def secret(self) -> str | None:
        return None if self.secret_env is None else os.environ.get(self.secret_env)


def _seconds(table: Table, key: str, default: float, low: float, high: float) -> float:
    value = table._get(key, float, default, False)
    assert value is not None
    if not low <= value <= high:
        raise table.fail(f"'{key}' must be between {low:g} and {high:g}")
    return value


def read_logbook(parent: Table) -> Logbook | None:
    """`[logbook]`: `url` (required), `encoding`, `timeout_s`; absent: no LDV export."""
    table = parent.table("logbook", required=False)
    if table is None:
        return None
    table.reject_unknown(frozenset({"url", "encoding", "timeout_s"}))
    url = table.text("url")
    if not HTTP_URL.match(url):
        raise table.fail("'url' must be an http(s) URL (the OTLP/HTTP traces endpoint)")
    encoding = table.text("encoding", "protobuf")
    if encoding not in ("protobuf", "json"):
        raise table.fail("'encoding' must be 'protobuf' or 'json'")
    return Logbook(url, encoding, _seconds(table, "timeout_s", 10.0, 0.1, 120.0))


def read_outbox(parent: Table) -> OutboxSettings:
    """`[outbox]`: `batch`, `interval_s`, `retry_initial_s`, `retry_max_s`, `lease_s`."""
    table = parent.table("outbox", required=False)
    if table is None:
        return OutboxSettings()
    table.reject_unknown(
        frozenset({"batch", "interval_s", "retry_initial_s", "retry_max_s", "lease_s"})
    )
    batch = table.integer("batch", 100, minimum=1)
    if batch > 1000:
        raise table.fail("'batch' must be at most 1000")
    initial = _seconds(table, "retry_initial_s", 1.0, 0.05, 3600.0)
    most = _seconds(table, "retry_max_s", 300.0, 0.05, 86400.0)
    if most < initial:
        raise table.fail("'retry_max_s' must be at least 'retry_initial_s'")
    return OutboxSettings(
        batch=batch,
        interval_s=_seconds(table, "interval_s", 1.0, 0.05, 60.0),
        retry_initial_s=initial,
        retry_max_s=most,
        lease_s=_seconds(table, "lease_s", 60.0, 1.0, 3600.0),
    )


def read_verwerkingenlogging(partner: Table) -> VerwerkingenloggingTarget | None:
    """A partner's `verwerkingenlogging = {url, client_id?, secret_env?, timeout_s?}`."""
    table = partner.table("verwerkingenlogging", required=False)
    if table is None:
        return None
    table.reject_unknown(frozenset({"url", "client_id", "secret_env", "timeout_s"}))
    url = table.text("url")
    if not HTTP_URL.match(url):
        raise table.fail("'url' must be an http(s) URL (the verwerkingsacties collection)")
    client_id = table.opt_text("client_id")
    secret_env = table.opt_text("secret_env")
    if (client_id is None) != (secret_env is None):
        raise table.fail("'client_id' and 'secret_env' go together (JWT-Claims authentication)")
    if secret_env is not None and not _ENV_NAME.match(secret_env):
        raise table.fail("'secret_env' must name an environment variable (A-Z, 0-9, _)")
    return VerwerkingenloggingTarget(
        url, client_id, secret_env, _seconds(table, "timeout_s", 10.0, 0.1, 120.0)
    )
