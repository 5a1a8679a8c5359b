"""Safety that repeats (issue 20): assessed at referral and at every evaluation, never silently
skipped, an unsafe child never left without a plan, and a waiting child never forgotten.

- Evaluation feedback makes its provider owe a new safety assessment of every child.
- A child may be reported `not_assessed` only with a coded reason; without one the payload is
  refused naming the field, and the reason reaches the procesregisseur.
- An `unsafe` outcome makes the assessor owe a safety plan for that child within hours, and the
  assessment is urgent for its recipient (on top of the inbox, webhook poked, acknowledgement
  owed, escalated when it lapses).
- A waiting-list status saying the child still waits makes the certified institution owe the
  next one after the configured interval; a status with a guardian opens none.

Pure tests of the rules (`plan_effects`, the payload condition, the schema), then the story
over real HTTP on SQLite and PostgreSQL on an injected clock.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.client.http import GatewayClientError
from gateway.clock import FixedClock
from gateway.config import ConfigError, load_catalogue
from gateway.config.conditions import PayloadCondition
from gateway.delivery.notify import dispatch_once, notification_signer
from gateway.errors import PayloadNotMinimal, SchemaViolation
from gateway.log.entry import format_time
from gateway.policy.minimal import check_payload
from gateway.policy.workflow import plan_effects
from gateway.runtime import build_gateway
from gateway.store.base import ExchangeEffects, Expectation, HouseholdChild
from gateway.web import create_app
from tests.conftest import REPO, Running, copy_config, example
from tests.helpers import log_entries
from tests.story_helpers import (
    CHILDREN,
    ELDEST,
    STORY_DAY,
    Town,
    list_expectations,
    refer_family,
)
from tests.test_properties import world
from tests.test_urgent_messages import Receiver

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TEAM, PROVIDER, GI = "swt-denhelder", "zorg-noord", "gi-noordholland"
FAMILY = "ab" * 32
HOUSEHOLD = (
    HouseholdChild("case_1", "kind-1", "c1" * 32, TEAM, NOW),
    HouseholdChild("case_1", "kind-2", "c2" * 32, TEAM, NOW),
)


# -- the rules, pure -----------------------------------------------------------------------------


def effects(
    purpose: str, sender: str, recipients: list[str], payload: dict[str, Any], **changes: Any
) -> ExchangeEffects:
    catalogued = world()[0].get(purpose)
    assert catalogued is not None
    ids = (f"exp-{n}" for n in itertools.count(1))
    arguments: dict[str, Any] = {
        "purpose": catalogued,
        "exchange_id": "ex_1",
        "sender": sender,
        "recipients": recipients,
        "case_id": "case_1",
        "subject": FAMILY,
        "payload": payload,
        "in_reply_to": None,
        "owed_by_sender": (),
        "household": HOUSEHOLD,
        "now": NOW,
        "seal": lambda data, expectation_id: data,
        "new_id": lambda: next(ids),
    }
    arguments.update(changes)
    return plan_effects(**arguments)


def owed(n: int, purpose: str, origin: str, by: str, to: str, due: datetime, **more: Any) -> Any:
    fields: dict[str, Any] = {
        "expectation_id": f"exp-{n}",
        "purpose": purpose,
        "origin_purpose": origin,
        "origin_exchange_id": "ex_1",
        "case_id": "case_1",
        "owed_by": by,
        "owed_to": to,
        "subject": FAMILY,
        "child_ref": None,
        "opened_at": NOW,
        "due_at": due,
    }
    fields.update(more)
    return Expectation(**fields)


def assessed(*outcomes: str) -> dict[str, Any]:
    """A safety assessment of kind-1, kind-2, ... with these outcomes."""
    children = []
    for n, outcome in enumerate(outcomes, start=1):
        child: dict[str, Any] = {"child_ref": f"kind-{n}", "outcome": outcome, "safety_plan": False}
        if outcome == "not_assessed":
            child["not_assessed_reason"] = "family_refused"
        else:
            child |= {"assessment_date": "2026-11-24", "instrument": "lirik"}
        children.append(child)
    return {"children": children}


def waiting(*, guardian: bool) -> dict[str, Any]:
    status = example("waiting-list-status")
    if not guardian:
        del status["guardian_assigned_date"]
    return status | {"guardian_assigned": guardian}


def test_evaluation_feedback_makes_its_provider_owe_a_new_assessment_of_every_child():
    result = effects("evaluation-feedback", PROVIDER, [TEAM], example("evaluation-feedback"))
    in_10_days = NOW + timedelta(days=10)
    assert result.open == (
        owed(
            1,
            "safety-assessment",
            "evaluation-feedback",
            PROVIDER,
            TEAM,
            in_10_days,
            subject="c1" * 32,
            child_ref="kind-1",
        ),
        owed(
            2,
            "safety-assessment",
            "evaluation-feedback",
            PROVIDER,
            TEAM,
            in_10_days,
            subject="c2" * 32,
            child_ref="kind-2",
        ),
    )


def test_an_unsafe_child_makes_the_assessor_owe_its_plan_in_hours_and_the_team_a_receipt():
    result = effects("safety-assessment", PROVIDER, [TEAM], assessed("safe", "unsafe"))
    assert result.open == (
        owed(
            1,
            "safety-plan",
            "safety-assessment",
            PROVIDER,
            TEAM,
            NOW + timedelta(hours=24),
            subject="c2" * 32,
            child_ref="kind-2",
        ),
        owed(
            2,
            "acknowledgement",
            "safety-assessment",
            TEAM,
            PROVIDER,
            NOW + timedelta(minutes=60),
        ),
    )


def test_a_child_the_household_does_not_hold_is_owed_a_plan_under_its_reference():
    result = effects("safety-assessment", PROVIDER, [TEAM], assessed("safe", "safe", "unsafe"))
    plans = [(e.subject, e.child_ref) for e in result.open if e.purpose == "safety-plan"]
    assert plans == [(FAMILY, "kind-3")]


@pytest.mark.parametrize(
    "outcomes",
    [("safe",), ("conditionally_safe", "safe"), ("not_assessed",), ("safe", "not_assessed")],
)
def test_an_assessment_without_an_unsafe_child_owes_no_plan_and_is_not_urgent(
    outcomes: tuple[str, ...],
):
    assert effects("safety-assessment", PROVIDER, [TEAM], assessed(*outcomes)).open == ()


def test_a_child_still_waiting_makes_the_institution_owe_the_next_status_and_closes_the_last():
    last = owed(9, "waiting-list-status", "waiting-list-status", GI, TEAM, NOW)
    result = effects(
        "waiting-list-status", GI, [TEAM], waiting(guardian=False), owed_by_sender=(last,)
    )
    assert result.close == ("exp-9",)
    assert result.open == (
        owed(
            1,
            "waiting-list-status",
            "waiting-list-status",
            GI,
            TEAM,
            NOW + timedelta(days=28),
        ),
    )


def test_a_status_with_a_guardian_opens_no_next_status_and_closes_the_last():
    last = owed(9, "waiting-list-status", "waiting-list-status", GI, TEAM, NOW)
    result = effects(
        "waiting-list-status", GI, [TEAM], waiting(guardian=True), owed_by_sender=(last,)
    )
    assert (result.open, result.close) == ((), ("exp-9",))


def test_a_payload_condition_counts_only_the_exact_value():
    unsafe = PayloadCondition("children[].outcome", "unsafe")
    payload = {"children": [{"child_ref": "a", "outcome": "unsafe"}, {"child_ref": "b"}]}
    assert unsafe.holds(payload)
    assert unsafe.child_refs(payload) == ("a",)
    assert not unsafe.holds({"children": [{"child_ref": "a", "outcome": "Unsafe"}]})
    assert not unsafe.holds({"children": "unsafe"})
    still_waiting = PayloadCondition("guardian_assigned", equals=False)
    assert still_waiting.holds({"guardian_assigned": False})
    assert not still_waiting.holds({"guardian_assigned": 0})
    assert not still_waiting.holds({})
    assert still_waiting.child_refs({"guardian_assigned": False}) == ()


# -- not assessed: only with a coded reason ------------------------------------------------------


def _check(payload: dict[str, Any]) -> None:
    purpose = world()[0].get("safety-assessment")
    assert purpose is not None
    check_payload(purpose.id, purpose.payload_schema, payload)


def test_not_assessed_without_a_reason_is_refused_naming_the_field():
    payload = assessed("safe", "not_assessed")
    del payload["children"][1]["not_assessed_reason"]
    with pytest.raises(SchemaViolation) as refused:
        _check(payload)
    assert refused.value.extra["violations"] == [
        {"path": "/payload/children/1", "message": "missing required field(s): not_assessed_reason"}
    ]


def test_a_reason_outside_the_closed_list_is_refused():
    payload = assessed("not_assessed")
    payload["children"][0]["not_assessed_reason"] = "no_time"
    with pytest.raises(SchemaViolation) as refused:
        _check(payload)
    assert [v["path"] for v in refused.value.extra["violations"]] == [
        "/payload/children/0/not_assessed_reason"
    ]


def test_a_reason_for_an_assessed_child_and_an_instrument_for_a_not_assessed_one_are_refused():
    reason_too = assessed("safe")
    reason_too["children"][0]["not_assessed_reason"] = "child_not_seen"
    instrument_too = assessed("not_assessed")
    instrument_too["children"][0]["instrument"] = "lirik"
    for payload, path in (
        (reason_too, "/payload/children/0/not_assessed_reason"),
        (instrument_too, "/payload/children/0/instrument"),
    ):
        with pytest.raises(PayloadNotMinimal) as refused:
            _check(payload)
        assert [v["path"] for v in refused.value.extra["violations"]] == [path]


def test_an_assessed_child_still_needs_its_date_and_instrument():
    payload = assessed("unsafe")
    del payload["children"][0]["instrument"]
    with pytest.raises(SchemaViolation) as refused:
        _check(payload)
    assert refused.value.extra["violations"][0]["message"] == (
        "missing required field(s): instrument"
    )


# -- the catalogue's conditional and sender-owed replies are checked at start-up -----------------

PLAN_RULE = 'when = "children[].outcome", equals = "unsafe", source = "local_agreement"'


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        (PLAN_RULE, PLAN_RULE.replace('"unsafe"', '"dangerous"'), "no code of a field"),
        (PLAN_RULE, PLAN_RULE.replace("children[].outcome", "children[].mood"), "no code"),
        (PLAN_RULE, PLAN_RULE.replace('"unsafe"', "true"), "no boolean field"),
        ("within_hours = 24,", "within_hours = 73,", "at most 72"),
        ("within_hours = 24,", "within_hours = 24, within_days = 1,", "not both"),
        (
            'owed_by = "sender", when = "guardian_assigned"',
            'owed_by = "nobody", when = "guardian_assigned"',
            "'owed_by'",
        ),
        (
            'equals = "unsafe", acknowledge_within_minutes',
            'equals = "risky", acknowledge_within_minutes',
            "no code",
        ),
    ],
)
def test_a_catalogue_with_a_wrong_conditional_reply_does_not_start(
    tmp_path: Path, old: str, new: str, named: str
) -> None:
    config = copy_config(tmp_path / "config")
    text = (config / "purposes.toml").read_text()
    assert old in text, old
    (config / "purposes.toml").write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    assert named in str(raised.value)


def test_a_term_in_hours_counts_clock_hours(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    text = (config / "purposes.toml").read_text()
    rule = 'agree the term in the local safety arrangements", count = "calendar"'
    assert rule in text
    (config / "purposes.toml").write_text(text.replace(rule, rule.replace("calendar", "working")))
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    assert "clock hours" in str(raised.value)


# -- the story over HTTP, on both back ends ------------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    server = TestServer(rec.app, host="127.0.0.1")
    await server.start_server()
    yield rec, str(server.make_url("/hook")).rstrip("/")
    await server.close()


@pytest.fixture
async def town(
    tmp_path: Path, storage_url: str | None, receiver: tuple[Receiver, str]
) -> AsyncIterator[Town]:
    """The demo partners on the story day; the team and the provider have webhooks."""
    config = copy_config(tmp_path / "config")
    partners = (config / "partners.toml").read_text()
    for partner in (TEAM, PROVIDER):
        line = f'jwks = "keys/{partner}.jwks.json"'
        partners = partners.replace(line, f'{line}\nwebhook = "{receiver[1]}/{partner}"')
    (config / "partners.toml").write_text(partners)
    clock = FixedClock(STORY_DAY)
    gw = build_gateway(config, tmp_path / "data", storage_url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    partners_ = Town(Running(gw, server, clock))
    await partners_.open_case()
    yield partners_
    await partners_.close()
    await server.close()


async def dispatch(town: Town) -> None:
    async with aiohttp.ClientSession() as session:
        await dispatch_once(town.running.gw, session, notification_signer(town.running.gw.data))


def only(items: list[dict[str, Any]], purpose: str) -> list[dict[str, Any]]:
    return [e for e in items if e["purpose"] == purpose]


async def assess(town: Town, child: int, outcome: str, **more: Any) -> dict[str, Any]:
    """The provider's safety assessment of one child of the household, about that child."""
    entry = assessed(outcome)["children"][0] | {"child_ref": CHILDREN[child].child_ref} | more
    answer: dict[str, Any] = await town(PROVIDER).send(
        "safety-assessment", TEAM, CHILDREN[child].bsn, {"children": [entry]}, case_id=town.case
    )
    return answer


