"""Short-lived bearer access tokens that any gateway instance can check without storage.

A token is `gwat1.` + base64url(compact JSON claims) + `.` + base64url(HMAC-SHA256(key,
"gwat1." + claims part)). The MAC key is the gateway's own secret; older keys may be
kept for verification only, so the key can rotate without cutting off live tokens.
Tokens bind partner, key id and actor; the caller also checks that the key id is still
registered, so removing a partner's key stops its tokens at once.

A token that verified once is remembered in memory, so the next request with it costs a
dictionary lookup instead of a MAC, two decodings and a JSON parse; its expiry is still checked
on every use, and only tokens whose MAC verified are ever remembered. At most the 1024 most
recently first seen are remembered; an older one is verified again when it comes back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.auth._encoding import b64url_decode, b64url_encode, compact_json, strict_json_object
from gateway.errors import InvalidToken

__all__ = [
    "MAX_LIFETIME_S",
    "TOKEN_PREFIX",
    "AccessClaims",
    "AccessTokenIssuer",
    "IssuedToken",
]

TOKEN_PREFIX = "gwat1."  # noqa: S105 - a format marker, not a secret
MAX_LIFETIME_S = 600
_MIN_KEY_BYTES = 32
_MAX_TOKEN_LENGTH = 4096
_REMEMBERED_TOKENS = 1024  # verified tokens remembered; a forgotten one is verified again
_STRING_CLAIMS = ("sub", "kind", "kid", "act_sub", "act_role", "tid")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An access token as the token endpoint hands it out."""

    access_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """Who a valid access token speaks for, and until when."""

    partner_id: str
    partner_kind: str
    kid: str
    actor_id: str
    actor_role: str
    issued_at: datetime
    expires_at: datetime
    token_id: str


class AccessTokenIssuer:
    """Issues and verifies the gateway's access tokens with a current and older MAC keys."""

    __slots__ = ("_key", "_lifetime_s", "_verification_keys", "_verified")

    def __init__(
        self, key: bytes, *, lifetime_s: int = 300, previous_keys: tuple[bytes, ...] = ()
    ) -> None:
        for candidate in (key, *previous_keys):
            if not isinstance(candidate, bytes) or len(candidate) < _MIN_KEY_BYTES:
                raise ValueError(f"access token keys must be at least {_MIN_KEY_BYTES} bytes")
        if not 1 <= lifetime_s <= MAX_LIFETIME_S:
            raise ValueError(f"access token lifetime must be 1..{MAX_LIFETIME_S} seconds")
        self._key = key
        self._lifetime_s = lifetime_s
        self._verification_keys = (key, *previous_keys)
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()

    def issue(
        self,
        *,
        partner_id: str,
        partner_kind: str,
        kid: str,
        actor_id: str,
        actor_role: str,
        now: datetime,
    ) -> IssuedToken:
        """A new token for this partner, key and actor, valid from `now` for the lifetime."""
        issued_at = int(_timestamp(now))
        claims = {
            "sub": partner_id,
            "kind": partner_kind,
            "kid": kid,
            "act_sub": actor_id,
            "act_role": actor_role,
            "iat": issued_at,
            "exp": issued_at + self._lifetime_s,
            "tid": secrets.token_urlsafe(16),
        }
        payload = b64url_encode(compact_json(claims))
        mac = b64url_encode(_mac(self._key, payload))
        return IssuedToken(
            access_token=f"{TOKEN_PREFIX}{payload}.{mac}", expires_in=self._lifetime_s
        )

    def verify(self, token: str, *, now: datetime) -> AccessClaims:
        """The claims of a token made with one of our keys and unexpired at `now`, or raise."""
        claims = self._verified.get(token) if isinstance(token, str) else None
        if claims is None:
            claims = self._authentic_claims(token)
            if len(self._verified) >= _REMEMBERED_TOKENS:
                # The first remembered is the first to expire (one lifetime for all tokens):
                # forgetting it keeps the memory this takes flat under any token churn.
                self._verified.popitem(last=False)
            self._verified[token] = claims
        if _timestamp(now) >= claims.expires_at.timestamp():
            raise InvalidToken("access token expired")
        return claims

    def _authentic_claims(self, token: str) -> AccessClaims:
        """The claims of a well-formed token whose MAC one of our keys made (expiry unchecked)."""
        if (
            not isinstance(token, str)
            or len(token) > _MAX_TOKEN_LENGTH
            or not token.isascii()
            or not token.startswith(TOKEN_PREFIX)
        ):
            raise InvalidToken("malformed access token")
        payload, dot, mac_text = token[len(TOKEN_PREFIX) :].partition(".")
        if not dot:
            raise InvalidToken("malformed access token")
        try:
            mac = b64url_decode(mac_text)
        except ValueError as exc:
            raise InvalidToken("malformed access token") from exc
        # Check every key, so timing does not tell which one (if any) matched.
        matches = [hmac.compare_digest(_mac(key, payload), mac) for key in self._verification_keys]
        if not any(matches):
            raise InvalidToken("access token signature invalid")
        return _claims(payload)


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, (TOKEN_PREFIX + payload).encode("ascii"), hashlib.sha256).digest()


def _claims(payload: str) -> AccessClaims:
    try:
        data: Mapping[str, Any] = strict_json_object(b64url_decode(payload))
    except ValueError as exc:
        raise InvalidToken("malformed access token") from exc
    iat, exp = data.get("iat"), data.get("exp")
    if (
        not all(isinstance(data.get(name), str) for name in _STRING_CLAIMS)
        or type(iat) is not int
        or type(exp) is not int
    ):
        raise InvalidToken("malformed access token")
    return AccessClaims(
        partner_id=data["sub"],
        partner_kind=data["kind"],
        kid=data["kid"],
        actor_id=data["act_sub"],
        actor_role=data["act_role"],
        issued_at=datetime.fromtimestamp(iat, tz=UTC),
        expires_at=datetime.fromtimestamp(exp, tz=UTC),
        token_id=data["tid"],
    )


def _timestamp(now: datetime) -> float:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.timestamp()
