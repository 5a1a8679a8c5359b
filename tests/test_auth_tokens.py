"""Access tokens: stateless, MAC-protected, short-lived, bound to partner, key and actor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gateway.auth import AccessClaims, AccessTokenIssuer
from gateway.auth.tokens import MAX_LIFETIME_S, TOKEN_PREFIX
from gateway.errors import InvalidToken

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
KEY = bytes(range(32))
OLD_KEY = b"o" * 32
OTHER_KEY = b"x" * 32


def issue(issuer: AccessTokenIssuer, now: datetime = NOW) -> str:
    return issuer.issue(
        partner_id="zorg-noord",
        partner_kind="care_provider",
        kid="zorg-noord-sig-20261125-ab12",
        actor_id="medewerker-17",
        actor_role="casusregisseur",
        now=now,
    ).access_token


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_issued_token_verifies_to_the_same_partner_key_and_actor() -> None:
    issuer = AccessTokenIssuer(KEY, lifetime_s=300)
    issued = issuer.issue(
        partner_id="zorg-noord",
        partner_kind="care_provider",
        kid="zorg-noord-sig-20261125-ab12",
        actor_id="medewerker-17",
        actor_role="casusregisseur",
        now=NOW,
    )
    assert issued.expires_in == 300
    assert issued.access_token.startswith("gwat1.")
    claims = issuer.verify(issued.access_token, now=NOW + timedelta(seconds=10))
    assert claims == AccessClaims(
        partner_id="zorg-noord",
        partner_kind="care_provider",
        kid="zorg-noord-sig-20261125-ab12",
        actor_id="medewerker-17",
        actor_role="casusregisseur",
        issued_at=NOW,
        expires_at=NOW + timedelta(seconds=300),
        token_id=claims.token_id,
    )
    assert len(claims.token_id) >= 16


def test_every_token_gets_its_own_token_id() -> None:
    issuer = AccessTokenIssuer(KEY)
    first, second = issue(issuer), issue(issuer)
    assert first != second
    assert issuer.verify(first, now=NOW).token_id != issuer.verify(second, now=NOW).token_id


def test_token_is_valid_until_just_before_expiry_and_not_at_it() -> None:
    issuer = AccessTokenIssuer(KEY, lifetime_s=120)
    token = issue(issuer)
    issuer.verify(token, now=NOW + timedelta(seconds=120) - timedelta(microseconds=1))
    with pytest.raises(InvalidToken, match="expired"):
        issuer.verify(token, now=NOW + timedelta(seconds=120))


def test_tampered_payload_is_refused() -> None:
    issuer = AccessTokenIssuer(KEY)
    token = issue(issuer)
    payload, mac = token.removeprefix(TOKEN_PREFIX).split(".")
    claims = json.loads(b64url_decode(payload))
    claims["act_role"] = "procesregisseur"
    forged = f"{TOKEN_PREFIX}{b64url(json.dumps(claims).encode())}.{mac}"
    with pytest.raises(InvalidToken, match="signature invalid"):
        issuer.verify(forged, now=NOW)


def test_tampered_mac_is_refused() -> None:
    issuer = AccessTokenIssuer(KEY)
    payload, mac = issue(issuer).removeprefix(TOKEN_PREFIX).split(".")
    flipped = bytearray(b64url_decode(mac))
    flipped[0] ^= 0x01
    with pytest.raises(InvalidToken, match="signature invalid"):
        issuer.verify(f"{TOKEN_PREFIX}{payload}.{b64url(bytes(flipped))}", now=NOW)


def test_token_with_the_wrong_prefix_is_refused_even_with_a_matching_mac() -> None:
    issuer = AccessTokenIssuer(KEY)
    payload, _ = issue(issuer).removeprefix(TOKEN_PREFIX).split(".")
    # A MAC over the other prefix, so only the prefix itself is wrong.
    for prefix in ("gwat2.", "GWAT1.", ""):
        mac = hmac.new(KEY, (prefix + payload).encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidToken):
            issuer.verify(f"{prefix}{payload}.{b64url(mac)}", now=NOW)


def test_mac_covers_the_prefix() -> None:
    issuer = AccessTokenIssuer(KEY)
    payload, _ = issue(issuer).removeprefix(TOKEN_PREFIX).split(".")
    mac_without_prefix = hmac.new(KEY, payload.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken, match="signature invalid"):
        issuer.verify(f"{TOKEN_PREFIX}{payload}.{b64url(mac_without_prefix)}", now=NOW)


@pytest.mark.parametrize(
    "token",
    ["", "gwat1.", "gwat1.abc", "gwat1.a.b.c", "gwat1.é.x", "gwat1.abc.===", "Bearer gwat1.a.b"],
)
def test_malformed_tokens_are_refused_tersely(token: str) -> None:
    with pytest.raises(InvalidToken) as refused:
        AccessTokenIssuer(KEY).verify(token, now=NOW)
    assert refused.value.status == 401
    assert refused.value.code == "invalid_token"
    assert "zorg" not in refused.value.message


def test_oversized_token_is_refused_before_any_mac_work() -> None:
    with pytest.raises(InvalidToken, match="malformed"):
        AccessTokenIssuer(KEY).verify(TOKEN_PREFIX + "a" * 5000 + ".b", now=NOW)


def test_rotated_key_still_verifies_tokens_of_the_previous_key() -> None:
    old_issuer = AccessTokenIssuer(OLD_KEY)
    token = issue(old_issuer)
    rotated = AccessTokenIssuer(KEY, previous_keys=(OLD_KEY,))
    assert rotated.verify(token, now=NOW).partner_id == "zorg-noord"
    # New tokens are made with the current key only.
    AccessTokenIssuer(KEY).verify(issue(rotated), now=NOW)


def test_token_of_an_unknown_key_is_refused() -> None:
    token = issue(AccessTokenIssuer(OTHER_KEY))
    rotated = AccessTokenIssuer(KEY, previous_keys=(OLD_KEY,))
    with pytest.raises(InvalidToken, match="signature invalid"):
        rotated.verify(token, now=NOW)


def test_token_of_a_retired_key_is_refused() -> None:
    token = issue(AccessTokenIssuer(OLD_KEY))
    with pytest.raises(InvalidToken, match="signature invalid"):
        AccessTokenIssuer(KEY).verify(token, now=NOW)


@pytest.mark.parametrize("lifetime_s", [0, -1, MAX_LIFETIME_S + 1, 3600])
def test_lifetime_outside_one_to_six_hundred_seconds_is_refused(lifetime_s: int) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        AccessTokenIssuer(KEY, lifetime_s=lifetime_s)


def test_lifetime_of_exactly_six_hundred_seconds_is_allowed() -> None:
    issuer = AccessTokenIssuer(KEY, lifetime_s=600)
    assert (
        issuer.issue(
            partner_id="p1",
            partner_kind="school",
            kid="k",
            actor_id="a",
            actor_role="intern_begeleider",
            now=NOW,
        ).expires_in
        == 600
    )


@pytest.mark.parametrize("key", [b"", b"short", b"x" * 31])
def test_short_mac_keys_are_refused(key: bytes) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        AccessTokenIssuer(key)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        AccessTokenIssuer(KEY, previous_keys=(key,))


def test_naive_now_is_a_programming_error() -> None:
    issuer = AccessTokenIssuer(KEY)
    with pytest.raises(ValueError, match="timezone-aware"):
        issue(issuer, now=NOW.replace(tzinfo=None))


def test_mac_valid_token_with_wrong_claim_types_is_refused() -> None:
    claims = {"sub": "p", "kind": "school", "kid": "k", "act_sub": "a", "act_role": "r"}
    claims |= {"iat": "yesterday", "exp": 1, "tid": "t"}
    payload = b64url(json.dumps(claims).encode())
    mac = hmac.new(KEY, (TOKEN_PREFIX + payload).encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken, match="malformed"):
        AccessTokenIssuer(KEY).verify(f"{TOKEN_PREFIX}{payload}.{b64url(mac)}", now=NOW)


_TOKEN = issue(AccessTokenIssuer(KEY))


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(0, len(_TOKEN) - 1),
    replacement=st.sampled_from(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="
    ),
)
def test_any_single_character_change_breaks_the_token(position: int, replacement: str) -> None:
    assume(_TOKEN[position] != replacement)
    mutated = _TOKEN[:position] + replacement + _TOKEN[position + 1 :]
    with pytest.raises(InvalidToken):
        AccessTokenIssuer(KEY).verify(mutated, now=NOW)
