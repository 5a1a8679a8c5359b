"""The log's identity: the origin its checkpoints name and the keys that made its database.

Both are properties of the database, recorded in it: the origin (meta `log_origin`) when the
first instance starts on it (or, for a log that had checkpoints before, the origin of its latest
one, at migration 8), and a fingerprint of each key that shapes what is stored (the pseudonym
key, the at-rest key, the log-signing key, the access-token key). An instance whose
configuration names another origin, or whose keys differ from the recorded ones, refuses to
start: a second instance with its own pseudonym key would split every person's history in two.

A fingerprint never lets anyone test a guessed key cheaply: the log-signing key's is the
SHA-256 of its public key; a symmetric key's is HMAC-SHA256 under the key of a fixed label.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.clock import Clock
from gateway.datadir import DataDir
from gateway.log.checkpoint import verifier_key
from gateway.store.base import KeyFingerprint, LogIdentityStore, StorageUnusable

__all__ = [
    "FINGERPRINT_LABEL",
    "IDENTITY_KEYS",
    "InstanceKeys",
    "KeyCheck",
    "LogIdentityMismatch",
    "check_keys",
    "claim_identity",
    "claim_keys",
    "claim_origin",
    "instance_keys",
    "key_fingerprint",
    "keys_message",
    "log_origin",
    "origin_problem",
    "rotate_keys",
    "verifier_keys",
]

FINGERPRINT_LABEL = b"social-domain-gateway/key-fingerprint/v1"
# The keys whose change would make the stored data unreadable, unverifiable or split.
IDENTITY_KEYS = ("pseudonym", "at-rest", "log-signing", "access-token")


class LogIdentityMismatch(StorageUnusable):
    """This instance's log origin or keys are not the ones the database was made with."""


