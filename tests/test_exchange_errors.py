"""Every contract error the core exchange touches, over real HTTP, and the 201 answer's shape.

A refusal changes nothing: no message reaches any inbox. Policy refusals (unknown_purpose
onward) add exactly one `refused` log entry naming the reason; a body that is not even a
request (invalid_request, invalid_subject) adds none.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.clock import FixedClock
from gateway.policy import allowed_fields
from gateway.runtime import build_gateway
from gateway.web import create_app
from tests.conftest import BSN_CHILD, Running, copy_config, example
from tests.helpers import (
    Answer,
    Http,
    assert_contract_error,
    break_glass,
    gateway_state,
    linked_pseudonym,
    log_entries,
    relate,
)

BREAK_GLASS = break_glass(
    "Acute zorg om de veiligheid van het kind vandaag, geen tijd voor toestemming.",
    "De veiligheid van het kind gaat voor.",
    "Ouders zijn vandaag niet bereikbaar.",
)


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


@pytest.fixture(autouse=True)
async def _provider_helps_the_child(http: Http) -> None:
    """Zorgaanbieder Noord is in the network of the child's case, with the child in its household:
    the relation its evaluation feedback and safety assessments presume (issue 19), so that the
    refusals below are about what each test sends, not about a missing relation. The institution
    is in that network too: a relation holds towards the case's members."""
    await relate(http, "zorg-noord", BSN_CHILD, towards=["gi-noordholland"])


def request_body(
    purpose: str = "evaluation-feedback",
    to: Any = "swt-denhelder",
    bsn: str = BSN_CHILD,
    payload: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "purpose": purpose,
        "to": to,
        "subject": {"bsn": bsn},
        "payload": example("evaluation-feedback") if payload is None else payload,
        **extra,
    }


async def send(http: Http, sender: str, body: Any, role: str | None = None) -> Answer:
    token = await http.token(sender, role)
    return await http.call("POST", "/v1/exchanges", token=token, json_body=body)


# -- requests that are not requests: answered, and nothing changes, the log included ----------


def without(field: str) -> dict[str, Any]:
    body = request_body()
    del body[field]
    return body


async def test_malformed_request_is_invalid_request_and_changes_nothing(
    running: Running, http: Http, subtests: pytest.Subtests
) -> None:
    token = await http.token("zorg-noord")
    before = await gateway_state(running)
    json_bodies: dict[str, Any] = {
        "json_array": [request_body()],
        "missing_purpose": without("purpose"),
        "missing_to": without("to"),
        "missing_subject": without("subject"),
        "missing_payload": without("payload"),
        "unknown_top_level_field": request_body(notes="Moeder belde over de rechtszaak."),
    }
    for name, body in json_bodies.items():
        with subtests.test(msg=name):
            answer = await http.call("POST", "/v1/exchanges", token=token, json_body=body)
            error = assert_contract_error(answer, 400, "invalid_request")
            if name.startswith("missing_"):
                assert name.removeprefix("missing_") in error["message"]
    with subtests.test(msg="not_json"):
        answer = await http.call(
            "POST",
            "/v1/exchanges",
            token=token,
            data=b'{"purpose": "evaluation-feedback", ',
            headers={"Content-Type": "application/json"},
        )
        assert_contract_error(answer, 400, "invalid_request")
    assert await gateway_state(running) == before


async def test_bad_bsn_is_invalid_subject_and_is_never_echoed(
    running: Running, http: Http, subtests: pytest.Subtests
) -> None:
    token = await http.token("zorg-noord")
    before = await gateway_state(running)
    bad = {
        "eight_digits": "99999235",
        "letters": "99999235a",
        "elfproef_failure": "999992352",
        "all_zeros": "000000000",
    }
    for name, bsn in bad.items():
        with subtests.test(msg=name):
            answer = await http.call(
                "POST", "/v1/exchanges", token=token, json_body=request_body(bsn=bsn)
            )
            assert_contract_error(answer, 400, "invalid_subject")
            assert bsn not in answer.text
    assert await gateway_state(running) == before


