"""`[logbook]` and `[outbox]` in `gateway.toml`, `verwerkingenlogging` in `partners.toml`.

The logbook is a Logboek Dataverwerkingen (LDV) endpoint taking OTLP/HTTP trace exports; every
disclosure-log entry goes there as LDV records. A partner's Verwerkingenlogging API (VNG) gets
a `verwerkingsactie` for each disclosure concerning that partner. Both go through the durable
outbox, whose pace and retries `[outbox]` sets.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Literal, cast

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
    encoding: Literal["protobuf", "json"] = "protobuf"
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
    secret: str | None = field(default=None, repr=False)  # read from secret_env at load


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
    return Logbook(
        url,
        cast(Literal["protobuf", "json"], encoding),
        table.seconds("timeout_s", 10.0, low=0.1, high=120.0),
    )


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
    initial = table.seconds("retry_initial_s", 1.0, low=0.05, high=3600.0)
    most = table.seconds("retry_max_s", 300.0, low=0.05, high=86400.0)
    if most < initial:
        raise table.fail("'retry_max_s' must be at least 'retry_initial_s'")
    return OutboxSettings(
        batch=batch,
        interval_s=table.seconds("interval_s", 1.0, low=0.05, high=60.0),
        retry_initial_s=initial,
        retry_max_s=most,
        lease_s=table.seconds("lease_s", 60.0, low=1.0, high=3600.0),
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
    secret = None
    if secret_env is not None:
        if not _ENV_NAME.match(secret_env):
            raise table.fail("'secret_env' must name an environment variable (A-Z, 0-9, _)")
        # Read now, not at send time: a missing secret stops the start, instead of every
        # request going out unauthenticated and being refused for ever.
        secret = os.environ.get(secret_env)
        if not secret:
            raise table.fail(
                f"the environment variable {secret_env} (verwerkingenlogging.secret_env) is not "
                "set; export the secret shared with the partner's Verwerkingenlogging API"
            )
    return VerwerkingenloggingTarget(
        url,
        client_id,
        secret_env,
        table.seconds("timeout_s", 10.0, low=0.1, high=120.0),
        secret,
    )
