"""Urgent messages (issue 19): an acute report to Veilig Thuis cannot wait in an inbox unnoticed.

Over real HTTP on SQLite and PostgreSQL, with the clock injected and webhooks received by a small
working receiver on loopback:

- the acute report is marked urgent in Veilig Thuis's inbox and comes first (on top of the first
  page, first in a leased pull), with the moment it must be acknowledged by;
- Veilig Thuis's webhook is poked at once with the urgent flag (no personal data);
- acknowledged in time, its receipt closes and nothing is escalated;
- not acknowledged in time, the gateway escalates: an `urgent_escalated` log entry (found by the
  privacy officer), the sender sees the receipt overdue and is poked, and Veilig Thuis is poked
  again every five minutes until it acknowledges.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.clock import FixedClock
from gateway.config import ConfigError, load_catalogue
from gateway.delivery.notify import RENOTIFY_S, dispatch_once, notification_signer
from gateway.log.entry import format_time
from gateway.runtime import build_gateway
from gateway.web import create_app
from gateway.web.metrics import METRICS, metrics_app
from tests.conftest import BSN_CHILD, BSN_OTHER, REPO, Running, copy_config, example
from tests.helpers import ClockedClients, break_glass, log_entries

VT = "veiligthuis-nhn"
SCHOOL = "school-de-es"


class Receiver:
    """Partners' webhook endpoints on one server: records each poke under the partner's path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any], bytes]] = []
        self.app = web.Application()
        self.app.router.add_post("/hook/{partner}", self.hook)

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((request.match_info["partner"], json.loads(body), body))
        return web.Response(status=204)

    def events(self, partner: str) -> list[dict[str, Any]]:
        return [body for who, body, _ in self.received if who == partner]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    server = TestServer(rec.app, host="127.0.0.1")
    await server.start_server()
    yield rec, str(server.make_url("/hook")).rstrip("/")
    await server.close()