async def test_an_evaluation_owes_every_child_a_new_assessment_which_closes_as_at_referral(
    town: Town,
) -> None:
    referral = await refer_family(town)
    at_referral = only(referral["expectations_opened"], "safety-assessment")
    assert len(at_referral) == 3
    for n in range(3):
        await assess(town, n, "safe")
    town.move_clock(days=80)
    evaluated_at = town.running.clock.now()
    feedback = await town(PROVIDER).send(
        "evaluation-feedback",
        TEAM,
        ELDEST.bsn,
        example("evaluation-feedback"),
        case_id=town.case,
        in_reply_to=referral["exchange_id"],
    )
    again = only(feedback["expectations_opened"], "safety-assessment")
    due = format_time(evaluated_at + timedelta(days=10))
    assert sorted((e["child_ref"], e["owed_by"], e["due_at"]) for e in again) == [
        (c.child_ref, PROVIDER, due) for c in CHILDREN
    ]
    team_view = only(await list_expectations(town(TEAM), "open"), "safety-assessment")
    assert {(e["expectation_id"], e["direction"], e["owed_to"]) for e in team_view} == {
        (e["expectation_id"], "owed_to_you", TEAM) for e in again
    }
    # Each child's new assessment closes what is owed about that child only.
    closed = await assess(town, 1, "conditionally_safe", safety_plan=True)
    assert closed["expectations_closed"] == [
        e["expectation_id"] for e in again if e["child_ref"] == "kind-2"
    ]
    town.move_clock(days=11)
    late = only(await list_expectations(town(PROVIDER), "overdue"), "safety-assessment")
    assert sorted(e["child_ref"] for e in late) == ["kind-1", "kind-3"]


