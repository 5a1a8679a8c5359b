"""`gateway.toml`: the gateway's own settings."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.config._toml import Table, read_toml
from gateway.config.outbox import Logbook, OutboxSettings, read_logbook, read_outbox
from gateway.config.partners import PARTNER_KINDS

__all__ = ["Settings", "load_settings"]

_KNOWN = frozenset(
    {
        "id",
        "public_url",
        "schemas_dir",
        "token_lifetime_s",
        "max_body_bytes",
        "log_origin",
        "purge_interval_s",
        "retention_interval_s",
        "checkpoint_interval_s",
        "keys_dir",
        "max_header_bytes",
        "max_in_flight",
        "metrics_listen",
        "max_json_depth",
        "max_json_items",
        "read_timeout_s",
        "keepalive_timeout_s",
        "storage_timeout_s",
        "storage_wait_s",
        "rate_limits",
        "logbook",
        "outbox",
    }
)
_RATE_KEYS = PARTNER_KINDS | {"actor", "failed_assertions_per_minute"}
# Generous defaults: a limit is there to stop a runaway client, not to pace ordinary work.
DEFAULT_RATES = {
    "social_team": (200.0, 400),
    "care_provider": (200.0, 400),
    "certified_institution": (200.0, 400),
    "school": (100.0, 200),
    "privacy_officer": (50.0, 100),
    "veilig_thuis": (200.0, 400),
    "general_practitioner": (100.0, 200),
    "youth_health_care": (100.0, 200),
    "work_and_income": (100.0, 200),
    "compulsory_education": (100.0, 200),
    "child_protection_board": (100.0, 200),
    "actor": (100.0, 200),
}


@dataclass(frozen=True, slots=True)
class Settings:
    """The gateway's identity and limits, from `gateway.toml`."""

    id: str
    public_url: str
    schemas_dir: Path
    token_lifetime_s: int
    max_body_bytes: int
    log_origin: str
    purge_interval_s: int
    checkpoint_interval_s: float
    production: bool  # GATEWAY_ENV=production: demo partners with published keys are refused
    keys_dir: Path | None = None  # shared keys for many instances; default: DATA/keys
    max_header_bytes: int = 8190  # request line and each header line
    retention_interval_s: int = 3600  # how often records past their retention are removed
    max_in_flight: int = 256  # per worker; beyond it a fast 503
    max_json_depth: int = 32
    max_json_items: int = 1000
    read_timeout_s: float = 10.0  # a request head, and its body, must each arrive within it
    keepalive_timeout_s: float = 75.0  # an idle kept-alive connection is closed after it
    storage_timeout_s: float = 30.0  # one PostgreSQL read or write, then 503 storage_unavailable
    storage_wait_s: float = 30.0  # `gateway serve` waits this long for unreachable storage
    # (requests per second, burst) per partner kind, and "actor" for each professional
    rates: Mapping[str, tuple[float, int]] = field(default_factory=lambda: dict(DEFAULT_RATES))
    failed_assertions_per_minute: int = 20  # logged one by one; more get 429 and one summary
    logbook: Logbook | None = None  # LDV records over OTLP/HTTP; None: not exported
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    # Where Prometheus scrapes `/metrics` (host, port), off the API port; None: not served.
    metrics_listen: tuple[str, int] | None = ("127.0.0.1", 9464)

    @property
    def token_url(self) -> str:
        return self.public_url.rstrip("/") + "/v1/token"

    @property
    def audiences(self) -> frozenset[str]:
        """Values a client assertion's `aud` may carry: the gateway id or its token URL."""
        return frozenset({self.id, self.token_url})


