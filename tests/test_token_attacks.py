"""Token attacks beyond RFC 8725's list, each tried at `POST /v1/token` over real HTTP (issue 11).

Every attack on the assertion must answer the contract's terse `400 invalid_client` (CONTRACT.md,
"Getting a token"; a malformed token request `400 invalid_request`), issue no token, and leave one `token_refused` entry in the disclosure log whose reason
names the attack class. Each test runs on its own gateway, so the attempts stay under the
per-client threshold above which failures are only counted into a burst summary; the last test
goes past it on purpose and reads that summary's count and reasons.

The gateway here runs on a copy of the demo config in which `zorg-noord` also holds a P-256 key,
so that ES256 forgeries meet a real EC key. Forged JWS are built with `cryptography` directly,
not with the gateway's own signing code.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import gateway.service.tokens as token_endpoint
from gateway.client.keygen import generate_partner_jwks
from gateway.clock import FixedClock
from gateway.reload import reload_partners_and_keys
from gateway.runtime import build_gateway
from gateway.web import create_app
from tests.conftest import ROLES, Running, copy_config
from tests.helpers import JWT_BEARER, Answer, Http, log_entries, signing_jwk

EC_PARTNER = "zorg-noord"
# The order n of P-256's group: r = s = n is r = s = 0 modulo n, the same forgery in disguise.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SKEW_S = 60


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def _octets(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Scene:
    """A gateway with an EC key registered for `zorg-noord`, and raw HTTP to it."""

    running: Running
    http: Http
    ec_private: dict[str, Any]

    def now(self) -> int:
        return int(self.running.clock.now().timestamp())

    def claims(self, partner_id: str = "swt-denhelder", **changes: Any) -> dict[str, Any]:
        """Valid assertion claims at the gateway's clock; a change to None drops the claim."""
        now = self.now()
        out: dict[str, Any] = {
            "iss": partner_id,
            "sub": partner_id,
            "aud": self.running.gw.settings.id,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(24),
            "act": {"sub": f"{partner_id}-actor-1", "role": ROLES[partner_id]},
        }
        out.update(changes)
        return {name: value for name, value in out.items() if value is not None}

    async def post(self, assertion: str, **form: str) -> Answer:
        fields = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
            **form,
        }
        return await self.http.call("POST", "/v1/token", form=fields)


def eddsa_signed(
    private_jwk: dict[str, Any], claims: dict[str, Any], header: dict[str, Any] | None = None
) -> str:
    """A compact JWS signed with an Ed25519 JWK; `header` replaces the default {alg, kid}."""
    key = Ed25519PrivateKey.from_private_bytes(_octets(private_jwk["d"]))
    head = header if header is not None else {"alg": "EdDSA", "kid": private_jwk["kid"]}
    signing_input = f"{b64url_json(head)}.{b64url_json(claims)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


def es256_signed(private_jwk: dict[str, Any], claims: dict[str, Any]) -> str:
    """A compact ES256 JWS with the raw r || s signature RFC 7518 asks for."""
    key = ec.derive_private_key(int.from_bytes(_octets(private_jwk["d"]), "big"), ec.SECP256R1())
    header = {"alg": "ES256", "kid": private_jwk["kid"]}
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def with_signature(assertion: str, signature: bytes) -> str:
    header, claims, _ = assertion.split(".")
    return f"{header}.{claims}.{b64url(signature)}"


