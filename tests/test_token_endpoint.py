"""`POST /v1/token` over real HTTP: RFC 7523 client assertions in, RFC 8725 attacks refused.

Every refused assertion answers the same terse `invalid_client` (a malformed request
`invalid_request` or `unsupported_grant_type`, RFC 6749 5.2); what was wrong goes only into the
disclosure log as a `token_refused` entry. Bearer tokens are then checked on every call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import jwt
import pytest

from tests.conftest import BSN_CHILD, ROLES, Running, example
from tests.helpers import (
    JWT_BEARER,
    Answer,
    Http,
    assert_contract_error,
    log_entries,
    seed_referral,
    signing_jwk,
)

TERSE_REASON_WORDS = (
    "kid",
    "alg",
    "audience",
    "aud",
    "expired",
    "signature",
    "jti",
    "replay",
    "lifetime",
    "act",
    "iat",
    "future",
    "key",
)


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(running: Running, partner_id: str = "swt-denhelder", **changes: Any) -> dict[str, Any]:
    """Valid assertion claims at the gateway's clock; a change to None drops the claim."""
    now = int(running.clock.now().timestamp())
    out: dict[str, Any] = {
        "iss": partner_id,
        "sub": partner_id,
        "aud": running.gw.settings.id,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(24),
        "act": {"sub": f"{partner_id}-actor-1", "role": ROLES[partner_id]},
    }
    out.update(changes)
    return {name: value for name, value in out.items() if value is not None}


def signed(key_owner: str, body: dict[str, Any], *, kid: str | None = None) -> str:
    """An EdDSA-signed compact JWS with `key_owner`'s demo key and the given (or its own) kid."""
    jwk = signing_jwk(key_owner)
    key = jwt.PyJWK(jwk, algorithm="EdDSA")
    return jwt.encode(body, key.key, algorithm="EdDSA", headers={"kid": kid or jwk["kid"]})


def unsigned_none(running: Running) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": signing_jwk("swt-denhelder")["kid"]}
    return f"{b64url_json(header)}.{b64url_json(claims(running))}."


def hs256_with_public_key(running: Running) -> str:
    """The classic key-confusion forgery: HMAC keyed with the partner's public key."""
    public = signing_jwk("swt-denhelder")
    header = {"alg": "HS256", "typ": "JWT", "kid": public["kid"]}
    signing_input = f"{b64url_json(header)}.{b64url_json(claims(running))}"
    secret = base64.urlsafe_b64decode(public["x"] + "=" * (-len(public["x"]) % 4))
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def _now(running: Running) -> int:
    return int(running.clock.now().timestamp())


Attack = Callable[[Running], str]

# (name, forged assertion, reason the log must name, partner the log must name)
ATTACKS: list[tuple[str, Attack, str, str | None]] = [
    ("alg_none", unsigned_none, "alg_not_allowed", "swt-denhelder"),
    ("hs256_keyed_with_public_key", hs256_with_public_key, "alg_not_allowed", "swt-denhelder"),
    (
        "unknown_kid",
        lambda r: signed("swt-denhelder", claims(r), kid="swt-denhelder-sig-19990101-dead"),
        "unknown_kid",
        "swt-denhelder",
    ),
    (
        "wrong_audience",
        lambda r: signed("swt-denhelder", claims(r, aud="https://other-gateway.example/v1/token")),
        "wrong_audience",
        "swt-denhelder",
    ),
    (
        "expired",
        lambda r: signed("swt-denhelder", claims(r, iat=_now(r) - 400, exp=_now(r) - 100)),
        "expired",
        "swt-denhelder",
    ),
    (
        "lifetime_over_300_seconds",
        lambda r: signed("swt-denhelder", claims(r, exp=_now(r) + 301)),
        "lifetime_too_long",
        "swt-denhelder",
    ),
    (
        "other_partners_key_under_this_partners_kid",
        lambda r: signed("zorg-noord", claims(r), kid=signing_jwk("swt-denhelder")["kid"]),
        "bad_signature",
        "swt-denhelder",
    ),
    (
        "other_partners_key_and_kid",
        lambda r: signed("zorg-noord", claims(r)),
        "unknown_kid",
        "swt-denhelder",
    ),
    (
        "missing_act",
        lambda r: signed("swt-denhelder", claims(r, act=None)),
        "actor_missing",
        "swt-denhelder",
    ),
    (
        "iat_in_the_future",
        lambda r: signed("swt-denhelder", claims(r, iat=_now(r) + 120, exp=_now(r) + 180)),
        "iat_in_future",
        "swt-denhelder",
    ),
    (
        "unregistered_issuer",
        lambda r: signed("swt-denhelder", claims(r, iss="nobody-here", sub="nobody-here")),
        "unknown_partner",
        None,
    ),
]


def assert_terse_invalid_client(answer: Answer, error: str = "invalid_client") -> None:
    assert answer.status == 400, answer.text
    assert "no-store" in answer.headers.get("Cache-Control", "")
    body = answer.body
    assert body["error"] == error
    assert set(body) <= {"error", "error_description"}
    description = body.get("error_description", "").lower()
    for word in TERSE_REASON_WORDS:
        assert word not in description.split(), f"{word!r} in {description!r}"


async def test_valid_assertion_gets_a_short_lived_bearer_token_not_to_be_cached(
    running: Running, http: Http
) -> None:
    answer = await http.post_token(http.assertion("zorg-noord"))
    assert answer.status == 200, answer.text
    body = answer.body
    assert isinstance(body["access_token"], str)
    assert body["access_token"]
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int)
    assert 0 < body["expires_in"] <= 600
    assert "no-store" in answer.headers["Cache-Control"]
    inbox = await http.call("GET", "/v1/inbox", token=body["access_token"])
    assert inbox.status == 200


