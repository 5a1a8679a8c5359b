"""TLS for `gateway serve --tls-cert --tls-key`: TLS 1.2 or newer, and a private key kept private."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

from gateway.config.errors import ConfigError

__all__ = ["check_private_file", "load_tls"]


def check_private_file(path: Path, what: str) -> None:
    """Refuse a secret file that others can read or write (group or world bits set)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(path, f"{what} not found") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            path,
            f"{what} is readable by others (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}",
        )


def load_tls(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for the certificate chain and key; TLS 1.2 is the floor."""
    check_private_file(key, "the TLS private key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(cert, f"cannot load the TLS certificate and key: {exc}") from None
    return context
