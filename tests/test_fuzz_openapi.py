"""schemathesis against `/v1/openapi.json`: every operation, real tokens, no 5xx, no broken schema.

A real gateway (SQLite, background tasks on) serves on loopback from a thread of its own, so
that schemathesis's blocking HTTP client can drive it. The schema is loaded from the gateway's
own `/v1/openapi.json`. An auth provider signs client assertions with the demo partners' keys
and gets real access tokens at `/v1/token`, for the partner kinds each operation is for.

Each generated request (schema-valid and schema-violating ones both) must get an answer that
is not a server error, carries a documented status and content type, and fits the documented
response schema. `FUZZ_EXAMPLES` bounds the examples per operation: small by default so this
stays in `make test`, large in `make fuzz`.

schemathesis's own pytest integration (`schemathesis.pytest.from_fixture`) reads
`Node._nodeid`, which pytest 9 no longer has, so each operation's strategy is driven with
Hypothesis here, one subtest per operation and generation mode.

What the fuzzing found is pinned below as plain tests: numeric parameters that `str.isdigit()`
accepts but `int()` does not ("¹", or 5000 digits) answered 500; `/v1/token`'s burst answer 429
and every authenticated call's `rate_limited` 429 were missing from the document.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
import schemathesis
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.auths import AuthStorage
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.client.assertion import make_client_assertion
from gateway.clock import FixedClock
from gateway.runtime import build_gateway
from gateway.web import create_app
from tests.conftest import BSN_CHILD, ROLES, Running, copy_config, example
from tests.helpers import JWT_BEARER, Http, signing_jwk
from tests.test_openapi import Contract

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

TEAM, PROVIDER, GI, SCHOOL, OFFICER = (
    "swt-denhelder",
    "zorg-noord",
    "gi-noordholland",
    "school-de-es",
    "fg-denhelder",
)
# Which partners an operation is for, by path; the first match wins. Tokens take turns among them.
PARTNERS_FOR: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"^/v1/audit/"), (OFFICER,)),
    (re.compile(r"^/v1/cases/[^/]+/(household|referrer-status)$"), (TEAM,)),
    (re.compile(r"^/v1/consents"), (TEAM, PROVIDER)),
    (re.compile(r""), (TEAM, PROVIDER, GI, SCHOOL)),
]
# Raised well above what one fuzzing client sends, so no answer is a 429 by design.
RATE_LIMITS = """
[rate_limits]
failed_assertions_per_minute = 1000000
social_team = { per_second = 100000, burst = 100000 }
care_provider = { per_second = 100000, burst = 100000 }
certified_institution = { per_second = 100000, burst = 100000 }
school = { per_second = 100000, burst = 100000 }
privacy_officer = { per_second = 100000, burst = 100000 }
actor = { per_second = 100000, burst = 100000 }
"""
TOKEN_REUSE_S = 200  # access tokens live token_lifetime_s = 300 s in the shipped config


class PartnerTokens:
    """Real access tokens from `/v1/token`, one per partner, fetched again before they expire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str], tuple[str, float]] = {}

    def token(self, base_url: str, partner_id: str) -> str:
        with self._lock:
            held = self._held.get((base_url, partner_id))
            if held is not None and time.monotonic() - held[1] < TOKEN_REUSE_S:
                return held[0]
            assertion = make_client_assertion(
                signing_jwk(partner_id),
                partner_id=partner_id,
                audience=f"{base_url}/v1/token",
                actor_id=f"{partner_id}-fuzz",
                actor_role=ROLES[partner_id],
                now=datetime.now(UTC),
            )
            answer = requests.post(
                f"{base_url}/v1/token",
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": JWT_BEARER,
                    "client_assertion": assertion,
                },
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            token = str(answer.json()["access_token"])
            self._held[(base_url, partner_id)] = (token, time.monotonic())
            return token


TOKENS = PartnerTokens()


def partners_for(path: str) -> tuple[str, ...]:
    return next(partners for pattern, partners in PARTNERS_FOR if pattern.search(path))


class _Served:
    """An aiohttp app on a socket of its own, run by an event loop in a daemon thread."""

    def __init__(self, app: web.Application, sock: socket.socket) -> None:
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._call(self._start(sock))

    async def _start(self, sock: socket.socket) -> None:
        await self.runner.setup()
        await web.SockSite(self.runner, sock).start()

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def close(self) -> None:
        self._call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