@pytest.fixture
async def scene(tmp_path: Path, clock: FixedClock, storage_url: str | None) -> AsyncIterator[Scene]:
    config = copy_config(tmp_path / "config")
    private, public = generate_partner_jwks(
        EC_PARTNER, now=clock.now(), signing="P-256", with_encryption=False
    )
    jwks_path = config / "keys" / f"{EC_PARTNER}.jwks.json"
    published = json.loads(jwks_path.read_text())
    published["keys"].append(public["keys"][0])
    jwks_path.write_text(json.dumps(published))
    gw = build_gateway(config, tmp_path / "data", storage_url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    running = Running(gw, server, clock)
    try:
        async with aiohttp.ClientSession() as session:
            yield Scene(running, Http(running, session), private["keys"][0])
    finally:
        await server.close()


async def assert_refused_and_logged(
    scene: Scene,
    answer: Answer,
    before: int,
    reason: str,
    partner: str | None,
    error: str = "invalid_client",
) -> None:
    """400 `error`, no token, and exactly one `token_refused` entry naming the reason."""
    assert answer.status == 400, answer.text
    assert "no-store" in answer.headers.get("Cache-Control", "")
    body = answer.body
    assert body["error"] == error
    assert "access_token" not in body
    assert set(body) <= {"error", "error_description"}
    entries = await log_entries(scene.running, before)
    assert [(e.decision, e.reason) for e in entries] == [("token_refused", reason)]
    if partner is None:
        assert entries[0].sender is None
    else:
        assert entries[0].sender is not None
        assert entries[0].sender.partner == partner


async def try_attack(scene: Scene, assertion: str, reason: str, partner: str | None) -> None:
    before = await scene.running.gw.storage.log_size()
    answer = await scene.post(assertion)
    await assert_refused_and_logged(scene, answer, before, reason, partner)


# -- controls: the same assertions, made properly, get tokens ---------------------------------


async def test_a_proper_es256_assertion_with_the_registered_ec_key_gets_a_token(
    scene: Scene,
) -> None:
    answer = await scene.post(es256_signed(scene.ec_private, scene.claims(EC_PARTNER)))
    assert answer.status == 200, answer.text
    assert answer.body["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("iat_just_inside_the_skew", {"iat": SKEW_S - 1, "exp": SKEW_S + 60}),
        ("nbf_just_inside_the_skew", {"nbf": SKEW_S - 1}),
        ("exp_passed_just_inside_the_skew", {"iat": -120, "exp": -(SKEW_S - 1)}),
    ],
)
async def test_times_within_the_60_second_skew_are_accepted(
    scene: Scene, name: str, changes: dict[str, int]
) -> None:
    now = scene.now()
    claims = scene.claims(**{claim: now + offset for claim, offset in changes.items()})
    answer = await scene.post(eddsa_signed(signing_jwk("swt-denhelder"), claims))
    assert answer.status == 200, (name, answer.text)


# -- CVE-2018-0114: a key carried in the header ----------------------------------------------


@pytest.mark.parametrize("with_kid", [True, False], ids=["with_victims_kid", "without_kid"])
async def test_an_assertion_carrying_its_own_jwk_in_the_header_is_refused(
    scene: Scene, with_kid: bool
) -> None:
    attacker = Ed25519PrivateKey.generate()
    raw = attacker.public_key().public_bytes_raw()
    header: dict[str, Any] = {
        "alg": "EdDSA",
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)},
    }
    if with_kid:
        header["kid"] = signing_jwk("swt-denhelder")["kid"]
    claims = scene.claims()
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    forged = f"{signing_input}.{b64url(attacker.sign(signing_input.encode()))}"
    await try_attack(scene, forged, "embedded_jwk", "swt-denhelder")


# -- CVE-2022-21449: "psychic signatures" -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "r_and_s"),
    [("r_s_zero", 0), ("r_s_group_order", P256_ORDER)],
)
async def test_an_es256_psychic_signature_is_refused(scene: Scene, name: str, r_and_s: int) -> None:
    genuine = es256_signed(scene.ec_private, scene.claims(EC_PARTNER))
    signature = r_and_s.to_bytes(32, "big") * 2
    assert len(signature) == 64
    await try_attack(scene, with_signature(genuine, signature), "bad_signature", EC_PARTNER)


# -- an empty signature ------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
async def test_an_assertion_with_an_empty_signature_is_refused(scene: Scene, alg: str) -> None:
    if alg == "ES256":
        genuine, partner = es256_signed(scene.ec_private, scene.claims(EC_PARTNER)), EC_PARTNER
    else:
        genuine = eddsa_signed(signing_jwk("swt-denhelder"), scene.claims())
        partner = "swt-denhelder"
    empty = genuine.rsplit(".", 1)[0] + "."
    await try_attack(scene, empty, "bad_signature", partner)


# -- iss and sub: missing, or not the client ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "changes", "reason", "partner"),
    [
        ("iss_missing", {"iss": None}, "missing_claim:iss", None),
        ("sub_missing", {"sub": None}, "missing_claim:sub", "swt-denhelder"),
        ("sub_is_another_partner", {"sub": "zorg-noord"}, "iss_sub_mismatch", "swt-denhelder"),
        ("iss_is_another_partner", {"iss": "zorg-noord"}, "unknown_kid", "zorg-noord"),
    ],
)
async def test_an_assertion_whose_iss_or_sub_is_missing_or_not_the_signer_is_refused(
    scene: Scene, name: str, changes: dict[str, Any], reason: str, partner: str | None
) -> None:
    # Signed with swt-denhelder's own key: only the claims are wrong.
    forged = eddsa_signed(signing_jwk("swt-denhelder"), scene.claims(**changes))
    await try_attack(scene, forged, reason, partner)


