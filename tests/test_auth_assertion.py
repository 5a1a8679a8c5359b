"""Client assertions: RFC 8725 / RFC 7523 attack vectors, JWKS parsing, the partner's helpers."""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gateway.auth
import gateway.client
from gateway.auth import (
    AssertionRejected,
    JwksError,
    PartnerKeys,
    VerifiedAssertion,
    parse_jwks,
    verify_client_assertion,
)
from gateway.client import generate_partner_jwks, make_client_assertion

VECTORS = Path(__file__).parent / "vectors"
CASES = json.loads((VECTORS / "rfc8725" / "cases.json").read_text(encoding="utf-8"))["cases"]
JWKS_CASES = json.loads((VECTORS / "rfc8725" / "jwks_cases.json").read_text(encoding="utf-8"))[
    "cases"
]

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
PARTNER = "zorg-noord"
OTHER_PARTNER = "swt-noord"
TOKEN_URL = "https://gateway.example/v1/token"
AUDIENCES = frozenset({TOKEN_URL, "gateway-demo"})
SOURCE = "config/keys/zorg-noord.jwks.json"
ORDER_P256 = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def public_only(jwk: Mapping[str, Any]) -> dict[str, Any]:
    private = {"d", "p", "q", "dp", "dq", "qi"}
    return {name: value for name, value in jwk.items() if name not in private}


@dataclass(frozen=True)
class World:
    """Two registered partners with freshly generated keys: the victim and another partner."""

    private_jwks: Mapping[str, dict[str, Any]]  # by key type, zorg-noord's
    other_private_jwk: dict[str, Any]  # swt-noord's Ed25519 key

    def kid(self, key_type: str) -> str:
        return str(self.private_jwks[key_type]["kid"])

    def public_jwks(self, registered_key: Mapping[str, Any] | None = None, *, key: str) -> Any:
        """Zorg-noord's public JWKS, with one key's registration changed if a case asks."""
        keys = []
        for key_type, private_jwk in self.private_jwks.items():
            jwk = public_only(private_jwk)
            if key_type == "RSA-2048":
                # No alg on the RSA key, so it allows both PS256 and RS256.
                del jwk["alg"]
            if key_type == key and registered_key:
                for name, value in registered_key.items():
                    if name in ("nbf", "exp"):
                        jwk[name] = int(NOW.timestamp()) + value
                    else:
                        jwk[name] = value
            keys.append(jwk)
        return {"keys": keys}

    def registry(self, registered_key: Mapping[str, Any] | None, *, key: str) -> Any:
        own = parse_jwks(self.public_jwks(registered_key, key=key), source=SOURCE)
        other = parse_jwks(
            {"keys": [public_only(self.other_private_jwk)]}, source="swt-noord.jwks.json"
        )
        return {PARTNER: own, OTHER_PARTNER: other}.get


@functools.cache
def world() -> World:
    private = {}
    for key_type in ("Ed25519", "P-256", "RSA-2048"):
        jwks, _ = generate_partner_jwks(PARTNER, now=NOW, signing=key_type, with_encryption=False)
        private[key_type] = jwks["keys"][0]
    other, _ = generate_partner_jwks(OTHER_PARTNER, now=NOW, with_encryption=False)
    return World(private_jwks=private, other_private_jwk=other["keys"][0])


def private_key(jwk: Mapping[str, Any]) -> Any:
    return jwt.PyJWK(dict(jwk)).key


def sign(key: Any, alg: str, signing_input: bytes) -> bytes:
    """An independent JWS signer, so the verifier is not checked against itself."""
    if isinstance(key, Ed25519PrivateKey):
        return key.sign(signing_input)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert isinstance(key, rsa.RSAPrivateKey)
    if alg == "RS256":
        return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return key.sign(signing_input, pss, hashes.SHA256())


def natural_alg(key_type: str, header_alg: str) -> str:
    if key_type == "Ed25519":
        return "EdDSA"
    if key_type == "P-256":
        return "ES256"
    return header_alg if header_alg in ("PS256", "RS256") else "PS256"


def substitute(value: Any, w: World) -> Any:
    placeholders = {
        "$audience": TOKEN_URL,
        "$partner": PARTNER,
        "$other_partner": OTHER_PARTNER,
        "$other_kid": w.other_private_jwk["kid"],
        "$other_public_jwk": public_only(w.other_private_jwk),
    }
    if isinstance(value, str):
        return placeholders.get(value, value)
    if isinstance(value, list):
        return [substitute(item, w) for item in value]
    if isinstance(value, dict):
        return {name: substitute(item, w) for name, item in value.items()}
    return value