def load_settings(config_dir: Path) -> Settings:
    """Read and validate `gateway.toml` in the config folder."""
    path = config_dir / "gateway.toml"
    table = Table(path, "gateway", read_toml(path))
    table.reject_unknown(_KNOWN)
    gateway_id = table.text("id")
    if not gateway_id.strip():
        raise table.fail("'id' must not be empty")
    lifetime = table.integer("token_lifetime_s", 300, minimum=30)
    if lifetime > 600:
        raise table.fail("'token_lifetime_s' must be at most 600 (the contract's limit)")
    schemas_dir = (config_dir / table.text("schemas_dir", "../schemas")).resolve()
    if not schemas_dir.is_dir():
        raise table.fail(f"'schemas_dir' {schemas_dir} is not a folder")
    interval = table._get("checkpoint_interval_s", float, 0.5, False)
    assert interval is not None
    if not 0.05 <= interval <= 1.0:
        raise table.fail("'checkpoint_interval_s' must be between 0.05 and 1.0")
    return Settings(
        id=gateway_id,
        public_url=table.text("public_url", "http://127.0.0.1:8080"),
        schemas_dir=schemas_dir,
        token_lifetime_s=lifetime,
        max_body_bytes=table.integer("max_body_bytes", 1024 * 1024, minimum=1024),
        log_origin=table.text("log_origin", gateway_id),
        purge_interval_s=table.integer("purge_interval_s", 60, minimum=1),
        checkpoint_interval_s=interval,
        production=_production(),
        keys_dir=_keys_dir(config_dir, table.opt_text("keys_dir")),
        max_header_bytes=table.integer("max_header_bytes", 8190, minimum=1024),
        retention_interval_s=table.integer("retention_interval_s", 3600, minimum=1),
        max_in_flight=table.integer("max_in_flight", 256, minimum=1),
        max_json_depth=table.integer("max_json_depth", 32, minimum=4),
        max_json_items=table.integer("max_json_items", 1000, minimum=10),
        read_timeout_s=table.seconds("read_timeout_s", 10.0),
        keepalive_timeout_s=table.seconds("keepalive_timeout_s", 75.0),
        storage_timeout_s=table.seconds("storage_timeout_s", 30.0, low=1.0, high=600.0),
        storage_wait_s=_wait(table),
        logbook=read_logbook(table),
        outbox=read_outbox(table),
        metrics_listen=_metrics_listen(table),
        **_rates(table),
    )


def _metrics_listen(table: Table) -> tuple[str, int] | None:
    """`metrics_listen = "HOST:PORT"` (IPv6 as "[::1]:9464"); "" turns `/metrics` off."""
    raw = table.text("metrics_listen", "127.0.0.1:9464").strip()
    if not raw:
        return None
    host, colon, port = raw.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise table.fail(
            f'\'metrics_listen\' must be HOST:PORT (e.g. "127.0.0.1:9464") or "" for off, '
            f"not {raw!r}"
        )
    return host, int(port)


def _wait(table: Table) -> float:
    """`storage_wait_s`: 0 gives up at once; otherwise any non-negative number of seconds."""
    wait = table._get("storage_wait_s", float, 30.0, False)
    assert wait is not None
    if not (wait >= 0 and math.isfinite(wait)):
        raise table.fail(f"'storage_wait_s' must be 0 or a positive number of seconds, not {wait}")
    return float(wait)


def _rates(table: Table) -> dict[str, Any]:
    """`[rate_limits]`: per kind `{per_second = .., burst = ..}`; `failed_assertions_per_minute`."""
    rates = dict(DEFAULT_RATES)
    limits = table.table("rate_limits", required=False)
    failed = 20
    if limits is not None:
        limits.reject_unknown(_RATE_KEYS)
        failed = limits.integer("failed_assertions_per_minute", 20, minimum=1)
        for kind in _RATE_KEYS - {"failed_assertions_per_minute"}:
            sub = limits.table(kind, required=False)
            if sub is not None:
                sub.reject_unknown(frozenset({"per_second", "burst"}))
                per_second = sub._get("per_second", float, None, True)
                assert per_second is not None
                if per_second <= 0:
                    raise sub.fail("'per_second' must be positive")
                rates[kind] = (per_second, sub.integer("burst", minimum=1))
    return {"rates": rates, "failed_assertions_per_minute": failed}


def _production() -> bool:
    """Whether GATEWAY_ENV says this is production (the one place the variable is read)."""
    return os.environ.get("GATEWAY_ENV", "").lower() == "production"


def _keys_dir(config_dir: Path, configured: str | None) -> Path | None:
    """GATEWAY_KEYS_DIR wins over gateway.toml's keys_dir (relative to the config folder)."""
    from_env = os.environ.get("GATEWAY_KEYS_DIR")
    if from_env:
        return Path(from_env)
    return None if configured is None else (config_dir / configured).resolve()
