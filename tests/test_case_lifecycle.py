"""A case has a life: opened on something, active, closed with a coded reason, reopened.

Over real HTTP against a running gateway, on SQLite and on PostgreSQL (the `backend` fixture).
Closing cancels what the case's members still owe each other, so nothing of it is overdue again;
only the case's director closes and reopens; a closed case takes nothing new; a non-member
learns nothing, not even the state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.store.base import LogFilter
from tests.conftest import BSN_CHILD, Running, example

Clients = Callable[..., PartnerClient]
TEAM, PROVIDER, SCHOOL, GI = "swt-denhelder", "zorg-noord", "school-de-es", "gi-noordholland"
NEVER_OPENED = "case_" + "a" * 26
REFERRAL_EXCHANGE = "ex_AbCdEfGhIjKlMnOpQrStUv"


async def refusal(call: Any) -> GatewayClientError:
    with pytest.raises(GatewayClientError) as refused:
        await call
    return refused.value


async def close(client: PartnerClient, case_id: str, reason: str = "goals_reached") -> Any:
    return await client.request("POST", f"/v1/cases/{case_id}/close", json_body={"reason": reason})


async def reopen(client: PartnerClient, case_id: str, reason: str = "new_signal") -> Any:
    return await client.request("POST", f"/v1/cases/{case_id}/reopen", json_body={"reason": reason})


async def state(client: PartnerClient, case_id: str) -> Any:
    return await client.request("GET", f"/v1/cases/{case_id}")


async def expectations(client: PartnerClient, status: str, case_id: str) -> list[dict[str, Any]]:
    found = await client.request(
        "GET", "/v1/expectations", params={"status": status, "case_id": case_id}
    )
    return list(found["expectations"])


async def entries(running: Running, decision: str) -> list[Any]:
    rows = await running.gw.storage.search_log(LogFilter(decision=decision), after=None, limit=50)
    return [r.entry for r in rows]


async def open_with_network(clients: Clients) -> tuple[PartnerClient, str]:
    """The team opens a case on a referral, with a provider, the school and the GI in it (the
    GI then owes the team its waiting-list status)."""
    team = clients(TEAM)
    opened = await team.request(
        "POST",
        "/v1/cases",
        json_body={"opened_on": "referral", "opened_on_exchange": REFERRAL_EXCHANGE},
    )
    case_id = str(opened["case_id"])
    await team.register_member(case_id, PROVIDER, role="involved")
    await team.register_member(case_id, SCHOOL, role="referrer")
    await team.register_member(case_id, GI, role="involved", reported_via="direct")
    return team, case_id


# -- Opening --------------------------------------------------------------------------------------


async def test_a_case_opened_on_a_referral_is_active_and_says_by_whom_and_on_what(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)

    seen_by_team = await state(team, case_id)
    seen_by_school = await state(clients(SCHOOL), case_id)

    assert seen_by_team["state"] == "active"
    [opened] = seen_by_team["history"]
    assert (opened["event"], opened["by"], opened["reason"], opened["exchange_id"]) == (
        "opened",
        TEAM,
        "referral",
        REFERRAL_EXCHANGE,
    )
    # The referral's exchange id is the director's own link, like its dossier reference.
    assert seen_by_school["state"] == "active"
    assert "exchange_id" not in seen_by_school["history"][0]
    [entry] = [e for e in await entries(running, "case_opened") if e.case_id == case_id]
    assert entry.details == {
        "role": "procesregisseur",
        "opened_on": "referral",
        "opened_on_exchange": REFERRAL_EXCHANGE,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"opened_on": "gossip"},
        {"opened_on_exchange": REFERRAL_EXCHANGE},
        {"opened_on": "referral", "opened_on_exchange": "ex_123456789012"},
        {"opened_on": "referral", "opened_on_exchange": "not an id"},
    ],
)
async def test_an_opening_on_an_unknown_occasion_or_a_malformed_exchange_id_is_refused_and_logs_nothing(
    running: Running, clients: Clients, body: dict[str, Any]
) -> None:
    size = await running.gw.storage.log_size()

    refused = await refusal(clients(TEAM).request("POST", "/v1/cases", json_body=body))

    assert (refused.status, refused.code) == (400, "invalid_request")
    assert await running.gw.storage.log_size() == size


# -- Closing --------------------------------------------------------------------------------------


async def test_closing_cancels_the_open_expectations_so_they_are_never_overdue_again(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)
    gi = clients(GI)
    running.clock.moment += timedelta(days=60)
    [owed] = await expectations(team, "overdue", case_id)
    assert (owed["purpose"], owed["owed_by"]) == ("waiting-list-status", GI)

    closed = await close(team, case_id, "moved")

    assert (closed["state"], closed["reason"]) == ("closed", "moved")
    [cancelled] = closed["expectations_cancelled"]
    assert cancelled["expectation_id"] == owed["expectation_id"]
    assert (cancelled["status"], cancelled["cancelled_reason"]) == ("cancelled", "moved")
    assert closed["closure_notice"]["purpose"] == "closure-notice"
    assert sorted(closed["closure_notice"]["to"]) == sorted([PROVIDER, SCHOOL, GI])
    for side in (team, gi):
        assert await expectations(side, "overdue", case_id) == []
        assert await expectations(side, "open", case_id) == []
        [after] = await expectations(side, "cancelled", case_id)
        assert after["expectation_id"] == owed["expectation_id"]
    # Nor does the overdue watcher ever announce it.
    assert await running.gw.storage.mark_newly_overdue(running.clock.now(), 100) == []
    [entry] = await entries(running, "case_closed")
    assert (entry.case_id, entry.reason, entry.sender and entry.sender.partner) == (
        case_id,
        "moved",
        TEAM,
    )
    assert entry.details == {
        "expectations_cancelled": 1,
        "expectation_ids": [owed["expectation_id"]],
    }
    assert closed["log_index"] == (await running.gw.storage.log_size()) - 1
    assert (await state(clients(PROVIDER), case_id))["state"] == "closed"


async def test_an_answered_expectation_stays_closed_and_is_not_counted_as_cancelled(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)
    [owed] = await expectations(team, "open", case_id)
    sent = await clients(GI).send(
        "waiting-list-status",
        TEAM,
        BSN_CHILD,
        example("waiting-list-status"),
        case_id=case_id,
    )
    assert [d["recipient"] for d in sent["disclosures"]] == [TEAM]

    closed = await close(team, case_id)

    assert closed["expectations_cancelled"] == []
    [answered] = await expectations(team, "closed", case_id)
    assert (answered["expectation_id"], answered["cancelled_reason"]) == (
        owed["expectation_id"],
        None,
    )
    [entry] = await entries(running, "case_closed")
    assert entry.details == {"expectations_cancelled": 0, "expectation_ids": []}


@pytest.mark.parametrize("member", [PROVIDER, SCHOOL, GI])
async def test_a_member_that_does_not_direct_the_case_cannot_close_it_and_nothing_changes(
    running: Running, clients: Clients, member: str
) -> None:
    team, case_id = await open_with_network(clients)
    size = await running.gw.storage.log_size()

    refused = await refusal(close(clients(member), case_id))

    assert (refused.status, refused.code) == (403, "case_close_not_allowed")
    assert (await state(team, case_id))["state"] == "active"
    assert len(await expectations(team, "open", case_id)) == 1
    assert await running.gw.storage.log_size() == size


async def test_closing_a_closed_case_is_a_conflict_and_logs_nothing(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)
    await close(team, case_id)
    size = await running.gw.storage.log_size()

    again = await refusal(close(team, case_id, "other"))

    assert (again.status, again.code) == (409, "case_closed")
    assert "reopen" in again.details["how_to_fix"]
    assert await running.gw.storage.log_size() == size
    assert [e["event"] for e in (await state(team, case_id))["history"]] == ["opened", "closed"]


async def test_two_closures_at_once_close_the_case_once_and_log_one_entry(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)
    other = clients(TEAM, actor="actor-2")

    results = await asyncio.gather(
        close(team, case_id, "moved"), close(other, case_id, "other"), return_exceptions=True
    )

    [done] = [r for r in results if not isinstance(r, BaseException)]
    [lost] = [r for r in results if isinstance(r, GatewayClientError)]
    assert (lost.status, lost.code) == (409, "case_closed")
    assert len(done["expectations_cancelled"]) == 1
    assert len(await entries(running, "case_closed")) == 1
    assert [h["event"] for h in (await state(team, case_id))["history"]] == ["opened", "closed"]


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "bored"},
        {},
        {"reason": "goals_reached", "note": "family moved to Tilburg"},
        {"reason": ["goals_reached"]},
    ],
)
async def test_a_closure_without_a_known_reason_code_or_with_free_text_is_refused(
    running: Running, clients: Clients, body: dict[str, Any]
) -> None:
    team, case_id = await open_with_network(clients)
    size = await running.gw.storage.log_size()

    refused = await refusal(team.request("POST", f"/v1/cases/{case_id}/close", json_body=body))

    assert (refused.status, refused.code) == (400, "invalid_request")
    assert "Tilburg" not in str(refused.details)
    assert (await state(team, case_id))["state"] == "active"
    assert await running.gw.storage.log_size() == size


# -- Reopening ------------------------------------------------------------------------------------


async def test_the_director_reopens_a_closed_case_and_both_steps_are_in_history_and_log(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)
    await close(team, case_id, "goals_reached")

    reopened = await reopen(team, case_id, "relapse")
    not_closed = await refusal(reopen(team, case_id))

    assert (reopened["state"], reopened["reason"]) == ("active", "relapse")
    assert (not_closed.status, not_closed.code) == (409, "case_not_closed")
    seen = await state(clients(SCHOOL), case_id)
    assert seen["state"] == "active"
    assert [(h["event"], h["reason"], h["by"]) for h in seen["history"]] == [
        ("opened", "referral", TEAM),
        ("closed", "goals_reached", TEAM),
        ("reopened", "relapse", TEAM),
    ]
    [entry] = await entries(running, "case_reopened")
    assert (entry.case_id, entry.reason, entry.sender and entry.sender.partner) == (
        case_id,
        "relapse",
        TEAM,
    )
    assert reopened["log_index"] == (await running.gw.storage.log_size()) - 1
    # What the closure cancelled stays cancelled; the reopened case takes new members again.
    assert await expectations(team, "open", case_id) == []
    await team.register_member(case_id, "jgz-hollandsnoorden", role="involved")


@pytest.mark.parametrize("member", [PROVIDER, SCHOOL, GI])
async def test_a_member_that_does_not_direct_the_case_cannot_reopen_it(
    running: Running, clients: Clients, member: str
) -> None:
    team, case_id = await open_with_network(clients)
    await close(team, case_id)
    size = await running.gw.storage.log_size()

    refused = await refusal(reopen(clients(member), case_id))

    assert (refused.status, refused.code) == (403, "case_close_not_allowed")
    assert (await state(team, case_id))["state"] == "closed"
    assert await running.gw.storage.log_size() == size


# -- A closed case takes nothing new --------------------------------------------------------------


async def test_a_closed_case_refuses_new_members_children_and_network_sends_until_reopened(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)
    await close(team, case_id)
    size = await running.gw.storage.log_size()

    member = await refusal(team.register_member(case_id, "jgz-hollandsnoorden"))
    changed = await refusal(team.register_member(case_id, SCHOOL, role="involved"))
    child = await refusal(
        team.request(
            "PUT",
            f"/v1/cases/{case_id}/household",
            json_body={"children": [{"bsn": BSN_CHILD, "child_ref": "kind-1"}]},
        )
    )
    body = {
        "purpose": "information-request",
        "to": {"case_network": case_id},
        "subject": {"bsn": BSN_CHILD},
        "payload": example("information-request"),
    }
    sent = await refusal(team.request("POST", "/v1/exchanges", json_body=body))
    checked = await team.request("POST", "/v1/exchanges/check", json_body=body)

    for refused in (member, changed, child, sent):
        assert (refused.status, refused.code) == (409, "case_closed")
        assert "reopen" in refused.details["how_to_fix"]
    assert (checked["allowed"], checked["code"]) == (False, "case_closed")
    assert await running.gw.storage.log_size() == size
    assert await running.gw.storage.household(case_id) == []
    assert sorted(m["partner"] for m in (await team.case_network(case_id))["members"]) == sorted(
        [TEAM, PROVIDER, SCHOOL, GI]
    )

    await reopen(team, case_id)
    await team.register_member(case_id, "jgz-hollandsnoorden")


async def test_a_closure_notice_to_a_closed_cases_network_is_still_decided_not_refused_as_closed(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)
    await close(team, case_id)

    checked = await team.request(
        "POST",
        "/v1/exchanges/check",
        json_body={
            "purpose": "closure-notice",
            "to": {"case_network": case_id},
            "subject": {"bsn": BSN_CHILD},
            "payload": example("closure-notice"),
        },
    )

    # No consent is recorded, so the notice is refused for that, not for the case's state.
    assert checked["code"] != "case_closed"


# -- What a non-member learns ---------------------------------------------------------------------


@pytest.mark.parametrize("prober", [PROVIDER, SCHOOL, GI, "jgz-hollandsnoorden"])
async def test_a_non_member_learns_nothing_of_a_cases_state_and_cannot_close_or_reopen_it(
    running: Running, clients: Clients, prober: str
) -> None:
    team = clients(TEAM)
    active = (await team.open_case())["case_id"]
    closed = (await team.open_case())["case_id"]
    await close(team, closed)
    size = await running.gw.storage.log_size()
    client = clients(prober)

    answers = []
    for case_id in (active, closed, NEVER_OPENED):
        calls = [state(client, case_id), close(client, case_id), reopen(client, case_id)]
        answers.append([(r.status, r.details) for r in [await refusal(c) for c in calls]])

    assert answers[0] == answers[1] == answers[2]
    assert all(status == 404 for status, _ in answers[0])
    assert await running.gw.storage.log_size() == size
    assert (await state(team, active))["state"] == "active"
    assert (await state(team, closed))["state"] == "closed"


async def test_a_removed_member_can_no_longer_read_the_state(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)
    await team.remove_member(case_id, PROVIDER)

    refused = await refusal(state(clients(PROVIDER), case_id))

    assert (refused.status, refused.code) == (404, "not_found")


# -- Informing the network ------------------------------------------------------------------------

CUSTODIAN = "Marieke Jansen"


async def consent_to_notice(client: PartnerClient, to: list[str]) -> None:
    """The team records the consent of a 13-year-old and a custodian to tell `to` of the end."""
    await client.record_consent(
        {
            "subject": {"bsn": BSN_CHILD, "birth_date": "2013-05-01"},
            "given_by": [{"role": "subject"}, {"role": "custodian", "name": CUSTODIAN}],
            "purposes": ["closure-notice"],
            "to": to,
            "evidence": {"method": "written", "reference": "dossier-2026-0042"},
        }
    )


def notice() -> dict[str, Any]:
    return {"subject": {"bsn": BSN_CHILD}, "payload": example("closure-notice")}


async def test_closing_with_a_notice_sends_it_to_every_member_whose_basis_allows_and_names_the_refused(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)
    await consent_to_notice(team, [PROVIDER])

    closed = await team.request(
        "POST",
        f"/v1/cases/{case_id}/close",
        json_body={"reason": "goals_reached", "notice": notice()},
    )

    told = closed["closure_notice"]
    assert (told["sent"], told["disclosed"]) == (True, [PROVIDER])
    assert sorted((r["recipient"], r["code"]) for r in told["refused"]) == [
        (GI, "consent_required"),
        (SCHOOL, "consent_required"),
    ]
    [message] = (await clients(PROVIDER).inbox())["messages"]
    assert (message["purpose"], message["case_id"]) == ("closure-notice", case_id)
    disclosed = await entries(running, "disclosed")
    assert [(e.purpose, e.recipient, e.case_id) for e in disclosed] == [
        ("closure-notice", PROVIDER, case_id)
    ]
    assert disclosed[0].exchange_id == told["exchange_id"]
    assert [e.case_id for e in await entries(running, "case_closed")] == [case_id]


async def test_a_notice_no_member_may_receive_leaves_the_case_closed_and_names_each_refusal(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)

    closed = await team.request(
        "POST", f"/v1/cases/{case_id}/close", json_body={"reason": "moved", "notice": notice()}
    )

    told = closed["closure_notice"]
    assert (told["sent"], told["code"], told["disclosed"]) == (False, "consent_required", [])
    assert sorted(r["recipient"] for r in told["refused"]) == sorted([PROVIDER, SCHOOL, GI])
    assert {r["code"] for r in told["refused"]} == {"consent_required"}
    assert (await state(team, case_id))["state"] == "closed"
    assert await entries(running, "disclosed") == []


async def test_a_notice_whose_payload_could_never_go_is_refused_before_the_case_closes(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_with_network(clients)
    size = await running.gw.storage.log_size()
    bad = {
        "subject": {"bsn": BSN_CHILD},
        "payload": {**example("closure-notice"), "diagnosis": "x"},
    }

    refused = await refusal(
        team.request(
            "POST", f"/v1/cases/{case_id}/close", json_body={"reason": "moved", "notice": bad}
        )
    )

    assert refused.status in (400, 422)
    assert (await state(team, case_id))["state"] == "active"
    assert await running.gw.storage.log_size() == size
