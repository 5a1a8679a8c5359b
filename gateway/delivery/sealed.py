"""Sealed delivery: HPKE (RFC 9180) base mode to the recipient's X25519 key, single shot.

Suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, empty aad,
info = b"social-domain-gateway/v1:" + message id. The ciphertext is enc || ct; once sealed, the
gateway cannot read the message any more, and keeps only that.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

__all__ = ["SUITE_NAME", "info_for", "open_sealed", "seal"]

SUITE_NAME = "DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/AES-256-GCM"
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
INFO_PREFIX = b"social-domain-gateway/v1:"


def info_for(message_id: str) -> bytes:
    return INFO_PREFIX + message_id.encode("ascii")


def seal(plaintext: bytes, recipient: X25519PublicKey, message_id: str) -> bytes:
    """enc || ct for the recipient; only its private key opens it."""
    return _SUITE.encrypt(plaintext, recipient, info=info_for(message_id))


def open_sealed(ciphertext: bytes, private_key: X25519PrivateKey, message_id: str) -> bytes:
    """The recipient's side (used by the partner client)."""
    return _SUITE.decrypt(ciphertext, private_key, info=info_for(message_id))
