"""A partner's key pairs as JWKS: the private half stays home, the public half is registered."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.auth.assertion import PARTNER_ID

__all__ = ["SIGNING_KEY_TYPES", "generate_partner_jwks"]

# RSA keys are generated at their stated size; 2048 is the gateway's minimum.
SIGNING_KEY_TYPES = ("Ed25519", "P-256", "RSA-2048", "RSA-3072", "RSA-4096")
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi"})


def generate_partner_jwks(
    partner_id: str, *, now: datetime, signing: str = "Ed25519", with_encryption: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh (private JWKS, public JWKS) pair: one signing key and optionally an X25519 key."""
    if not PARTNER_ID.fullmatch(partner_id):
        raise ValueError("partner_id must match [a-z0-9-]{2,64}")
    if signing not in SIGNING_KEY_TYPES:
        raise ValueError(f"signing must be one of {', '.join(SIGNING_KEY_TYPES)}")
    private_keys = [_signing_jwk(signing, _kid(partner_id, "sig", now))]
    if with_encryption:
        private_keys.append(_encryption_jwk(_kid(partner_id, "enc", now)))
    public_keys = [
        {name: value for name, value in jwk.items() if name not in _PRIVATE_MEMBERS}
        for jwk in private_keys
    ]
    return {"keys": private_keys}, {"keys": public_keys}


def _kid(partner_id: str, use: str, now: datetime) -> str:
    return f"{partner_id}-{use}-{now:%Y%m%d}-{secrets.token_hex(2)}"


def _signing_jwk(signing: str, kid: str) -> dict[str, Any]:
    if signing == "Ed25519":
        ed_key = Ed25519PrivateKey.generate()
        raw_public = ed_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(raw_public),
            "d": _b64url(ed_key.private_bytes_raw()),
            "use": "sig",
            "alg": "EdDSA",
            "kid": kid,
        }
    if signing == "P-256":
        ec_key = ec.generate_private_key(ec.SECP256R1())
        numbers = ec_key.private_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(_int_bytes(numbers.public_numbers.x, 32)),
            "y": _b64url(_int_bytes(numbers.public_numbers.y, 32)),
            "d": _b64url(_int_bytes(numbers.private_value, 32)),
            "use": "sig",
            "alg": "ES256",
            "kid": kid,
        }
    bits = int(signing.removeprefix("RSA-"))
    rsa_numbers = rsa.generate_private_key(public_exponent=65537, key_size=bits).private_numbers()
    return {
        "kty": "RSA",
        "n": _b64url(_int_bytes(rsa_numbers.public_numbers.n)),
        "e": _b64url(_int_bytes(rsa_numbers.public_numbers.e)),
        "d": _b64url(_int_bytes(rsa_numbers.d)),
        "p": _b64url(_int_bytes(rsa_numbers.p)),
        "q": _b64url(_int_bytes(rsa_numbers.q)),
        "dp": _b64url(_int_bytes(rsa_numbers.dmp1)),
        "dq": _b64url(_int_bytes(rsa_numbers.dmq1)),
        "qi": _b64url(_int_bytes(rsa_numbers.iqmp)),
        "use": "sig",
        "alg": "PS256",
        "kid": kid,
    }


def _encryption_jwk(kid: str) -> dict[str, Any]:
    key = X25519PrivateKey.generate()
    raw_public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "X25519",
        "x": _b64url(raw_public),
        "d": _b64url(key.private_bytes_raw()),
        "use": "enc",
        "kid": kid,
    }


def _int_bytes(value: int, length: int | None = None) -> bytes:
    # RFC 7518: EC coordinates keep their full length, RSA integers use the minimum octets.
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(size, "big")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