def merge(base: dict[str, Any], changes: Mapping[str, Any], w: World) -> dict[str, Any]:
    """Apply a case's changes: a value replaces or adds a member, null removes it."""
    result = dict(base)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = substitute(value, w)
    return result


def build_assertion(case: Mapping[str, Any], w: World) -> str:
    """Turn a vector's description into a concrete compact JWS."""
    key_type = case["key"]
    now_s = int(NOW.timestamp())
    header = {"alg": natural_alg(key_type, ""), "kid": w.kid(key_type)}
    header = merge(header, case.get("header", {}), w)
    times = {"iat": 0, "exp": 60, **case.get("times", {})}
    claims: dict[str, Any] = {
        "iss": PARTNER,
        "sub": PARTNER,
        "aud": TOKEN_URL,
        "jti": "jti-" + case["name"],
        "act": {"sub": "medewerker-17", "role": "casusregisseur"},
        **{name: now_s + offset for name, offset in times.items()},
    }
    claims = merge(claims, case.get("claims", {}), w)
    transform = case.get("transform")
    if transform == "pad_claims_100kb":
        claims["padding"] = "x" * 100_000
    header_json, claims_json = compact(header), compact(claims)
    if transform == "duplicate_iss":
        claims_json = b'{"iss":"' + OTHER_PARTNER.encode() + b'",' + claims_json[1:]
    header_b64, claims_b64 = b64url(header_json), b64url(claims_json)
    signing_input = f"{header_b64}.{claims_b64}".encode("ascii")
    signature = make_signature(case, w, key_type, str(header.get("alg", "")), signing_input)
    token = f"{header_b64}.{claims_b64}.{b64url(signature)}"
    return apply_transform(transform, token, claims)


def make_signature(
    case: Mapping[str, Any], w: World, key_type: str, header_alg: str, signing_input: bytes
) -> bytes:
    kind = case.get("signature", "valid")
    own_jwk = w.private_jwks[key_type]
    alg = natural_alg(key_type, header_alg)
    public_key = private_key(own_jwk).public_key()
    if kind == "valid":
        return sign(private_key(own_jwk), alg, signing_input)
    if kind == "other_partner_key":
        return sign(private_key(w.other_private_jwk), "EdDSA", signing_input)
    if kind == "empty":
        return b""
    if kind == "truncated":
        return sign(private_key(own_jwk), alg, signing_input)[:-8]
    if kind == "hmac_public_pem":
        pem = public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        return hmac.new(pem, signing_input, hashlib.sha256).digest()
    if kind == "hmac_public_raw":
        raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return hmac.new(raw, signing_input, hashlib.sha256).digest()
    if kind == "hmac_public_jwk":
        text = json.dumps(public_only(own_jwk)).encode("utf-8")
        return hmac.new(text, signing_input, hashlib.sha256).digest()
    if kind == "ecdsa_zero":
        return bytes(64)
    if kind == "ecdsa_order":
        return ORDER_P256.to_bytes(32, "big") * 2
    if kind == "ecdsa_der":
        return private_key(own_jwk).sign(signing_input, ec.ECDSA(hashes.SHA256()))
    raise AssertionError(f"unknown signature kind {kind!r} in a vector")


def apply_transform(transform: str | None, token: str, claims: Mapping[str, Any]) -> str:
    header_b64, claims_b64, signature_b64 = token.split(".")
    if transform is None or transform in ("pad_claims_100kb", "duplicate_iss"):
        return token
    if transform == "truncate_half":
        return token[: len(token) // 2]
    if transform == "five_parts":
        return f"{token}.{b64url(b'iv')}.{b64url(b'tag')}"
    if transform == "pad_header_base64":
        return f"{header_b64}{'=' * (-len(header_b64) % 4 or 4)}.{claims_b64}.{signature_b64}"
    if transform == "alter_payload":
        altered = {**claims, "act": {"sub": "medewerker-17", "role": "procesregisseur"}}
        return f"{header_b64}.{b64url(compact(altered))}.{signature_b64}"
    raise AssertionError(f"unknown transform {transform!r} in a vector")


def verify_case(case: Mapping[str, Any]) -> VerifiedAssertion:
    w = world()
    keys_for = w.registry(case.get("registered_key"), key=case["key"])
    client_id = substitute(case.get("client_id"), w)
    return verify_client_assertion(
        build_assertion(case, w),
        client_id=client_id,
        keys_for=keys_for,
        audiences=AUDIENCES,
        now=NOW,
    )


# The RFC 8725 / RFC 7523 vectors.


@pytest.mark.parametrize("case", [c for c in CASES if c["expect"] is None], ids=lambda c: c["name"])
def test_valid_vector_is_accepted(case: Mapping[str, Any]) -> None:
    verified = verify_case(case)
    assert verified.partner_id == PARTNER
    assert verified.kid == world().kid(case["key"])
    assert verified.jti == "jti-" + case["name"]


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["expect"] is not None], ids=lambda c: c["name"]
)
def test_attack_vector_is_rejected_with_its_reason(case: Mapping[str, Any]) -> None:
    with pytest.raises(AssertionRejected) as rejected:
        verify_case(case)
    assert rejected.value.reason == case["expect"]


