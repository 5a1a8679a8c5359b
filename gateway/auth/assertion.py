"""Verification of a partner's client assertion (RFC 7523 section 3), checked per RFC 8725.

The checks run in one visible order: size and shape first, then the header (only
asymmetric algorithms, no key material or key URLs, no `crit`), then the key, which
comes only from the partner registry and must fit the algorithm and be inside its
validity window, then the signature, and only then the claims, which are trusted
once the signature holds. Every refusal is one `AssertionRejected` whose `reason` is
for the gateway's own log; the client only ever hears `invalid_client`.

The single-use check of `jti` needs storage and is the caller's: it gets `jti` and
`replayable_until` back to remember the assertion until it could no longer be accepted. That is
`exp` plus the clock leeway, not `exp`: an assertion stays acceptable for the leeway after its
`exp`, so a jti forgotten at `exp` could be replayed for that long.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from gateway.auth._encoding import b64url_decode, is_clean_text, strict_json_object
from gateway.auth.jwks import PartnerKeys, PublicSigningKey, SigningKey
from gateway.subject import looks_like_bsn

__all__ = [
    "ACTOR_ID",
    "ALLOWED_ALGORITHMS",
    "PARTNER_ID",
    "AssertionRejected",
    "VerifiedAssertion",
    "verify_actor_role",
    "verify_client_assertion",
]

ALLOWED_ALGORITHMS = frozenset({"EdDSA", "ES256", "PS256", "RS256"})
PARTNER_ID = re.compile(r"[a-z0-9-]{2,64}")

# An actor id is a pseudonymous handle the partner keeps for its professional, never a name
# or a number that identifies a person: it goes into every log entry the actor causes.
ACTOR_ID = re.compile(r"[A-Za-z0-9._:@-]{1,64}")
_ACTOR_ROLE = re.compile(r"[a-z_]{2,64}")
_JTI_LENGTH = range(8, 201)
_MAX_KID_LENGTH = 128
# Key material in the header would let the token choose its own key (CVE-2018-0114);
# key URLs would make the gateway fetch from wherever the token says (RFC 8725 3.10).
_FORBIDDEN_HEADER_MEMBERS = {
    "jwk": "embedded_jwk",
    "x5c": "embedded_x5c",
    "jku": "key_url_jku",
    "x5u": "key_url_x5u",
}
_ACCEPTED_TYP = frozenset({"jwt", "application/jwt"})
_REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti")
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class AssertionRejected(Exception):
    """A client assertion the gateway refuses; `reason` is a short code for its own log only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    """What a valid client assertion establishes: which partner, which key, which actor."""

    partner_id: str
    kid: str
    actor_id: str
    actor_role: str
    jti: str
    issued_at: datetime
    expires_at: datetime
    # The first moment this assertion is refused as expired (exp + leeway): its jti must be
    # remembered at least until then.
    replayable_until: datetime


@dataclass(frozen=True, slots=True)
class _Parsed:
    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    signing_input: bytes
    signature: bytes


