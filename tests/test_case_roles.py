"""Roles in a case, and what a closed case still lets be said about it.

Over real HTTP against a running gateway, on SQLite and on PostgreSQL (the `backend` fixture).
A closed case is named by no exchange but what tells of its end; closing it names the partner
whose referral it was opened on, to be told with a referrer status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.store.base import LogFilter
from tests.conftest import BSN_CHILD, BSN_OTHER, Running, example
from tests.helpers import break_glass

Clients = Callable[..., PartnerClient]
TEAM, PROVIDER, SCHOOL, GI = "swt-denhelder", "zorg-noord", "school-de-es", "gi-noordholland"


async def refusal(call: Any) -> GatewayClientError:
    with pytest.raises(GatewayClientError) as refused:
        await call
    return refused.value


async def close(client: PartnerClient, case_id: str, reason: str = "goals_reached") -> Any:
    return await client.request("POST", f"/v1/cases/{case_id}/close", json_body={"reason": reason})


async def open_on_report(clients: Clients) -> tuple[PartnerClient, str]:
    """The school reports a worry to the team, which opens a case on that report, with the
    provider and the school in its network."""
    team = clients(TEAM)
    # Without the family's agreement a school's report to the team breaks the glass (issue 19).
    report = await clients(SCHOOL).send(
        "safety-report",
        TEAM,
        BSN_CHILD,
        example("safety-report"),
        break_glass=break_glass(
            "Bruises seen twice this week; the child is afraid to go home.",
            "The child's safety outweighs the family's privacy today.",
            "Asking the parents could put the child at risk.",
        ),
    )
    opened = await team.request(
        "POST",
        "/v1/cases",
        json_body={"opened_on": "report", "opened_on_exchange": report["exchange_id"]},
    )
    case_id = str(opened["case_id"])
    await team.register_member(case_id, PROVIDER, role="involved")
    await team.register_member(case_id, SCHOOL, role="involved")
    return team, case_id


# -- A closed case is named only by what tells of its end -----------------------------------------


async def test_an_exchange_naming_a_closed_case_is_refused_as_closed_and_logs_nothing(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_on_report(clients)
    await close(team, case_id)
    size = await running.gw.storage.log_size()

    sent = await refusal(
        team.send(
            "information-request",
            [SCHOOL],
            BSN_CHILD,
            example("information-request"),
            case_id=case_id,
        )
    )
    checked = await team.check(
        "information-request",
        [SCHOOL],
        BSN_CHILD,
        example("information-request"),
        case_id=case_id,
    )

    assert (sent.status, sent.code) == (409, "case_closed")
    assert "reopen" in sent.details["how_to_fix"].lower()
    assert (checked["allowed"], checked["code"]) == (False, "case_closed")
    assert "reopen" in checked["how_to_fix"].lower()
    assert await running.gw.storage.log_size() == size


async def test_the_same_exchange_naming_the_case_goes_again_once_it_is_reopened(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_on_report(clients)
    await close(team, case_id)
    await team.request("POST", f"/v1/cases/{case_id}/reopen", json_body={"reason": "relapse"})

    checked = await team.check(
        "information-request",
        [SCHOOL],
        BSN_CHILD,
        example("information-request"),
        case_id=case_id,
    )

    # No consent is recorded: refused for that, no longer for the case's state.
    assert checked["code"] == "consent_required"


@pytest.mark.parametrize(
    ("purpose", "payload"),
    [
        ("closure-notice", example("closure-notice")),
        ("referrer-status", {"status": "closed"}),
        ("referrer-status", {"status": "transferred"}),
    ],
)
async def test_what_tells_of_a_closed_cases_end_may_still_name_it(
    running: Running, clients: Clients, purpose: str, payload: dict[str, Any]
) -> None:
    team, case_id = await open_on_report(clients)
    await close(team, case_id)

    checked = await team.check(purpose, [SCHOOL], BSN_CHILD, payload, case_id=case_id)

    assert checked["code"] == "consent_required"


async def test_a_referrer_status_saying_help_started_may_not_name_a_closed_case(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_on_report(clients)
    await close(team, case_id)

    checked = await team.check(
        "referrer-status", [SCHOOL], BSN_CHILD, {"status": "help_started"}, case_id=case_id
    )

    assert (checked["allowed"], checked["code"]) == (False, "case_closed")


# -- Closing names the original referrer ----------------------------------------------------------


async def test_closing_names_the_partner_whose_report_the_case_was_opened_on_to_tell(
    running: Running, clients: Clients
) -> None:
    team, case_id = await open_on_report(clients)

    closed = await close(team, case_id, "transferred")

    assert closed["referrer"] == {
        "partner": SCHOOL,
        "purpose": "referrer-status",
        "status": "transferred",
        "sent": False,
    }
    # And the team can tell it so, naming the closed case, once the family agreed.
    await team.record_consent(
        {
            "subject": {"bsn": BSN_CHILD, "birth_date": "2013-05-01"},
            "given_by": [{"role": "subject"}, {"role": "custodian", "name": "Marieke Jansen"}],
            "purposes": ["referrer-status"],
            "to": [SCHOOL],
            "evidence": {"method": "written", "reference": "dossier-2026-0042"},
        }
    )
    told = await team.send(
        "referrer-status", [SCHOOL], BSN_CHILD, {"status": "transferred"}, case_id=case_id
    )
    assert [d["recipient"] for d in told["disclosures"]] == [SCHOOL]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"opened_on": "signal"},
        # An exchange id the log holds no disclosure to the team of.
        {"opened_on": "referral", "opened_on_exchange": "ex_AbCdEfGhIjKlMnOpQrStUv"},
    ],
)
async def test_closing_names_no_referrer_without_a_referral_disclosed_to_the_team(
    running: Running, clients: Clients, body: dict[str, Any]
) -> None:
    team = clients(TEAM)
    case_id = (await team.request("POST", "/v1/cases", json_body=body))["case_id"]

    closed = await close(team, case_id)

    assert closed["referrer"] is None


# -- Procesregie: one holder, handed over explicitly -----------------------------------------------

MEASURE = {"type": "ots", "ruling": "ECLI:NL:RBNHO:2026:1234"}


async def entries(running: Running, decision: str) -> list[Any]:
    rows = await running.gw.storage.search_log(LogFilter(decision=decision), after=None, limit=50)
    return [r.entry for r in rows]


async def state(client: PartnerClient, case_id: str) -> Any:
    return await client.request("GET", f"/v1/cases/{case_id}")


async def hand_over(client: PartnerClient, case_id: str, to: str) -> Any:
    return await client.request("POST", f"/v1/cases/{case_id}/hand-over", json_body={"to": to})


async def open_with_gi(clients: Clients) -> tuple[PartnerClient, PartnerClient, str]:
    """The team opens a case with the provider and the school; the GI joins under its measure."""
    team, gi = clients(TEAM, actor="regisseur-1"), clients(GI, actor="jeugdbeschermer-7")
    case_id = str((await team.open_case())["case_id"])
    await team.register_member(case_id, PROVIDER, role="involved")
    await team.register_member(case_id, SCHOOL, role="involved")
    await gi.register_member(case_id, GI, measure=MEASURE)
    return team, gi, case_id


async def test_the_team_that_opens_a_case_holds_procesregie_with_its_acting_professional(
    running: Running, clients: Clients
) -> None:
    team, _, case_id = await open_with_gi(clients)

    seen = await state(team, case_id)
    listed = await team.case_network(case_id)

    assert seen["procesregie"] == {"partner": TEAM, "actor": f"{TEAM}-regisseur-1"}
    assert listed["procesregie"] == {"partner": TEAM, "actor": f"{TEAM}-regisseur-1"}
    assert [m["partner"] for m in listed["members"] if m["role"] == "procesregisseur"] == [TEAM]


async def test_procesregie_handed_to_the_gi_under_its_measure_moves_the_role_and_is_logged(
    running: Running, clients: Clients
) -> None:
    team, gi, case_id = await open_with_gi(clients)

    handed = await hand_over(team, case_id, GI)

    assert handed["procesregie"] == {"partner": GI, "actor": None}
    roles = {m["partner"]: m["role"] for m in (await team.case_network(case_id))["members"]}
    assert (roles[GI], roles[TEAM]) == ("procesregisseur", "involved")
    assert list(roles.values()).count("procesregisseur") == 1
    [entry] = await entries(running, "procesregie_handed_over")
    assert (entry.case_id, entry.recipient, entry.sender and entry.sender.partner) == (
        case_id,
        GI,
        TEAM,
    )
    assert entry.sender is not None
    assert entry.sender.actor == f"{TEAM}-regisseur-1"
    assert handed["log_index"] == (await running.gw.storage.log_size()) - 1
    # The team's own dossier link stays the team's: the new holder does not see it.
    assert "exchange_id" not in (await state(gi, case_id))["history"][0]
    assert "dossier_reference" not in await gi.case_network(case_id)
    assert "dossier_reference" in await team.case_network(case_id)
    # The GI's professional takes the role by handing it to its own organisation.
    taken = await hand_over(gi, case_id, GI)
    assert taken["procesregie"] == {"partner": GI, "actor": f"{GI}-jeugdbeschermer-7"}
    # The provider may not see a certified institution: the holder is not named to it.
    assert (await state(clients(PROVIDER), case_id))["procesregie"] == {
        "partner": None,
        "actor": None,
    }
    # The former holder no longer directs: the new holder hands it back.
    refused = await refusal(hand_over(team, case_id, TEAM))
    assert (refused.status, refused.code) == (403, "forbidden")
    await hand_over(gi, case_id, TEAM)
    assert (await state(team, case_id))["procesregie"] == {"partner": TEAM, "actor": None}


@pytest.mark.parametrize("member", [PROVIDER, SCHOOL, GI])
async def test_a_member_that_does_not_hold_procesregie_cannot_hand_it_over_nor_take_it(
    running: Running, clients: Clients, member: str
) -> None:
    team, _, case_id = await open_with_gi(clients)
    size = await running.gw.storage.log_size()
    client = clients(member)

    to_itself = await refusal(hand_over(client, case_id, member))
    to_other = await refusal(hand_over(client, case_id, PROVIDER))

    for refused in (to_itself, to_other):
        assert (refused.status, refused.code) == (403, "forbidden")
    assert (await state(team, case_id))["procesregie"]["partner"] == TEAM
    assert await running.gw.storage.log_size() == size


@pytest.mark.parametrize("to", [PROVIDER, SCHOOL])
async def test_procesregie_goes_only_to_a_team_or_a_gi_with_a_measure(
    running: Running, clients: Clients, to: str
) -> None:
    team, _, case_id = await open_with_gi(clients)
    size = await running.gw.storage.log_size()

    refused = await refusal(hand_over(team, case_id, to))

    assert (refused.status, refused.code) == (403, "forbidden")
    assert "certified institution" in refused.details["message"]
    assert await running.gw.storage.log_size() == size


async def test_procesregie_does_not_go_to_a_gi_registered_without_a_measure_nor_to_a_non_member(
    running: Running, clients: Clients
) -> None:
    team = clients(TEAM)
    case_id = str((await team.open_case())["case_id"])
    await team.register_member(case_id, GI, role="involved")
    size = await running.gw.storage.log_size()

    no_measure = await refusal(hand_over(team, case_id, GI))
    outsider = await refusal(hand_over(team, case_id, PROVIDER))

    assert (no_measure.status, no_measure.code) == (403, "forbidden")
    assert (outsider.status, outsider.code) == (404, "not_found")
    assert await running.gw.storage.log_size() == size


async def test_nothing_leaves_a_case_with_two_procesregisseurs_or_none(
    running: Running, clients: Clients
) -> None:
    team, gi, case_id = await open_with_gi(clients)
    size = await running.gw.storage.log_size()

    second = await refusal(team.register_member(case_id, PROVIDER, role="procesregisseur"))
    gi_second = await refusal(team.register_member(case_id, GI, role="procesregisseur"))
    demoted = await refusal(team.register_member(case_id, TEAM, role="involved"))
    removed = await refusal(team.remove_member(case_id, TEAM))

    for refused in (second, gi_second, demoted, removed):
        assert (refused.status, refused.code) == (409, "procesregie_conflict")
        assert "hand-over" in refused.details["how_to_fix"]
    assert await running.gw.storage.log_size() == size
    # After a hand-over the former holder may leave, and the new holder may not.
    await hand_over(team, case_id, GI)
    held = await refusal(gi.remove_member(case_id, GI))
    assert (held.status, held.code) == (409, "procesregie_conflict")
    await gi.remove_member(case_id, TEAM)
    assert (await state(gi, case_id))["procesregie"]["partner"] == GI


async def test_a_provider_cannot_make_itself_procesregisseur(
    running: Running, clients: Clients
) -> None:
    team, _, case_id = await open_with_gi(clients)
    provider = clients(PROVIDER)

    itself = await refusal(provider.register_member(case_id, PROVIDER, role="procesregisseur"))
    handed = await refusal(hand_over(provider, case_id, PROVIDER))

    assert (itself.status, handed.status) == (403, 403)
    assert (await state(team, case_id))["procesregie"]["partner"] == TEAM


async def test_a_non_member_learns_nothing_from_a_hand_over_or_a_childs_direction(
    running: Running, clients: Clients
) -> None:
    team = clients(TEAM)
    case_id = str((await team.open_case())["case_id"])
    never = "case_" + "a" * 26
    size = await running.gw.storage.log_size()
    gi = clients(GI)

    answers = []
    for target in (case_id, never):
        calls = [
            hand_over(gi, target, GI),
            gi.request(
                "PUT",
                f"/v1/cases/{target}/household/kind-1/direction",
                json_body={"directed_by": GI},
            ),
        ]
        answers.append([(r.status, r.details) for r in [await refusal(c) for c in calls]])

    assert answers[0] == answers[1]
    assert all(status == 404 for status, _ in answers[0])
    assert await running.gw.storage.log_size() == size


async def test_a_closed_case_is_not_handed_over(running: Running, clients: Clients) -> None:
    team, _, case_id = await open_with_gi(clients)
    await close(team, case_id)

    refused = await refusal(hand_over(team, case_id, GI))

    assert (refused.status, refused.code) == (409, "case_closed")


# -- A casusregisseur per column ------------------------------------------------------------------


async def test_each_column_has_at_most_one_casusregisseur_shown_to_the_members_that_see_it(
    running: Running, clients: Clients
) -> None:
    team, _, case_id = await open_with_gi(clients)
    await team.register_member(case_id, "wi-denhelder", role="involved")

    youth = await team.register_member(case_id, PROVIDER, role="casusregisseur", column="youth")
    await team.register_member(case_id, "wi-denhelder", role="casusregisseur", column="income")
    size = await running.gw.storage.log_size()
    second = await refusal(team.register_member(case_id, GI, role="casusregisseur", column="youth"))
    no_column = await refusal(team.register_member(case_id, GI, role="casusregisseur"))
    stray = await refusal(team.register_member(case_id, GI, role="involved", column="wmo"))

    assert (youth["role"], youth["column"]) == ("casusregisseur", "youth")
    assert (second.status, second.code) == (409, "casusregie_conflict")
    assert [(r.status, r.code) for r in (no_column, stray)] == [(400, "invalid_request")] * 2
    assert await running.gw.storage.log_size() == size
    # The catalogue lets a social team see no work-and-income partner, nor the school a care
    # provider: a casusregisseur is named only to the members that may see it.
    assert (await state(team, case_id))["casusregie"] == [{"column": "youth", "partner": PROVIDER}]
    income = await running.gw.storage.case_network(case_id)
    assert sorted((m.care_column, m.partner_id) for m in income if m.role == "casusregisseur") == [
        ("income", "wi-denhelder"),
        ("youth", PROVIDER),
    ]
    assert (await state(clients(SCHOOL), case_id))["casusregie"] == []
    [added] = [
        e
        for e in await entries(running, "case_member_changed")
        if e.recipient == PROVIDER and e.case_id == case_id
    ]
    assert added.details == {
        "role": "casusregisseur",
        "column": "youth",
        "previous_role": "involved",
    }
    # The column's casusregisseur becomes 'involved', then another may take the column.
    await team.register_member(case_id, PROVIDER, role="involved")
    await team.register_member(case_id, GI, role="casusregisseur", column="youth")


# -- Under a measure the certified institution directs the help for the child ---------------------


async def with_children(team: PartnerClient, case_id: str) -> None:
    await team.request(
        "PUT",
        f"/v1/cases/{case_id}/household",
        json_body={
            "children": [
                {"bsn": BSN_CHILD, "child_ref": "kind-1"},
                {"bsn": BSN_OTHER, "child_ref": "kind-2"},
            ]
        },
    )


async def direct(client: PartnerClient, case_id: str, child_ref: str, by: str | None) -> Any:
    return await client.request(
        "PUT",
        f"/v1/cases/{case_id}/household/{child_ref}/direction",
        json_body={"directed_by": by},
    )


async def test_the_gi_directs_the_help_for_the_child_under_its_measure_while_the_team_keeps_procesregie(
    running: Running, clients: Clients
) -> None:
    team, gi, case_id = await open_with_gi(clients)
    await with_children(team, case_id)

    directed = await direct(gi, case_id, "kind-1", GI)

    assert (directed["child_ref"], directed["directed_by"]) == ("kind-1", GI)
    seen = await state(team, case_id)
    assert seen["procesregie"]["partner"] == TEAM
    assert seen["children"] == [
        {"child_ref": "kind-1", "directed_by": GI},
        {"child_ref": "kind-2", "directed_by": None},
    ]
    # A provider may not see the certified institution: the child's director is not named to it.
    assert [c["directed_by"] for c in (await state(clients(PROVIDER), case_id))["children"]] == [
        None,
        None,
    ]
    [entry] = await entries(running, "child_direction_set")
    assert (entry.case_id, entry.recipient, entry.sender and entry.sender.partner) == (
        case_id,
        GI,
        GI,
    )
    assert entry.subject is not None
    assert BSN_CHILD not in entry.canonical().decode()
    assert "kind-1" not in entry.canonical().decode()
    # The team gives the direction back to itself (the procesregisseur).
    await direct(team, case_id, "kind-1", None)
    assert (await state(team, case_id))["children"][0]["directed_by"] is None
    # A GI that leaves the case directs none of its children any more.
    await direct(gi, case_id, "kind-2", GI)
    await team.remove_member(case_id, GI)
    assert {c["directed_by"] for c in (await state(team, case_id))["children"]} == {None}


async def test_a_gi_without_a_measure_cannot_direct_a_child(
    running: Running, clients: Clients
) -> None:
    team = clients(TEAM)
    case_id = str((await team.open_case())["case_id"])
    await team.register_member(case_id, GI, role="involved")
    await team.register_member(case_id, PROVIDER, role="involved")
    await with_children(team, case_id)
    size = await running.gw.storage.log_size()

    itself = await refusal(direct(clients(GI), case_id, "kind-1", GI))
    by_team = await refusal(direct(team, case_id, "kind-1", GI))
    provider = await refusal(direct(team, case_id, "kind-1", PROVIDER))
    by_provider = await refusal(direct(clients(PROVIDER), case_id, "kind-1", PROVIDER))

    for refused in (itself, by_team, provider, by_provider):
        assert (refused.status, refused.code) == (403, "forbidden")
    assert "measure" in itself.details["message"]
    assert await running.gw.storage.log_size() == size
    assert {c["directed_by"] for c in (await state(team, case_id))["children"]} == {None}


async def test_a_member_that_is_neither_holder_nor_the_gi_cannot_set_a_childs_director(
    running: Running, clients: Clients
) -> None:
    team, _, case_id = await open_with_gi(clients)
    await with_children(team, case_id)

    refused = await refusal(direct(clients(SCHOOL), case_id, "kind-1", GI))
    unknown = await refusal(direct(team, case_id, "kind-9", GI))

    assert (refused.status, refused.code) == (403, "forbidden")
    assert (unknown.status, unknown.code) == (404, "not_found")


async def test_hand_overs_and_a_removal_at_once_leave_exactly_one_procesregisseur(
    running: Running, clients: Clients
) -> None:
    team, _, case_id = await open_with_gi(clients)
    other = clients(TEAM, actor="regisseur-2")

    await asyncio.gather(
        hand_over(team, case_id, GI),
        hand_over(other, case_id, TEAM),
        team.remove_member(case_id, GI),
        return_exceptions=True,
    )

    case = await running.gw.storage.get_case(case_id)
    members = await running.gw.storage.case_network(case_id)
    holders = [m.partner_id for m in members if m.role == "procesregisseur"]
    assert case is not None
    assert holders == [case.director]
    handed = await entries(running, "procesregie_handed_over")
    removed = [e for e in await entries(running, "case_member_removed") if e.case_id == case_id]
    # Whatever won, the holder is a member and the log tells how it got there.
    assert case.director in {TEAM, GI}
    assert (case.director == GI) == any(e.recipient == GI for e in handed)
    assert not (case.director == GI and removed)


async def test_two_casusregisseurs_for_one_column_at_once_leave_one(
    running: Running, clients: Clients
) -> None:
    team, _, case_id = await open_with_gi(clients)
    other = clients(TEAM, actor="regisseur-2")

    results = await asyncio.gather(
        team.register_member(case_id, PROVIDER, role="casusregisseur", column="youth"),
        other.register_member(case_id, GI, role="casusregisseur", column="youth"),
        return_exceptions=True,
    )

    [lost] = [r for r in results if isinstance(r, GatewayClientError)]
    assert (lost.status, lost.code) == (409, "casusregie_conflict")
    members = await running.gw.storage.case_network(case_id)
    assert len([m for m in members if m.care_column == "youth"]) == 1