def test_every_vector_is_described_in_the_vectors_readme() -> None:
    readme = (VECTORS / "README.md").read_text(encoding="utf-8")
    for case in [*CASES, *JWKS_CASES]:
        assert f"`{case['name']}`" in readme, case["name"]


def test_vector_names_are_unique() -> None:
    names = [case["name"] for case in [*CASES, *JWKS_CASES]]
    assert len(names) == len(set(names))


# Happy paths through the partner's own helper (pyjwt signs, the gateway verifies).


@pytest.mark.parametrize(
    ("signing", "jwk_alg"),
    [("Ed25519", None), ("P-256", None), ("RSA-2048", "PS256"), ("RSA-2048", "RS256")],
)
def test_assertion_made_by_the_partner_helper_verifies(signing: str, jwk_alg: str | None) -> None:
    private, public = generate_partner_jwks(PARTNER, now=NOW, signing=signing)
    signing_jwk = private["keys"][0]
    if jwk_alg is not None:
        signing_jwk["alg"] = jwk_alg
        public["keys"][0]["alg"] = jwk_alg
    keys = parse_jwks(public, source=SOURCE)
    assertion = make_client_assertion(
        signing_jwk,
        partner_id=PARTNER,
        audience=TOKEN_URL,
        actor_id="medewerker-17",
        actor_role="casusregisseur",
        now=NOW,
    )
    header = jwt.get_unverified_header(assertion)
    assert header["alg"] == jwk_alg if jwk_alg else header["alg"] in ("EdDSA", "ES256")
    verified = verify_client_assertion(
        assertion,
        client_id=PARTNER,
        keys_for={PARTNER: keys}.get,
        audiences=AUDIENCES,
        now=NOW + timedelta(seconds=5),
    )
    assert verified == VerifiedAssertion(
        partner_id=PARTNER,
        kid=signing_jwk["kid"],
        actor_id="medewerker-17",
        actor_role="casusregisseur",
        jti=verified.jti,
        issued_at=NOW,
        expires_at=NOW + timedelta(seconds=60),
        replayable_until=NOW + timedelta(seconds=120),
    )
    assert 8 <= len(verified.jti) <= 200


def test_key_rotation_accepts_both_registered_keys_and_stops_a_removed_one() -> None:
    old_private, old_public = generate_partner_jwks(PARTNER, now=NOW, with_encryption=False)
    new_private, new_public = generate_partner_jwks(PARTNER, now=NOW, signing="P-256")
    both = parse_jwks({"keys": old_public["keys"] + new_public["keys"]}, source=SOURCE)
    only_new = parse_jwks(new_public, source=SOURCE)

    def assertion(jwk: Mapping[str, Any]) -> str:
        return make_client_assertion(
            jwk,
            partner_id=PARTNER,
            audience="gateway-demo",
            actor_id="a1",
            actor_role="procesregisseur",
            now=NOW,
        )

    for jwk in (old_private["keys"][0], new_private["keys"][0]):
        verify_client_assertion(
            assertion(jwk),
            client_id=None,
            keys_for={PARTNER: both}.get,
            audiences=AUDIENCES,
            now=NOW,
        )
    with pytest.raises(AssertionRejected) as rejected:
        verify_client_assertion(
            assertion(old_private["keys"][0]),
            client_id=None,
            keys_for={PARTNER: only_new}.get,
            audiences=AUDIENCES,
            now=NOW,
        )
    assert rejected.value.reason == "unknown_kid"


def test_assertion_longer_than_the_cap_is_refused_before_parsing() -> None:
    with pytest.raises(AssertionRejected) as rejected:
        verify_client_assertion(
            "x" * 8193, client_id=None, keys_for=lambda _: None, audiences=AUDIENCES, now=NOW
        )
    assert rejected.value.reason == "too_long"


