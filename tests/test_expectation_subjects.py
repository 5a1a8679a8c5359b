"""An expectation (a reply owed) is bound to its subject as well as its case (issue 17).

The attack: a provider owes the social team a safety assessment for each child of a household
and, in the same case, a start/stop message about the referred child. By sending one message
about one child, naming another child's reference or reusing the case id, it would close what
it still owes about the others, and the inspections' "one child of three assessed" would be
hidden from both sides' overdue lists. Closing matches the subject's pseudonym as well as the
case and the purpose; a reply to a request must be about the person the request asked about.

Over real HTTP on both back ends (the `running` fixture), on the story's family and clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.client.http import GatewayClientError
from tests.conftest import Running, example
from tests.story_helpers import (
    CHILDREN,
    CUSTODIAN,
    ELDEST,
    STORY_DAY,
    Town,
    family_consent,
    list_expectations,
    post_with_status,
    refer_family,
)

CHILD_A, CHILD_B, CHILD_C = CHILDREN
assert CHILD_A == ELDEST  # the referred child


@pytest.fixture
async def town(running: Running) -> AsyncIterator[Town]:
    running.clock.moment = STORY_DAY
    partners = Town(running)
    await partners.open_case()
    yield partners
    await partners.close()


def assessment(*child_refs: str) -> dict[str, Any]:
    """A safety-assessment payload with one entry per named child reference."""
    entry = example("safety-assessment")["children"][0]
    return {"children": [{**entry, "child_ref": ref} for ref in child_refs]}


def owed(answer: dict[str, Any], purpose: str) -> dict[str | None, str]:
    """The expectations an answer opened for one purpose, by child reference."""
    return {
        e["child_ref"]: e["expectation_id"]
        for e in answer["expectations_opened"]
        if e["purpose"] == purpose
    }


async def open_ids(town: Town, purpose: str) -> set[str]:
    return {
        e["expectation_id"]
        for e in await list_expectations(town("zorg-noord"), "open")
        if e["purpose"] == purpose
    }


async def test_a_safety_assessment_about_one_child_naming_a_sibling_closes_only_that_childs(
    town: Town,
) -> None:
    referral = await refer_family(town)
    per_child = owed(referral, "safety-assessment")
    assert set(per_child) == {"kind-1", "kind-2", "kind-3"}

    # About child A, yet its payload also lists child B's reference.
    sent = await town("zorg-noord").send(
        "safety-assessment",
        "swt-denhelder",
        CHILD_A.bsn,
        assessment(CHILD_A.child_ref, CHILD_B.child_ref),
        case_id=town.case,
    )

    assert sent["expectations_closed"] == [per_child["kind-1"]]
    assert await open_ids(town, "safety-assessment") == {per_child["kind-2"], per_child["kind-3"]}
    team_open = await list_expectations(town("swt-denhelder"), "open")
    assert {e["child_ref"] for e in team_open if e["purpose"] == "safety-assessment"} == {
        "kind-2",
        "kind-3",
    }


async def test_a_message_about_child_b_under_child_as_case_and_reference_does_not_close_as(
    town: Town,
) -> None:
    referral = await refer_family(town)
    per_child = owed(referral, "safety-assessment")

    sent = await town("zorg-noord").send(
        "safety-assessment",
        "swt-denhelder",
        CHILD_B.bsn,
        assessment(CHILD_A.child_ref),
        case_id=town.case,
    )

    assert sent.get("expectations_closed", []) == []
    assert await open_ids(town, "safety-assessment") == set(per_child.values())


async def test_each_child_assessed_in_its_own_message_closes_its_own_expectation(
    town: Town,
) -> None:
    referral = await refer_family(town)
    per_child = owed(referral, "safety-assessment")
    provider = town("zorg-noord")

    for child in (CHILD_B, CHILD_C):
        sent = await provider.send(
            "safety-assessment",
            "swt-denhelder",
            child.bsn,
            assessment(child.child_ref),
            case_id=town.case,
        )
        assert sent["expectations_closed"] == [per_child[child.child_ref]]

    assert await open_ids(town, "safety-assessment") == {per_child["kind-1"]}


async def test_a_start_message_about_a_sibling_does_not_close_the_start_owed_about_the_referred_child(
    town: Town,
) -> None:
    referral = await refer_family(town)
    [start_owed] = owed(referral, "start-stop").values()
    provider = town("zorg-noord")
    start = {
        "assignment_number": "300201",
        "product": {"category": "45", "code": "45A13"},
        "event": "start",
        "start_date": "2026-11-30",
    }

    about_b = await provider.send(
        "start-stop", "swt-denhelder", CHILD_B.bsn, start, case_id=town.case
    )
    assert about_b.get("expectations_closed", []) == []
    assert await open_ids(town, "start-stop") == {start_owed}

    about_a = await provider.send(
        "start-stop", "swt-denhelder", CHILD_A.bsn, start, case_id=town.case
    )
    assert about_a["expectations_closed"] == [start_owed]
    assert await open_ids(town, "start-stop") == set()


async def test_an_information_reply_about_another_child_is_refused_and_the_request_stays_open(
    town: Town,
) -> None:
    team, school = town("swt-denhelder"), town("school-de-es")
    await team.register_member(town.case, "school-de-es")
    # Each sender records the family's agreement for what it sends, for child A and, so that
    # only the reply rule stands in the way, for child B.
    for sender, purpose, recipient in (
        (team, "information-request", "school-de-es"),
        (school, "information-reply", "swt-denhelder"),
    ):
        await sender.record_consent(family_consent([purpose], [sender.partner_id], [recipient]))
        consent_b = family_consent([purpose], [sender.partner_id], [recipient], child=CHILD_B)
        consent_b["given_by"] = [CUSTODIAN]
        await sender.record_consent(consent_b)
    request = await team.send(
        "information-request",
        "school-de-es",
        CHILD_A.bsn,
        {"topics": ["attendance"], "reply_by": "2026-12-04"},
        case_id=town.case,
    )
    [asked] = request["expectations_opened"]

    status, body = await post_with_status(
        school,
        "/v1/exchanges",
        {
            "purpose": "information-reply",
            "to": "swt-denhelder",
            "subject": {"bsn": CHILD_B.bsn},
            "case_id": town.case,
            "in_reply_to": request["exchange_id"],
            "payload": {"answers": [{"topic": "attendance", "answer": "no_concerns"}]},
        },
    )

    assert status == 400, body
    assert body["error"]["code"] == "invalid_request"
    [still_owed] = await list_expectations(school, "open")
    assert still_owed["expectation_id"] == asked["expectation_id"]
    assert (await team.inbox())["messages"] == []
    # The right reply, about child A, still closes it.
    reply = await school.send(
        "information-reply",
        "swt-denhelder",
        CHILD_A.bsn,
        {"answers": [{"topic": "attendance", "answer": "no_concerns"}]},
        case_id=town.case,
        in_reply_to=request["exchange_id"],
    )
    assert reply["expectations_closed"] == [asked["expectation_id"]]
    with pytest.raises(GatewayClientError):
        await school.send(
            "information-reply",
            "swt-denhelder",
            CHILD_A.bsn,
            {"answers": [{"topic": "attendance", "answer": "no_concerns"}]},
            case_id=town.case,
            in_reply_to=request["exchange_id"],
        )
