"""No malformed body, query parameter, path parameter or header gives a 500, on any route.

The routes are read from the running application's router, so a route added later is covered
without touching this file. Each gets a battery of malformed inputs with a valid token (a
privacy officer's for `/v1/audit`, a social team's elsewhere): bodies that are not JSON or are
JSON of the wrong shape (a list where a string belongs, a lone surrogate, NaN, numbers beyond
any range, a NUL character), query parameters duplicated, percent-encoding a lone surrogate or
bytes that are not UTF-8, and headers with bytes that are not UTF-8. Every answer must be a
4xx (or a 2xx where the input happens to be acceptable) in the contract's error shape, and the
log must still verify afterwards. On SQLite and PostgreSQL.

A consistency proof from size 0 is refused too (RFC 9162 defines proofs only for 0 < first).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from yarl import URL

from gateway.log.verify import verify_log
from tests.conftest import BSN_CHILD, Running, example
from tests.helpers import Http, assert_contract_error, seed_referral

TEAM, OFFICER = "swt-denhelder", "fg-denhelder"
CASE = "case-malformed-1"

# A lone surrogate, bytes that are not UTF-8, a NUL, numbers past every range, not numbers.
QUERY_VALUES = [
    "%ED%A0%80",
    "%FF%FE",
    "%00",
    "9" * 5000,
    "1e999",
    "NaN",
    "-Infinity",
    "-1",
    "[]",
    "%7B%7D",
    "",
]
PATH_VALUES = ["%ED%A0%80", "%FF", "%00", "9" * 400, "..%2F..%2Fetc"]
RAW_BODIES = [
    b"",
    b"[]",
    b'"text"',
    b"123",
    b"null",
    b"{",
    b"\xff\xfe{}",
    b"\xef\xbb\xbf{}",
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b'{"a": -Infinity}',
    b'{"a": 1e999999}',
    b'{"a": 123456789012345678901234567890}',
    b'{"a": "\\ud800"}',
    b'{"a": "\\udfff\\ud800"}',
    b'{"a": "\\u0000"}',
    b'{"a": 1, "a": 2}',
    b"[" * 100_000,
]
# What replaces one field of a good body: the wrong type, out of range, a lone surrogate...
# Written as JSON text, because Python's json module would not write some of them.
FIELD_VALUES = [
    "[]",
    '["x"]',
    "{}",
    "null",
    "true",
    "-1",
    "1e308",
    "1e999999",
    "123456789012345678901234567890",
    "NaN",
    '"\\ud800"',
    '"a\\u0000b"',
    '""',
    '"' + "x" * 5000 + '"',
]
ODD_HEADERS = [
    ("X-Request-Id", b"\xff\xfe\x80"),
    ("traceparent", b"00-\xff\xfe-01"),
    ("tracestate", b"a=\x80\x81"),
    ("Fsc-Transaction-Id", b"\xc3\x28"),
    ("Content-Type", b"application/json; charset=\xff"),
    ("Content-Type", b"application/json; charset=utf-32"),
    ("Content-Type", b"application/x-www-form-urlencoded; charset=nonsense"),
    ("Accept", b"\xe2\x28\xa1"),
    ("Authorization", b"Bearer \xff\xfe"),
]


def good_bodies() -> dict[tuple[str, str], dict[str, Any]]:
    """Bodies that pass, per route, so mutations of one field reach past the first check."""
    exchange = {
        "purpose": "evaluation-feedback",
        "to": TEAM,
        "subject": {"bsn": BSN_CHILD},
        "payload": example("evaluation-feedback"),
    }
    consent = {
        "subject": {"bsn": BSN_CHILD, "birth_date": "2012-01-01"},
        "given_by": [{"role": "parent"}],
        "purposes": ["information-request"],
        "to": ["kind:care_provider"],
        "evidence": {"method": "written", "reference": "malformed-1"},
    }
    return {
        ("POST", "/v1/exchanges"): exchange,
        ("POST", "/v1/exchanges/check"): exchange,
        ("POST", "/v1/consents"): consent,
        ("POST", "/v1/consents/{consent_id}/withdraw"): {"reason": "asked by the family"},
        ("PUT", "/v1/cases/{case_id}/network/{partner_id}"): {"role": "member"},
        ("PUT", "/v1/cases/{case_id}/household"): {"members": [{"bsn": BSN_CHILD}]},
        ("POST", "/v1/cases/{case_id}/referrer-status"): {"status": "in_progress"},
        ("POST", "/v1/audit/break-glass/{exchange_id}/review"): {"verdict": "justified"},
    }


@dataclass(frozen=True)
class Route:
    method: str
    template: str

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/v1/")

    @property
    def partner(self) -> str:
        return OFFICER if self.template.startswith("/v1/audit") else TEAM

    def path(self, fill: str | None = None) -> str:
        """The path with its parameters filled: each with `fill`, or a plausible value."""

        def value(match: re.Match[str]) -> str:
            if fill is not None:
                return fill
            name = match.group(1)
            return {"index": "0", "case_id": CASE, "partner_id": TEAM}.get(name, "x1")

        return re.sub(r"\{(\w+)\}", value, self.template)

    @property
    def has_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


def routes(running: Running) -> list[Route]:
    """Every route the running application serves (HEAD is GET without a body)."""
    app = running.server.app
    assert app is not None
    found = {
        Route(r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.method not in ("HEAD", "*")
    }
    return sorted(found, key=lambda r: (r.template, r.method))


def query_names(document: Mapping[str, Any], route: Route) -> list[str]:
    """The query parameters the OpenAPI document names for a route, and `limit` besides."""
    operation = document["paths"].get(route.template, {}).get(route.method.lower(), {})
    names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
    return sorted(names | {"limit"})


@dataclass(frozen=True)
class Sent:
    """What was sent and what came back, for the failure message."""

    what: str
    status: int
    content_type: str
    body: bytes


class Battery:
    """Sends malformed requests to one running gateway and collects what is wrong."""

    def __init__(self, running: Running, session: aiohttp.ClientSession) -> None:
        self.running = running
        self.session = session
        self.http = Http(running, session)
        self.tokens: dict[str, str] = {}
        self.problems: list[str] = []
        self.sent = 0

    async def token(self, partner: str) -> str:
        if partner not in self.tokens:
            self.tokens[partner] = await self.http.token(partner)
        return self.tokens[partner]

    async def send(
        self,
        route: Route,
        path_and_query: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        what: str,
    ) -> None:
        headers = {"Authorization": f"Bearer {await self.token(route.partner)}"}
        if body is not None:
            headers["Content-Type"] = content_type
        url = URL(self.running.url + path_and_query, encoded=True)
        async with self.session.request(route.method, url, headers=headers, data=body) as answer:
            self.check(
                route,
                Sent(
                    what, answer.status, answer.headers.get("Content-Type", ""), await answer.read()
                ),
            )

    async def send_raw_header(self, route: Route, name: str, value: bytes) -> None:
        """One request with a header aiohttp's client would not send, over a plain socket."""
        body = json.dumps(good_bodies().get((route.method, route.template), {})).encode()
        lines = [
            f"{route.method} {route.path()} HTTP/1.1".encode(),
            f"Host: {self.running.server.host}:{self.running.server.port}".encode(),
            f"Authorization: Bearer {await self.token(route.partner)}".encode(),
            b"Connection: close",
        ]
        lines = [line for line in lines if not line.startswith(name.encode() + b":")]
        if route.has_body:
            if name != "Content-Type":
                lines.append(b"Content-Type: application/json")
            lines.append(f"Content-Length: {len(body)}".encode())
        lines.append(name.encode() + b": " + value)
        reader, writer = await asyncio.open_connection(
            self.running.server.host, self.running.server.port
        )
        try:
            writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + (body if route.has_body else b""))
            raw = await asyncio.wait_for(reader.read(), 30)
        finally:
            writer.close()
        head, _, payload = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        found = dict(line.split(": ", 1) for line in header_lines if ": " in line)
        if found.get("Transfer-Encoding") == "chunked":
            payload = _unchunk(payload)
        self.check(
            route,
            Sent(
                f"header {name}: {value!r}",
                int(status_line.split()[1]),
                found.get("Content-Type", ""),
                payload,
            ),
        )

    def check(self, route: Route, sent: Sent) -> None:
        self.sent += 1
        where = f"{route.method} {route.template} with {sent.what[:120]}"
        if sent.status >= 500:
            self.problems.append(f"{where}: {sent.status} {sent.body[:200]!r}")
            return
        if sent.status < 400 or not route.is_api:
            return
        if not sent.content_type.startswith("application/json"):
            self.problems.append(f"{where}: {sent.status} answered {sent.content_type}")
            return
        error = json.loads(sent.body).get("error")
        if route.template == "/v1/token":
            # RFC 6749 5.2: the token endpoint's errors are OAuth's.
            shaped = isinstance(error, str)
        else:
            shaped = isinstance(error, dict) and all(
                isinstance(error.get(key), str) and error[key]
                for key in ("code", "message", "how_to_fix")
            )
        if not shaped:
            self.problems.append(
                f"{where}: {sent.status} not in the error shape: {sent.body[:200]!r}"
            )


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + rest[:size], rest[size + 2 :]
    return out