# -- policy refusals: one `refused` entry each, no message anywhere ----------------------------


async def assert_refused_once(
    running: Running,
    answer: Answer,
    status: int,
    code: str,
    *,
    sender: str,
    before_size: int,
    recipient: str | None = None,
) -> dict[str, Any]:
    error = assert_contract_error(answer, status, code)
    entries = await log_entries(running, before_size)
    assert [(e.decision, e.reason) for e in entries] == [("refused", code)]
    entry = entries[0]
    assert entry.sender is not None
    assert entry.sender.partner == sender
    assert entry.subject == await linked_pseudonym(running, BSN_CHILD)
    assert entry.payload_sha256 is None
    assert entry.fields == ()
    if recipient is not None:
        assert entry.recipient == recipient
    for partner in running.gw.partners:
        assert await running.gw.storage.inbox_page(partner.id, after=0, limit=10) == []
    return error


async def test_unknown_purpose_is_refused_and_logged(running: Running, http: Http) -> None:
    before = await running.gw.storage.log_size()
    answer = await send(http, "zorg-noord", request_body(purpose="gossip"))
    await assert_refused_once(
        running, answer, 403, "unknown_purpose", sender="zorg-noord", before_size=before
    )


async def test_sender_of_the_wrong_kind_is_refused_and_logged(running: Running, http: Http) -> None:
    before = await running.gw.storage.log_size()
    answer = await send(http, "school-de-es", request_body())
    error = await assert_refused_once(
        running, answer, 403, "sender_not_allowed", sender="school-de-es", before_size=before
    )
    assert "school" in error["message"]