def test_empty_audience_set_refuses_every_assertion() -> None:
    case = next(c for c in CASES if c["name"] == "valid_ed25519")
    w = world()
    with pytest.raises(AssertionRejected) as rejected:
        verify_client_assertion(
            build_assertion(case, w),
            client_id=None,
            keys_for=w.registry(None, key="Ed25519"),
            audiences=frozenset(),
            now=NOW,
        )
    assert rejected.value.reason == "wrong_audience"


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_client_assertion(
            "a.b.c",
            client_id=None,
            keys_for=lambda _: None,
            audiences=AUDIENCES,
            now=NOW.replace(tzinfo=None),
        )


@functools.cache
def _property_fixture() -> tuple[str, Callable[[str], PartnerKeys | None]]:
    private, public = generate_partner_jwks(PARTNER, now=NOW, with_encryption=False)
    assertion = make_client_assertion(
        private["keys"][0],
        partner_id=PARTNER,
        audience=TOKEN_URL,
        actor_id="a1",
        actor_role="casusregisseur",
        now=NOW,
    )
    return assertion, {PARTNER: parse_jwks(public, source=SOURCE)}.get


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_character_change_breaks_the_assertion(data: st.DataObject) -> None:
    assertion, keys_for = _property_fixture()
    position = data.draw(st.integers(0, len(assertion) - 1))
    replacement = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=")
    )
    assume(assertion[position] != replacement)
    mutated = assertion[:position] + replacement + assertion[position + 1 :]
    with pytest.raises(AssertionRejected):
        verify_client_assertion(
            mutated, client_id=None, keys_for=keys_for, audiences=AUDIENCES, now=NOW
        )


# JWKS parsing.


