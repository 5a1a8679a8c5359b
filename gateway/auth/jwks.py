"""A partner's public JWKS (RFC 7517), parsed once at config load into frozen key values.

Only what the gateway can use safely gets through: signing keys OKP/Ed25519 (EdDSA),
EC/P-256 (ES256) and RSA of at least 2048 bits (PS256, RS256), and at most one
encryption key, OKP/X25519, for sealed delivery. Symmetric keys and private key
material are refused outright: a registry that holds either is a leak waiting to happen.

Hybrid post-quantum encryption keys (MLKEM768-X25519) are not accepted yet: their JWK
form is still an Internet-Draft and the delivery suite in the contract is DHKEM-X25519.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from gateway.auth._encoding import b64url_decode, is_clean_text

__all__ = [
    "MIN_RSA_BITS",
    "EncryptionKey",
    "JwksError",
    "PartnerKeys",
    "PublicSigningKey",
    "SigningKey",
    "parse_jwks",
]

MIN_RSA_BITS = 2048
_MAX_KID_LENGTH = 128
_HYBRID_KEM = "MLKEM768-X25519"

PublicSigningKey = Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey

# Members that only a private or symmetric JWK has (RFC 7518 section 6).
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_ALGS_FOR_KTY = {
    ("OKP", "Ed25519"): frozenset({"EdDSA"}),
    ("EC", "P-256"): frozenset({"ES256"}),
    ("RSA", None): frozenset({"PS256", "RS256"}),
}


class JwksError(ValueError):
    """A JWKS that cannot be registered; the message names the file, the key and the problem."""

    def __init__(self, source: str, problem: str, kid: str | None = None) -> None:
        where = f"{source}: key {kid!r}" if kid is not None else source
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.kid = kid
        self.problem = problem


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A partner's public key for client assertions, with its algorithms and validity window."""

    kid: str
    kty: str
    alg_allowed: frozenset[str]
    public_key: PublicSigningKey = field(compare=False)
    not_before: datetime | None = None
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class EncryptionKey:
    """A partner's public X25519 key that sealed deliveries are encrypted to."""

    kid: str
    kty: str
    crv: str
    public_key: X25519PublicKey = field(compare=False)
    raw: Mapping[str, Any] = field(compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class PartnerKeys:
    """Everything the gateway knows about one partner's keys."""

    signing: tuple[SigningKey, ...]
    encryption: EncryptionKey | None = None

    def signing_key(self, kid: str) -> SigningKey | None:
        """The registered signing key with this `kid`, or None."""
        for key in self.signing:
            if key.kid == kid:
                return key
        return None


def parse_jwks(data: Mapping[str, Any], *, source: str) -> PartnerKeys:
    """Validate a partner's public JWKS and turn it into `PartnerKeys`, or raise `JwksError`."""
    if not isinstance(data, Mapping):
        raise JwksError(source, "a JWKS must be a JSON object with a 'keys' array")
    members = data.get("keys")
    if not isinstance(members, list):
        raise JwksError(source, "a JWKS must be a JSON object with a 'keys' array")
    signing: list[SigningKey] = []
    encryption: EncryptionKey | None = None
    seen: set[str] = set()
    for index, jwk in enumerate(members):
        if not isinstance(jwk, Mapping):
            raise JwksError(source, f"keys[{index}] is not a JSON object")
        kid = _kid(jwk, source, index)
        if kid in seen:
            raise JwksError(source, "duplicate kid", kid)
        seen.add(kid)
        if _use(jwk, source, kid) == "sig":
            signing.append(_signing_key(jwk, source, kid))
        else:
            if encryption is not None:
                raise JwksError(source, "more than one encryption key (use 'enc')", kid)
            encryption = _encryption_key(jwk, source, kid)
    return PartnerKeys(signing=tuple(signing), encryption=encryption)


def _kid(jwk: Mapping[str, Any], source: str, index: int) -> str:
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JwksError(source, f"keys[{index}] has no kid")
    if len(kid) > _MAX_KID_LENGTH or not is_clean_text(kid):
        raise JwksError(
            source, f"keys[{index}] kid must be 1..{_MAX_KID_LENGTH} printable characters"
        )
    return kid


def _use(jwk: Mapping[str, Any], source: str, kid: str) -> str:
    kty = jwk.get("kty")
    if kty == "oct":
        raise JwksError(source, "symmetric (kty 'oct') keys are refused", kid)
    present = [name for name in _PRIVATE_MEMBERS if name in jwk]
    if present:
        raise JwksError(
            source, f"private key material ({', '.join(present)}) in a public JWKS", kid
        )
    use = jwk.get("use")
    if use is None:
        # Key types are disjoint: X25519 (and hybrid KEM) keys only encrypt, the others only sign.
        return "enc" if jwk.get("crv") in ("X25519", _HYBRID_KEM) else "sig"
    if use not in ("sig", "enc"):
        raise JwksError(source, f"use must be 'sig' or 'enc', not {use!r}", kid)
    key_ops = jwk.get("key_ops")
    if key_ops is not None:
        wanted = "verify" if use == "sig" else "deriveBits"
        if not isinstance(key_ops, list) or wanted not in key_ops:
            raise JwksError(source, f"key_ops must include {wanted!r} for use {use!r}", kid)
    return str(use)


def _signing_key(jwk: Mapping[str, Any], source: str, kid: str) -> SigningKey:
    kty = jwk.get("kty")
    public_key: PublicSigningKey
    if kty == "OKP":
        crv = jwk.get("crv")
        if crv != "Ed25519":
            raise JwksError(source, f"OKP signing keys must use crv Ed25519, not {crv!r}", kid)
        public_key = Ed25519PublicKey.from_public_bytes(_octets(jwk, "x", 32, source, kid))
        allowed = _ALGS_FOR_KTY[("OKP", "Ed25519")]
    elif kty == "EC":
        crv = jwk.get("crv")
        if crv != "P-256":
            raise JwksError(source, f"EC signing keys must use crv P-256, not {crv!r}", kid)
        x = int.from_bytes(_octets(jwk, "x", 32, source, kid), "big")
        y = int.from_bytes(_octets(jwk, "y", 32, source, kid), "big")
        try:
            public_key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except ValueError as exc:
            raise JwksError(source, "x/y is not a point on P-256", kid) from exc
        allowed = _ALGS_FOR_KTY[("EC", "P-256")]
    elif kty == "RSA":
        public_key = _rsa_key(jwk, source, kid)
        allowed = _ALGS_FOR_KTY[("RSA", None)]
    else:
        raise JwksError(source, f"unsupported kty {kty!r}", kid)
    alg = jwk.get("alg")
    if alg is not None:
        if not isinstance(alg, str) or alg not in allowed:
            raise JwksError(source, f"alg {alg!r} does not fit a {kty} key", kid)
        allowed = frozenset({alg})
    not_before, expires = _window(jwk, source, kid)
    return SigningKey(
        kid=kid,
        kty=str(kty),
        alg_allowed=allowed,
        public_key=public_key,
        not_before=not_before,
        expires=expires,
    )


def _rsa_key(jwk: Mapping[str, Any], source: str, kid: str) -> rsa.RSAPublicKey:
    n = int.from_bytes(_octets(jwk, "n", None, source, kid), "big")
    e = int.from_bytes(_octets(jwk, "e", None, source, kid), "big")
    if n.bit_length() < MIN_RSA_BITS:
        raise JwksError(
            source, f"RSA modulus is {n.bit_length()} bits, at least {MIN_RSA_BITS} needed", kid
        )
    if e < 3 or e % 2 == 0:
        raise JwksError(source, "RSA exponent must be odd and at least 3", kid)
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise JwksError(source, "not a valid RSA public key", kid) from exc


def _encryption_key(jwk: Mapping[str, Any], source: str, kid: str) -> EncryptionKey:
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if crv == _HYBRID_KEM:
        raise JwksError(
            source, f"{_HYBRID_KEM} encryption keys are not supported yet; use OKP/X25519", kid
        )
    if kty != "OKP" or crv != "X25519":
        raise JwksError(source, f"encryption keys must be OKP/X25519, not {kty!r}/{crv!r}", kid)
    public_key = X25519PublicKey.from_public_bytes(_octets(jwk, "x", 32, source, kid))
    try:
        # A small-order point makes every shared secret zero (RFC 8725 section 3.4).
        X25519PrivateKey.generate().exchange(public_key)
    except ValueError as exc:
        raise JwksError(source, "x is a small-order X25519 point", kid) from exc
    return EncryptionKey(
        kid=kid,
        kty="OKP",
        crv="X25519",
        public_key=public_key,
        raw=MappingProxyType(dict(jwk)),
    )


def _octets(jwk: Mapping[str, Any], name: str, length: int | None, source: str, kid: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise JwksError(source, f"member {name!r} is missing or not a string", kid)
    try:
        data = b64url_decode(value)
    except ValueError as exc:
        raise JwksError(source, f"member {name!r} is not unpadded base64url", kid) from exc
    if length is not None and len(data) != length:
        raise JwksError(source, f"member {name!r} must be {length} bytes, not {len(data)}", kid)
    if not data:
        raise JwksError(source, f"member {name!r} is empty", kid)
    return data


def _window(
    jwk: Mapping[str, Any], source: str, kid: str
) -> tuple[datetime | None, datetime | None]:
    not_before = _numeric_date(jwk, "nbf", source, kid)
    expires = _numeric_date(jwk, "exp", source, kid)
    if not_before is not None and expires is not None and not_before >= expires:
        raise JwksError(source, "nbf must be before exp", kid)
    return not_before, expires


def _numeric_date(jwk: Mapping[str, Any], name: str, source: str, kid: str) -> datetime | None:
    value = jwk.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise JwksError(source, f"{name} must be a NumericDate (seconds since 1970)", kid)
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise JwksError(source, f"{name} is out of range", kid) from exc