def mutations(good: Mapping[str, Any]) -> Iterator[tuple[str, bytes]]:
    """The good body with one field (or one field of a nested object) replaced, as JSON text."""
    for key, original in good.items():
        for replacement in FIELD_VALUES:
            rest = {k: v for k, v in good.items() if k != key}
            text = (
                json.dumps(rest)[:-1]
                + ("," if rest else "")
                + f"{json.dumps(key)}: {replacement}}}"
            )
            yield f"{key}={replacement[:40]}", text.encode()
        if isinstance(original, dict):
            for inner in original:
                for replacement in FIELD_VALUES:
                    nested = {k: v for k, v in original.items() if k != inner}
                    inner_text = (
                        json.dumps(nested)[:-1]
                        + ("," if nested else "")
                        + f"{json.dumps(inner)}: {replacement}}}"
                    )
                    rest = {k: v for k, v in good.items() if k != key}
                    text = (
                        json.dumps(rest)[:-1]
                        + ("," if rest else "")
                        + f"{json.dumps(key)}: {inner_text}}}"
                    )
                    yield f"{key}.{inner}={replacement[:40]}", text.encode()


@pytest.fixture
async def battery(running: Running) -> AsyncIterator[Battery]:
    async with aiohttp.ClientSession() as session:
        battery = Battery(running, session)
        # Some state for the calls to act on: a case network with the team in it.
        await battery.http.call(
            "PUT", f"/v1/cases/{CASE}/network/{TEAM}", token=await battery.token(TEAM), json_body={}
        )
        yield battery