async def test_each_forged_assertion_is_refused_tersely_and_logged_with_its_reason(
    running: Running, http: Http, subtests: pytest.Subtests
) -> None:
    bodies: set[str] = set()
    for name, attack, reason, partner in ATTACKS:
        with subtests.test(msg=name):
            before = await running.gw.storage.log_size()
            answer = await http.post_token(attack(running))
            bodies.add(answer.text)
            assert_terse_invalid_client(answer)
            entries = await log_entries(running, before)
            assert [e.decision for e in entries] == ["token_refused"]
            assert entries[0].reason == reason
            if partner is None:
                assert entries[0].sender is None
            else:
                assert entries[0].sender is not None
                assert entries[0].sender.partner == partner
    # One answer for every attack: the response must not tell an attacker what was wrong.
    assert len(bodies) == 1, bodies


async def test_replayed_assertion_is_refused_the_second_time_and_logged_as_replay(
    running: Running, http: Http
) -> None:
    assertion = http.assertion("swt-denhelder")
    first = await http.post_token(assertion)
    assert first.status == 200, first.text
    before = await running.gw.storage.log_size()
    second = await http.post_token(assertion)
    assert_terse_invalid_client(second)
    entries = await log_entries(running, before)
    assert [(e.decision, e.reason) for e in entries] == [("token_refused", "jti_replayed")]
    assert entries[0].sender is not None
    assert entries[0].sender.partner == "swt-denhelder"


async def test_wrong_grant_type_is_refused_as_unsupported_grant_type_and_logged(
    running: Running, http: Http
) -> None:
    # CONTRACT.md (RFC 6749 5.2): a grant other than client_credentials is unsupported_grant_type,
    # and the attempt is logged.
    before = await running.gw.storage.log_size()
    answer = await http.post_token(http.assertion("swt-denhelder"), grant_type="password")
    assert_terse_invalid_client(answer, "unsupported_grant_type")
    entries = await log_entries(running, before)
    assert [(e.decision, e.reason) for e in entries] == [("token_refused", "wrong_grant_type")]


async def test_token_request_that_is_not_form_encoded_is_refused_and_logged(
    running: Running, http: Http
) -> None:
    before = await running.gw.storage.log_size()
    answer = await http.call(
        "POST",
        "/v1/token",
        json_body={
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": http.assertion("swt-denhelder"),
        },
    )
    assert_terse_invalid_client(answer, "invalid_request")
    entries = await log_entries(running, before)
    assert [(e.decision, e.reason) for e in entries] == [("token_refused", "not_a_form")]


async def test_wrong_client_assertion_type_is_refused_and_logged(
    running: Running, http: Http
) -> None:
    before = await running.gw.storage.log_size()
    answer = await http.post_token(
        http.assertion("swt-denhelder"),
        assertion_type="urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
    )
    assert_terse_invalid_client(answer, "invalid_request")
    entries = await log_entries(running, before)
    assert [(e.decision, e.reason) for e in entries] == [("token_refused", "wrong_assertion_type")]


def exchange_body() -> dict[str, Any]:
    return {
        "purpose": "evaluation-feedback",
        "to": "swt-denhelder",
        "subject": {"bsn": BSN_CHILD},
        "payload": example("evaluation-feedback"),
    }


def assert_bearer_challenge(answer: Answer) -> None:
    assert_contract_error(answer, 401, "invalid_token")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


async def test_exchange_without_a_bearer_token_gets_401_with_a_bearer_challenge(
    http: Http,
) -> None:
    assert_bearer_challenge(await http.call("POST", "/v1/exchanges", json_body=exchange_body()))


GARBAGE_AUTHORIZATIONS = {
    "garbage": "Bearer not-a-token",
    "forged_format": "Bearer gwat1.e30.AAAA",
    "basic_scheme": "Basic c3d0LWRlbmhlbGRlcjpzZWNyZXQ=",
    "empty_token": "Bearer ",
}


async def test_exchange_with_a_garbage_bearer_token_gets_401(
    running: Running, http: Http, subtests: pytest.Subtests
) -> None:
    before = await running.gw.storage.log_size()
    for name, authorization in GARBAGE_AUTHORIZATIONS.items():
        with subtests.test(msg=name):
            answer = await http.call(
                "POST",
                "/v1/exchanges",
                json_body=exchange_body(),
                headers={"Authorization": authorization},
            )
            assert_bearer_challenge(answer)
    assert await running.gw.storage.log_size() == before


async def test_token_with_a_tampered_mac_gets_401(http: Http) -> None:
    token = await http.token("zorg-noord")
    last = token[-1]
    tampered = token[:-1] + ("A" if last != "A" else "B")
    answer = await http.call("POST", "/v1/exchanges", token=tampered, json_body=exchange_body())
    assert_bearer_challenge(answer)


async def test_token_stops_working_once_the_clock_passes_its_expiry(
    running: Running, http: Http
) -> None:
    # The provider's relation to the child (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    token = await http.token("zorg-noord")
    accepted = await http.call("POST", "/v1/exchanges", token=token, json_body=exchange_body())
    assert accepted.status == 201, accepted.text
    running.clock.moment += timedelta(seconds=601)
    before = await running.gw.storage.log_size()
    answer = await http.call("POST", "/v1/exchanges", token=token, json_body=exchange_body())
    assert_bearer_challenge(answer)
    assert await running.gw.storage.log_size() == before


async def test_privacy_officer_token_may_not_send_exchanges(running: Running, http: Http) -> None:
    token = await http.token("fg-denhelder")
    before = await running.gw.storage.log_size()
    answer = await http.call("POST", "/v1/exchanges", token=token, json_body=exchange_body())
    assert_contract_error(answer, 403, "forbidden")
    assert await running.gw.storage.log_size() == before