def key_fingerprint(name: str, secret: bytes) -> str:
    """The recorded fingerprint of a key: never the key, nor a cheap test of a guess."""
    if name == "log-signing":
        public = (
            Ed25519PrivateKey.from_private_bytes(secret)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        return "sha256:" + hashlib.sha256(public).hexdigest()
    return "hmac-sha256:" + hmac.new(secret, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class InstanceKeys:
    """The fingerprints of the keys an instance holds: current, and rotated out (per name)."""

    folder: str
    current: Mapping[str, str]
    retired: Mapping[str, frozenset[str]]

    def pairs(self) -> list[tuple[str, str]]:
        return [(name, self.current[name]) for name in IDENTITY_KEYS]


def instance_keys(data: DataDir) -> InstanceKeys:
    """Read the keys folder (creating missing keys, as a start does) and fingerprint each."""
    return InstanceKeys(
        folder=str(data.keys),
        current={name: key_fingerprint(name, data.secret(name)) for name in IDENTITY_KEYS},
        retired={
            name: frozenset(key_fingerprint(name, key) for key in data.retired(name))
            for name in IDENTITY_KEYS
        },
    )


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """How an instance's keys compare with those recorded in the database."""

    other: tuple[str, ...] = ()  # names whose key this instance holds differs from the recorded
    retired: tuple[str, ...] = ()  # of those, names where it holds a key rotated out since
    # Rotations made in the keys folder and not yet recorded: the instance's current key, whose
    # retired folder holds the recorded current one (recorded as current at start).
    rotated: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.other


def check_keys(recorded: Sequence[KeyFingerprint], mine: InstanceKeys) -> KeyCheck:
    """Compare per key name; a name with nothing recorded yet agrees (it is recorded now)."""
    other: list[str] = []
    retired: list[str] = []
    rotated: list[tuple[str, str]] = []
    for name in IDENTITY_KEYS:
        of_name = [f for f in recorded if f.name == name]
        current = {f.fingerprint for f in of_name if f.retired_at is None}
        ours = mine.current[name]
        if not current or ours in current:
            continue
        known = {f.fingerprint for f in of_name}
        if ours not in known and current <= mine.retired[name]:
            rotated.append((name, ours))
            continue
        other.append(name)
        if ours in known:
            retired.append(name)
    return KeyCheck(tuple(other), tuple(retired), tuple(rotated))


def keys_message(check: KeyCheck, mine: InstanceKeys, recorded_folder: str) -> str:
    """One line: which keys differ, where this instance's are and which folder to use."""
    names = ", ".join(check.other)
    kind = (
        "a retired (rotated-out) key set"
        if set(check.retired) == set(check.other)
        else "other keys"
    )
    use = (
        f"start it with the keys folder the database was made with ({recorded_folder}"
        "; give its --data folder, or keys_dir in gateway.toml)"
        if recorded_folder
        else "start it with the keys folder the database was made with (its --data folder, or "
        "keys_dir in gateway.toml)"
    )
    return (
        f"this instance holds {kind} than the database was made with ({names} differ; "
        f"this instance's keys folder is {mine.folder}): {use}; instances sharing a database "
        "share one keys folder (`gateway keys init --keys-dir DIR`)"
    )


def origin_problem(stored: str, configured: str, config_dir: str) -> str | None:
    """Why a configured log_origin cannot serve this log, or None when it is the stored one."""
    if stored == configured:
        return None
    return (
        f"the log's origin is {stored!r} but log_origin in {config_dir}/gateway.toml is "
        f"{configured!r}: set log_origin = {stored!r} there (a log keeps its origin for life; "
        "another origin needs another database)"
    )


async def claim_origin(storage: LogIdentityStore, origin: str, config_dir: str) -> None:
    """Record the configured origin where none is; refuse one that differs from the stored."""
    problem = origin_problem(await storage.claim_log_origin(origin), origin, config_dir)
    if problem is not None:
        raise LogIdentityMismatch(problem)


async def claim_keys(storage: LogIdentityStore, mine: InstanceKeys, now: datetime) -> None:
    """Record the instance's key fingerprints where none are; refuse keys that differ."""
    recorded = await storage.claim_key_fingerprints(mine.pairs(), mine.folder, now)
    check = check_keys(recorded, mine)
    if not check.ok:
        folders = {f.keys_folder for f in recorded if f.retired_at is None}
        raise LogIdentityMismatch(keys_message(check, mine, ", ".join(sorted(folders))))
    if check.rotated:
        await storage.rotate_key_fingerprints(check.rotated, (), mine.folder, now)


async def claim_identity(
    storage: LogIdentityStore, origin: str, config_dir: str, mine: InstanceKeys, now: datetime
) -> None:
    """Both claims, as an instance starts: raises LogIdentityMismatch (a StorageUnusable, so
    the command stops with one line and exit code 2)."""
    await claim_origin(storage, origin, config_dir)
    await claim_keys(storage, mine, now)


async def log_origin(storage: LogIdentityStore, configured: str, named_config: str | None) -> str:
    """The log's own origin, stored with it; a configuration named explicitly (`--config`)
    that gives another one is refused with LogIdentityMismatch.

    A log that has none stored (nothing was ever signed and no instance started on it with
    this version) takes the configured one.
    """
    stored = await storage.log_origin()
    if stored is None:
        return configured
    if named_config is not None:
        problem = origin_problem(stored, configured, named_config)
        if problem is not None:
            raise LogIdentityMismatch(problem)
    return stored


def verifier_keys(data: DataDir, origin: str) -> list[str]:
    """The log's verifier keys under its origin: the current one first, then those of
    rotated-out signing keys."""
    keys = [data.log_signing_key(), *data.retired_log_signing_keys()]
    return [verifier_key(origin, key.public_key()) for key in keys]


async def rotate_keys(
    storage: LogIdentityStore, data: DataDir, names: Sequence[str], clock: Clock
) -> None:
    """Retire the named keys (the new ones are made at once) and record the new fingerprints.

    Only the keys that made this database may be rotated in it: checked before any file moves,
    so a refusal changes nothing.
    """
    await claim_keys(storage, instance_keys(data), clock.now())
    old = instance_keys(data)
    for name in names:
        data.rotate(name)
    new = instance_keys(data)
    await storage.rotate_key_fingerprints(
        [(name, new.current[name]) for name in names],
        [(name, old.current[name]) for name in names],
        new.folder,
        clock.now(),
    )