async def assert_log_verifies(running: Running) -> None:
    await running.gw.sequencer().integrate()
    size = await running.gw.storage.log_size()
    report = await verify_log(
        running.gw.storage, running.gw.log_verifiers, running.gw.settings.log_origin
    )
    assert report.entries == size


async def test_no_malformed_query_or_path_parameter_on_any_route_answers_a_server_error(
    running: Running, battery: Battery
) -> None:
    document = (await battery.http.call("GET", "/v1/openapi.json")).body
    all_routes = routes(running)
    assert len(all_routes) >= 40, "the router is read, not a list written here"
    for route in all_routes:
        for name in query_names(document, route):
            for value in QUERY_VALUES:
                await battery.send(route, f"{route.path()}?{name}={value}", what=f"?{name}={value}")
            await battery.send(
                route, f"{route.path()}?{name}=1&{name}=2&{name}=%ED%A0%80", what=f"?{name} x3"
            )
        if "{" in route.template:
            for value in PATH_VALUES:
                await battery.send(route, route.path(value), what=f"path {value}")
    assert battery.problems == [], "\n".join(battery.problems)
    await assert_log_verifies(running)


async def test_no_malformed_body_on_any_route_answers_a_server_error(
    running: Running, battery: Battery
) -> None:
    good = good_bodies()
    for route in routes(running):
        if not route.has_body:
            continue
        for body in RAW_BODIES:
            await battery.send(route, route.path(), body=body, what=f"body {body[:40]!r}")
        await battery.send(
            route,
            route.path(),
            body=b"a=%FF&a=%ED%A0%80",
            content_type="application/x-www-form-urlencoded",
            what="a form where JSON belongs",
        )
        for what, body in mutations(good.get((route.method, route.template), {"a": "b"})):
            await battery.send(route, route.path(), body=body, what=what)
    assert battery.problems == [], "\n".join(battery.problems)
    await assert_log_verifies(running)


TOKEN_FORMS = [
    b"grant_type=%FF%FE",
    b"grant_type=client_credentials&grant_type=password",
    b"client_assertion=%ED%A0%80&grant_type=client_credentials",
    b"\xff\xfe=\x80",
    b"grant_type=client_credentials&client_assertion_type=%00&client_assertion=a.b.c",
]


async def test_no_malformed_token_request_answers_a_server_error(
    running: Running, battery: Battery
) -> None:
    route = Route("POST", "/v1/token")
    for form in TOKEN_FORMS:
        for content_type in (
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=nonsense",
            "application/x-www-form-urlencoded; charset=utf-16",
        ):
            await battery.send(
                route,
                "/v1/token",
                body=form,
                content_type=content_type,
                what=f"{content_type} {form!r}",
            )
    assert battery.problems == [], "\n".join(battery.problems)


async def test_no_header_with_odd_bytes_on_any_route_answers_a_server_error(
    running: Running, battery: Battery
) -> None:
    for route in routes(running):
        for name, value in ODD_HEADERS:
            await battery.send_raw_header(route, name, value)
    assert battery.problems == [], "\n".join(battery.problems)
    await assert_log_verifies(running)


async def test_a_consistency_proof_from_the_empty_tree_is_an_invalid_request(
    running: Running, battery: Battery
) -> None:
    http = battery.http
    # The provider's relation to the children (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    token = await http.token("zorg-noord")
    for _ in range(2):
        answer = await http.call(
            "POST",
            "/v1/exchanges",
            token=token,
            json_body={
                "purpose": "evaluation-feedback",
                "to": TEAM,
                "subject": {"bsn": BSN_CHILD},
                "payload": example("evaluation-feedback"),
            },
        )
        assert answer.status == 201, answer.text
    await running.gw.sequencer().integrate()
    officer = await battery.token(OFFICER)
    for second in ("0", "1", "2"):
        answer = await http.call(
            "GET",
            "/v1/audit/proof/consistency",
            token=officer,
            params={"first": "0", "second": second},
        )
        error = assert_contract_error(answer, 400, "invalid_request")
        assert "RFC 9162" in error["message"]
    # Equal sizes: an empty proof, which verifiers check by comparing the two roots.
    same = await http.call(
        "GET", "/v1/audit/proof/consistency", token=officer, params={"first": "2", "second": "2"}
    )
    assert same.status == 200, same.text
    assert same.body == {"first": 2, "second": 2, "hashes": []}
