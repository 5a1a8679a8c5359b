"""Caller-chosen free text in trace headers never enters the disclosure log as it came.

Attacks: a partner smuggles a BSN (or a name) into the disclosure log, or past the purpose's
schema to a recipient, through `Fsc-Transaction-Id`, `traceparent`, `tracestate` or
`X-Request-Id`. Each is refused or dropped, and the log entries (read from storage, on both
back ends) hold no such text.

What the grammar allows stays allowed: a trace id or a UUID v7 is 128 bits a caller chooses,
and no check on its form can tell random bits from encoded ones. What is kept is hexadecimal in
a fixed layout, never the caller's words.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import BSN_CHILD, Running, example
from tests.helpers import Answer, Http, assert_contract_error, gateway_state, log_entries, relate
from tests.test_standards_api import _open_sealed

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
UUID7 = "0189f7e5-c883-7106-8272-ccb7fcba0575"


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        http = Http(running, session)
        # The provider's relation to the child its reports are about (issue 19).
        await relate(http, "zorg-noord", BSN_CHILD)
        yield http


def exchange() -> dict[str, Any]:
    return {
        "purpose": "evaluation-feedback",
        "to": "swt-denhelder",
        "subject": {"bsn": BSN_CHILD},
        "payload": example("evaluation-feedback"),
    }


async def send(http: Http, headers: dict[str, str], path: str = "/v1/exchanges") -> Answer:
    token = await http.token("zorg-noord")
    return await http.call("POST", path, token=token, headers=headers, json_body=exchange())


async def logged_text(running: Running) -> str:
    """Every log entry as the officer API would show it, as one text to search."""
    return "\n".join(json.dumps(e.to_json()) for e in await log_entries(running))


async def delivered(http: Http, exchange_id: str) -> dict[str, Any]:
    """The recipient's message of an exchange, opened."""
    inbox = await http.call("GET", "/v1/inbox", token=await http.token("swt-denhelder"))
    (message,) = [m for m in inbox.body["messages"] if m["exchange_id"] == exchange_id]
    return message if "sealed" not in message else _open_sealed(message)


NOT_UUID7 = {
    "a_bsn": BSN_CHILD,
    "a_name_and_birth_date": "Jan Jansen 2015-03-04",
    "free_text_around_a_uuid7": f"{UUID7} kind van Jansen",
    "a_uuid4": "9b2d5c39-6f1e-4c8a-9f6b-2a1d3e4f5a6b",
    "a_uuid7_without_hyphens": UUID7.replace("-", ""),
    "a_uuid7_in_braces": "{" + UUID7 + "}",
}


@pytest.mark.parametrize("value", NOT_UUID7.values(), ids=NOT_UUID7.keys())
@pytest.mark.parametrize("path", ["/v1/exchanges", "/v1/exchanges/check"])
async def test_a_partner_smuggling_text_in_fsc_transaction_id_is_refused_and_nothing_changes(
    http: Http, running: Running, value: str, path: str
) -> None:
    before = await gateway_state(running)
    answer = await send(http, {"traceparent": TRACEPARENT, "Fsc-Transaction-Id": value}, path)
    error = assert_contract_error(answer, 400, "invalid_request")
    assert "Fsc-Transaction-Id" in error["message"]
    assert value not in answer.text, "the refusal does not echo the caller's text"
    assert await gateway_state(running) == before
    assert value not in await logged_text(running)


async def test_a_uuid7_transaction_id_is_kept_in_the_log_in_its_canonical_form(
    http: Http, running: Running
) -> None:
    answer = await send(http, {"Fsc-Transaction-Id": UUID7.upper()})
    assert answer.status == 201, answer.text
    (entry,) = [e for e in await log_entries(running) if e.decision == "disclosed"]
    assert entry.trace is not None
    assert entry.trace["fsc_transaction_id"] == UUID7


async def test_a_bsn_smuggled_in_tracestate_reaches_neither_the_log_nor_the_recipient(
    http: Http, running: Running
) -> None:
    smuggled = f"congo=t61rcWkgMzE,school@jansen=bsn{BSN_CHILD}"
    answer = await send(http, {"traceparent": TRACEPARENT, "tracestate": smuggled})
    assert answer.status == 201, answer.text
    # The vendor's member passes on; the member carrying the number is dropped.
    assert answer.headers["tracestate"] == "congo=t61rcWkgMzE"
    message = await delivered(http, answer.body["exchange_id"])
    assert message["tracestate"] == "congo=t61rcWkgMzE"
    assert BSN_CHILD not in json.dumps({k: v for k, v in message.items() if k != "subject"})
    assert f"bsn{BSN_CHILD}" not in await logged_text(running)