async def test_a_child_not_assessed_needs_a_reason_which_the_procesregisseur_receives(
    town: Town,
) -> None:
    referral = await refer_family(town)
    per_child = {
        e["child_ref"]: e for e in only(referral["expectations_opened"], "safety-assessment")
    }
    before = await town.running.gw.storage.log_size()
    without_reason = {"child_ref": "kind-3", "outcome": "not_assessed", "safety_plan": False}
    with pytest.raises(GatewayClientError) as refused:
        await town(PROVIDER).send(
            "safety-assessment",
            TEAM,
            CHILDREN[2].bsn,
            {"children": [without_reason]},
            case_id=town.case,
        )
    assert (refused.value.status, refused.value.code) == (422, "schema_violation")
    # The story's partner systems read Dutch: the refusal names the field in its Dutch twin.
    assert refused.value.details["violations"] == [
        {
            "path": "/payload/children/0",
            "message": "verplicht(e) veld(en) ontbreekt/ontbreken: not_assessed_reason",
        }
    ]
    [logged] = await log_entries(town.running, before)
    assert (logged.decision, logged.reason) == ("refused", "schema_violation")
    assert (await town(TEAM, "procesregisseur").inbox())["messages"] == []

    sent = await assess(town, 2, "not_assessed", not_assessed_reason="family_refused")
    assert sent["expectations_closed"] == [per_child["kind-3"]["expectation_id"]]
    assert "expectations_opened" not in sent
    [message] = (await town(TEAM, "procesregisseur").inbox())["messages"]
    assert message["payload"]["children"] == [
        {
            "child_ref": "kind-3",
            "outcome": "not_assessed",
            "not_assessed_reason": "family_refused",
            "safety_plan": False,
        }
    ]
    assert message["urgent"] is False
    entries = await log_entries(town.running, before + 1)
    assert [(e.decision, e.purpose, e.recipient) for e in entries] == [
        ("disclosed", "safety-assessment", TEAM)
    ]
    assert "family_refused" not in json.dumps(entries[0].to_json()), "no payload in the log"


