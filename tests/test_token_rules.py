"""Token rules of issue 17, each tried as the attack it prevents at `POST /v1/token` over real HTTP.

- A used client assertion stays used for as long as it could be accepted: its `exp` plus the
  60 s clock leeway (docs/threat-model.md, T2). Replays in that window are `invalid_client`.
- The actor role must be one the partner's kind holds (`[actor_roles]` in purposes.toml).
- Errors follow RFC 6749 section 5.2: `invalid_request` for a malformed request (a missing
  grant_type is a missing required parameter), `unsupported_grant_type` for another grant,
  `invalid_client` for anything about the assertion or the client.
- An actor id (`act.sub`) is 1-64 of [A-Za-z0-9._:@-] and holds nothing that looks like a BSN,
  so neither a BSN nor free text reaches the log through it.

Each refusal leaves exactly one `token_refused` entry whose reason is a fixed code. Every test
runs on both back ends (the `running` fixture); the clock is the gateway's injected FixedClock.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp.test_utils import TestServer

from gateway.clock import FixedClock
from gateway.config import ConfigError
from gateway.config.purposes import load_catalogue
from gateway.runtime import build_gateway
from gateway.web import create_app
from tests.conftest import BSN_CHILD, REPO, ROLES, Running, copy_config
from tests.helpers import JWT_BEARER, Answer, Http, log_entries, signing_jwk

LEEWAY_S = 60  # docs/threat-model.md T2: 60 s clock skew


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


def claims(running: Running, partner_id: str, **changes: Any) -> dict[str, Any]:
    """Valid assertion claims at the gateway's clock; `changes` replace claims."""
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
    return out


def at(seconds: float) -> datetime:
    """The moment `seconds` after the epoch, for setting the gateway's clock to a claim's time."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def signed(partner_id: str, body: dict[str, Any]) -> str:
    """Signed with the partner's own demo key: only the claims are the attack."""
    jwk = signing_jwk(partner_id)
    key = jwt.PyJWK(jwk, algorithm="EdDSA")
    return jwt.encode(body, key.key, algorithm="EdDSA", headers={"kid": jwk["kid"]})


def actor(running: Running, partner_id: str, actor_id: str, role: str | None = None) -> str:
    act = {"sub": actor_id, "role": role or ROLES[partner_id]}
    return signed(partner_id, claims(running, partner_id, act=act))


async def refused(
    running: Running, answer: Answer, before: int, reason: str, partner: str | None, error: str
) -> None:
    """400 with `error` and nothing else, no token, and one `token_refused` entry with `reason`."""
    assert answer.status == 400, answer.text
    assert answer.body["error"] == error, answer.text
    assert set(answer.body) <= {"error", "error_description"}
    assert "no-store" in answer.headers["Cache-Control"]
    entries = await log_entries(running, before)
    assert [(e.decision, e.reason) for e in entries] == [("token_refused", reason)]
    logged = entries[0].sender
    assert (None if logged is None else logged.partner) == partner
    # A refused token names at most the registered partner: never the actor or its role.
    assert logged is None or (logged.actor, logged.role) == (None, None)


# -- a jti is remembered until exp + leeway ------------------------------------------------------


@pytest.mark.parametrize("after_exp_s", [1, 30, LEEWAY_S - 1, LEEWAY_S - 0.001])
async def test_a_used_assertion_replayed_after_its_exp_but_inside_the_leeway_gets_no_second_token(
    running: Running, http: Http, after_exp_s: float
) -> None:
    body = claims(running, "zorg-noord")
    assertion = signed("zorg-noord", body)
    first = await http.post_token(assertion)
    assert first.status == 200, first.text

    # Past exp, but still acceptable by the clock leeway: another partner's token request
    # prunes the replay store meanwhile, which must not forget this jti.
    running.clock.moment = at(body["exp"] + after_exp_s)
    assert (await http.post_token(http.assertion("swt-denhelder"))).status == 200
    before = await running.gw.storage.log_size()
    replay = await http.post_token(assertion)

    await refused(running, replay, before, "jti_replayed", "zorg-noord", "invalid_client")


