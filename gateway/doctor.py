"""`gateway doctor`: check an installation and say what is wrong and how to fix it.

Each check returns findings; nothing is changed. The exit code is non-zero when any finding is
a problem, so the command can gate a deployment.
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.clock import SystemClock
from gateway.config import ConfigError, load_catalogue, load_settings
from gateway.config.deadlines import load_holidays
from gateway.container import Gateway
from gateway.datadir import KEY_NAMES, DataDir
from gateway.errors import StorageUnavailable
from gateway.identity import (
    check_keys,
    instance_keys,
    keys_message,
    origin_problem,
    verifier_keys,
)
from gateway.log.checkpoint import NoteError, NoteVerifier, open_checkpoint, parse_verifier_key
from gateway.log.sequencer import LogIntegrityError, Sequencer
from gateway.log.verify import LogTampered, verify_log
from gateway.runtime import build_gateway, load_checked_partners
from gateway.store.base import StorageUnusable
from gateway.store.schema import SCHEMA_VERSION

__all__ = ["Finding", "diagnose"]

MAX_CLOCK_SKEW_S = 2.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's outcome: ok, or a problem with how to fix it."""

    ok: bool
    what: str
    how_to_fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"ok       {self.what}"
        return f"PROBLEM  {self.what}\n         fix: {self.how_to_fix}"


def _config(config: Path) -> Iterator[Finding]:
    try:
        settings = load_settings(config)
        catalogue = load_catalogue(config, settings.schemas_dir)
        partners = load_checked_partners(config, production=settings.production)
    except ConfigError as exc:
        yield Finding(False, f"configuration: {exc}", "correct the file and entry named")
        return
    yield Finding(
        True, f"configuration: {len(list(catalogue))} purposes, {len(partners)} partners ({config})"
    )
    holidays_path = config / "holidays.toml"
    if holidays_path.exists():
        problem = load_holidays(holidays_path).coverage_problem(SystemClock().now().date())
        yield Finding(
            problem is None,
            problem or "holidays: the list covers at least the coming year",
            "add the coming years' holidays to holidays.toml (its header says which days count)",
        )
    examples = sorted(p.id for p in catalogue if "example.org/" in p.processing_activity)
    if examples:
        yield Finding(
            not settings.production,
            f"{len(examples)} purpose(s) name an example processing activity URI "
            f"({', '.join(examples[:3])}{', ...' if len(examples) > 3 else ''})"
            + ("" if settings.production else " (fine for trying it out; not for production)"),
            "name your own register's URIs in register.toml [processing_activity] "
            "(docs/processing-register.md)",
        )
    if partners.uses_demo_keys:
        yield Finding(
            not settings.production,
            "demo partners with published keys are configured"
            + ("" if settings.production else " (fine for trying it out; not for production)"),
            "remove them from partners.toml and register your partners' real JWKS",
        )


def _mode_problem(path: Path, private: int) -> str | None:
    mode = stat.S_IMODE(path.stat().st_mode)
    return None if mode & ~private == 0 else f"{path} has mode {mode:04o}"


def _files(data: DataDir) -> Iterator[Finding]:
    if not data.path.is_dir():
        yield Finding(
            False,
            f"data folder {data.path} does not exist",
            "start the gateway once, or create it (mode 0700)",
        )
        return
    problem = _mode_problem(data.path, 0o700)
    yield Finding(
        problem is None, problem or f"data folder {data.path} is private", f"chmod 700 {data.path}"
    )
    for name in KEY_NAMES:
        key = data.keys / f"{name}.key"
        if not key.exists():
            yield Finding(
                False,
                f"key {key} is missing",
                "start the gateway once, or `gateway keys init --keys-dir DIR`",
            )
            continue
        problem = _mode_problem(key, 0o600)
        yield Finding(
            problem is None, problem or f"key {name} is present and private", f"chmod 600 {key}"
        )
    database = data.path / "gateway.sqlite3"
    if database.exists():
        problem = _mode_problem(database, 0o600)
        yield Finding(
            problem is None, problem or "database file is private", f"chmod 600 {database}"
        )


async def _storage(gw: Gateway) -> list[Finding]:
    found: list[Finding] = []
    try:
        version = await gw.storage.schema_version()
    except StorageUnavailable as exc:
        return [
            Finding(
                False, f"storage unreachable: {exc}", "check --storage and that the database runs"
            )
        ]
    except StorageUnusable as exc:
        return [Finding(False, f"storage unusable: {exc}", "see the message")]
    if version != SCHEMA_VERSION:
        return [
            Finding(
                False,
                f"storage schema version {version}, this gateway needs {SCHEMA_VERSION}",
                "run `gateway migrate` with the same --data/--storage"
                if version < SCHEMA_VERSION
                else "run a newer gateway",
            )
        ]
    found.append(Finding(True, f"storage reachable, schema version {version}"))
    try:
        await gw.storage.open()
    except (StorageUnavailable, StorageUnusable) as exc:
        return [*found, Finding(False, f"storage cannot be opened: {exc}", "see the message")]
    try:
        found.extend(await _clock(gw))
        identity, origin = await _identity(gw)
        found.extend(identity)
        found.extend(await _log(gw, origin))
    finally:
        await gw.storage.close()
    return found


