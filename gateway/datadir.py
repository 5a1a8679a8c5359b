"""The `--data` folder: the gateway's own secrets, created on first start with mode 0600."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["DataDir"]


class DataDir:
    """Everything the gateway writes lives here; keys are made once and then only read."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.keys = self.path / "keys"

    def ensure(self) -> None:
        """Create the folder and its key folder (0700) if missing."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.keys.mkdir(exist_ok=True, mode=0o700)

    @property
    def sqlite_path(self) -> Path:
        return self.path / "gateway.sqlite3"

    def secret(self, name: str, size: int = 32) -> bytes:
        """Read the named random secret, generating it (0600) on first use."""
        path = self.keys / f"{name}.key"
        if not path.exists():
            self._write_new(path, base64.b64encode(secrets.token_bytes(size)) + b"\n")
        return base64.b64decode(path.read_bytes().strip())

    def log_signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs log checkpoints."""
        return Ed25519PrivateKey.from_private_bytes(self.secret("log-signing", 32))

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
