"""Dutch first, over real HTTP on both back ends: a refusal and a "may I share?" answer come in
Dutch when the request names no language, in English on `Accept-Language: en`, with the same
code either way, and say their language in `Content-Language` (and `Vary: Accept-Language`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from gateway.errors import InvalidRequest
from gateway.web.middleware import error_response
from tests.conftest import BSN_CHILD, Running, example
from tests.helpers import Answer, Http, relate

NO_LANGUAGE: dict[str, str] = {}
ENGLISH = {"Accept-Language": "en"}
DUTCH_PREFERRED = {"Accept-Language": "en;q=0.1, nl;q=0.9"}


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


async def call(
    http: Http,
    method: str,
    path: str,
    headers: dict[str, str],
    token: str | None = None,
    json_body: Any = None,
) -> Answer:
    """A call that sends exactly `headers` (Http.call would ask for English by default)."""
    sent = dict(headers)
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    async with http.session.request(
        method, http.running.url + path, headers=sent, json=json_body
    ) as response:
        return Answer(response.status, response.headers, await response.text())


def information_request(*, with_payload: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "purpose": "information-request",
        "to": "school-de-es",
        "subject": {"bsn": BSN_CHILD},
    }
    if with_payload:
        body["payload"] = example("information-request")
    return body


def assert_in_language(answer: Answer, language: str) -> None:
    assert answer.headers["Content-Language"] == language
    assert "Accept-Language" in answer.headers["Vary"]


async def test_a_refusal_without_a_named_language_explains_itself_in_dutch(http: Http) -> None:
    token = await http.token("swt-denhelder")
    answer = await call(http, "POST", "/v1/exchanges", NO_LANGUAGE, token, information_request())
    assert answer.status == 403, answer.text
    error = answer.body["error"]
    assert error["code"] == "consent_required"
    assert error["message"] == (
        "doel 'information-request' vraagt toestemming, en geen geldige toestemming dekt het "
        "versturen van 'swt-denhelder' aan 'school-de-es' over deze persoon"
    )
    assert error["how_to_fix"].startswith("Leg de toestemming van ")
    assert "POST /v1/consents" in error["how_to_fix"]
    assert error["missing_consent"]["to"] == "school-de-es"
    assert_in_language(answer, "nl")


async def test_the_same_refusal_comes_in_english_on_accept_language_en(http: Http) -> None:
    token = await http.token("swt-denhelder")
    answer = await call(http, "POST", "/v1/exchanges", ENGLISH, token, information_request())
    assert answer.status == 403, answer.text
    error = answer.body["error"]
    assert error["code"] == "consent_required"
    assert error["message"].startswith("purpose 'information-request' needs consent")
    assert error["how_to_fix"].startswith("Record the consent of ")
    assert_in_language(answer, "en")


async def test_english_with_a_lower_quality_than_dutch_gives_dutch(http: Http) -> None:
    token = await http.token("swt-denhelder")
    answer = await call(
        http, "POST", "/v1/exchanges", DUTCH_PREFERRED, token, information_request()
    )
    assert answer.status == 403, answer.text
    assert answer.body["error"]["code"] == "consent_required"
    assert answer.body["error"]["message"].startswith("doel 'information-request' vraagt")
    assert_in_language(answer, "nl")


async def test_a_sender_of_the_wrong_kind_is_told_so_in_dutch_with_the_code_unchanged(
    http: Http,
) -> None:
    token = await http.token("school-de-es")
    body = {
        "purpose": "evaluation-feedback",
        "to": "swt-denhelder",
        "subject": {"bsn": BSN_CHILD},
        "payload": example("evaluation-feedback"),
    }
    dutch = await call(http, "POST", "/v1/exchanges", NO_LANGUAGE, token, body)
    english = await call(http, "POST", "/v1/exchanges", ENGLISH, token, body)
    assert dutch.status == english.status == 403
    assert dutch.body["error"]["code"] == english.body["error"]["code"] == "sender_not_allowed"
    assert dutch.body["error"]["message"] == (
        "een partner van de soort 'school' mag doel 'evaluation-feedback' niet versturen"
    )
    assert english.body["error"]["message"] == (
        "a partner of kind 'school' may not send purpose 'evaluation-feedback'"
    )
    assert dutch.body["error"]["how_to_fix"].endswith("kies het doel dat bij uw rol past.")


async def test_may_i_share_explains_a_refusal_in_dutch_by_default_and_in_english_on_request(
    http: Http,
) -> None:
    token = await http.token("swt-denhelder")
    body = information_request(with_payload=False)
    dutch = await call(http, "POST", "/v1/exchanges/check", NO_LANGUAGE, token, body)
    english = await call(http, "POST", "/v1/exchanges/check", ENGLISH, token, body)
    assert dutch.status == english.status == 200
    assert dutch.body["code"] == english.body["code"] == "consent_required"
    assert dutch.body["explanation"].startswith("doel 'information-request' vraagt toestemming")
    assert dutch.body["how_to_fix"].startswith("Leg de toestemming van ")
    assert english.body["explanation"].startswith("purpose 'information-request' needs consent")
    assert dutch.body["missing_consent"] == english.body["missing_consent"]
    assert_in_language(dutch, "nl")
    assert_in_language(english, "en")


async def test_may_i_share_explains_an_allowed_exchange_and_its_ground_in_dutch(
    http: Http,
) -> None:
    await relate(http, "zorg-noord", BSN_CHILD)  # the relation its feedback presumes
    token = await http.token("zorg-noord")
    body = {
        "purpose": "evaluation-feedback",
        "to": "swt-denhelder",
        "subject": {"bsn": BSN_CHILD},
    }
    answer = await call(http, "POST", "/v1/exchanges/check", NO_LANGUAGE, token, body)
    assert answer.status == 200, answer.text
    assert answer.body["allowed"] is True
    assert answer.body["explanation"] == (
        "Doel 'evaluation-feedback' mag worden gedeeld met swt-denhelder: op grond van de wet "
        f"({answer.body['legal_basis']['reference']})."
    )
    assert_in_language(answer, "nl")


async def test_a_payload_beyond_the_minimal_dataset_names_each_violation_in_dutch(
    http: Http,
) -> None:
    await relate(http, "zorg-noord", BSN_CHILD)  # the relation its feedback presumes
    token = await http.token("zorg-noord")
    payload = {**example("evaluation-feedback"), "diagnosis": "not allowed here"}
    body = {
        "purpose": "evaluation-feedback",
        "to": "swt-denhelder",
        "subject": {"bsn": BSN_CHILD},
        "payload": payload,
    }
    answer = await call(http, "POST", "/v1/exchanges", NO_LANGUAGE, token, body)
    assert answer.status == 422, answer.text
    error = answer.body["error"]
    assert error["code"] == "payload_not_minimal"
    assert error["message"] == (
        "de payload bevat 1 veld(en) die doel 'evaluation-feedback' niet toestaat"
    )
    assert error["violations"] == [
        {"path": "/payload/diagnosis", "message": "veld niet toegestaan voor dit doel"}
    ]
    assert_in_language(answer, "nl")


async def test_an_unknown_path_is_answered_in_dutch(http: Http) -> None:
    answer = await call(http, "GET", "/v1/no-such-thing", NO_LANGUAGE)
    assert answer.status == 404
    assert answer.body["error"] == {
        "code": "not_found",
        "message": "deze resource bestaat niet",
        "how_to_fix": "Controleer het pad aan de hand van /v1/openapi.json.",
    }
    assert_in_language(answer, "nl")


async def test_a_bad_query_parameter_is_explained_in_dutch(http: Http) -> None:
    token = await http.token("zorg-noord")
    answer = await call(http, "GET", "/v1/expectations?status=bogus", NO_LANGUAGE, token)
    assert answer.status == 400, answer.text
    error = answer.body["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("'status' moet een van ")
    assert (
        error["how_to_fix"] == "Stuur een JSON-object met de velden die de API-documentatie noemt."
    )
    assert_in_language(answer, "nl")


def test_a_refusal_whose_text_has_no_dutch_yet_is_answered_wholly_in_english_and_says_so() -> None:
    # Every refusal the gateway raises today has Dutch (test_i18n_catalogue.py); a text without
    # one (a new refusal between review rounds) takes the same path through error_response.
    refusal = InvalidRequest(
        "a sentence no reviewer has translated", "Check the path against /v1/openapi.json."
    )
    response = error_response(refusal, "nl")
    assert response.headers["Content-Language"] == "en"
    assert "Accept-Language" in response.headers["Vary"]
    assert response.text is not None
    assert json.loads(response.text)["error"] == {
        "code": "invalid_request",
        "message": "a sentence no reviewer has translated",
        "how_to_fix": "Check the path against /v1/openapi.json.",
    }


async def test_an_allowed_answer_also_varies_with_accept_language(http: Http) -> None:
    answer = await call(http, "GET", "/v1/purposes", NO_LANGUAGE)
    assert answer.status == 200
    assert "Accept-Language" in answer.headers["Vary"]


async def test_a_withdrawn_consent_is_named_as_a_reason_in_dutch(http: Http) -> None:
    team = await http.token("swt-denhelder")
    consent = {
        "subject": {"bsn": BSN_CHILD, "birth_date": "1990-01-01"},
        "given_by": [{"role": "subject"}],
        "purposes": ["information-request"],
        "to": ["school-de-es"],
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }
    recorded = await http.call("POST", "/v1/consents", token=team, json_body=consent)
    assert recorded.status == 201, recorded.text
    consent_id = recorded.body["consent_id"]
    withdrawn = await http.call("POST", f"/v1/consents/{consent_id}/withdraw", token=team)
    assert withdrawn.status == 200, withdrawn.text
    answer = await call(http, "POST", "/v1/exchanges", NO_LANGUAGE, team, information_request())
    assert answer.status == 403, answer.text
    day = http.running.clock.now().date().isoformat()
    assert answer.body["error"]["reasons"] == [f"toestemming {consent_id}: ingetrokken op {day}"]
    checked = await call(
        http,
        "POST",
        "/v1/exchanges/check",
        NO_LANGUAGE,
        team,
        information_request(with_payload=False),
    )
    assert checked.body["explanation"] == answer.body["error"]["message"]
    assert checked.body["explanation"].startswith("doel 'information-request' vraagt toestemming")
    assert_in_language(checked, "nl")
