"""Encryption of stored messages with the gateway's at-rest key (AES-256-GCM)."""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["AtRestCipher"]

_VERSION = b"\x01"


class AtRestCipher:
    """Seals bytes for storage; the associated data binds a ciphertext to its row."""

    __slots__ = ("_aead", "_kid", "_readers")

    def __init__(self, key: bytes, previous: tuple[bytes, ...] = ()) -> None:
        self._aead = AESGCM(key)
        self._kid = _kid(key)
        # Rotated-out keys still open what they sealed; only the current key seals.
        self._readers = {_kid(k): AESGCM(k) for k in (*previous, key)}

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + self._kid + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        reader = self._readers.get(blob[1:5]) if blob[:1] == _VERSION else None
        if reader is None:
            raise ValueError("sealed with an unknown at-rest key")
        return reader.decrypt(blob[5:17], blob[17:], aad)


def _kid(key: bytes) -> bytes:
    return hashlib.sha256(b"at-rest-kid:" + key).digest()[:4]