def verify_client_assertion(
    assertion: str,
    *,
    client_id: str | None,
    keys_for: Callable[[str], PartnerKeys | None],
    audiences: frozenset[str],
    now: datetime,
    max_lifetime_s: int = 300,
    leeway_s: int = 60,
    max_length: int = 8192,
) -> VerifiedAssertion:
    """Check a client assertion against the partner registry at time `now`, or raise."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if len(assertion) > max_length:
        raise AssertionRejected("too_long")
    parsed = _parse(assertion)
    alg = _check_header(parsed.header)
    partner_id = _unverified_partner(parsed.claims)
    key = _registered_key(keys_for, partner_id, parsed.header, alg, now)
    _verify_signature(key.public_key, alg, parsed.signing_input, parsed.signature)
    return _check_claims(
        parsed.claims,
        partner_id=partner_id,
        kid=key.kid,
        client_id=client_id,
        audiences=audiences,
        now=now.timestamp(),
        max_lifetime_s=max_lifetime_s,
        leeway_s=leeway_s,
    )


def _parse(assertion: str) -> _Parsed:
    if not assertion.isascii():
        raise AssertionRejected("malformed")
    parts = assertion.split(".")
    if len(parts) != 3:
        raise AssertionRejected("malformed")
    header_b64, claims_b64, signature_b64 = parts
    try:
        header = strict_json_object(b64url_decode(header_b64))
        claims = strict_json_object(b64url_decode(claims_b64))
        signature = b64url_decode(signature_b64)
    except ValueError as exc:
        raise AssertionRejected("malformed") from exc
    return _Parsed(
        header=header,
        claims=claims,
        signing_input=f"{header_b64}.{claims_b64}".encode("ascii"),
        signature=signature,
    )


def _check_header(header: Mapping[str, Any]) -> str:
    alg = header.get("alg")
    # Exact, case-sensitive match: "none", "None", "HS256" and friends never pass.
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise AssertionRejected("alg_not_allowed")
    for member, reason in _FORBIDDEN_HEADER_MEMBERS.items():
        if member in header:
            raise AssertionRejected(reason)
    if "crit" in header:
        raise AssertionRejected("crit_unsupported")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYP):
        raise AssertionRejected("typ_not_allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AssertionRejected("missing_kid")
    if len(kid) > _MAX_KID_LENGTH or not is_clean_text(kid):
        raise AssertionRejected("unknown_kid")
    return alg


def _unverified_partner(claims: Mapping[str, Any]) -> str:
    # Only used to pick the registry entry; trusted after the signature and iss == sub.
    issuer = claims.get("iss")
    if issuer is None:
        raise AssertionRejected("missing_claim:iss")
    if not isinstance(issuer, str) or not PARTNER_ID.fullmatch(issuer):
        raise AssertionRejected("invalid_claim:iss")
    return issuer


def _registered_key(
    keys_for: Callable[[str], PartnerKeys | None],
    partner_id: str,
    header: Mapping[str, Any],
    alg: str,
    now: datetime,
) -> SigningKey:
    keys = keys_for(partner_id)
    if keys is None:
        raise AssertionRejected("unknown_partner")
    key = keys.signing_key(str(header["kid"]))
    if key is None:
        raise AssertionRejected("unknown_kid")
    if alg not in key.alg_allowed:
        raise AssertionRejected("alg_key_mismatch")
    if key.not_before is not None and now < key.not_before:
        raise AssertionRejected("key_not_yet_valid")
    if key.expires is not None and now >= key.expires:
        raise AssertionRejected("key_expired")
    return key


def _verify_signature(
    public_key: PublicSigningKey, alg: str, signing_input: bytes, signature: bytes
) -> None:
    if not signature:
        raise AssertionRejected("bad_signature")
    try:
        if alg == "EdDSA" and isinstance(public_key, Ed25519PublicKey):
            if len(signature) != 64:
                raise AssertionRejected("bad_signature")
            public_key.verify(signature, signing_input)
        elif alg == "ES256" and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(_es256_der(signature), signing_input, ec.ECDSA(hashes.SHA256()))
        elif alg in ("PS256", "RS256") and isinstance(public_key, rsa.RSAPublicKey):
            if len(signature) != (public_key.key_size + 7) // 8:
                raise AssertionRejected("bad_signature")
            public_key.verify(signature, signing_input, _rsa_padding(alg), hashes.SHA256())
        else:
            raise AssertionRejected("alg_key_mismatch")
    except InvalidSignature as exc:
        raise AssertionRejected("bad_signature") from exc


def _es256_der(signature: bytes) -> bytes:
    # JWS carries ECDSA as raw r || s (RFC 7518 3.4), never DER.
    if len(signature) != 64:
        raise AssertionRejected("bad_signature")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    # r = s = 0 is the "psychic signature" (CVE-2022-21449); refuse it before any library sees it.
    if not (0 < r < _P256_ORDER and 0 < s < _P256_ORDER):
        raise AssertionRejected("bad_signature")
    return encode_dss_signature(r, s)


def _rsa_padding(alg: str) -> padding.AsymmetricPadding:
    if alg == "PS256":
        # RFC 7518 3.5: MGF1 with SHA-256 and a salt as long as the hash.
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return padding.PKCS1v15()


def _check_claims(
    claims: Mapping[str, Any],
    *,
    partner_id: str,
    kid: str,
    client_id: str | None,
    audiences: frozenset[str],
    now: float,
    max_lifetime_s: int,
    leeway_s: int,
) -> VerifiedAssertion:
    for name in _REQUIRED_CLAIMS:
        if name not in claims or claims[name] is None:
            raise AssertionRejected(f"missing_claim:{name}")
    if claims["sub"] != partner_id:
        raise AssertionRejected("iss_sub_mismatch")
    if client_id is not None and client_id != partner_id:
        raise AssertionRejected("client_id_mismatch")
    _check_audience(claims["aud"], audiences)
    issued_at, expires_at = _check_times(claims, now, max_lifetime_s, leeway_s)
    jti = claims["jti"]
    if not isinstance(jti, str) or len(jti) not in _JTI_LENGTH or not _is_visible_ascii(jti):
        raise AssertionRejected("invalid_claim:jti")
    actor_id, actor_role = _actor(claims)
    return VerifiedAssertion(
        partner_id=partner_id,
        kid=kid,
        actor_id=actor_id,
        actor_role=actor_role,
        jti=jti,
        issued_at=datetime.fromtimestamp(issued_at, tz=UTC),
        expires_at=datetime.fromtimestamp(expires_at, tz=UTC),
        replayable_until=datetime.fromtimestamp(expires_at + leeway_s, tz=UTC),
    )


def _check_audience(aud: Any, audiences: frozenset[str]) -> None:
    values = [aud] if isinstance(aud, str) else aud
    if not isinstance(values, list) or not values:
        raise AssertionRejected("invalid_claim:aud")
    if not all(isinstance(value, str) for value in values):
        raise AssertionRejected("invalid_claim:aud")
    if audiences.isdisjoint(values):
        raise AssertionRejected("wrong_audience")


def _check_times(
    claims: Mapping[str, Any], now: float, max_lifetime_s: int, leeway_s: int
) -> tuple[float, float]:
    expires_at = _numeric_date(claims, "exp")
    issued_at = _numeric_date(claims, "iat")
    if expires_at <= now - leeway_s:
        raise AssertionRejected("expired")
    if issued_at > now + leeway_s:
        raise AssertionRejected("iat_in_future")
    if expires_at < issued_at:
        raise AssertionRejected("invalid_claim:exp")
    if expires_at - issued_at > max_lifetime_s:
        raise AssertionRejected("lifetime_too_long")
    if "nbf" in claims and _numeric_date(claims, "nbf") > now + leeway_s:
        raise AssertionRejected("nbf_in_future")
    return issued_at, expires_at


def _numeric_date(claims: Mapping[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AssertionRejected(f"invalid_claim:{name}")
    # Huge numbers (JSON "1e999" is infinity) would overflow later conversions.
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > 1e11:
        raise AssertionRejected(f"invalid_claim:{name}")
    return float(value)


def _actor(claims: Mapping[str, Any]) -> tuple[str, str]:
    act = claims.get("act")
    if act is None:
        raise AssertionRejected("actor_missing")
    if not isinstance(act, dict):
        raise AssertionRejected("invalid_claim:act")
    actor_id = act.get("sub")
    if not isinstance(actor_id, str) or not ACTOR_ID.fullmatch(actor_id):
        raise AssertionRejected("actor_invalid:sub")
    if looks_like_bsn(actor_id):
        raise AssertionRejected("actor_invalid:sub_bsn_like")
    role = act.get("role")
    if not isinstance(role, str) or not _ACTOR_ROLE.fullmatch(role):
        raise AssertionRejected("actor_invalid:role")
    return actor_id, role


def verify_actor_role(verified: VerifiedAssertion, roles_of_kind: frozenset[str]) -> None:
    """Refuse an actor role the partner's kind may not hold (the catalogue's `[actor_roles]`).

    Kept apart from `verify_client_assertion` because the roles come from the catalogue and the
    kind from the partner registry; an empty set (a kind the catalogue gives no roles) refuses.
    """
    if verified.actor_role not in roles_of_kind:
        raise AssertionRejected("actor_role_not_held")


def _is_visible_ascii(text: str) -> bool:
    return all("!" <= char <= "~" for char in text)