@pytest.fixture
async def hooked(
    tmp_path: Path, clock: FixedClock, storage_url: str | None, receiver: tuple[Receiver, str]
) -> AsyncIterator[Running]:
    """A gateway where Veilig Thuis and the school have webhooks at the receiver."""
    config = copy_config(tmp_path / "config")
    partners = (config / "partners.toml").read_text()
    for partner in (VT, SCHOOL):
        line = f'jwks = "keys/{partner}.jwks.json"'
        partners = partners.replace(line, f'{line}\nwebhook = "{receiver[1]}/{partner}"')
    (config / "partners.toml").write_text(partners)
    gw = build_gateway(config, tmp_path / "data", storage_url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    yield Running(gw, server, clock)
    await server.close()


@pytest.fixture
async def made(hooked: Running) -> AsyncIterator[ClockedClients]:
    clients = ClockedClients(hooked)
    yield clients
    await clients.close()


def report(*, acute: bool) -> dict[str, Any]:
    return {**example("safety-report-vt"), "acute_danger": acute}


async def dispatch(running: Running) -> int:
    async with aiohttp.ClientSession() as session:
        return await dispatch_once(running.gw, session, notification_signer(running.gw.data))


async def send_reports(made: ClockedClients) -> str:
    """Two quiet reports about another child, then one acute: returns the acute exchange id."""
    school = made(SCHOOL, "intern_begeleider")
    for _ in range(2):
        await school.send("safety-report-vt", VT, BSN_OTHER, report(acute=False))
    acute = await school.send("safety-report-vt", VT, BSN_CHILD, report(acute=True))
    return str(acute["exchange_id"])


async def test_an_acute_report_is_marked_urgent_and_comes_first_in_the_inbox(
    hooked: Running, made: ClockedClients
) -> None:
    sent_at = hooked.clock.now()
    acute = await send_reports(made)
    vt = made(VT, "triagist")
    page = await vt.request("GET", "/v1/inbox")
    (on_top,) = page["urgent"]
    assert on_top["exchange_id"] == acute
    assert on_top["acknowledge_by"] == format_time(sent_at + timedelta(minutes=60))
    flags = [(m["exchange_id"] == acute, m["urgent"]) for m in page["messages"]]
    assert flags == [(False, False), (False, False), (True, True)], "in its place as well"
    # Sealed to Veilig Thuis's key like the others; the partner client opens both lists.
    assert "payload" not in on_top
    opened = await vt.inbox()
    assert opened["urgent"][0]["payload"]["acute_danger"] is True
    leased = await vt.request("GET", "/v1/inbox", params={"lease": "60", "limit": "2"})
    first, second = leased["messages"]
    assert (first["exchange_id"], first["urgent"]) == (acute, True)
    assert second["urgent"] is False, "then the oldest of the rest"


async def test_the_sender_is_told_by_when_the_acute_report_must_be_acknowledged(
    hooked: Running, made: ClockedClients
) -> None:
    sent_at = hooked.clock.now()
    school = made(SCHOOL, "intern_begeleider")
    answer = await school.send("safety-report-vt", VT, BSN_CHILD, report(acute=True))
    receipts = [e for e in answer["expectations_opened"] if e["purpose"] == "acknowledgement"]
    assert [(e["owed_by"], e["due_at"]) for e in receipts] == [
        (VT, format_time(sent_at + timedelta(minutes=60)))
    ]


async def test_an_acute_report_pokes_veilig_thuis_at_once_with_the_urgent_flag(
    hooked: Running, made: ClockedClients, receiver: tuple[Receiver, str]
) -> None:
    rec, _ = receiver
    await send_reports(made)
    await dispatch(hooked)
    (urgent,) = [e for e in rec.events(VT) if e["event"] == "urgent_message"]
    assert (urgent["urgent"], urgent["count"], urgent["overdue"]) == (True, 1, 0)
    assert [e["event"] for e in rec.events(VT)].count("new_messages") == 1
    raw = b"".join(body for _, _, body in rec.received)
    assert BSN_CHILD.encode() not in raw
    assert b"blauwe plek" not in raw


async def test_a_report_without_acute_danger_is_not_urgent(
    hooked: Running, made: ClockedClients, receiver: tuple[Receiver, str]
) -> None:
    rec, _ = receiver
    school = made(SCHOOL, "intern_begeleider")
    answer = await school.send("safety-report-vt", VT, BSN_CHILD, report(acute=False))
    assert [e["purpose"] for e in answer["expectations_opened"]] == ["vt-feedback"]
    await dispatch(hooked)
    assert [e["event"] for e in rec.events(VT)] == ["new_messages"]
    page = await made(VT, "triagist").request("GET", "/v1/inbox")
    assert page["urgent"] == []
    assert [m["urgent"] for m in page["messages"]] == [False]


async def test_an_urgent_report_acknowledged_in_time_is_never_escalated(
    hooked: Running, made: ClockedClients, receiver: tuple[Receiver, str]
) -> None:
    rec, _ = receiver
    acute = await send_reports(made)
    await dispatch(hooked)
    vt = made(VT, "triagist")
    (message,) = (await vt.request("GET", "/v1/inbox"))["urgent"]
    hooked.clock.moment += timedelta(minutes=59)
    await vt.ack(message["id"])
    hooked.clock.moment += timedelta(hours=2)
    before = len(rec.received)
    await dispatch(hooked)
    assert rec.received[before:] == [], "nothing is overdue, nobody is poked"
    decisions = [e.decision for e in await log_entries(hooked) if e.exchange_id == acute]
    assert "urgent_escalated" not in decisions
    assert decisions == ["disclosed", "delivered"]
    school = made(SCHOOL, "intern_begeleider")
    owed = (await school.request("GET", "/v1/expectations", params={"status": "all"}))[
        "expectations"
    ]
    receipt = [e for e in owed if e["purpose"] == "acknowledgement"]
    assert [(e["status"], e["closed_by"]) for e in receipt] == [("closed", message["id"])]
    assert (await vt.request("GET", "/v1/inbox"))["urgent"] == []


async def test_an_urgent_report_not_acknowledged_in_time_is_escalated_until_it_is_seen(
    hooked: Running, made: ClockedClients, receiver: tuple[Receiver, str]
) -> None:
    rec, _ = receiver
    acute = await send_reports(made)
    await dispatch(hooked)
    hooked.clock.moment += timedelta(minutes=61)
    before = len(rec.received)
    await dispatch(hooked)
    late = rec.received[before:]
    # Veilig Thuis is poked again, marked overdue; the sender hears its report went unseen.
    vt_events = [body for who, body, _ in late if who == VT]
    assert {"event": "urgent_message", "count": 1, "overdue": 1}.items() <= next(
        e for e in vt_events if e["event"] == "urgent_message"
    ).items()
    assert [body["event"] for who, body, _ in late if who == SCHOOL] == ["expectation_overdue"]
    # Logged once, naming who sent it and who did not acknowledge it, no BSN.
    (escalated,) = [e for e in await log_entries(hooked) if e.decision == "urgent_escalated"]
    assert (escalated.exchange_id, escalated.purpose) == (acute, "safety-report-vt")
    assert (escalated.sender and escalated.sender.partner, escalated.recipient) == (SCHOOL, VT)
    assert BSN_CHILD not in json.dumps(escalated.to_json())
    # The sender sees the receipt overdue; the privacy officer finds the escalation.
    school = made(SCHOOL, "intern_begeleider")
    owed = (await school.request("GET", "/v1/expectations"))["expectations"]
    assert [e["status"] for e in owed if e["purpose"] == "acknowledgement"] == ["overdue"]
    officer = made("fg-denhelder", "privacy_officer")
    found = await officer.request(
        "GET", "/v1/audit/entries", params={"decision": "urgent_escalated"}
    )
    assert [e["exchange_id"] for e in found["entries"]] == [acute]
    # Announced again every five minutes while it stays unseen, and logged only once.
    hooked.clock.moment += timedelta(seconds=RENOTIFY_S + 1)
    before = len(rec.received)
    await dispatch(hooked)
    again = [body for who, body, _ in rec.received[before:] if who == VT]
    assert [(e["event"], e["overdue"]) for e in again] == [("urgent_message", 1)]
    # Once acknowledged, the next announcement says so and the repetition stops.
    vt = made(VT, "triagist")
    (message,) = (await vt.request("GET", "/v1/inbox"))["urgent"]
    await vt.ack(message["id"])
    hooked.clock.moment += timedelta(seconds=RENOTIFY_S + 1)
    before = len(rec.received)
    await dispatch(hooked)
    last = [body for who, body, _ in rec.received[before:] if who == VT]
    assert [(e["event"], e["count"], e["overdue"]) for e in last] == [("urgent_message", 0, 0)]
    hooked.clock.moment += timedelta(seconds=RENOTIFY_S + 1)
    before = len(rec.received)
    await dispatch(hooked)
    assert rec.received[before:] == []
    escalations = [e for e in await log_entries(hooked) if e.decision == "urgent_escalated"]
    assert len(escalations) == 1


async def test_a_new_urgent_report_is_announced_at_once_even_while_an_older_one_is_re_announced(
    hooked: Running, made: ClockedClients, receiver: tuple[Receiver, str]
) -> None:
    rec, _ = receiver
    school = made(SCHOOL, "intern_begeleider")
    await school.send("safety-report-vt", VT, BSN_CHILD, report(acute=True))
    await dispatch(hooked)
    hooked.clock.moment += timedelta(minutes=61)
    await dispatch(hooked)  # escalated: the next re-announcement is five minutes away
    hooked.clock.moment += timedelta(seconds=10)
    before = len(rec.received)
    await school.send("safety-report-vt", VT, BSN_OTHER, report(acute=True))
    await dispatch(hooked)
    urgent = [
        b for who, b, _ in rec.received[before:] if who == VT and b["event"] == "urgent_message"
    ]
    assert [(e["count"], e["overdue"]) for e in urgent] == [(2, 1)]


# -- the catalogue's `urgent` rule is checked at start-up ------------------------------------------

SHIPPED_RULE = 'urgent = { when = "acute_danger", acknowledge_within_minutes = 60,'


def catalogue_with(tmp_path: Path, old: str, new: str) -> Path:
    config = copy_config(tmp_path / "config")
    text = (config / "purposes.toml").read_text()
    assert old in text, old
    (config / "purposes.toml").write_text(text.replace(old, new, 1))
    return config


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        (
            SHIPPED_RULE,
            'urgent = { when = "description", acknowledge_within_minutes = 60,',
            "no boolean field",
        ),
        (
            SHIPPED_RULE,
            'urgent = { when = "acute_danger", acknowledge_within_minutes = 1441,',
            "at most 1440",
        ),
        (
            'source = "local_agreement", reference = "Example term: an acute',
            'source = "habit", reference = "Example term: an acute',
            "'source'",
        ),
        ('id = "leerplicht-signal"', 'id = "acknowledgement"', "reserved"),
    ],
)
def test_a_catalogue_with_a_wrong_urgent_rule_does_not_start(
    tmp_path: Path, old: str, new: str, named: str
) -> None:
    config = catalogue_with(tmp_path, old, new)
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    assert named in str(raised.value)