TRACESTATES_AGAINST_THE_SPEC = {
    "upper_case_key": "Congo=t61rcWkgMzE",
    "value_with_a_comma_inside_a_member": "congo=a=b",
    "duplicate_key": "congo=a,congo=b",
    "thirty_three_members": ",".join(f"k{n}=v" for n in range(33)),
    "over_512_characters": "congo=" + "a" * 250 + ",rojo=" + "b" * 256,
    "a_member_without_a_value": "congo",
    "non_ascii": "congo=Jänsen",
}


@pytest.mark.parametrize(
    "tracestate", TRACESTATES_AGAINST_THE_SPEC.values(), ids=TRACESTATES_AGAINST_THE_SPEC.keys()
)
async def test_a_tracestate_against_the_w3c_grammar_is_dropped_whole(
    http: Http, running: Running, tracestate: str
) -> None:
    answer = await send(http, {"traceparent": TRACEPARENT, "tracestate": tracestate})
    assert answer.status == 201, answer.text
    assert "tracestate" not in answer.headers
    assert "tracestate" not in await delivered(http, answer.body["exchange_id"])


TRACEPARENTS_AGAINST_THE_SPEC = {
    "a_bsn_for_the_trace_id": f"00-{BSN_CHILD}-00f067aa0ba902b7-01",
    "upper_case_hex": TRACEPARENT.upper(),
    "free_text": "00-jan-jansen-01",
    "version_00_with_more_fields": f"{TRACEPARENT}-{BSN_CHILD}",
}


@pytest.mark.parametrize(
    "traceparent", TRACEPARENTS_AGAINST_THE_SPEC.values(), ids=TRACEPARENTS_AGAINST_THE_SPEC.keys()
)
async def test_an_invalid_traceparent_is_ignored_and_a_new_trace_started_never_logged_as_it_came(
    http: Http, running: Running, traceparent: str
) -> None:
    answer = await send(http, {"traceparent": traceparent})
    assert answer.status == 201, answer.text
    (entry,) = [e for e in await log_entries(running) if e.decision == "disclosed"]
    assert entry.trace is not None
    assert "parent_span_id" not in entry.trace, "no caller's span was taken from it"
    logged = await logged_text(running)
    for part in traceparent.split("-"):
        if len(part) > 2:
            assert part not in logged
            assert part.lower() not in logged


async def test_an_x_request_id_with_odd_text_is_replaced_not_echoed(http: Http) -> None:
    answer = await http.call("GET", "/healthz", headers={"X-Request-Id": f"kind {BSN_CHILD} !"})
    assert answer.status == 200
    assert BSN_CHILD not in answer.headers["X-Request-Id"]
    plain = await http.call("GET", "/healthz", headers={"X-Request-Id": "req-42.a:b"})
    assert plain.headers["X-Request-Id"] == "req-42.a:b"


SMUGGLED_IDS = {
    "purpose": {"purpose": BSN_CHILD},
    "purpose_as_a_name": {"purpose": "Jan Jansen 2015-03-04"},
    "recipient": {"to": BSN_CHILD},
    "recipient_list": {"to": [BSN_CHILD]},
    "recipient_with_a_newline": {"to": "swt-denhelder\n"},
    "case_id_with_a_newline": {"case_id": "case-1\n"},
}


@pytest.mark.parametrize("change", SMUGGLED_IDS.values(), ids=SMUGGLED_IDS.keys())
async def test_a_partner_naming_a_bsn_as_purpose_or_recipient_is_refused_and_the_log_holds_no_such_text(
    http: Http, running: Running, change: dict[str, Any]
) -> None:
    token = await http.token("zorg-noord")
    answer = await http.call(
        "POST", "/v1/exchanges", token=token, json_body={**exchange(), **change}
    )
    assert 400 <= answer.status < 500, answer.text
    logged = await logged_text(running)
    for value in change.values():
        for text in value if isinstance(value, list) else [value]:
            assert json.dumps(text) not in logged, "the caller's text is in a log entry"
    # The refusal may be logged (an unknown purpose or recipient is), without those words.
    for entry in await log_entries(running):
        assert entry.recipient in (None, *(p.id for p in running.gw.partners))
        assert entry.purpose in (None, *(p.id for p in running.gw.catalogue))