def seed(base_url: str) -> None:
    """Some state for the read operations to show: a case, a consent, a delivered message."""
    team = {"Authorization": f"Bearer {TOKENS.token(base_url, TEAM)}"}
    provider = {"Authorization": f"Bearer {TOKENS.token(base_url, PROVIDER)}"}
    opened = requests.post(base_url + "/v1/cases", headers=team, json={}, timeout=30)
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]
    calls: list[tuple[str, str, dict[str, str], Any]] = [
        ("PUT", f"/v1/cases/{case_id}/network/zorg-noord", team, {}),
        # The child in the case's household: the provider's relation to it (issue 19).
        (
            "PUT",
            f"/v1/cases/{case_id}/household",
            team,
            {"children": [{"bsn": BSN_CHILD, "child_ref": "kind-1"}]},
        ),
        (
            "POST",
            "/v1/consents",
            team,
            {
                # A child: an adult's evaluation feedback would need the adult's agreement.
                "subject": {"bsn": BSN_CHILD, "birth_date": "2016-03-01"},
                "given_by": [{"role": "custodian"}],
                "purposes": ["closure-notice", "information-request"],
                "to": ["kind:care_provider", "kind:school"],
                "evidence": {"method": "written", "reference": "fuzz-seed"},
            },
        ),
        (
            "POST",
            "/v1/exchanges",
            provider,
            {
                "purpose": "evaluation-feedback",
                "to": TEAM,
                "subject": {"bsn": BSN_CHILD},
                "case_id": case_id,
                "payload": example("evaluation-feedback"),
            },
        ),
    ]
    for method, path, headers, body in calls:
        answer = requests.request(method, base_url + path, headers=headers, json=body, timeout=30)
        assert answer.status_code in (200, 201), (path, answer.text)


