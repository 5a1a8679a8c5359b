"""`/v1/openapi.json` tells the truth: the same routes as the router, and real answers fit it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.conftest import BSN_CHILD, Running, example
from tests.helpers import Answer, Http, relate

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "options", "head", "trace"})
DOCUMENT_URI = "urn:social-domain-gateway:openapi"


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        http = Http(running, session)
        # The provider's relation to the child its reports are about (issue 19).
        await relate(http, "zorg-noord", BSN_CHILD)
        yield http


async def openapi(http: Http) -> dict[str, Any]:
    answer = await http.call("GET", "/v1/openapi.json")
    assert answer.status == 200, answer.text
    document: dict[str, Any] = answer.body
    return document


def routed_operations(running: Running) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route the application serves; HEAD rides along GET."""
    out = set()
    for route in running.server.app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else None
        if canonical is None or route.method in ("HEAD", "*"):
            continue
        if canonical.startswith("/officer"):
            continue  # the officer workspace is HTML pages, not API

        out.add((route.method, canonical))
    return out


def documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


class Contract:
    """Checks answers against the documented response of their operation and status."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = DRAFT202012.create_resource(document)
        self.registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)

    def problems(self, method: str, path: str, answer: Answer) -> list[str]:
        """Why this answer does not fit the document (empty when it does)."""
        where = f"{method} {path} -> {answer.status}"
        operation = self.document["paths"].get(path, {}).get(method.lower())
        if operation is None:
            return [f"{where}: operation not documented"]
        response = operation["responses"].get(str(answer.status))
        if response is None:
            return [f"{where}: status not documented"]
        content = response.get("content", {})
        if not content:
            return [] if not answer.text else [f"{where}: body where none is documented"]
        pointer = "/".join(
            escape(s)
            for s in ("paths", path, method.lower(), "responses", str(answer.status), "content")
        )
        media = "application/json"
        assert media in content, where
        schema = {"$ref": f"{DOCUMENT_URI}#/{pointer}/{escape(media)}/schema"}
        validator = Draft202012Validator(schema, registry=self.registry)
        return [f"{where}: {e.json_path}: {e.message}" for e in validator.iter_errors(answer.body)]


def exchange(
    purpose: str = "evaluation-feedback", to: Any = "swt-denhelder", **extra: Any
) -> dict[str, Any]:
    return {
        "purpose": purpose,
        "to": to,
        "subject": {"bsn": BSN_CHILD},
        "payload": example(purpose),
        **extra,
    }


async def test_document_is_openapi_3_1_with_title_and_version(http: Http) -> None:
    document = await openapi(http)
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"]
    assert document["info"]["version"]


async def test_every_routed_operation_is_documented(running: Running, http: Http) -> None:
    document = await openapi(http)
    assert routed_operations(running) - documented_operations(document) == set()


async def test_every_documented_operation_is_routed(running: Running, http: Http) -> None:
    document = await openapi(http)
    assert documented_operations(document) - routed_operations(running) == set()


async def test_documented_path_parameters_match_the_path_templates(http: Http) -> None:
    document = await openapi(http)
    for path, item in document["paths"].items():
        placeholders = {s[1:-1] for s in path.split("/") if s.startswith("{")}
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == placeholders, f"{method.upper()} {path}"


async def test_real_answers_fit_their_documented_schemas(http: Http) -> None:
    contract = Contract(await openapi(http))
    answers: list[tuple[str, str, Answer]] = []

    async def call(method: str, template: str, path: str | None = None, **kw: Any) -> Answer:
        answer = await http.call(method, path or template, **kw)
        answers.append((method, template, answer))
        return answer

    issued = await call(
        "POST",
        "/v1/token",
        form={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": http.assertion("zorg-noord"),
        },
    )
    provider = issued.body["access_token"]
    await call(
        "POST",
        "/v1/token",
        form={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": "not.a.jwt",
        },
    )
    team = await http.token("swt-denhelder")

    await call("POST", "/v1/exchanges", token=provider, json_body=exchange())
    await call("POST", "/v1/exchanges", json_body=exchange())
    await call(
        "POST",
        "/v1/exchanges",
        token=team,
        json_body=exchange("information-request", "school-de-es"),
    )
    await call("POST", "/v1/exchanges", token=provider, json_body=exchange(to="nobody-here"))
    bad = exchange()
    bad["payload"]["goals"][0]["result"] = "done"
    await call("POST", "/v1/exchanges", token=provider, json_body=bad)
    await call("POST", "/v1/exchanges", token=provider, json_body=[])
    await call("POST", "/v1/exchanges/check", token=provider, json_body=exchange())
    await call(
        "POST",
        "/v1/exchanges/check",
        token=team,
        json_body=exchange("information-request", "school-de-es"),
    )
    page = await call("GET", "/v1/inbox", token=team)
    message_id = page.body["messages"][0]["id"]
    ack = "/v1/inbox/{message_id}/ack"
    await call("POST", ack, f"/v1/inbox/{message_id}/ack", token=team)
    await call("POST", ack, f"/v1/inbox/{message_id}/ack", token=team)

    consent = await call(
        "POST",
        "/v1/consents",
        token=team,
        json_body={
            "subject": {"bsn": BSN_CHILD, "birth_date": "1990-01-01"},
            "given_by": [{"role": "subject"}],
            "purposes": ["information-request"],
            "to": ["school-de-es"],
            "evidence": {"method": "written", "reference": "dossier-2026-0042"},
        },
    )
    await call("GET", "/v1/consents", token=team, params={"bsn": BSN_CHILD})
    withdraw = "/v1/consents/{consent_id}/withdraw"
    await call("POST", withdraw, f"/v1/consents/{consent.body['consent_id']}/withdraw", token=team)
    opened = await call("POST", "/v1/cases", token=team, json_body={"dossier_reference": "WT-1"})
    await call("POST", "/v1/cases", token=provider, json_body={})
    case = opened.body["case_id"]
    network = "/v1/cases/{case_id}/network/{partner_id}"
    member = f"/v1/cases/{case}/network/zorg-noord"
    await call("PUT", network, member, token=team, json_body={})
    await call("PUT", network, member, token=team, json_body={"role": "referrer"})
    await call("PUT", network, "/v1/cases/case-1/network/swt-denhelder", token=team, json_body={})
    await call("GET", "/v1/cases/{case_id}/network", f"/v1/cases/{case}/network", token=team)
    await call("GET", "/v1/cases/{case_id}/network", "/v1/cases/case-1/network", token=team)
    await call("DELETE", network, member, token=team)
    await call("DELETE", network, member, token=team)
    await call("GET", "/v1/purposes")
    await call("GET", "/v1/purposes/{purpose_id}", "/v1/purposes/referral")
    await call("GET", "/v1/purposes/{purpose_id}", "/v1/purposes/gossip")
    await call("GET", "/v1/partners", token=team)
    await call("GET", "/healthz")
    await call("GET", "/readyz")

    statuses = {a.status for _, _, a in answers}
    assert {200, 201, 204, 400, 401, 403, 404, 422} <= statuses
    problems = [p for method, path, a in answers for p in contract.problems(method, path, a)]
    assert problems == []


async def test_privacy_officer_refusals_are_documented_on_every_partner_call(
    http: Http,
) -> None:
    contract = Contract(await openapi(http))
    officer = await http.token("fg-denhelder")
    calls = [
        ("POST", "/v1/exchanges", "/v1/exchanges", exchange()),
        ("POST", "/v1/exchanges/check", "/v1/exchanges/check", exchange()),
        ("GET", "/v1/inbox", "/v1/inbox", None),
        ("GET", "/v1/partners", "/v1/partners", None),
        ("GET", "/v1/consents", f"/v1/consents?bsn={BSN_CHILD}", None),
    ]
    problems = []
    for method, template, path, body in calls:
        if body is None:
            answer = await http.call(method, path, token=officer)
        else:
            answer = await http.call(method, path, token=officer, json_body=body)
        assert answer.status == 403, (path, answer.text)
        problems += contract.problems(method, template, answer)
    assert problems == []