async def test_the_same_assertion_replayed_every_second_of_the_leeway_never_gets_a_token(
    running: Running, http: Http
) -> None:
    body = claims(running, "school-de-es")
    assertion = signed("school-de-es", body)
    assert (await http.post_token(assertion)).status == 200
    running.clock.moment = at(body["exp"])

    before = await running.gw.storage.log_size()
    for _ in range(LEEWAY_S - 1):
        running.clock.moment += timedelta(seconds=1)
        answer = await http.post_token(assertion)
        # Past the failed-attempt threshold the answer is 429 (counted into a burst summary).
        assert answer.status in (400, 429), answer.text
        assert answer.body["error"] == "invalid_client"
    entries = await log_entries(running, before)
    assert entries
    assert {(e.decision, e.reason) for e in entries} == {("token_refused", "jti_replayed")}


async def test_an_assertion_is_expired_from_exp_plus_the_leeway_on(
    running: Running, http: Http
) -> None:
    body = claims(running, "zorg-noord")
    assertion = signed("zorg-noord", body)
    assert (await http.post_token(assertion)).status == 200
    running.clock.moment = at(body["exp"] + LEEWAY_S)
    before = await running.gw.storage.log_size()

    answer = await http.post_token(assertion)

    await refused(running, answer, before, "expired", "zorg-noord", "invalid_client")


# -- actor roles per partner kind ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("partner", "role"),
    [
        ("school-de-es", "gezinsvoogd"),
        ("school-de-es", "procesregisseur"),
        ("zorg-noord", "jeugdbeschermer"),
        ("gi-noordholland", "casusregisseur"),
        ("swt-denhelder", "privacy_officer"),
        ("fg-denhelder", "procesregisseur"),
        ("zorg-noord", "beheerder"),
    ],
)
async def test_a_partner_acting_in_a_role_its_kind_does_not_hold_gets_invalid_client(
    running: Running, http: Http, partner: str, role: str
) -> None:
    before = await running.gw.storage.log_size()

    answer = await http.post_token(http.assertion(partner, role))

    await refused(running, answer, before, "actor_role_not_held", partner, "invalid_client")


async def test_a_school_acting_as_gezinsvoogd_cannot_send_what_a_certified_institution_may(
    running: Running, http: Http
) -> None:
    answer = await http.post_token(http.assertion("school-de-es", "gezinsvoogd"))
    assert answer.status == 400
    assert answer.body["error"] == "invalid_client"
    assert "access_token" not in answer.body
    for partner in running.gw.partners:
        assert await running.gw.storage.inbox_page(partner.id, after=0, limit=10) == []


async def test_every_role_the_catalogue_gives_a_kind_gets_a_token_for_its_partners(
    running: Running, http: Http
) -> None:
    for partner in running.gw.partners:
        roles = running.gw.catalogue.roles_of(partner.kind)
        assert roles, partner.kind
        for role in sorted(roles):
            answer = await http.post_token(http.assertion(partner.id, role))
            assert answer.status == 200, (partner.id, role, answer.text)