async def test_an_assertion_for_another_partner_than_the_client_id_is_refused(
    scene: Scene,
) -> None:
    # RFC 7521 4.2: a client_id, when sent, must be the assertion's subject.
    genuine = eddsa_signed(signing_jwk("zorg-noord"), scene.claims("zorg-noord"))
    before = await scene.running.gw.storage.log_size()
    answer = await scene.post(genuine, client_id="swt-denhelder")
    await assert_refused_and_logged(scene, answer, before, "client_id_mismatch", "swt-denhelder")


# -- times: iat or nbf too far ahead, exp too long ago -----------------------------------------


@pytest.mark.parametrize(
    ("name", "changes", "reason"),
    [
        ("iat_61_seconds_ahead", {"iat": SKEW_S + 1, "exp": SKEW_S + 61}, "iat_in_future"),
        ("iat_an_hour_ahead", {"iat": 3600, "exp": 3660}, "iat_in_future"),
        ("nbf_61_seconds_ahead", {"nbf": SKEW_S + 1}, "nbf_in_future"),
        ("nbf_a_day_ahead", {"nbf": 86_400}, "nbf_in_future"),
        ("exp_61_seconds_ago", {"iat": -120, "exp": -(SKEW_S + 1)}, "expired"),
        ("exp_a_day_ago", {"iat": -86_460, "exp": -86_400}, "expired"),
    ],
)
async def test_an_assertion_outside_the_60_second_skew_is_refused(
    scene: Scene, name: str, changes: dict[str, int], reason: str
) -> None:
    now = scene.now()
    claims = scene.claims(**{claim: now + offset for claim, offset in changes.items()})
    forged = eddsa_signed(signing_jwk("swt-denhelder"), claims)
    await try_attack(scene, forged, reason, "swt-denhelder")


# -- client_assertion_type other than jwt-bearer ----------------------------------------------


@pytest.mark.parametrize(
    "assertion_type",
    [
        "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        "urn:ietf:params:oauth:client-assertion-type:JWT-BEARER",
        JWT_BEARER + " ",
        "",
        None,
    ],
    ids=["saml2_bearer", "upper_case", "trailing_space", "empty", "absent"],
)
async def test_a_client_assertion_type_other_than_jwt_bearer_is_refused(
    scene: Scene, assertion_type: str | None
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_assertion": eddsa_signed(signing_jwk("swt-denhelder"), scene.claims()),
    }
    if assertion_type is not None:
        form["client_assertion_type"] = assertion_type
    before = await scene.running.gw.storage.log_size()
    answer = await scene.http.call("POST", "/v1/token", form=form)
    # A malformed token request (RFC 6749 5.2); the assertion was never looked at, so no partner
    # is named.
    await assert_refused_and_logged(
        scene, answer, before, "wrong_assertion_type", None, "invalid_request"
    )


# -- a key the partner has removed -------------------------------------------------------------


async def test_an_assertion_signed_with_a_removed_key_is_refused_after_the_reload(
    scene: Scene,
) -> None:
    old = signing_jwk("zorg-noord")
    accepted = await scene.post(eddsa_signed(old, scene.claims("zorg-noord")))
    assert accepted.status == 200, accepted.text

    gw = scene.running.gw
    _, fresh = generate_partner_jwks("zorg-noord", now=gw.now(), with_encryption=False)
    jwks_path = gw.config_dir / "keys" / "zorg-noord.jwks.json"
    published = json.loads(jwks_path.read_text())
    published["keys"] = [k for k in published["keys"] if k["kid"] != old["kid"]] + fresh["keys"]
    jwks_path.write_text(json.dumps(published))
    assert await reload_partners_and_keys(gw)
    [reloaded] = [e for e in await log_entries(scene.running) if e.decision == "partners_reloaded"]
    assert reloaded.details["keys_removed"] == [f"zorg-noord:{old['kid']}"]

    await try_attack(
        scene, eddsa_signed(old, scene.claims("zorg-noord")), "unknown_kid", "zorg-noord"
    )


