"""Partner authentication: client assertions in (RFC 7523, checked per RFC 8725), access tokens out.

Everything here is pure: keys come in as parsed values, time comes in as `now`, and
the single-use check of an assertion's `jti` is left to the caller, which has storage.
Token endpoint failures are answered as RFC 6749 says (`invalid_client`); the
`AssertionRejected.reason` is for the gateway's own log only.
"""

from __future__ import annotations

from gateway.auth.assertion import AssertionRejected, VerifiedAssertion, verify_client_assertion
from gateway.auth.jwks import EncryptionKey, JwksError, PartnerKeys, SigningKey, parse_jwks
from gateway.auth.tokens import AccessClaims, AccessTokenIssuer, IssuedToken

__all__ = [
    "AccessClaims",
    "AccessTokenIssuer",
    "AssertionRejected",
    "EncryptionKey",
    "IssuedToken",
    "JwksError",
    "PartnerKeys",
    "SigningKey",
    "VerifiedAssertion",
    "parse_jwks",
    "verify_client_assertion",
]