# The family's agreement that the school reports its concerns to the social team (issue 19).
AGREEMENT = {
    "subject": {"bsn": BSN_OTHER, "birth_date": "2016-03-01"},
    "given_by": [{"role": "custodian", "name": "M. de Vries"}],
    "purposes": ["safety-report"],
    "from": [SCHOOL],
    "to": ["swt-denhelder"],
    "evidence": {"method": "written", "reference": "gesprek-school-2026"},
}


async def test_acute_danger_in_a_safety_report_to_the_social_team_is_no_longer_ignored(
    hooked: Running, made: ClockedClients
) -> None:
    school = made(SCHOOL, "intern_begeleider")
    acute = {**example("safety-report"), "acute_danger": True}
    # Issue 19: a safety report to the team needs the family's agreement (here, for the first
    # child), or break-glass where there is acute danger and the family cannot be asked.
    await school.request("POST", "/v1/consents", json_body=AGREEMENT)
    await school.send("safety-report", "swt-denhelder", BSN_OTHER, example("safety-report"))
    sent = await school.send(
        "safety-report",
        "swt-denhelder",
        BSN_CHILD,
        acute,
        break_glass=break_glass(
            "Kind vertelt op school dat vader vannacht heeft geslagen.",
            "De veiligheid van het kind vandaag.",
            "Vragen aan de ouders brengt het kind nu in gevaar.",
        ),
    )
    receipts = [e for e in sent["expectations_opened"] if e["purpose"] == "acknowledgement"]
    assert [e["owed_by"] for e in receipts] == ["swt-denhelder"]
    page = await made("swt-denhelder", "procesregisseur").request("GET", "/v1/inbox")
    assert [m["exchange_id"] for m in page["urgent"]] == [sent["exchange_id"]]
    assert [m["urgent"] for m in page["messages"]] == [False, True]


async def test_urgent_messages_are_counted_per_sender_and_purpose_without_personal_data(
    hooked: Running, made: ClockedClients
) -> None:
    """A sender that flags everything urgent shows in the metrics (review finding 8)."""
    assert hooked.server.app is not None
    server = TestServer(metrics_app(hooked.server.app[METRICS]), host="127.0.0.1")
    await server.start_server()
    try:
        acute = await send_reports(made)  # two quiet reports, one acute
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.make_url("/metrics")) as response,
        ):
            text = await response.text()
    finally:
        await server.close()
    counted = f'gateway_urgent_messages_total{{purpose="safety-report-vt",sender="{SCHOOL}"}} 1.0'
    assert counted in text
    assert BSN_CHILD not in text
    assert acute not in text