def _base_jwks(case: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The JWKS a case describes, and the kid its error must name (None where it has none)."""
    base = case["base"]
    if base == "whole":
        return copy.deepcopy(case["jwks"]), None
    if base == "literal":
        jwk = dict(case["jwk"])
        return {"keys": [jwk]}, jwk.get("kid")
    if base == "RSA-1024":
        # A deliberately weak key: the point is that the registry refuses it.
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
        weak_key = weak.public_key()
        n = weak_key.public_numbers().n
        jwk = {"kty": "RSA", "n": b64url(n.to_bytes(128, "big")), "e": "AQAB", "kid": "old-rsa"}
        return {"keys": [jwk]}, "old-rsa"
    if base == "X25519":
        private, _ = generate_partner_jwks(PARTNER, now=NOW)
        jwk = private["keys"][1]
    else:
        private, _ = generate_partner_jwks(PARTNER, now=NOW, signing=base, with_encryption=False)
        jwk = private["keys"][0]
    if not case.get("private"):
        jwk = public_only(jwk)
    for name, value in case.get("jwk", {}).items():
        if value is None:
            jwk.pop(name, None)
        else:
            jwk[name] = value
    if "jwk_x_suffix" in case:
        jwk["x"] += case["jwk_x_suffix"]
    keys = [jwk]
    if case.get("duplicate") is True:
        keys.append(dict(jwk))
    elif case.get("duplicate") == "new_kid":
        keys.append({**jwk, "kid": str(jwk["kid"]) + "-2"})
    # The message names the key it stopped at: the last one added.
    return {"keys": keys}, keys[-1].get("kid")


@pytest.mark.parametrize("case", JWKS_CASES, ids=lambda c: c["name"])
def test_bad_jwks_is_refused_naming_the_file_and_the_problem(case: Mapping[str, Any]) -> None:
    jwks, kid = _base_jwks(case)
    with pytest.raises(JwksError) as refused:
        parse_jwks(jwks, source=SOURCE)
    message = str(refused.value)
    assert message.startswith(SOURCE)
    assert case["expect"] in message
    if kid is not None and kid.isprintable():
        assert repr(kid) in message
    assert isinstance(refused.value, ValueError)


def test_generated_public_jwks_parses_into_one_signing_and_one_encryption_key() -> None:
    private, public = generate_partner_jwks(PARTNER, now=NOW)
    keys = parse_jwks(public, source=SOURCE)
    signing_kid, encryption_kid = (jwk["kid"] for jwk in private["keys"])
    assert re.fullmatch(r"zorg-noord-sig-20261125-[0-9a-f]{4}", signing_kid)
    assert re.fullmatch(r"zorg-noord-enc-20261125-[0-9a-f]{4}", encryption_kid)
    assert [key.kid for key in keys.signing] == [signing_kid]
    assert keys.signing[0].alg_allowed == frozenset({"EdDSA"})
    assert keys.signing_key(signing_kid) is keys.signing[0]
    assert keys.signing_key(encryption_kid) is None
    assert keys.encryption is not None
    assert (keys.encryption.kid, keys.encryption.kty, keys.encryption.crv) == (
        encryption_kid,
        "OKP",
        "X25519",
    )
    assert keys.encryption.raw["x"] == public["keys"][1]["x"]
    for jwk in public["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & jwk.keys()


def test_rsa_key_without_alg_allows_both_rsa_algorithms_and_with_alg_only_that_one() -> None:
    _, public = generate_partner_jwks(PARTNER, now=NOW, signing="RSA-2048", with_encryption=False)
    jwk = public["keys"][0]
    without_alg = {name: value for name, value in jwk.items() if name != "alg"}
    unrestricted = parse_jwks({"keys": [without_alg]}, source=SOURCE)
    assert unrestricted.signing[0].alg_allowed == frozenset({"PS256", "RS256"})
    restricted = parse_jwks({"keys": [{**jwk, "alg": "RS256"}]}, source=SOURCE)
    assert restricted.signing[0].alg_allowed == frozenset({"RS256"})


def test_key_validity_window_is_read_from_nbf_and_exp() -> None:
    _, public = generate_partner_jwks(PARTNER, now=NOW, with_encryption=False)
    jwk = {**public["keys"][0], "nbf": 1_790_000_000, "exp": 1_800_000_000}
    key = parse_jwks({"keys": [jwk]}, source=SOURCE).signing[0]
    assert key.not_before == datetime.fromtimestamp(1_790_000_000, tz=UTC)
    assert key.expires == datetime.fromtimestamp(1_800_000_000, tz=UTC)


def test_jwks_without_use_infers_it_from_the_key_type() -> None:
    _, public = generate_partner_jwks(PARTNER, now=NOW)
    stripped = [{k: v for k, v in jwk.items() if k != "use"} for jwk in public["keys"]]
    keys = parse_jwks({"keys": stripped}, source=SOURCE)
    assert len(keys.signing) == 1
    assert keys.encryption is not None


# The partner's helpers refuse to make assertions the gateway would refuse.


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lifetime_s": 301}, "lifetime_s"),
        ({"partner_id": "Zorg Noord"}, "partner_id"),
        ({"actor_role": "Casus Regisseur"}, "actor_role"),
        ({"actor_id": ""}, "actor_id"),
        ({"now": NOW.replace(tzinfo=None)}, "timezone-aware"),
    ],
)
def test_partner_helper_refuses_an_assertion_the_gateway_would_refuse(
    change: Mapping[str, Any], message: str
) -> None:
    private, _ = generate_partner_jwks(PARTNER, now=NOW, with_encryption=False)
    arguments: dict[str, Any] = {
        "partner_id": PARTNER,
        "audience": TOKEN_URL,
        "actor_id": "a1",
        "actor_role": "casusregisseur",
        "now": NOW,
        **change,
    }
    with pytest.raises(ValueError, match=message):
        make_client_assertion(private["keys"][0], **arguments)


def test_partner_helper_refuses_a_public_or_encryption_key() -> None:
    private, public = generate_partner_jwks(PARTNER, now=NOW)
    arguments: dict[str, Any] = {
        "partner_id": PARTNER,
        "audience": TOKEN_URL,
        "actor_id": "a1",
        "actor_role": "casusregisseur",
        "now": NOW,
    }
    with pytest.raises(ValueError, match="no private key"):
        make_client_assertion(public["keys"][0], **arguments)
    with pytest.raises(ValueError, match="not a signing key"):
        make_client_assertion(private["keys"][1], **arguments)


def test_keygen_refuses_unknown_key_types_and_bad_partner_ids() -> None:
    with pytest.raises(ValueError, match="signing must be one of"):
        generate_partner_jwks(PARTNER, now=NOW, signing="RSA-1024")
    with pytest.raises(ValueError, match="partner_id"):
        generate_partner_jwks("Zorg Noord", now=NOW)


def test_public_surface_is_pinned() -> None:
    assert sorted(gateway.auth.__all__) == [
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
    # The client package grows a full HTTP client elsewhere; these two must stay in it.
    assert {"generate_partner_jwks", "make_client_assertion"} <= set(gateway.client.__all__)