async def _clock(gw: Gateway) -> list[Finding]:
    before = gw.now()
    server = await gw.storage.server_now()
    after = gw.now()
    if server is None:
        return [Finding(True, "clock: embedded storage shares this machine's clock")]
    skew = abs((server - (before + (after - before) / 2)).total_seconds())
    return [
        Finding(
            skew <= MAX_CLOCK_SKEW_S,
            f"clock skew against the database server: {skew:.2f} s",
            "synchronise both machines with NTP (deadlines and token lifetimes depend on it)",
        )
    ]


async def _identity(gw: Gateway) -> tuple[list[Finding], str]:
    """The stored origin and key fingerprints against this configuration and keys folder; the
    origin to check the log with (the stored one, if any)."""
    found: list[Finding] = []
    stored = await gw.storage.log_origin()
    configured = gw.settings.log_origin
    problem = None if stored is None else origin_problem(stored, configured, str(gw.config_dir))
    found.append(
        Finding(
            problem is None,
            problem
            or f"log origin {stored or configured!r}"
            + (" is the stored one" if stored else " (none stored yet: recorded at first start)"),
            f"set log_origin = {stored!r} in {gw.config_dir}/gateway.toml",
        )
    )
    mine = instance_keys(gw.data)
    # Claiming nothing records nothing: this only reads what is recorded.
    recorded = await gw.storage.claim_key_fingerprints((), mine.folder, gw.now())
    check = check_keys(recorded, mine)
    folders = ", ".join(sorted({f.keys_folder for f in recorded if f.retired_at is None}))
    if not recorded:
        found.append(
            Finding(True, "no key fingerprints recorded yet: the next start records this folder's")
        )
    else:
        found.append(
            Finding(
                check.ok,
                f"keys in {mine.folder} are the ones the database was made with"
                if check.ok
                else keys_message(check, mine, folders),
                f"use the keys folder the database was made with ({folders})",
            )
        )
    return found, stored or configured


async def _log(gw: Gateway, origin: str) -> list[Finding]:
    latest = await gw.storage.latest_checkpoint()
    size = await gw.storage.log_size()
    if latest is None:
        return [
            Finding(
                size == 0,
                f"no signed checkpoint yet over {size} log entries",
                "start the gateway: its sequencer signs within a second",
            )
        ]
    try:
        open_checkpoint(latest.note, _verifiers(gw, origin), origin=origin)
    except NoteError as exc:
        return [
            Finding(
                False,
                f"latest checkpoint does not verify: {exc}",
                "run `gateway log verify` and investigate",
            )
        ]
    try:
        await Sequencer(gw.storage, lambda: gw.log_signer, origin, gw.now).restore()
    except LogIntegrityError as exc:
        return [
            Finding(
                False, f"stored tree: {exc}", "run `gateway log verify` to find the first bad entry"
            )
        ]
    try:
        report = await verify_log(gw.storage, _verifiers(gw, origin), origin)
    except LogTampered as exc:
        return [
            Finding(
                False,
                f"log verification failed at index {exc.index}: {exc.problem}",
                "run `gateway log verify` and investigate; restore the entry from a backup",
            )
        ]
    behind = size - latest.size
    return [
        Finding(
            True,
            f"every log entry and its searchable columns agree with the signed tree "
            f"({report.entries} entries)",
        ),
        Finding(
            True,
            f"latest checkpoint signed and matching the stored tree (size {latest.size}, {latest.time:%Y-%m-%d %H:%M:%S}Z)",
        ),
        Finding(
            behind == 0 or (gw.now() - latest.time).total_seconds() < 10,
            f"{behind} entries not yet covered by a checkpoint",
            "is a gateway running? its sequencer signs new entries within a second",
        ),
    ]


def _verifiers(gw: Gateway, origin: str) -> list[NoteVerifier]:
    """The gateway's verifier keys under the log's own origin (which names the key)."""
    return [parse_verifier_key(key) for key in verifier_keys(gw.data, origin)]


def diagnose(config: Path, data: Path, storage_url: str | None) -> list[Finding]:
    """Every finding, in the order an operator would fix them."""
    findings = list(_config(config))
    if not all(f.ok for f in findings):
        return findings
    keys_dir = load_settings(config).keys_dir
    findings.extend(_files(DataDir(data, keys_dir)))
    if not all(f.ok for f in findings):
        # Opening the gateway would create what is missing; the doctor changes nothing.
        return findings
    gw = build_gateway(config, data, storage_url)
    findings.extend(asyncio.run(_storage(gw)))
    return findings