# -- a 100 kB assertion ------------------------------------------------------------------------


async def test_a_100_kb_assertion_is_refused_before_its_signature_is_checked(
    scene: Scene,
) -> None:
    # Properly signed: only its size is wrong, so the size check is what refuses it.
    claims = scene.claims(padding="A" * 100_000)
    oversized = eddsa_signed(signing_jwk("swt-denhelder"), claims)
    assert len(oversized) > 100_000
    # The log names the partner the assertion claims to be from, as for every refusal.
    await try_attack(scene, oversized, "too_long", "swt-denhelder")


# -- all of them, the same answer ---------------------------------------------------------------

Forgery = Callable[[Scene], str]

FORGERIES: dict[str, Forgery] = {
    "embedded_jwk": lambda s: eddsa_signed(
        signing_jwk("swt-denhelder"),
        s.claims(),
        {"alg": "EdDSA", "kid": "x", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA"}},
    ),
    "psychic": lambda s: with_signature(
        es256_signed(s.ec_private, s.claims(EC_PARTNER)), bytes(64)
    ),
    "empty_signature": lambda s: (
        eddsa_signed(signing_jwk("swt-denhelder"), s.claims()).rsplit(".", 1)[0] + "."
    ),
    "iss_missing": lambda s: eddsa_signed(signing_jwk("swt-denhelder"), s.claims(iss=None)),
    "nbf_ahead": lambda s: eddsa_signed(signing_jwk("swt-denhelder"), s.claims(nbf=s.now() + 3600)),
    "too_long": lambda s: eddsa_signed(signing_jwk("swt-denhelder"), s.claims(pad="A" * 100_000)),
}


async def test_every_attack_gets_the_same_answer_so_none_teaches_the_attacker(
    scene: Scene,
) -> None:
    answers = {name: await scene.post(forge(scene)) for name, forge in FORGERIES.items()}
    assert {a.status for a in answers.values()} == {400}
    assert len({a.text for a in answers.values()}) == 1, {n: a.text for n, a in answers.items()}


# -- many attacks: slowed down, and summed up in one log entry --------------------------------


async def test_attacks_past_the_threshold_get_429_and_one_burst_entry_with_count_and_reasons(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = scene.running.gw
    threshold = gw.settings.failed_assertions_per_minute

    def psychic() -> str:
        genuine = es256_signed(scene.ec_private, scene.claims(EC_PARTNER))
        return with_signature(genuine, bytes(64))

    def expired() -> str:
        now = scene.now()
        return es256_signed(
            scene.ec_private, scene.claims(EC_PARTNER, iat=now - 400, exp=now - 100)
        )

    before = await gw.storage.log_size()
    for _ in range(threshold):
        assert (await scene.post(psychic())).status == 400
    logged = await log_entries(scene.running, before)
    assert [(e.decision, e.reason) for e in logged] == [
        ("token_refused", "bad_signature")
    ] * threshold

    # Past the threshold: still invalid_client, now 429 with Retry-After, counted, not logged yet.
    over = [await scene.post(psychic()) for _ in range(3)] + [
        await scene.post(expired()) for _ in range(2)
    ]
    for answer in over:
        assert answer.status == 429, answer.text
        assert answer.body["error"] == "invalid_client"
        assert "access_token" not in answer.body
        assert int(answer.headers["Retry-After"]) >= 1
    assert await gw.storage.log_size() == before + threshold
    document = (await scene.http.call("GET", "/v1/openapi.json")).body
    assert "429" in document["paths"]["/v1/token"]["post"]["responses"]

    # Once the minute has passed (on the only clock the burst window reads), the next token
    # request writes the burst's summary: who, how many, and by which attack.
    real = token_endpoint.time.monotonic
    monkeypatch.setattr(token_endpoint, "time", SimpleNamespace(monotonic=lambda: real() + 61))
    start = await gw.storage.log_size()
    answer = await scene.post(eddsa_signed(signing_jwk("swt-denhelder"), scene.claims()))
    assert answer.status == 200, answer.text
    [burst] = await log_entries(scene.running, start)
    assert (burst.decision, burst.reason) == ("token_refused", "burst")
    assert burst.sender is not None
    assert burst.sender.partner == EC_PARTNER
    assert burst.details == {"attempts": 5, "reasons": {"bad_signature": 3, "expired": 2}}