@pytest.fixture
async def narrowed(
    tmp_path: Path, clock: FixedClock, storage_url: str | None
) -> AsyncIterator[tuple[Running, Http]]:
    """A gateway whose evaluation feedback only a care provider's casusregisseur may send.

    In the shipped catalogue every role a kind holds may send each purpose of that kind, and a
    role of another kind gets no token at all (`[actor_roles]`), so the purpose's own role rule
    needs a narrower catalogue to be seen.
    """
    config = copy_config(tmp_path / "config")
    catalogue = (config / "purposes.toml").read_text()
    narrowed = catalogue.replace(
        'sender_roles = ["casusregisseur", "jeugdhulpverlener"]\nrecipient_kinds = ["social_team"]'
        '\nschema = "evaluation-feedback.schema.json"',
        'sender_roles = ["casusregisseur"]\nrecipient_kinds = ["social_team"]'
        '\nschema = "evaluation-feedback.schema.json"',
    )
    assert narrowed != catalogue
    (config / "purposes.toml").write_text(narrowed)
    gw = build_gateway(config, tmp_path / "data", storage_url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    running = Running(gw, server, clock)
    try:
        async with aiohttp.ClientSession() as session:
            yield running, Http(running, session)
    finally:
        await server.close()


async def test_sender_with_a_role_the_purpose_does_not_allow_is_refused_and_logged(
    narrowed: tuple[Running, Http],
) -> None:
    running, http = narrowed
    before = await running.gw.storage.log_size()
    answer = await send(http, "zorg-noord", request_body(), role="jeugdhulpverlener")
    error = await assert_refused_once(
        running, answer, 403, "sender_not_allowed", sender="zorg-noord", before_size=before
    )
    assert "jeugdhulpverlener" in error["message"]
    assert "casusregisseur" in error["how_to_fix"]


async def test_recipient_of_the_wrong_kind_is_refused_and_logged(
    running: Running, http: Http
) -> None:
    before = await running.gw.storage.log_size()
    answer = await send(http, "zorg-noord", request_body(to="school-de-es"))
    await assert_refused_once(
        running,
        answer,
        403,
        "recipient_not_allowed",
        sender="zorg-noord",
        before_size=before,
        recipient="school-de-es",
    )


async def test_one_wrong_recipient_in_a_list_refuses_the_whole_message(
    running: Running, http: Http
) -> None:
    before = await running.gw.storage.log_size()
    answer = await send(http, "zorg-noord", request_body(to=["swt-denhelder", "school-de-es"]))
    await assert_refused_once(
        running, answer, 403, "recipient_not_allowed", sender="zorg-noord", before_size=before
    )


async def test_unregistered_recipient_is_unknown_and_logged(running: Running, http: Http) -> None:
    before = await running.gw.storage.log_size()
    answer = await send(http, "zorg-noord", request_body(to="nobody-here"))
    await assert_refused_once(
        running,
        answer,
        404,
        "unknown_recipient",
        sender="zorg-noord",
        before_size=before,
    )
    # The id the gateway does not know is the caller's text: the entry does not carry it.
    (entry,) = await log_entries(running, before)
    assert entry.recipient is None


async def test_empty_case_network_is_an_unknown_recipient_and_logged(
    running: Running, http: Http
) -> None:
    before = await running.gw.storage.log_size()
    answer = await send(http, "zorg-noord", request_body(to={"case_network": "case-x"}))
    await assert_refused_once(
        running, answer, 404, "unknown_recipient", sender="zorg-noord", before_size=before
    )
    # The id names no case of the caller's: it is the caller's text, kept out of the log.
    entries = await log_entries(running, before)
    assert "case_network" not in entries[0].details
    assert entries[0].case_id is None


async def test_consent_purpose_without_consent_says_which_consent_is_missing(
    running: Running, http: Http
) -> None:
    before = await running.gw.storage.log_size()
    body = request_body(
        purpose="information-request", to="school-de-es", payload=example("information-request")
    )
    answer = await send(http, "swt-denhelder", body)
    error = await assert_refused_once(
        running,
        answer,
        403,
        "consent_required",
        sender="swt-denhelder",
        before_size=before,
        recipient="school-de-es",
    )
    missing = error["missing_consent"]
    assert missing["purpose"] == "information-request"
    assert missing["from"] == "swt-denhelder"
    assert missing["to"] == "school-de-es"
    assert isinstance(missing["given_by"], list)
    assert missing["given_by"]
    entries = await log_entries(running, before)
    assert entries[0].details["missing_consent"] == missing


async def test_break_glass_on_a_purpose_without_it_is_refused_and_logged(
    running: Running, http: Http
) -> None:
    before = await running.gw.storage.log_size()
    body = request_body(break_glass=BREAK_GLASS)
    answer = await send(http, "zorg-noord", body)
    await assert_refused_once(
        running, answer, 403, "break_glass_not_allowed", sender="zorg-noord", before_size=before
    )
    entries = await log_entries(running, before)
    assert entries[0].break_glass is True


def evaluation_feedback(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(example("evaluation-feedback"))
    payload.update(changes)
    return payload


async def test_wrong_code_value_is_a_schema_violation_at_its_payload_path(
    running: Running, http: Http
) -> None:
    payload = evaluation_feedback()
    payload["goals"][0]["result"] = "done"
    before = await running.gw.storage.log_size()
    answer = await send(http, "zorg-noord", request_body(payload=payload))
    error = await assert_refused_once(
        running, answer, 422, "schema_violation", sender="zorg-noord", before_size=before
    )
    assert [v["path"] for v in error["violations"]] == ["/payload/goals/0/result"]
    assert all(v["message"] for v in error["violations"])
    assert "done" not in answer.text


async def test_too_long_text_is_a_schema_violation_at_its_payload_path(
    running: Running, http: Http
) -> None:
    before = await running.gw.storage.log_size()
    payload = evaluation_feedback(advice="Lang verhaal over het gezin. " * 20)
    answer = await send(http, "zorg-noord", request_body(payload=payload))
    error = await assert_refused_once(
        running, answer, 422, "schema_violation", sender="zorg-noord", before_size=before
    )
    assert [v["path"] for v in error["violations"]] == ["/payload/advice"]
    assert "Lang verhaal" not in answer.text
    entries = await log_entries(running, before)
    assert entries[0].details["violation_paths"] == ["/payload/advice"]


async def test_extra_fields_top_level_and_nested_are_each_named_as_not_minimal(
    running: Running, http: Http
) -> None:
    payload = evaluation_feedback(child_name="Daan Visser")
    payload["goals"][1]["note"] = "Vader drinkt weer."
    before = await running.gw.storage.log_size()
    answer = await send(http, "zorg-noord", request_body(payload=payload))
    error = await assert_refused_once(
        running, answer, 422, "payload_not_minimal", sender="zorg-noord", before_size=before
    )
    paths = sorted(v["path"] for v in error["violations"])
    assert paths == ["/payload/child_name", "/payload/goals/1/note"]
    assert "Daan Visser" not in answer.text
    assert "Vader drinkt" not in answer.text


async def test_body_over_one_mebibyte_is_payload_too_large_and_changes_nothing(
    running: Running, http: Http
) -> None:
    token = await http.token("zorg-noord")
    before = await gateway_state(running)
    payload = evaluation_feedback(advice="x" * (1024 * 1024 + 1))
    answer = await http.call(
        "POST",
        "/v1/exchanges",
        token=token,
        data=json.dumps(request_body(payload=payload)).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert_contract_error(answer, 413, "payload_too_large")
    assert await gateway_state(running) == before


async def test_unknown_path_is_not_found_in_the_contract_shape(http: Http) -> None:
    token = await http.token("zorg-noord")
    assert_contract_error(await http.call("GET", "/v1/nowhere", token=token), 404, "not_found")
    assert_contract_error(await http.call("GET", "/v1/nowhere"), 404, "not_found")


async def test_ack_of_an_unknown_message_is_not_found(running: Running, http: Http) -> None:
    token = await http.token("swt-denhelder")
    before = await gateway_state(running)
    answer = await http.call("POST", "/v1/inbox/msg_doesnotexist0000/ack", token=token)
    assert_contract_error(answer, 404, "not_found")
    assert await gateway_state(running) == before


# -- the "may I share?" check ----------------------------------------------------------------


def adult_consent(to: str = "school-de-es") -> dict[str, Any]:
    return {
        "subject": {"bsn": BSN_CHILD, "birth_date": "1990-01-01"},
        "given_by": [{"role": "subject"}],
        "purposes": ["information-request"],
        "to": [to],
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }


async def test_check_allows_with_the_consent_it_would_use_and_the_fields_allowed(
    running: Running, http: Http
) -> None:
    token = await http.token("swt-denhelder")
    recorded = await http.call("POST", "/v1/consents", token=token, json_body=adult_consent())
    assert recorded.status == 201, recorded.text
    body = request_body(purpose="information-request", to="school-de-es")
    del body["payload"]
    answer = await http.call("POST", "/v1/exchanges/check", token=token, json_body=body)
    assert answer.status == 200, answer.text
    check = answer.body
    assert check["allowed"] is True
    assert check["legal_basis"]["type"] == "consent"
    assert check["legal_basis"]["reference"]
    assert check["consent_id"] == recorded.body["consent_id"]
    purpose = running.gw.catalogue.get("information-request")
    assert purpose is not None
    assert sorted(check["allowed_fields"]) == sorted(allowed_fields(purpose.schema))
    assert "topics" in check["allowed_fields"]
    assert check["missing_consent"] is None


async def test_check_on_statute_allows_without_a_consent(http: Http) -> None:
    token = await http.token("zorg-noord")
    answer = await http.call("POST", "/v1/exchanges/check", token=token, json_body=request_body())
    assert answer.status == 200, answer.text
    assert answer.body["allowed"] is True
    assert answer.body["legal_basis"] == {
        "type": "statute",
        "reference": "Jeugdwet art. 7.4.0 lid 2",
    }
    assert answer.body["consent_id"] is None
    assert "goals[].result" in answer.body["allowed_fields"]


async def test_check_refusal_names_the_code_the_missing_consent_and_why(http: Http) -> None:
    token = await http.token("swt-denhelder")
    body = request_body(purpose="information-request", to="school-de-es")
    del body["payload"]
    answer = await http.call("POST", "/v1/exchanges/check", token=token, json_body=body)
    assert answer.status == 200, answer.text
    check = answer.body
    assert check["allowed"] is False
    assert check["code"] == "consent_required"
    assert check["missing_consent"]["purpose"] == "information-request"
    assert check["missing_consent"]["from"] == "swt-denhelder"
    assert check["missing_consent"]["to"] == "school-de-es"
    assert check["missing_consent"]["given_by"]
    assert isinstance(check["explanation"], str)
    assert check["explanation"]


async def test_check_changes_nothing_whether_allowed_or_refused(
    running: Running, http: Http
) -> None:
    provider = await http.token("zorg-noord")
    team = await http.token("swt-denhelder")
    before = await gateway_state(running)
    calls = [
        (provider, request_body()),
        (provider, request_body(to="school-de-es")),
        (provider, request_body(payload=evaluation_feedback(child_name="Daan Visser"))),
        (team, request_body(purpose="information-request", to="school-de-es", payload={})),
    ]
    for token, body in calls:
        answer = await http.call("POST", "/v1/exchanges/check", token=token, json_body=body)
        assert answer.status == 200, answer.text
    assert await gateway_state(running) == before


# -- the 201 answer ------------------------------------------------------------------------------


async def case_with(http: Http, member: str) -> str:
    """A case the team opens and registers `member` in; its id (the gateway chooses it)."""
    team = await http.token("swt-denhelder")
    opened = await http.call("POST", "/v1/cases", token=team, json_body={})
    assert opened.status == 201, opened.text
    case_id = str(opened.body["case_id"])
    joined = await http.call("PUT", f"/v1/cases/{case_id}/network/{member}", token=team)
    assert joined.status == 201, joined.text
    return case_id


async def test_disclosure_answer_names_each_recipient_and_its_log_entry(
    running: Running, http: Http
) -> None:
    case_id = await case_with(http, "zorg-noord")
    body = request_body(
        purpose="safety-assessment",
        to=["swt-denhelder", "gi-noordholland"],
        payload=example("safety-assessment"),
        case_id=case_id,
    )
    answer = await send(http, "zorg-noord", body)
    assert answer.status == 201, answer.text
    result = answer.body
    assert result["exchange_id"].startswith("ex_")
    assert result["purpose"] == "safety-assessment"
    # The answer names the first recipient's ground; each direction has its own (issue 19).
    assert result["legal_basis"] == {"type": "statute", "reference": "Jeugdwet art. 7.4.0 lid 2"}
    assert result["consent_id"] is None
    disclosures = result["disclosures"]
    assert sorted(d["recipient"] for d in disclosures) == ["gi-noordholland", "swt-denhelder"]
    assert len({d["disclosure_id"] for d in disclosures}) == 2
    rows = await running.gw.storage.log_rows(0, await running.gw.storage.log_size())
    for disclosure in disclosures:
        entry = rows[disclosure["log_index"]].entry
        assert rows[disclosure["log_index"]].index == disclosure["log_index"]
        assert entry.decision == "disclosed"
        assert entry.disclosure_id == disclosure["disclosure_id"]
        assert entry.legal_basis == {
            "type": "statute",
            "reference": {
                "swt-denhelder": "Jeugdwet art. 7.4.0 lid 2",
                "gi-noordholland": "Jeugdwet art. 7.3.11 lid 4",
            }[disclosure["recipient"]],
        }
        assert entry.exchange_id == result["exchange_id"]
        assert entry.recipient == disclosure["recipient"]
        assert entry.purpose == "safety-assessment"
        assert entry.case_id == case_id
        assert entry.subject == await linked_pseudonym(running, BSN_CHILD)
        assert "children[].outcome" in entry.fields
    for recipient in ("swt-denhelder", "gi-noordholland"):
        waiting = await running.gw.storage.inbox_page(recipient, after=0, limit=10)
        assert [m.exchange_id for m in waiting] == [result["exchange_id"]]


# -- replies answer only what was asked ----------------------------------------------------------


async def ask_school(http: Http, topics: list[str]) -> tuple[str, str]:
    """The team asks the school about these topics (with the person's consent both ways)."""
    team = await http.token("swt-denhelder")
    consent = adult_consent()
    consent.update(
        purposes=["information-request", "information-reply"],
        to=["school-de-es", "swt-denhelder"],
    )
    consent["from"] = ["swt-denhelder", "school-de-es"]
    # Consent for the school's reply is recorded by the team as the director of the case.
    opened = await http.call("POST", "/v1/cases", token=team, json_body={})
    assert opened.status == 201, opened.text
    case_id = opened.body["case_id"]
    joined = await http.call(
        "PUT",
        f"/v1/cases/{case_id}/network/school-de-es",
        token=team,
        json_body={"role": "referrer"},
    )
    assert joined.status == 201, joined.text
    # A consent recorded for the case covers the case's own household only.
    registered = await http.call(
        "PUT",
        f"/v1/cases/{case_id}/household",
        token=team,
        json_body={"children": [{"bsn": consent["subject"]["bsn"], "child_ref": "kind-1"}]},
    )
    assert registered.status == 200, registered.text
    consent["case_id"] = case_id
    recorded = await http.call("POST", "/v1/consents", token=team, json_body=consent)
    assert recorded.status == 201, recorded.text
    body = request_body(
        purpose="information-request", to="school-de-es", payload={"topics": topics}
    )
    asked = await http.call("POST", "/v1/exchanges", token=team, json_body=body)
    assert asked.status == 201, asked.text
    return str(asked.body["exchange_id"]), await http.token("school-de-es")


async def test_reply_answering_exactly_the_topics_asked_is_delivered(
    running: Running, http: Http
) -> None:
    request_id, school = await ask_school(http, ["attendance", "wellbeing"])
    payload = {
        "answers": [
            {"topic": "attendance", "answer": "no_concerns"},
            {"topic": "wellbeing", "answer": "some_concerns"},
        ]
    }
    body = request_body(purpose="information-reply", payload=payload, in_reply_to=request_id)
    answer = await http.call("POST", "/v1/exchanges", token=school, json_body=body)
    assert answer.status == 201, answer.text


async def test_reply_answering_a_topic_not_asked_names_only_that_answer_as_not_minimal(
    running: Running, http: Http
) -> None:
    request_id, school = await ask_school(http, ["attendance"])
    payload = {
        "answers": [
            {"topic": "attendance", "answer": "no_concerns"},
            {"topic": "wellbeing", "answer": "some_concerns"},
        ]
    }
    body = request_body(purpose="information-reply", payload=payload, in_reply_to=request_id)
    answer = await http.call("POST", "/v1/exchanges", token=school, json_body=body)
    error = assert_contract_error(answer, 422, "payload_not_minimal")
    assert [v["path"] for v in error["violations"]] == ["/payload/answers/1"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Not JSON (RFC 8259 has no NaN or Infinity), whichever parser reads it.
        ('{"purpose": NaN}', "invalid_request"),
        ('{"purpose": Infinity}', "invalid_request"),
        ('{"purpose": "x"', "invalid_request"),
        (b'{"purpose": "\xff"}', "invalid_request"),
        # Valid JSON the fast parser cannot hold (an integer beyond 64 bits): read, then refused
        # for what it says, not as broken JSON.
        ('{"purpose": 123456789012345678901234567890}', "invalid_request"),
    ],
)
async def test_bodies_that_are_not_json_or_strange_json_get_a_clear_400(
    http: Http, text: str | bytes, code: str
) -> None:
    token = await http.token("zorg-noord")
    before = await gateway_state(http.running)
    answer = await http.call(
        "POST",
        "/v1/exchanges",
        token=token,
        data=text.encode() if isinstance(text, str) else text,
        headers={"Content-Type": "application/json"},
    )
    assert_contract_error(answer, 400, code)
    big = "123456789012345678901234567890" in str(text)
    assert ("not valid JSON" in answer.body["error"]["message"]) is not big
    assert await gateway_state(http.running) == before