async def test_an_unsafe_child_raises_an_alert_the_team_cannot_miss_and_owes_a_plan_in_hours(
    town: Town, receiver: tuple[Receiver, str]
) -> None:
    rec, _ = receiver
    await refer_family(town)
    await dispatch(town)
    sent_at = town.running.clock.now()
    before = await town.running.gw.storage.log_size()
    unsafe = await assess(town, 1, "unsafe")
    [plan] = only(unsafe["expectations_opened"], "safety-plan")
    assert (plan["owed_by"], plan["child_ref"], plan["due_at"]) == (
        PROVIDER,
        "kind-2",
        format_time(sent_at + timedelta(hours=24)),
    )
    [receipt] = only(unsafe["expectations_opened"], "acknowledgement")
    assert (receipt["owed_by"], receipt["due_at"]) == (
        TEAM,
        format_time(sent_at + timedelta(minutes=60)),
    )
    # The team's inbox has it on top, marked urgent; its webhook is poked at once.
    team = town(TEAM, "procesregisseur")
    page = await team.request("GET", "/v1/inbox")
    assert [m["exchange_id"] for m in page["urgent"]] == [unsafe["exchange_id"]]
    await dispatch(town)
    poked = [e for e in rec.events(TEAM) if e["event"] == "urgent_message"]
    assert [(e["urgent"], e["count"], e["overdue"]) for e in poked] == [(True, 1, 0)]
    assert CHILDREN[1].bsn.encode() not in b"".join(body for _, _, body in rec.received)

    # Not acknowledged within the hour: escalated and logged once.
    town.running.clock.moment += timedelta(minutes=61)
    await dispatch(town)
    escalated = [
        e for e in await log_entries(town.running, before) if e.decision == "urgent_escalated"
    ]
    assert [(e.exchange_id, e.purpose, e.recipient) for e in escalated] == [
        (unsafe["exchange_id"], "safety-assessment", TEAM)
    ]
    (message,) = (await team.request("GET", "/v1/inbox"))["urgent"]
    await team.ack(message["id"])

    # No plan within 24 hours: overdue for both, and the provider is told.
    town.running.clock.moment += timedelta(hours=23)
    before_late = len(rec.received)
    await dispatch(town)
    late = only(await list_expectations(town(PROVIDER), "overdue"), "safety-plan")
    assert [(e["expectation_id"], e["direction"]) for e in late] == [
        (plan["expectation_id"], "you_owe")
    ]
    assert [b["event"] for who, b, _ in rec.received[before_late:] if who == PROVIDER] == [
        "expectation_overdue"
    ]
    team_late = only(await list_expectations(team, "overdue"), "safety-plan")
    assert [e["direction"] for e in team_late] == ["owed_to_you"]

    # The plan arrives: it closes the expectation for kind-2.
    plan_payload = example("safety-plan")
    made = await town(PROVIDER).send(
        "safety-plan", TEAM, CHILDREN[1].bsn, plan_payload, case_id=town.case
    )
    assert made["legal_basis"] == {"type": "statute", "reference": "Jeugdwet art. 7.4.0 lid 2"}
    assert made["expectations_closed"] == [plan["expectation_id"]]
    assert only(await list_expectations(team, "open"), "safety-plan") == []
    entries = [e for e in await log_entries(town.running, before) if e.decision == "disclosed"]
    assert [(e.purpose, e.exchange_id) for e in entries] == [
        ("safety-assessment", unsafe["exchange_id"]),
        ("safety-plan", made["exchange_id"]),
    ]


