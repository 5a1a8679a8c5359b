"""Roles in a case, and what a closed case still lets be said about it.

Over real HTTP against a running gateway, on SQLite and on PostgreSQL (the `backend` fixture).
A closed case is named by no exchange but what tells of its end; closing it names the partner
whose referral it was opened on, to be told with a referrer status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.client.http import GatewayClientError, PartnerClient
from tests.conftest import BSN_CHILD, Running, example

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
    report = await clients(SCHOOL).send("safety-report", TEAM, BSN_CHILD, example("safety-report"))
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