@pytest.fixture
async def without_officer_roles(
    tmp_path: Path, clock: FixedClock, storage_url: str | None
) -> AsyncIterator[tuple[Running, Http]]:
    """A gateway whose catalogue gives the privacy_officer kind no line in [actor_roles]."""
    config = copy_config(tmp_path / "config")
    catalogue = (config / "purposes.toml").read_text()
    trimmed = catalogue.replace('privacy_officer = ["privacy_officer"]\n', "")
    assert trimmed != catalogue
    (config / "purposes.toml").write_text(trimmed)
    gw = build_gateway(config, tmp_path / "data", storage_url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    running = Running(gw, server, clock)
    try:
        async with aiohttp.ClientSession() as session:
            yield running, Http(running, session)
    finally:
        await server.close()


async def test_a_kind_the_actor_roles_table_leaves_out_holds_no_role_at_all(
    without_officer_roles: tuple[Running, Http],
) -> None:
    running, http = without_officer_roles
    before = await running.gw.storage.log_size()

    answer = await http.post_token(http.assertion("fg-denhelder", "privacy_officer"))

    await refused(running, answer, before, "actor_role_not_held", "fg-denhelder", "invalid_client")


def _catalogue_with(tmp_path: Path, old: str, new: str) -> Path:
    config = copy_config(tmp_path / "config")
    catalogue = (config / "purposes.toml").read_text()
    changed = catalogue.replace(old, new, 1)
    assert changed != catalogue
    (config / "purposes.toml").write_text(changed)
    return config


def test_a_catalogue_letting_a_purpose_be_sent_in_a_role_none_of_its_sender_kinds_holds_is_refused(
    tmp_path: Path,
) -> None:
    config = _catalogue_with(
        tmp_path,
        'sender_roles = ["procesregisseur", "wijkteammedewerker"]',
        'sender_roles = ["procesregisseur", "wijkteammedewerker", "gezinsvoogd"]',
    )
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    message = str(raised.value)
    assert "purposes.toml" in message
    assert "purpose 'referral'" in message
    assert "gezinsvoogd" in message


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("[actor_roles]\n", '[actor_roles]\nwethouder = ["burgemeester"]\n', "wethouder"),
        ('school = ["intern_begeleider"', 'school = ["Intern Begeleider"', "Intern Begeleider"),
        ("[actor_roles]\n", "[not_actor_roles]\n", "not_actor_roles"),
    ],
    ids=["unknown_kind", "role_not_a_role_name", "table_missing"],
)
def test_a_malformed_actor_roles_table_stops_the_catalogue_naming_file_and_entry(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    config = _catalogue_with(tmp_path, old, new)
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    assert "purposes.toml" in str(raised.value)
    assert words in str(raised.value)


# -- RFC 6749 5.2 error codes ---------------------------------------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _form(assertion: str, **fields: str | None) -> bytes:
    values: dict[str, str | None] = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        **fields,
    }
    return "&".join(f"{k}={v}" for k, v in values.items() if v is not None).encode()