async def test_the_waiting_list_status_is_owed_again_until_a_guardian_is_assigned(
    town: Town,
) -> None:
    team, gi = town(TEAM), town(GI)
    await team.register_member(town.case, TEAM, role="procesregisseur")
    joined = await team.request(
        "PUT",
        f"/v1/cases/{town.case}/network/{GI}",
        json_body={"role": "involved", "reported_via": "direct"},
    )
    [first_owed] = joined["expectations_opened"]

    async def report(*, guardian: bool) -> dict[str, Any]:
        answer: dict[str, Any] = await gi.send(
            "waiting-list-status", TEAM, ELDEST.bsn, waiting(guardian=guardian), case_id=town.case
        )
        return answer

    town.move_clock(days=7)
    still = await report(guardian=False)
    assert still["expectations_closed"] == [first_owed["expectation_id"]]
    [next_owed] = still["expectations_opened"]
    assert (next_owed["purpose"], next_owed["owed_by"]) == ("waiting-list-status", GI)
    assert next_owed["due_at"] == format_time(town.running.clock.now() + timedelta(days=28))

    # Four weeks pass without a status: overdue for both sides.
    town.move_clock(days=29)
    [late] = await list_expectations(team, "overdue", town.case)
    assert (late["expectation_id"], late["direction"]) == (
        next_owed["expectation_id"],
        "owed_to_you",
    )
    again = await report(guardian=False)
    assert again["expectations_closed"] == [next_owed["expectation_id"]]
    [third_owed] = again["expectations_opened"]

    # A guardian is assigned: that status closes the last and opens none.
    town.move_clock(days=10)
    assigned = await report(guardian=True)
    assert assigned["expectations_closed"] == [third_owed["expectation_id"]]
    assert "expectations_opened" not in assigned
    assert await list_expectations(team, "open", town.case) == []
    closed = await list_expectations(team, "closed", town.case)
    assert sorted((e["expectation_id"], e["closed_by"]) for e in closed) == sorted(
        [
            (first_owed["expectation_id"], still["exchange_id"]),
            (next_owed["expectation_id"], again["exchange_id"]),
            (third_owed["expectation_id"], assigned["exchange_id"]),
        ]
    )
