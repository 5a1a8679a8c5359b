"""Token checks at their edges: one-line bugs in MAC checks, assertion lifetimes and key expiry.

Each test names a realistic slip (a `>` for `>=`, an off-by-one in a window, a MAC compared on
the wrong bytes) that mutation testing (`make mutate`, docs/mutation-testing.md) showed the
suite let through. Assertions are signed here with the partner's freshly generated keys.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from gateway.auth import (
    AssertionRejected,
    JwksError,
    PartnerKeys,
    VerifiedAssertion,
    parse_jwks,
    verify_client_assertion,
)
from gateway.auth._encoding import (
    b64url_decode,
    b64url_encode,
    compact_json,
    is_clean_text,
    strict_json_object,
)
from gateway.auth.tokens import TOKEN_PREFIX, AccessTokenIssuer
from gateway.client import generate_partner_jwks
from gateway.errors import InvalidToken

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
T = int(NOW.timestamp())
PARTNER = "zorg-noord"
AUDIENCE = "https://gateway.example/v1/token"
KEY_TYPES = {"Ed25519": "EdDSA", "P-256": "ES256", "RSA-2048": "PS256"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@functools.cache
def _private_jwk(key_type: str) -> dict[str, Any]:
    jwks, _ = generate_partner_jwks(PARTNER, now=NOW, signing=key_type, with_encryption=False)
    return dict(jwks["keys"][0])


def _public(key_type: str, **window: int) -> dict[str, Any]:
    jwk = {
        k: v
        for k, v in _private_jwk(key_type).items()
        if k not in {"d", "p", "q", "dp", "dq", "qi"}
    }
    if key_type == "RSA-2048":
        jwk.pop("alg", None)  # both PS256 and RS256
    jwk.update(window)
    return jwk


def _registry(key_type: str = "Ed25519", **window: int) -> Any:
    keys = parse_jwks({"keys": [_public(key_type, **window)]}, source="test.jwks.json")
    return {PARTNER: keys}.get


def _sign(key_type: str, alg: str, signing_input: bytes) -> bytes:
    key = jwt.PyJWK(_private_jwk(key_type)).key
    if isinstance(key, Ed25519PrivateKey):
        return key.sign(signing_input)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert isinstance(key, rsa.RSAPrivateKey)
    if alg == "RS256":
        return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(
        signing_input,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )


def _assertion(
    key_type: str = "Ed25519",
    *,
    alg: str | None = None,
    header: Mapping[str, Any] | None = None,
    signature: bytes | None = None,
    **claims: Any,
) -> str:
    alg = alg or KEY_TYPES[key_type]
    head = {"alg": alg, "kid": _private_jwk(key_type)["kid"], **(header or {})}
    body = {
        "iss": PARTNER,
        "sub": PARTNER,
        "aud": AUDIENCE,
        "iat": T,
        "exp": T + 60,
        "jti": "jti-0123456789",
        "act": {"sub": "medewerker-17", "role": "casusregisseur"},
    }
    for name, value in claims.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(body).encode())}"
    sig = _sign(key_type, alg, signing_input.encode()) if signature is None else signature
    return f"{signing_input}.{_b64(sig)}"


def _verify(
    token: str,
    *,
    registry: Any = None,
    now: datetime = NOW,
    client_id: str | None = PARTNER,
    **options: Any,
) -> VerifiedAssertion:
    return verify_client_assertion(
        token,
        client_id=client_id,
        keys_for=registry or _registry(),
        audiences=frozenset({AUDIENCE}),
        now=now,
        **options,
    )


def _refused(token: str, reason: str, **kwargs: Any) -> None:
    with pytest.raises(AssertionRejected) as refused:
        _verify(token, **kwargs)
    assert refused.value.reason == reason


# -- the signature -------------------------------------------------------------------------------


@pytest.mark.parametrize(("key_type", "alg"), [*KEY_TYPES.items(), ("RSA-2048", "RS256")])
def test_an_assertion_whose_signature_is_off_by_one_byte_is_refused(key_type: str, alg: str):
    good = _assertion(key_type, alg=alg)
    assert _verify(good, registry=_registry(key_type)).partner_id == PARTNER
    head, body, sig = good.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[-1] ^= 0x01
    _refused(f"{head}.{body}.{_b64(bytes(raw))}", "bad_signature", registry=_registry(key_type))


@pytest.mark.parametrize(("key_type", "alg"), [*KEY_TYPES.items(), ("RSA-2048", "RS256")])
def test_an_assertion_whose_signature_lacks_its_last_byte_is_refused(key_type: str, alg: str):
    head, body, sig = _assertion(key_type, alg=alg).split(".")
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    _refused(f"{head}.{body}.{_b64(raw[:-1])}", "bad_signature", registry=_registry(key_type))


def test_an_rs256_signature_offered_as_ps256_is_refused():
    _head, body, sig = _assertion("RSA-2048", alg="RS256").split(".")
    ps_head = _b64(json.dumps({"alg": "PS256", "kid": _private_jwk("RSA-2048")["kid"]}).encode())
    _refused(f"{ps_head}.{body}.{sig}", "bad_signature", registry=_registry("RSA-2048"))


def test_an_ecdsa_signature_with_s_equal_to_the_curve_order_is_refused_before_verification():
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    for r, s in ((1, order), (order, 1), (0, 1), (1, 0)):
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        _refused(_assertion("P-256", signature=sig), "bad_signature", registry=_registry("P-256"))


def test_an_assertion_signed_by_an_ed25519_key_registered_only_for_es256_is_a_key_mismatch():
    # the registry holds the P-256 key under the Ed25519 key's kid
    jwk = _public("P-256")
    jwk["kid"] = _private_jwk("Ed25519")["kid"]
    registry = {PARTNER: parse_jwks({"keys": [jwk]}, source="x")}.get
    _refused(_assertion("Ed25519"), "alg_key_mismatch", registry=registry)


# -- the assertion's lifetime -------------------------------------------------------------------


def test_an_assertion_living_exactly_300_seconds_is_accepted_and_301_refused():
    assert _verify(_assertion(exp=T + 300))
    _refused(_assertion(exp=T + 301), "lifetime_too_long")
    _refused(_assertion(exp=T + 31, iat=T), "lifetime_too_long", max_lifetime_s=30)


def test_an_assertion_expiring_exactly_at_now_minus_the_leeway_is_refused_one_second_later_accepted():
    _refused(_assertion(iat=T - 120, exp=T - 60), "expired")
    assert _verify(_assertion(iat=T - 119, exp=T - 59))
    _refused(_assertion(iat=T - 40, exp=T - 10), "expired", leeway_s=10)


def test_an_assertion_issued_beyond_the_leeway_in_the_future_is_refused_at_the_leeway_accepted():
    assert _verify(_assertion(iat=T + 60, exp=T + 120))
    _refused(_assertion(iat=T + 61, exp=T + 121), "iat_in_future")


def test_an_assertion_expiring_before_it_was_issued_is_refused():
    _refused(_assertion(iat=T, exp=T - 1), "invalid_claim:exp")
    assert _verify(_assertion(iat=T, exp=T))


def test_an_assertion_not_valid_before_beyond_the_leeway_is_refused_at_the_leeway_accepted():
    assert _verify(_assertion(nbf=T + 60))
    _refused(_assertion(nbf=T + 61), "nbf_in_future")


def test_the_verified_assertion_carries_its_own_issue_and_expiry_times():
    verified = _verify(_assertion(iat=T - 5, exp=T + 55))
    assert verified.issued_at == NOW - timedelta(seconds=5)
    assert verified.expires_at == NOW + timedelta(seconds=55)
    assert verified.kid == _private_jwk("Ed25519")["kid"]
    assert (verified.actor_id, verified.actor_role) == ("medewerker-17", "casusregisseur")
    assert verified.jti == "jti-0123456789"


@pytest.mark.parametrize("value", [True, "1700000000", 1e12, -1e12, [T]])
def test_a_time_claim_that_is_not_a_sane_number_is_refused(value: object):
    _refused(_assertion(exp=value), "invalid_claim:exp")


def test_a_time_claim_of_exactly_1e11_seconds_is_a_number_but_refused_as_too_long_lived():
    _refused(_assertion(exp=100_000_000_000), "lifetime_too_long")


def test_a_naive_now_is_a_programming_error_not_a_silent_utc():
    with pytest.raises(ValueError, match="timezone-aware"):
        _verify(_assertion(), now=NOW.replace(tzinfo=None))


# -- the key's validity window ------------------------------------------------------------------


def test_a_key_is_refused_from_the_second_of_its_expiry_and_accepted_the_second_before():
    _refused(_assertion(), "key_expired", registry=_registry(exp=T))
    assert _verify(_assertion(), registry=_registry(exp=T + 1))


def test_a_key_is_accepted_from_the_second_of_its_nbf_and_refused_the_second_before():
    assert _verify(_assertion(), registry=_registry(nbf=T))
    _refused(_assertion(), "key_not_yet_valid", registry=_registry(nbf=T + 1))


def test_a_jwks_whose_key_window_is_empty_is_refused_at_load():
    with pytest.raises(JwksError, match="nbf must be before exp"):
        _registry(nbf=T, exp=T)
    assert _registry(nbf=T, exp=T + 1)


def test_an_unknown_partner_or_kid_is_refused():
    _refused(_assertion(), "unknown_partner", registry={}.get)
    _refused(_assertion(header={"kid": "other-kid"}), "unknown_kid", registry=_registry("Ed25519"))
    empty = {PARTNER: PartnerKeys(signing=())}.get
    _refused(_assertion(), "unknown_kid", registry=empty)


# -- claims ---------------------------------------------------------------------------------------


def test_a_jti_of_7_characters_is_refused_8_and_200_accepted_201_refused():
    _refused(_assertion(jti="j" * 7), "invalid_claim:jti")
    assert _verify(_assertion(jti="j" * 8))
    assert _verify(_assertion(jti="~" * 200))
    _refused(_assertion(jti="j" * 201), "invalid_claim:jti")


@pytest.mark.parametrize("jti", ["jti with space", "jti-\u00e9-accent", "jti\x7f-delete", 12345678])
def test_a_jti_with_a_space_a_non_ascii_or_a_control_character_is_refused(jti: object):
    _refused(_assertion(jti=jti), "invalid_claim:jti")


def test_an_actor_id_of_64_characters_is_accepted_and_65_refused():
    assert _verify(_assertion(act={"sub": "a" * 64, "role": "casusregisseur"}))
    _refused(_assertion(act={"sub": "a" * 65, "role": "casusregisseur"}), "actor_invalid:sub")
    _refused(_assertion(act={"sub": "", "role": "casusregisseur"}), "actor_invalid:sub")


@pytest.mark.parametrize("role", ["Casusregisseur", "r", "casus-regisseur", "x" * 65, 7, None])
def test_an_actor_role_of_the_wrong_shape_is_refused(role: object):
    _refused(_assertion(act={"sub": "a", "role": role}), "actor_invalid:role")


def test_an_assertion_without_an_actor_or_with_a_list_as_actor_is_refused():
    _refused(_assertion(act=None), "actor_missing")
    _refused(_assertion(act=["a"]), "invalid_claim:act")


def test_an_assertion_for_one_partner_presented_with_another_client_id_is_refused():
    _refused(_assertion(), "client_id_mismatch", client_id="swt-denhelder")
    assert _verify(_assertion(), client_id=None)


def test_an_assertion_whose_subject_is_another_partner_is_refused():
    _refused(_assertion(sub="swt-denhelder"), "iss_sub_mismatch")


@pytest.mark.parametrize("claim", ["sub", "aud", "exp", "iat", "jti"])
def test_an_assertion_missing_a_required_claim_is_refused(claim: str):
    _refused(_assertion(**{claim: None}), f"missing_claim:{claim}")


def test_an_audience_list_holding_the_gateway_is_accepted_and_a_list_without_it_refused():
    assert _verify(_assertion(aud=["https://elsewhere.example", AUDIENCE]))
    _refused(_assertion(aud=["https://elsewhere.example"]), "wrong_audience")
    _refused(_assertion(aud=[]), "invalid_claim:aud")
    _refused(_assertion(aud=[AUDIENCE, 7]), "invalid_claim:aud")
    _refused(_assertion(aud={"a": AUDIENCE}), "invalid_claim:aud")


@pytest.mark.parametrize("issuer", ["Zorg-Noord", "z", 7])
def test_an_issuer_that_is_no_partner_id_is_refused(issuer: object):
    _refused(_assertion(iss=issuer), "invalid_claim:iss")


def test_an_assertion_exactly_at_the_length_limit_is_read_and_one_longer_refused():
    token = _assertion()
    assert _verify(token, max_length=len(token))
    _refused(token, "too_long", max_length=len(token) - 1)


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt"])
def test_a_typ_of_jwt_in_any_case_is_accepted(typ: str):
    assert _verify(_assertion(header={"typ": typ}))


@pytest.mark.parametrize("typ", ["at+jwt", 1, ""])
def test_a_typ_other_than_jwt_is_refused(typ: object):
    _refused(_assertion(header={"typ": typ}), "typ_not_allowed")


def test_a_kid_of_129_characters_is_refused_even_if_registered():
    _refused(_assertion(header={"kid": "k" * 129}), "unknown_kid")
    _refused(_assertion(header={"kid": ""}), "missing_kid")


@pytest.mark.parametrize("token", ["a.b", "a.b.c.d", "\u00e9.b.c", "eyJhbGciOiJFZERTQSJ9.!!!.abc"])
def test_a_token_that_is_not_three_base64url_parts_is_malformed(token: str):
    _refused(token, "malformed")


# -- access tokens ----------------------------------------------------------------------------------


def _issuer(**kwargs: Any) -> AccessTokenIssuer:
    return AccessTokenIssuer(bytes(range(32)), **kwargs)


def _token(issuer: AccessTokenIssuer, now: datetime = NOW) -> str:
    return issuer.issue(
        partner_id=PARTNER,
        partner_kind="zorgaanbieder",
        kid="k1",
        actor_id="medewerker-17",
        actor_role="casusregisseur",
        now=now,
    ).access_token


def test_an_access_token_whose_mac_is_off_by_one_byte_is_refused():
    token = _token(_issuer())
    payload, mac = token[len(TOKEN_PREFIX) :].split(".")
    raw = bytearray(base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4)))
    for index in (0, len(raw) - 1):
        changed = bytearray(raw)
        changed[index] ^= 0x80
        with pytest.raises(InvalidToken, match="signature invalid"):
            _issuer().verify(f"{TOKEN_PREFIX}{payload}.{_b64(bytes(changed))}", now=NOW)


def test_an_access_token_with_its_claims_changed_under_the_same_mac_is_refused():
    token = _token(_issuer())
    payload, mac = token[len(TOKEN_PREFIX) :].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["act_role"] = "gezinsvoogd"
    forged = _b64(json.dumps(claims, separators=(",", ":")).encode())
    with pytest.raises(InvalidToken):
        _issuer().verify(f"{TOKEN_PREFIX}{forged}.{mac}", now=NOW)


def test_an_access_token_made_under_another_key_is_refused_and_an_old_key_still_verifies():
    old = AccessTokenIssuer(bytes(32))
    token = _token(old)
    with pytest.raises(InvalidToken):
        _issuer().verify(token, now=NOW)
    rotated = AccessTokenIssuer(bytes(range(32)), previous_keys=(bytes(32),))
    assert rotated.verify(token, now=NOW).partner_id == PARTNER


def test_an_access_token_is_refused_from_the_second_it_expires_and_valid_the_second_before():
    issuer = _issuer(lifetime_s=300)
    token = _token(issuer)
    claims = issuer.verify(token, now=NOW + timedelta(seconds=299))
    assert claims.expires_at == NOW + timedelta(seconds=300)
    assert claims.issued_at == NOW
    with pytest.raises(InvalidToken, match="expired"):
        issuer.verify(token, now=NOW + timedelta(seconds=300))
    # a remembered token is no exception
    with pytest.raises(InvalidToken, match="expired"):
        issuer.verify(token, now=NOW + timedelta(seconds=300))


def test_an_access_token_keeps_every_claim_it_was_issued_with():
    issuer = _issuer(lifetime_s=120)
    issued = issuer.issue(
        partner_id=PARTNER,
        partner_kind="zorgaanbieder",
        kid="k1",
        actor_id="medewerker-17",
        actor_role="casusregisseur",
        now=NOW,
    )
    assert issued.expires_in == 120
    claims = issuer.verify(issued.access_token, now=NOW)
    assert (claims.partner_id, claims.partner_kind, claims.kid) == (PARTNER, "zorgaanbieder", "k1")
    assert (claims.actor_id, claims.actor_role) == ("medewerker-17", "casusregisseur")
    assert claims.expires_at - claims.issued_at == timedelta(seconds=120)
    assert len(claims.token_id) >= 16
    assert _token(issuer) != _token(issuer)  # a fresh token id each time


@pytest.mark.parametrize("lifetime", [0, 601])
def test_an_access_token_lifetime_outside_1_to_600_seconds_is_refused(lifetime: int):
    with pytest.raises(ValueError, match="lifetime"):
        _issuer(lifetime_s=lifetime)
    assert _issuer(lifetime_s=1)
    assert _issuer(lifetime_s=600)


def test_an_access_token_key_of_31_bytes_is_refused_also_as_a_previous_key():
    with pytest.raises(ValueError, match="at least 32"):
        AccessTokenIssuer(bytes(31))
    with pytest.raises(ValueError, match="at least 32"):
        AccessTokenIssuer(bytes(32), previous_keys=(bytes(31),))


@pytest.mark.parametrize(
    "token",
    [
        "gwat1.",
        "gwat2.abc.def",
        "gwat1.abc",
        "gwat1.abc.!!!",
        "gwat1.\u00e9.abc",
        "gwat1." + "a" * 4096 + ".abc",
    ],
)
def test_a_malformed_access_token_is_refused(token: str):
    with pytest.raises(InvalidToken):
        _issuer().verify(token, now=NOW)


def test_a_token_with_a_valid_mac_over_claims_of_the_wrong_types_is_refused():
    import hashlib
    import hmac

    key = bytes(range(32))
    for claims in (
        {
            "sub": 1,
            "kind": "k",
            "kid": "k",
            "act_sub": "a",
            "act_role": "r",
            "iat": T,
            "exp": T + 9,
            "tid": "t",
        },
        {
            "sub": "s",
            "kind": "k",
            "kid": "k",
            "act_sub": "a",
            "act_role": "r",
            "iat": True,
            "exp": T + 9,
            "tid": "t",
        },
        {
            "sub": "s",
            "kind": "k",
            "kid": "k",
            "act_sub": "a",
            "act_role": "r",
            "iat": T,
            "exp": float(T + 9),
            "tid": "t",
        },
    ):
        payload = _b64(json.dumps(claims).encode())
        mac = hmac.new(key, (TOKEN_PREFIX + payload).encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidToken, match="malformed"):
            _issuer().verify(f"{TOKEN_PREFIX}{payload}.{_b64(mac)}", now=NOW)


# -- strict encodings ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["QQ==", "QQ=", "Q", "QR", "Q+", "Q/", "Q Q", "QQ\n"])
def test_base64url_with_padding_foreign_letters_or_non_canonical_trailing_bits_is_refused(
    text: str,
):
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(text)


def test_base64url_reads_back_what_it_wrote_for_every_length():
    for length in range(6):
        data = bytes(range(250, 250 + length % 6))
        assert b64url_decode(b64url_encode(data)) == data
    assert b64url_decode("") == b""
    assert b64url_encode(b"\xfb\xff") == "-_8"


@pytest.mark.parametrize(
    "data",
    [b'{"a":1,"a":2}', b'{"a":NaN}', b'{"a":Infinity}', b"[1]", b'"x"', b"\xff", b"[" * 100_000],
)
def test_json_with_duplicate_members_nan_or_not_an_object_is_refused(data: bytes):
    with pytest.raises(ValueError, match="JSON object"):
        strict_json_object(data)


def test_strict_json_keeps_nested_objects_and_compact_json_sorts_keys():
    assert strict_json_object(b'{"b":{"c":1},"a":"\xc3\xa9"}') == {"b": {"c": 1}, "a": "é"}
    assert compact_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    with pytest.raises(ValueError, match="JSON compliant"):
        compact_json({"a": float("nan")})


@pytest.mark.parametrize("text", ["a\x00b", "a\nb", "a\x7fb", "a\ud800b", "a\x85b"])
def test_text_with_a_control_character_or_a_lone_surrogate_is_not_clean(text: str):
    assert not is_clean_text(text)


def test_text_with_spaces_and_accents_is_clean():
    assert is_clean_text("Jan de Vries-Émile 17")


# -- what mutation testing still found -------------------------------------------------------------


def test_a_rejection_carries_its_reason_as_its_text():
    rejected = AssertionRejected("key_expired")
    assert rejected.reason == "key_expired"
    assert str(rejected) == "key_expired"


def _rsa_jwk(exponent: int) -> dict[str, Any]:
    jwk = _public("RSA-2048")
    jwk["e"] = _b64(exponent.to_bytes((exponent.bit_length() + 7) // 8 or 1, "big"))
    return jwk


@pytest.mark.parametrize("exponent", [3, 5, 65537])
def test_an_rsa_key_with_an_odd_exponent_of_at_least_3_is_registered(exponent: int):
    keys = parse_jwks({"keys": [_rsa_jwk(exponent)]}, source="rsa.jwks.json")
    assert keys.signing[0].alg_allowed == frozenset({"PS256", "RS256"})


@pytest.mark.parametrize("exponent", [1, 2, 4, 65536])
def test_an_rsa_key_with_an_even_exponent_or_one_below_3_is_refused(exponent: int):
    with pytest.raises(JwksError, match="exponent must be odd"):
        parse_jwks({"keys": [_rsa_jwk(exponent)]}, source="rsa.jwks.json")


@pytest.mark.parametrize("member", ["n", "e"])
def test_a_jwks_error_names_the_file_the_key_and_the_member(member: str):
    jwk = _public("RSA-2048")
    jwk[member] = "not base64url!"
    with pytest.raises(JwksError) as refused:
        parse_jwks({"keys": [jwk]}, source="partner.jwks.json")
    kid = jwk["kid"]
    assert (refused.value.source, refused.value.kid) == ("partner.jwks.json", kid)
    assert refused.value.problem == f"member {member!r} is not unpadded base64url"
    assert (
        str(refused.value)
        == f"partner.jwks.json: key {kid!r}: member {member!r} is not unpadded base64url"
    )


def test_a_jwks_error_without_a_key_names_only_the_file():
    with pytest.raises(JwksError) as refused:
        parse_jwks({"keys": "none"}, source="partner.jwks.json")
    assert refused.value.kid is None
    assert str(refused.value).startswith("partner.jwks.json: a JWKS must be")


def test_an_encryption_key_of_31_bytes_is_refused_as_a_jwks_error_naming_the_key():
    jwk = {
        "kty": "OKP",
        "crv": "X25519",
        "use": "enc",
        "kid": "enc-1",
        "x": _b64(bytes(range(1, 32))),
    }
    with pytest.raises(JwksError) as refused:
        parse_jwks({"keys": [jwk]}, source="enc.jwks.json")
    assert (refused.value.source, refused.value.kid) == ("enc.jwks.json", "enc-1")
    assert refused.value.problem == "member 'x' must be 32 bytes, not 31"


def test_an_access_token_issuer_by_default_gives_tokens_of_300_seconds_with_22_character_ids():
    issuer = AccessTokenIssuer(bytes(range(32)))
    issued = issuer.issue(
        partner_id=PARTNER, partner_kind="k", kid="k1", actor_id="a", actor_role="r", now=NOW
    )
    assert issued.expires_in == 300
    claims = issuer.verify(issued.access_token, now=NOW)
    assert claims.expires_at - claims.issued_at == timedelta(seconds=300)
    assert len(claims.token_id) == 22  # 16 random bytes, base64url


@pytest.mark.parametrize("token", [123, None, ["gwat1.a.b"], b"gwat1.a.b"])
def test_an_access_token_that_is_not_a_string_is_refused_not_a_crash(token: object):
    with pytest.raises(InvalidToken):
        _issuer().verify(token, now=NOW)  # type: ignore[arg-type]


def test_an_access_token_with_a_dot_in_its_mac_part_is_malformed():
    token = _token(_issuer())
    with pytest.raises(InvalidToken, match="malformed"):
        _issuer().verify(token + ".x", now=NOW)


def _token_of_length(issuer: AccessTokenIssuer, length: int) -> str:
    for size in range(2000, 3200):
        token = issuer.issue(
            partner_id=PARTNER,
            partner_kind="k",
            kid="k1",
            actor_id="a" * size,
            actor_role="r",
            now=NOW,
        ).access_token
        if len(token) == length:
            return token
    raise AssertionError(f"no token of length {length}")


def test_an_access_token_of_exactly_4096_characters_is_read_and_a_longer_one_refused():
    issuer = _issuer()
    assert issuer.verify(_token_of_length(issuer, 4096), now=NOW).partner_id == PARTNER
    with pytest.raises(InvalidToken, match="malformed"):
        issuer.verify(_token_of_length(issuer, 4097), now=NOW)


def test_the_issuer_remembers_the_1024_most_recently_first_seen_tokens_and_forgets_the_oldest():
    issuer = _issuer()
    tokens = [_token(issuer) for _ in range(1025)]
    for token in tokens:
        issuer.verify(token, now=NOW)
    remembered = issuer._verified  # the memory the module docstring bounds
    assert len(remembered) == 1024
    assert tokens[0] not in remembered
    assert tokens[1] in remembered
    assert tokens[-1] in remembered


def test_an_assertion_with_fractional_seconds_in_its_times_is_accepted():
    verified = _verify(_assertion(iat=T + 0.5, exp=T + 60.25))
    assert verified.expires_at == NOW + timedelta(seconds=60.25)


def test_a_time_claim_just_past_1e11_seconds_is_refused_as_no_sane_time():
    _refused(_assertion(exp=100_000_000_001), "invalid_claim:exp")
    _refused(_assertion(iat=-100_000_000_001), "invalid_claim:iat")


def test_a_jti_of_exclamation_marks_and_tildes_the_ends_of_visible_ascii_is_accepted():
    assert _verify(_assertion(jti="!" * 8)).jti == "!" * 8
    assert _verify(_assertion(jti="~" * 8)).jti == "~" * 8


@pytest.mark.parametrize("member", ["x", "y"])
def test_a_p256_key_with_a_31_byte_coordinate_is_refused_naming_the_member(member: str):
    jwk = _public("P-256")
    jwk[member] = _b64(base64.urlsafe_b64decode(jwk[member] + "==")[1:])
    with pytest.raises(JwksError) as refused:
        parse_jwks({"keys": [jwk]}, source="ec.jwks.json")
    assert (refused.value.source, refused.value.kid) == ("ec.jwks.json", jwk["kid"])
    assert refused.value.problem == f"member {member!r} must be 32 bytes, not 31"


@pytest.mark.parametrize("member", ["nbf", "exp"])
def test_a_key_window_that_is_no_number_is_refused_naming_the_file_and_key(member: str):
    jwk = _public("Ed25519")
    jwk[member] = "tomorrow"
    with pytest.raises(JwksError) as refused:
        parse_jwks({"keys": [jwk]}, source="window.jwks.json")
    assert (refused.value.source, refused.value.kid) == ("window.jwks.json", jwk["kid"])


def test_a_registered_kid_of_exactly_128_characters_is_accepted():
    jwk = _public("Ed25519")
    jwk["kid"] = "k" * 128
    registry = {PARTNER: parse_jwks({"keys": [jwk]}, source="x")}.get
    assert _verify(_assertion(header={"kid": "k" * 128}), registry=registry).kid == "k" * 128


def test_base64url_keeps_a_trailing_x_and_strips_only_padding():
    assert b64url_encode(b"\x00\x00\x17") == "AAAX"
    assert b64url_decode("AAAX") == b"\x00\x00\x17"


def test_a_jwks_kid_that_is_not_a_string_is_a_jwks_error_not_a_crash():
    jwk = _public("Ed25519")
    jwk["kid"] = 7
    with pytest.raises(JwksError, match="has no kid"):
        parse_jwks({"keys": [jwk]}, source="x")


def test_keys_with_the_key_ops_their_use_needs_are_registered():
    signing = {**_public("Ed25519"), "use": "sig", "key_ops": ["verify"]}
    x25519 = _b64(bytes(range(9, 41)))
    encryption = {
        "kty": "OKP",
        "crv": "X25519",
        "use": "enc",
        "kid": "enc-1",
        "x": x25519,
        "key_ops": ["deriveBits"],
    }
    keys = parse_jwks({"keys": [signing, encryption]}, source="x")
    assert keys.signing[0].kty == "OKP"
    assert keys.encryption is not None
    assert keys.encryption.kid == "enc-1"
    with pytest.raises(JwksError, match="key_ops must include 'deriveBits'"):
        parse_jwks({"keys": [{**encryption, "key_ops": ["verify"]}]}, source="x")


def test_an_access_token_with_a_second_dot_is_malformed_not_a_bad_signature():
    payload, mac = _token(_issuer())[len(TOKEN_PREFIX) :].split(".")
    for token in (f"{TOKEN_PREFIX}{payload}.{mac}.{mac}", f"{TOKEN_PREFIX}{payload}.x.{mac}"):
        with pytest.raises(InvalidToken, match=r"^malformed access token$"):
            _issuer().verify(token, now=NOW)