MALFORMED: list[tuple[str, Any, str, str]] = [
    # (name, body maker, error, logged reason)
    ("missing_grant_type", lambda a: _form(a, grant_type=None), "invalid_request", "missing_grant_type"),
    ("empty_grant_type", lambda a: _form(a, grant_type=""), "invalid_request", "missing_grant_type"),
    ("password_grant", lambda a: _form(a, grant_type="password"), "unsupported_grant_type", "wrong_grant_type"),
    ("authorization_code_grant", lambda a: _form(a, grant_type="authorization_code"), "unsupported_grant_type", "wrong_grant_type"),
    ("jwt_bearer_grant", lambda a: _form(a, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer"), "unsupported_grant_type", "wrong_grant_type"),
    ("repeated_grant_type", lambda a: _form(a) + b"&grant_type=client_credentials", "invalid_request", "repeated_parameter"),
    ("repeated_assertion", lambda a: _form(a) + b"&client_assertion=" + a.encode(), "invalid_request", "repeated_parameter"),
    ("repeated_client_id", lambda a: _form(a, client_id="zorg-noord") + b"&client_id=zorg-noord", "invalid_request", "repeated_parameter"),
    ("missing_assertion", lambda a: _form(a, client_assertion=None), "invalid_request", "missing_assertion"),
    ("empty_assertion", lambda a: _form(a, client_assertion=""), "invalid_request", "missing_assertion"),
    ("missing_assertion_type", lambda a: _form(a, client_assertion_type=None), "invalid_request", "wrong_assertion_type"),
    ("saml_assertion_type", lambda a: _form(a, client_assertion_type="urn:ietf:params:oauth:client-assertion-type:saml2-bearer"), "invalid_request", "wrong_assertion_type"),
    ("empty_body", lambda a: b"", "invalid_request", "missing_grant_type"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "body", "error", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
async def test_a_malformed_token_request_is_refused_with_its_rfc_6749_code_and_logged(
    running: Running, http: Http, name: str, body: Any, error: str, reason: str
) -> None:
    before = await running.gw.storage.log_size()

    answer = await http.call(
        "POST", "/v1/token", data=body(http.assertion("zorg-noord")), headers=FORM
    )

    # The request never got as far as the assertion, so no partner is named.
    await refused(running, answer, before, reason, None, error)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "multipart/form-data; boundary=x", "text/plain", None],
    ids=["json", "multipart", "text", "none"],
)
async def test_a_token_request_that_is_not_form_encoded_is_invalid_request(
    running: Running, http: Http, content_type: str | None
) -> None:
    before = await running.gw.storage.log_size()
    headers = {} if content_type is None else {"Content-Type": content_type}

    answer = await http.call(
        "POST", "/v1/token", data=_form(http.assertion("zorg-noord")), headers=headers
    )

    await refused(running, answer, before, "not_a_form", None, "invalid_request")


async def test_a_well_formed_request_with_a_bad_assertion_is_invalid_client_not_invalid_request(
    running: Running, http: Http
) -> None:
    before = await running.gw.storage.log_size()
    forged = signed("swt-denhelder", claims(running, "zorg-noord"))  # wrong key for zorg-noord

    answer = await http.call("POST", "/v1/token", data=_form(forged), headers=FORM)

    await refused(running, answer, before, "unknown_kid", "zorg-noord", "invalid_client")


async def test_a_client_id_naming_another_partner_than_the_assertion_is_invalid_client(
    running: Running, http: Http
) -> None:
    before = await running.gw.storage.log_size()
    body = _form(http.assertion("zorg-noord"), client_id="swt-denhelder")

    answer = await http.call("POST", "/v1/token", data=body, headers=FORM)

    await refused(running, answer, before, "client_id_mismatch", "swt-denhelder", "invalid_client")


async def test_unknown_extra_parameters_are_ignored_as_rfc_6749_asks(
    running: Running, http: Http
) -> None:
    body = _form(http.assertion("zorg-noord"), scope="everything")

    answer = await http.call("POST", "/v1/token", data=body, headers=FORM)

    assert answer.status == 200, answer.text


# -- actor ids -----------------------------------------------------------------------------------

BAD_ACTOR_IDS = {
    "a_bsn": (BSN_CHILD, "actor_invalid:sub_bsn_like"),
    "a_bsn_in_an_id": (f"mw-{BSN_CHILD}", "actor_invalid:sub_bsn_like"),
    "a_bsn_with_dashes": (f"{BSN_CHILD[:3]}-{BSN_CHILD[3:5]}-{BSN_CHILD[5:]}", "actor_invalid:sub_bsn_like"),
    "a_bsn_with_dots": (f"mw.{BSN_CHILD[:4]}.{BSN_CHILD[4:6]}.{BSN_CHILD[6:]}", "actor_invalid:sub_bsn_like"),
    "eight_digits": ("mw12345678", "actor_invalid:sub_bsn_like"),
    "ten_digits": ("1234567890", "actor_invalid:sub_bsn_like"),
    "a_name_with_spaces": ("Jan de Vries", "actor_invalid:sub"),
    "free_text": ("ouders gescheiden; vader agressief", "actor_invalid:sub"),
    "non_ascii": ("jürgen", "actor_invalid:sub"),
    "a_newline": ("mw-1\nforged entry", "actor_invalid:sub"),
    "too_long": ("a" * 65, "actor_invalid:sub"),
    "empty": ("", "actor_invalid:sub"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(BAD_ACTOR_IDS))
async def test_an_actor_id_carrying_a_bsn_or_free_text_gets_invalid_client_and_stays_out_of_the_log(
    running: Running, http: Http, kind: str
) -> None:
    actor_id, reason = BAD_ACTOR_IDS[kind]
    before = await running.gw.storage.log_size()

    answer = await http.post_token(actor(running, "zorg-noord", actor_id))

    await refused(running, answer, before, reason, "zorg-noord", "invalid_client")


@pytest.mark.parametrize(
    "actor_id",
    ["zorg-noord-actor-1", "mw:4711", "team.noord@17", "A_b-9", "x" * 64, "2026-12-07.mw"],
)
async def test_a_pseudonymous_actor_id_of_the_documented_pattern_gets_a_token(
    running: Running, http: Http, actor_id: str
) -> None:
    answer = await http.post_token(actor(running, "zorg-noord", actor_id))
    assert answer.status == 200, answer.text


async def test_an_empty_client_id_counts_as_omitted_as_rfc_6749_asks(
    running: Running, http: Http
) -> None:
    body = _form(http.assertion("zorg-noord"), client_id="")

    answer = await http.call("POST", "/v1/token", data=body, headers=FORM)

    assert answer.status == 200, answer.text
