"""Making the client assertion a partner sends to `POST /v1/token` (RFC 7523 private_key_jwt)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jwt

from gateway.auth.assertion import ACTOR_ID, PARTNER_ID
from gateway.subject import looks_like_bsn

__all__ = ["MAX_ASSERTION_LIFETIME_S", "make_client_assertion"]

MAX_ASSERTION_LIFETIME_S = 300
_ACTOR_ROLE = re.compile(r"[a-z_]{2,64}")
_RSA_ALGORITHMS = ("PS256", "RS256")


def make_client_assertion(
    private_jwk: Mapping[str, Any],
    *,
    partner_id: str,
    audience: str,
    actor_id: str,
    actor_role: str,
    now: datetime,
    lifetime_s: int = 60,
    jti: str | None = None,
) -> str:
    """A signed, single-use client assertion for this partner and actor, issued at `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not PARTNER_ID.fullmatch(partner_id):
        raise ValueError("partner_id must match [a-z0-9-]{2,64}")
    if not _ACTOR_ROLE.fullmatch(actor_role):
        raise ValueError("actor_role must match [a-z_]{2,64}")
    if not ACTOR_ID.fullmatch(actor_id):
        raise ValueError("actor_id must be 1..64 of A-Z a-z 0-9 . _ : @ -")
    if looks_like_bsn(actor_id):
        raise ValueError("actor_id must be pseudonymous: no number that could be a BSN")
    if not 1 <= lifetime_s <= MAX_ASSERTION_LIFETIME_S:
        raise ValueError(f"lifetime_s must be 1..{MAX_ASSERTION_LIFETIME_S}")
    kid = private_jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("the private JWK has no kid")
    if "d" not in private_jwk:
        raise ValueError("the JWK holds no private key (no 'd' member)")
    if private_jwk.get("use", "sig") != "sig":
        raise ValueError("the JWK is not a signing key")
    algorithm = _algorithm(private_jwk)
    issued_at = int(now.timestamp())
    claims = {
        "iss": partner_id,
        "sub": partner_id,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + lifetime_s,
        "jti": jti if jti is not None else secrets.token_urlsafe(24),
        "act": {"sub": actor_id, "role": actor_role},
    }
    signing_key = jwt.PyJWK(dict(private_jwk), algorithm=algorithm)
    return jwt.encode(claims, signing_key.key, algorithm=algorithm, headers={"kid": kid})


def _algorithm(jwk: Mapping[str, Any]) -> str:
    """The JWS algorithm for a key: Ed25519 -> EdDSA, P-256 -> ES256, RSA -> PS256 (or its alg)."""
    kty, crv, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    if kty == "OKP" and crv == "Ed25519":
        chosen = "EdDSA"
    elif kty == "EC" and crv == "P-256":
        chosen = "ES256"
    elif kty == "RSA":
        chosen = alg if alg in _RSA_ALGORITHMS else "PS256"
    else:
        raise ValueError(f"unsupported signing key {kty!r}/{crv!r}")
    if alg is not None and alg != chosen:
        raise ValueError(f"the JWK's alg {alg!r} does not fit a {kty} key")
    return chosen
