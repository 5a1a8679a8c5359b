"""The durable outbox: LDV records to a logbook, verwerkingsacties to partners' own logs.

Real parts throughout: the gateway on loopback on SQLite and on PostgreSQL, and small working
receivers on loopback that check what they get against the standards' published schemas. The
receivers go down and come back; the outbox delivers everything once they are back, nothing
twice, and the exchanges are answered all the while.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gateway.clock import FixedClock, SystemClock
from gateway.config import ConfigError, load_partners, load_settings
from gateway.delivery.outbox import LDV_DESTINATION, OutboxDispatcher, vng_destination
from gateway.standards.export import ldv_for_rows
from gateway.store.base import OutboxItem
from gateway.web.metrics import Metrics
from tests.conftest import (
    BSN_CHILD,
    ONDERWIJSNUMMER_CHILD,
    ONDERWIJSNUMMER_SYSTEM,
    Running,
    copy_config,
    example,
)
from tests.helpers import Http, relate, seed_referral
from tests.outbox_helpers import OtlpReceiver, VngReceiver, outbox_config, serve

Start = Callable[..., Awaitable[Running]]
PUPIL = {"identifier": {"system": ONDERWIJSNUMMER_SYSTEM, "value": ONDERWIJSNUMMER_CHILD}}


@pytest.fixture
async def start(tmp_path: Path, clock: FixedClock, storage_url: str | None) -> AsyncIterator[Start]:
    """Start a gateway on an outbox config (the background tasks off: tests drive delivery)."""
    async with contextlib.AsyncExitStack() as stack:

        async def start_gateway(**config: Any) -> Running:
            path = outbox_config(tmp_path / "config", **config)
            return await stack.enter_async_context(
                serve(path, tmp_path / "data", storage_url, clock)
            )

        yield start_gateway


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def logbook() -> AsyncIterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    await receiver.stop()


async def send_feedback(running: Running, n: int) -> list[dict[str, Any]]:
    # The provider's relation to the child (issue 19), without entries the logbook would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    client = running.client("zorg-noord")
    try:
        return [
            await client.send(
                "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
            )
            for _ in range(n)
        ]
    finally:
        await client.close()


async def expected_span_ids(running: Running) -> list[str]:
    """The LDV records of every entry in the log, as the export would give them."""
    gw = running.gw
    rows = await gw.storage.log_rows(0, await gw.storage.log_size())
    return [r.span_id for r in ldv_for_rows(rows, gw.catalogue, gw.partners, gw.settings.id)]


async def test_every_entry_reaches_the_logbook_once_after_it_was_down_for_a_while(
    start: Start, session: aiohttp.ClientSession, logbook: OtlpReceiver
) -> None:
    running = await start(logbook=logbook.url)
    dispatcher = OutboxDispatcher(running.gw, session, Metrics())
    # The logbook is down: exchanges are answered and their entries wait in the outbox.
    answers = await send_feedback(running, 3)
    assert all(a["disclosures"] for a in answers)
    assert await dispatcher.run_once() == 0
    assert (await running.gw.storage.outbox_backlog())[LDV_DESTINATION] > 0
    # Back up, but the retry is not due yet: nothing is sent before its time.
    await logbook.start()
    assert await dispatcher.run_once() == 0
    assert logbook.spans == []
    # More exchanges while the retry waits, then the retry comes due.
    await send_feedback(running, 2)
    running.clock.moment += timedelta(seconds=2)
    while await dispatcher.run_once():
        pass
    expected = await expected_span_ids(running)
    assert len(expected) == 5
    assert logbook.rejected == []
    assert sorted(logbook.span_ids()) == sorted(expected)  # every record, each once
    assert (await running.gw.storage.outbox_backlog())[LDV_DESTINATION] == 0
    assert logbook.content_types == {"application/x-protobuf"}
    # A later round sends nothing again.
    running.clock.moment += timedelta(seconds=60)
    assert await dispatcher.run_once() == 0
    assert len(logbook.spans) == 5


async def test_the_logbook_may_take_otlp_json(
    start: Start, session: aiohttp.ClientSession, logbook: OtlpReceiver
) -> None:
    await logbook.start()
    running = await start(logbook=logbook.url, encoding="json")
    await send_feedback(running, 2)
    assert await OutboxDispatcher(running.gw, session, Metrics()).run_once() == 2
    assert logbook.rejected == []
    assert logbook.content_types == {"application/json"}
    assert sorted(logbook.span_ids()) == sorted(await expected_span_ids(running))


async def test_a_traceparent_sent_with_an_exchange_is_in_the_logbooks_records(
    start: Start, session: aiohttp.ClientSession, logbook: OtlpReceiver
) -> None:
    await logbook.start()
    running = await start(logbook=logbook.url)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    http = Http(running, session)
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    answer = await http.call(
        "POST",
        "/v1/exchanges",
        token=await http.token("zorg-noord"),
        headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        json_body={
            "purpose": "evaluation-feedback",
            "to": "swt-denhelder",
            "subject": {"bsn": BSN_CHILD},
            "payload": example("evaluation-feedback"),
        },
    )
    assert answer.status == 201, answer.text
    assert answer.body["trace"]["trace_id"] == trace_id
    await OutboxDispatcher(running.gw, session, Metrics()).run_once()
    (span,) = logbook.spans
    assert span.trace_id.hex() == trace_id
    attributes = {a.key: a.value.string_value for a in span.attributes}
    assert attributes["dpl.core.foreign_operation.span_id"] == "00f067aa0ba902b7"


async def test_two_dispatchers_at_once_deliver_each_record_once(
    start: Start, session: aiohttp.ClientSession, logbook: OtlpReceiver
) -> None:
    await logbook.start()
    running = await start(logbook=logbook.url, outbox="batch = 2\n")
    await send_feedback(running, 7)
    first = OutboxDispatcher(running.gw, session, Metrics())
    second = OutboxDispatcher(running.gw, session, Metrics())
    for _ in range(20):
        await asyncio.gather(first.run_once(), second.run_once())
    assert sorted(logbook.span_ids()) == sorted(await expected_span_ids(running))
    assert len(logbook.spans) == 7


async def test_verwerkingsacties_reach_each_partners_log_and_the_sealed_bsn_goes_once_accepted(
    start: Start, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VWL_SECRET_SWT", "gedeeld-geheim-van-het-wijkteam-0123456789")
    team_log = VngReceiver(secret="gedeeld-geheim-van-het-wijkteam-0123456789")
    provider_log = VngReceiver()
    await team_log.start()  # the provider's log is down at first
    try:
        running = await start(
            vng={"swt-denhelder": team_log.url, "zorg-noord": provider_log.url},
            vng_auth={"swt-denhelder": ("gateway-den-helder", "VWL_SECRET_SWT")},
        )
        (answer,) = await send_feedback(running, 1)
        storage = running.gw.storage
        dispatcher = OutboxDispatcher(running.gw, session, Metrics())
        await dispatcher.run_once()
        assert team_log.rejected == []
        (action,) = team_log.actions
        assert await storage.outbox_backlog() == {vng_destination("zorg-noord"): 1}
        # The waiting row holds the BSN sealed, never in clear.
        running.clock.moment += timedelta(seconds=5)
        (row,) = await storage.claim_outbox(
            vng_destination("zorg-noord"), running.clock.now(), lease_s=1, limit=10
        )
        assert BSN_CHILD.encode() not in row.sealed
        assert row.attempts == 1
        await provider_log.start()
        running.clock.moment += timedelta(seconds=2)
        await dispatcher.run_once()
        assert provider_log.rejected == []
        (provider_action,) = provider_log.actions
        assert await storage.outbox_backlog() == {}
        # What each log got: the partner's own record of the processing, by BSN.
        for got in (action, provider_action):
            (processed,) = got["verwerkteObjecten"]
            assert (processed["soortObjectId"], processed["objectId"]) == ("BSN", BSN_CHILD)
            assert got["vertrouwelijkheid"] == "vertrouwelijk"
            assert got["tijdstip"].startswith(running.clock.now().strftime("%Y-%m-%d"))
        assert action["verwerkingId"] == provider_action["verwerkingId"]
        assert action["afnemerId"] == "00000001234567890000"  # the team's OIN
        assert answer["disclosures"][0]["recipient"] == "swt-denhelder"
    finally:
        await team_log.stop()
        await provider_log.stop()


async def test_exchanges_are_answered_while_the_outside_logs_hang_and_it_all_arrives_later(
    tmp_path: Path, storage_url: str | None, logbook: OtlpReceiver
) -> None:
    """The real background dispatcher, on the wall clock: a logbook and a partner's log that
    accept connections but never answer hold up no exchange; once they answer, every record
    and every action arrives, once."""
    team_log = VngReceiver()
    logbook.hang = team_log.hang = True
    await logbook.start()
    await team_log.start()
    config = outbox_config(
        tmp_path / "config",
        logbook=logbook.url,
        vng={"swt-denhelder": team_log.url},
        outbox="interval_s = 0.1\nretry_initial_s = 0.2\nretry_max_s = 0.5\nlease_s = 5\n",
    )
    try:
        async with serve(
            config, tmp_path / "data", storage_url, _WallClock(), background=True
        ) as running:
            answers = await asyncio.wait_for(send_feedback(running, 4), timeout=30)
            assert len(answers) == 4
            logbook.hang = team_log.hang = False
            for _ in range(300):
                if len(logbook.spans) >= 4 and len(team_log.actions) >= 4:
                    break
                await asyncio.sleep(0.1)
            assert sorted(logbook.span_ids()) == sorted(await expected_span_ids(running))
            ids = [a["verwerkingId"] for a in team_log.actions]
            assert len(ids) == len(set(ids)) == 4
    finally:
        await team_log.stop()


class _WallClock(FixedClock):
    def __init__(self) -> None:
        super().__init__(SystemClock().now())

    def now(self) -> datetime:
        return SystemClock().now()


@pytest.mark.parametrize(
    ("settings", "partners", "problem"),
    [
        ('[logbook]\nurl = "ftp://logboek"\n', {}, "'url' must be an http(s) URL"),
        ('[logbook]\nurl = "http://x/v1/traces"\nencoding = "xml"\n', {}, "'encoding'"),
        ("[outbox]\nretry_initial_s = 10\nretry_max_s = 1\n", {}, "'retry_max_s'"),
        ("[outbox]\nbatches = 1\n", {}, "unknown key(s) 'batches'"),
        ("", {"url": "http://vwl/api", "client_id": "gw"}, "go together"),
        ("", {"url": "http://vwl/api", "client_id": "gw", "secret_env": "lower"}, "secret_env"),
        ("", {"url": "mailto:fg@example.org"}, "'url' must be an http(s) URL"),
    ],
)
def test_outbox_configuration_mistakes_are_named(
    tmp_path: Path, settings: str, partners: Mapping[str, str], problem: str
) -> None:
    config = outbox_config(tmp_path / "config", outbox="")
    with (config / "gateway.toml").open("a") as fh:
        fh.write("\n" + settings)
    if partners:
        text = (config / "partners.toml").read_text()
        inline = ", ".join(f'{k} = "{v}"' for k, v in partners.items())
        text = text.replace(
            'id = "zorg-noord"\n', f'id = "zorg-noord"\nverwerkingenlogging = {{ {inline} }}\n'
        )
        (config / "partners.toml").write_text(text)
    load = load_settings if settings else load_partners
    with pytest.raises(ConfigError) as raised:
        load(config)
    assert problem in str(raised.value)


async def test_a_pupil_named_by_onderwijsnummer_reaches_the_partners_log_by_that_number(
    start: Start, session: aiohttp.ClientSession
) -> None:
    team_log = VngReceiver()
    await team_log.start()
    try:
        running = await start(vng={"swt-denhelder": team_log.url})
        http = Http(running, session)
        await relate(http, "zorg-noord", PUPIL)  # the provider's relation to the pupil
        answer = await http.call(
            "POST",
            "/v1/exchanges",
            token=await http.token("zorg-noord"),
            json_body={
                "purpose": "evaluation-feedback",
                "to": "swt-denhelder",
                "subject": PUPIL,
                "payload": example("evaluation-feedback"),
            },
        )
        assert answer.status == 201, answer.text
        await OutboxDispatcher(running.gw, session, Metrics()).run_once()
        assert team_log.rejected == []
        (action,) = team_log.actions
        (processed,) = action["verwerkteObjecten"]
        assert processed["soortObjectId"] == ONDERWIJSNUMMER_SYSTEM
        assert processed["objectId"] == ONDERWIJSNUMMER_CHILD
        # The team's receipt says which system the pseudonym stands for, as the disclosure does.
        team = running.client("swt-denhelder")
        try:
            (message,) = (await team.inbox())["messages"]
            await team.ack(message["id"])
        finally:
            await team.close()
        entries = [row.entry for row in await running.gw.storage.log_rows(0, 10)]
        systems = {e.decision: e.subject_system for e in entries if e.subject is not None}
        assert systems == {
            "household_child_registered": ONDERWIJSNUMMER_SYSTEM,  # the relation's set-up
            "disclosed": ONDERWIJSNUMMER_SYSTEM,
            "delivered": ONDERWIJSNUMMER_SYSTEM,
        }
        # The sender finds its own disclosures about the pupil by the same number.
        own = await http.call(
            "GET",
            "/v1/disclosures",
            token=await http.token("zorg-noord"),
            params={
                "identifier_system": ONDERWIJSNUMMER_SYSTEM,
                "identifier_value": ONDERWIJSNUMMER_CHILD,
            },
        )
        assert own.status == 200, own.text
        assert [e["decision"] for e in own.body["entries"]] == ["disclosed"]
    finally:
        await team_log.stop()


async def vng_rounds(dispatcher: OutboxDispatcher, running: Running, rounds: int) -> None:
    """Delivery rounds, each after every retry became due."""
    for _ in range(rounds):
        await dispatcher.run_once()
        running.clock.moment += timedelta(seconds=10)


async def test_an_unreadable_row_is_kept_and_retried_without_holding_up_or_repeating_others(
    start: Start, session: aiohttp.ClientSession
) -> None:
    team_log, provider_log = VngReceiver(), VngReceiver()
    await team_log.start()
    await provider_log.start()
    try:
        running = await start(
            vng={"swt-denhelder": team_log.url, "zorg-noord": provider_log.url},
            outbox="retry_initial_s = 1\nretry_max_s = 4\n",
        )
        await send_feedback(running, 1)
        # A row no key opens (as after a pruned at-rest key), between two good exchanges.
        [entry] = [
            row.entry
            for row in await running.gw.storage.log_rows(0, 10)
            if row.entry.decision == "disclosed"
        ]
        damaged = replace(entry, exchange_id="ex_damaged", disclosure_id="dis_damaged")
        await running.gw.storage.record_exchange(
            [damaged], [], outbox=[OutboxItem(vng_destination("swt-denhelder"), 0, b"x" * 60)]
        )
        await send_feedback(running, 1)
        dispatcher = OutboxDispatcher(running.gw, session, Metrics())
        await vng_rounds(dispatcher, running, 4)
        assert len(team_log.actions) == 2  # the two good ones, once each
        assert len(provider_log.actions) == 2
        assert await running.gw.storage.outbox_backlog() == {vng_destination("swt-denhelder"): 1}
        (kept,) = await running.gw.storage.claim_outbox(
            vng_destination("swt-denhelder"), running.clock.now(), lease_s=1, limit=5
        )
        assert kept.attempts >= 3
    finally:
        await team_log.stop()
        await provider_log.stop()


async def test_a_row_the_receiver_refuses_waits_while_the_next_ones_go(
    start: Start, session: aiohttp.ClientSession
) -> None:
    team_log = VngReceiver()
    team_log.refuse_next = 1
    await team_log.start()
    try:
        running = await start(vng={"swt-denhelder": team_log.url})
        first, second = await send_feedback(running, 2)
        dispatcher = OutboxDispatcher(running.gw, session, Metrics())
        await dispatcher.run_once()
        (action,) = team_log.actions
        assert action["verwerkingId"] != ""
        assert await running.gw.storage.outbox_backlog() == {vng_destination("swt-denhelder"): 1}
        running.clock.moment += timedelta(seconds=2)
        await dispatcher.run_once()
        assert len({a["verwerkingId"] for a in team_log.actions}) == 2
        assert await running.gw.storage.outbox_backlog() == {}
        assert first["exchange_id"] != second["exchange_id"]
    finally:
        await team_log.stop()


async def test_a_second_dispatcher_never_takes_over_rows_the_first_is_still_sending(
    start: Start, session: aiohttp.ClientSession
) -> None:
    """Time passes while the first dispatcher posts (a slow partner log): each of its claims
    is sized to finish within the lease, so the second, claiming all the while, never gets
    a row the first is still working through, and no action arrives twice.

    Only the first dispatcher's posts move the clock: were the second's to move it too, a row
    the first has just posted could expire before the first marks it done, which takes real
    instants in which the fake clock can jump seconds."""
    team_log = VngReceiver()
    await team_log.start()
    second_session = aiohttp.ClientSession(headers={"X-Test-Dispatcher": "second"})
    try:
        running = await start(vng={"swt-denhelder": team_log.url}, outbox="lease_s = 3\n")

        first_posted = asyncio.Event()

        def a_second_passes(request: web.Request) -> None:
            if request.headers.get("X-Test-Dispatcher") != "second":
                running.clock.moment += timedelta(seconds=1)
                first_posted.set()

        await send_feedback(running, 6)
        team_log.on_request = a_second_passes
        team_log.delay_s = 0.05  # long enough for the second to claim while the first posts
        first = OutboxDispatcher(running.gw, session, Metrics())
        second = OutboxDispatcher(running.gw, second_session, Metrics())

        async def keep_claiming() -> None:
            await asyncio.wait_for(first_posted.wait(), 10)  # the first holds its claim now
            for _ in range(40):
                await second.run_once()
                await asyncio.sleep(0.01)

        runner = asyncio.create_task(first.run())
        try:
            await keep_claiming()
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        ids = [a["verwerkingId"] for a in team_log.actions]
        assert len(ids) == len(set(ids)) == 6
    finally:
        await second_session.close()
        await team_log.stop()


async def test_rows_for_a_partner_whose_log_was_removed_are_dropped_with_their_sealed_bsns(
    start: Start, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    running = await start(vng={"swt-denhelder": "http://127.0.0.1:9/api/v1/verwerkingsacties"})
    await send_feedback(running, 3)
    dispatcher = OutboxDispatcher(running.gw, session, Metrics())
    await dispatcher.run_once()  # refused connection: the rows wait for their retry
    assert await running.gw.storage.outbox_backlog() == {vng_destination("swt-denhelder"): 3}
    # The operator removes the partner's Verwerkingenlogging and reloads the partners.
    running.gw.partners = load_partners(copy_config(tmp_path / "plain"))
    await OutboxDispatcher(running.gw, session, Metrics()).run_once()
    assert await running.gw.storage.outbox_backlog() == {}


def test_a_secret_named_but_not_set_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VWL_SECRET_ABSENT", raising=False)
    config = outbox_config(
        tmp_path / "config",
        vng={"zorg-noord": "http://vwl.example/api/v1/verwerkingsacties"},
        vng_auth={"zorg-noord": ("gateway", "VWL_SECRET_ABSENT")},
    )
    with pytest.raises(ConfigError) as raised:
        load_partners(config)
    assert "VWL_SECRET_ABSENT" in str(raised.value)
    assert "not set" in str(raised.value)