@pytest.fixture(scope="module")
def fuzzed_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a real gateway on a config copy with rate limits out of the way."""
    root = tmp_path_factory.mktemp("fuzz")
    config = copy_config(root / "config")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings_file = config / "gateway.toml"
    text = re.sub(
        r'(?m)^public_url = "[^"]*"', f'public_url = "{base_url}"', settings_file.read_text()
    )
    settings_file.write_text(text + RATE_LIMITS)
    served = _Served(create_app(build_gateway(config, root / "data")), sock)
    try:
        seed(base_url)
        yield base_url
    finally:
        served.close()


@pytest.fixture(scope="module")
def gateway_schema(fuzzed_gateway: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(
        f"{fuzzed_gateway}/v1/openapi.json", config=schemathesis.Config()
    )


class PartnerAuth:
    """A real bearer token for each case, taking turns among the partners the operation is for."""

    def __init__(self) -> None:
        self._turns = itertools.count()

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        partners = partners_for(context.operation.path)
        partner = partners[next(self._turns) % len(partners)]
        return TOKENS.token(context.operation.schema.get_base_url().rstrip("/"), partner)

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, auth: AuthStorage) -> None:
    """Up to FUZZ_EXAMPLES generated requests of one mode for one operation, each checked."""

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, auth_storage=auth))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    run()


@pytest.fixture
def hypothesis_restored() -> Iterator[None]:
    """Undo the process-wide patches schemathesis puts on Hypothesis once it generates.

    For its own speed it swaps in a pretty-printer that prints nothing and a larger buffer;
    left in place, every later hypothesis test of the session would report empty examples.
    """
    from hypothesis import core as root_core
    from hypothesis.internal import entropy
    from hypothesis.internal.conjecture import engine
    from hypothesis.strategies._internal import collections, core
    from schemathesis.generation.hypothesis import setup

    patched = [
        (root_core, "RepresentationPrinter"),
        (root_core, "BUFFER_SIZE"),
        (engine, "BUFFER_SIZE"),
        (collections, "BUFFER_SIZE"),
        (core, "is_first_param_referenced_in_function"),
        (entropy, "register_random"),
    ]
    missing = object()
    saved = [(module, name, getattr(module, name, missing)) for module, name in patched]
    yield
    for module, name, value in saved:
        if value is missing:
            if hasattr(module, name):
                delattr(module, name)
        else:
            setattr(module, name, value)
    setup._is_patched = False  # type: ignore[attr-defined]


@pytest.mark.usefixtures("hypothesis_restored")
def test_no_operation_answers_a_server_error_or_an_undocumented_response(
    gateway_schema: schemathesis.BaseSchema, subtests: pytest.Subtests
) -> None:
    auth: AuthStorage = AuthStorage()
    auth.auth(refresh_interval=None)(PartnerAuth)
    results = list(gateway_schema.get_all_operations())
    operations = [result.ok() for result in results]
    assert len(operations) >= 30
    for operation in operations:
        # A path parameter is a string whatever it holds: with nothing else to send, there is
        # no schema-violating request to make.
        negatable = bool(operation.body or operation.query or operation.headers)
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negatable else [])
        for mode in modes:
            with subtests.test(msg=f"{operation.label} ({mode.value})"):
                fuzz(operation, mode, auth)


def test_the_fuzzed_gateway_hands_out_real_tokens_for_every_partner_kind(
    fuzzed_gateway: str,
) -> None:
    """The auth provider's tokens are real: each opens a call its kind may make."""
    for partner in (TEAM, PROVIDER, GI, SCHOOL):
        headers = {"Authorization": f"Bearer {TOKENS.token(fuzzed_gateway, partner)}"}
        answer = requests.get(f"{fuzzed_gateway}/v1/inbox", headers=headers, timeout=30)
        assert answer.status_code == 200, (partner, answer.text)
    headers = {"Authorization": f"Bearer {TOKENS.token(fuzzed_gateway, OFFICER)}"}
    answer = requests.get(f"{fuzzed_gateway}/v1/audit/entries", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["entries"], "the seeded exchange is in the log"


# What the fuzzing found, pinned: a digit that is not an ASCII digit (str.isdigit() says yes to
# "¹", int() says no), or more digits than int() parses, must be a 4xx, never a 500.
NOT_ASCII_NUMBERS = ["¹", "²³", "١٢", "9" * 5000]
NUMERIC_QUERIES = [
    (OFFICER, "/v1/audit/proof/inclusion", {"index": "{}", "tree_size": "1"}, 400),
    (OFFICER, "/v1/audit/proof/inclusion", {"index": "0", "tree_size": "{}"}, 400),
    (OFFICER, "/v1/audit/proof/consistency", {"first": "{}", "second": "1"}, 400),
    (OFFICER, "/v1/audit/entries", {"limit": "{}"}, 400),
    (OFFICER, "/v1/audit/entries", {"after": "{}"}, 400),
    (OFFICER, "/v1/audit/entries/{}", {}, 404),
    (OFFICER, "/v1/audit/entries/{}/leaf", {}, 404),
    (OFFICER, "/v1/audit/entries/{}/fhir", {}, 404),
    (TEAM, "/v1/inbox", {"limit": "{}"}, 400),
    (TEAM, "/v1/inbox", {"lease": "{}"}, 400),
    (TEAM, "/v1/inbox", {"after": "{}"}, 400),
    (TEAM, "/v1/disclosures", {"limit": "{}"}, 400),
    (TEAM, "/v1/disclosures", {"after": "{}"}, 400),
    (TEAM, "/v1/disclosures/{}/proof", {}, 404),
]


@pytest.mark.parametrize(
    "number", NOT_ASCII_NUMBERS, ids=["superscript", "superscripts", "arabic_indic", "5000_digits"]
)
def test_a_number_that_is_not_plain_ascii_digits_is_refused_not_a_server_error(
    fuzzed_gateway: str, number: str
) -> None:
    answers = []
    for partner, path, query, expected in NUMERIC_QUERIES:
        headers = {"Authorization": f"Bearer {TOKENS.token(fuzzed_gateway, partner)}"}
        params = {name: value.format(number) for name, value in query.items()}
        answer = requests.get(
            fuzzed_gateway + path.format(number), params=params, headers=headers, timeout=30
        )
        if answer.status_code != expected:
            answers.append(f"{path} {sorted(params)}: {answer.status_code}, not {expected}")
    assert answers == [], "\n".join(answers)


async def test_a_rate_limited_call_gets_the_429_the_document_describes(tmp_path: Path) -> None:
    """The fuzzing gateway lifts the rate limits; here they bite, and the answer is documented."""
    config = copy_config(tmp_path / "config")
    settings_file = config / "gateway.toml"
    settings_file.write_text(
        settings_file.read_text() + "\n[rate_limits]\nschool = { per_second = 0.001, burst = 2 }\n"
    )
    gw = build_gateway(config, tmp_path / "data")
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    try:
        running = Running(gw, server, FixedClock(datetime.now(UTC)))
        async with aiohttp.ClientSession() as session:
            http = Http(running, session)
            token = await http.token(SCHOOL)
            answers = [await http.call("GET", "/v1/inbox", token=token) for _ in range(3)]
            assert [a.status for a in answers] == [200, 200, 429]
            assert int(answers[-1].headers["Retry-After"]) >= 1
            contract = Contract((await http.call("GET", "/v1/openapi.json")).body)
            assert contract.problems("GET", "/v1/inbox", answers[-1]) == []
            assert answers[-1].body["error"]["code"] == "rate_limited"
    finally:
        await server.close()
