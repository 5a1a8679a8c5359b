"""The `--data` folder: the gateway's own secrets, created on first start with mode 0600."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["KEY_NAMES", "ROTATABLE", "DataDir"]

# The pseudonym key never rotates: a new key would split every person's history in two.
ROTATABLE = frozenset({"at-rest", "log-signing", "access-token"})
KEY_NAMES = ("pseudonym", "at-rest", "access-token", "log-signing", "notification-signing")


class DataDir:
    """Everything the gateway writes lives here; keys are made once and then only read."""

    def __init__(self, path: Path, keys: Path | None = None) -> None:
        self.path = path.resolve()
        # Many instances share one keys folder (e.g. a mounted secret); one machine keeps it here.
        self.keys = (keys or self.path / "keys").resolve()

    def ensure(self) -> None:
        """Create the folder and its key folder (0700) if missing."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.keys.mkdir(parents=True, exist_ok=True, mode=0o700)

    def init_keys(self) -> list[str]:
        """Create every key the gateway uses (for a shared keys folder); return those made."""
        made = []
        for name in KEY_NAMES:
            if not (self.keys / f"{name}.key").exists():
                self.secret(name)
                made.append(name)
        return made

    @property
    def sqlite_path(self) -> Path:
        return self.path / "gateway.sqlite3"

    def secret(self, name: str, size: int = 32) -> bytes:
        """Read the named random secret, generating it (0600) on first use."""
        path = self.keys / f"{name}.key"
        if not path.exists():
            self._write_new(path, base64.b64encode(secrets.token_bytes(size)) + b"\n")
        return base64.b64decode(path.read_bytes().strip())

    def retired(self, name: str) -> list[bytes]:
        """Keys rotated out under this name, newest first: kept to read and verify old data."""
        folder = self.keys / "retired"
        found = []
        for path in folder.glob(f"{name}.*.key") if folder.is_dir() else ():
            generation = path.name.removeprefix(f"{name}.").removesuffix(".key")
            if generation.isdigit():
                found.append((int(generation), base64.b64decode(path.read_bytes().strip())))
        return [key for _, key in sorted(found, reverse=True)]

    def rotate(self, name: str, size: int = 32) -> None:
        """Retire the current key under this name and make a new one."""
        if name not in ROTATABLE:
            raise ValueError(f"key '{name}' cannot be rotated")
        current = self.keys / f"{name}.key"
        self.secret(name, size)  # make sure there is one to retire
        folder = self.keys / "retired"
        folder.mkdir(exist_ok=True, mode=0o700)
        generations = [
            int(g)
            for p in folder.glob(f"{name}.*.key")
            if (g := p.name.removeprefix(f"{name}.").removesuffix(".key")).isdigit()
        ]
        current.rename(folder / f"{name}.{max(generations, default=0) + 1}.key")
        self.secret(name, size)

    def log_signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs log checkpoints."""
        return Ed25519PrivateKey.from_private_bytes(self.secret("log-signing", 32))

    def retired_log_signing_keys(self) -> list[Ed25519PrivateKey]:
        return [Ed25519PrivateKey.from_private_bytes(k) for k in self.retired("log-signing")]

    @staticmethod
    def _write_new(path: Path, content: bytes) -> None:
        # O_EXCL: two workers starting together must not both create (and differ on) a key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
