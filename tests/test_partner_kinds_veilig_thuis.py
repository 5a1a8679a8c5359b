"""Veilig Thuis as a partner (issue 19): the report to it and its feedback to the reporter.

Each flow over real HTTP on SQLite and PostgreSQL, one exchange the catalogue allows and one it
refuses per purpose and direction:

- `safety-report-vt`: any reporting professional -> Veilig Thuis, without the family's agreement
  (Wmo 2015 art. 5.2.6); never to another kind, never from Veilig Thuis itself.
- `vt-feedback`: Veilig Thuis -> the professional who reported, only in reply to that report and
  about the same person.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.client.http import GatewayClientError, PartnerClient
from tests.conftest import BSN_CHILD, BSN_OTHER, Running, example
from tests.helpers import ClockedClients, log_entries

VT = "veiligthuis-nhn"


@pytest.fixture
async def made(running: Running) -> AsyncIterator[ClockedClients]:
    clients = ClockedClients(running)
    yield clients
    await clients.close()


def quiet_report() -> dict[str, Any]:
    """A report without acute danger (the urgent case is tests/test_urgent_messages.py)."""
    return {**example("safety-report-vt"), "acute_danger": False}


async def refused(call: Any) -> GatewayClientError:
    with pytest.raises(GatewayClientError) as raised:
        await call
    return raised.value


@pytest.mark.parametrize(
    ("reporter", "role"),
    [
        ("school-de-es", "intern_begeleider"),
        ("huisarts-zuid", "huisarts"),
        ("jgz-hollandsnoorden", "jeugdarts"),
        ("leerplicht-denhelder", "leerplichtambtenaar"),
        ("swt-denhelder", "procesregisseur"),
    ],
)
async def test_a_professional_reports_to_veilig_thuis_without_the_familys_agreement(
    running: Running, made: ClockedClients, reporter: str, role: str
) -> None:
    sent = await made(reporter, role).send("safety-report-vt", VT, BSN_CHILD, quiet_report())
    assert sent["legal_basis"]["reference"] == "Wmo 2015 art. 5.2.6; Wet verplichte meldcode"
    inbox = await made(VT, "triagist").inbox()
    (message,) = inbox["messages"]
    assert message["purpose"] == "safety-report-vt"
    assert message["from"]["partner"] == reporter
    assert message["payload"]["reporting_code_step"] == "acute_or_structural_unsafety"
    entries = [e for e in await log_entries(running) if e.purpose == "safety-report-vt"]
    assert [e.decision for e in entries] == ["disclosed"]


async def test_a_report_under_the_veilig_thuis_meldrecht_cannot_go_to_the_social_team(
    made: ClockedClients,
) -> None:
    school = made("school-de-es", "intern_begeleider")
    error = await refused(
        school.send("safety-report-vt", "swt-denhelder", BSN_CHILD, quiet_report())
    )
    assert error.code == "recipient_not_allowed"
    assert (await made("swt-denhelder", "procesregisseur").inbox())["messages"] == []


async def test_veilig_thuis_cannot_send_itself_a_report_as_if_it_were_a_reporter(
    made: ClockedClients,
) -> None:
    vt = made(VT, "triagist")
    error = await refused(vt.send("safety-report-vt", VT, BSN_CHILD, quiet_report()))
    assert error.code == "sender_not_allowed"


async def test_a_report_that_withholds_the_reason_the_family_was_not_told_is_refused(
    made: ClockedClients,
) -> None:
    payload = {k: v for k, v in quiet_report().items() if k != "family_not_informed_reason"}
    school = made("school-de-es", "intern_begeleider")
    error = await refused(school.send("safety-report-vt", VT, BSN_CHILD, payload))
    assert error.code == "schema_violation"


async def reported(made: ClockedClients, reporter: str = "huisarts-zuid") -> str:
    sent = await made(reporter, "huisarts").send("safety-report-vt", VT, BSN_CHILD, quiet_report())
    return str(sent["exchange_id"])


async def test_veilig_thuis_tells_the_reporter_what_it_does_with_the_report(
    made: ClockedClients,
) -> None:
    report = await reported(made)
    gp = made("huisarts-zuid", "huisarts")
    owed = (await gp.request("GET", "/v1/expectations"))["expectations"]
    assert [(e["purpose"], e["owed_by"], e["status"]) for e in owed] == [
        ("vt-feedback", VT, "open")
    ]
    vt = made(VT, "veilig_thuis_medewerker")
    sent = await vt.send(
        "vt-feedback", "huisarts-zuid", BSN_CHILD, example("vt-feedback"), in_reply_to=report
    )
    assert sent["legal_basis"]["type"] == "statute"
    (message,) = (await gp.inbox())["messages"]
    assert message["purpose"] == "vt-feedback"
    assert message["in_reply_to"] == report
    assert message["payload"]["outcome"] == "handed_to_local_team"
    closed = (await gp.request("GET", "/v1/expectations", params={"status": "all"}))["expectations"]
    assert [e["status"] for e in closed if e["purpose"] == "vt-feedback"] == ["closed"]


async def test_veilig_thuis_feedback_cannot_go_to_anyone_but_the_reporter(
    made: ClockedClients,
) -> None:
    report = await reported(made)
    vt = made(VT, "veilig_thuis_medewerker")
    error = await refused(
        vt.send(
            "vt-feedback", "school-de-es", BSN_CHILD, example("vt-feedback"), in_reply_to=report
        )
    )
    assert error.code == "invalid_request"
    assert (await made("school-de-es", "intern_begeleider").inbox())["messages"] == []


async def test_veilig_thuis_feedback_without_a_report_to_answer_is_refused(
    made: ClockedClients,
) -> None:
    vt = made(VT, "veilig_thuis_medewerker")
    error = await refused(
        vt.send("vt-feedback", "huisarts-zuid", BSN_CHILD, example("vt-feedback"))
    )
    assert error.code == "invalid_request"
    assert "in_reply_to" in error.message


async def test_veilig_thuis_feedback_about_another_child_than_the_report_is_refused(
    made: ClockedClients,
) -> None:
    report = await reported(made)
    vt = made(VT, "veilig_thuis_medewerker")
    error = await refused(
        vt.send(
            "vt-feedback", "huisarts-zuid", BSN_OTHER, example("vt-feedback"), in_reply_to=report
        )
    )
    assert error.code == "invalid_request"
    assert (await made("huisarts-zuid", "huisarts").inbox())["messages"] == []


async def test_a_partner_that_is_not_veilig_thuis_cannot_send_its_feedback(
    made: ClockedClients,
) -> None:
    report = await reported(made)
    team: PartnerClient = made("swt-denhelder", "procesregisseur")
    error = await refused(
        team.send(
            "vt-feedback", "huisarts-zuid", BSN_CHILD, example("vt-feedback"), in_reply_to=report
        )
    )
    # The reply check comes first in the contract's order: the report was not made to the team,
    # so the team has no open request to answer.
    assert error.code == "invalid_request"
    assert (await made("huisarts-zuid", "huisarts").inbox())["messages"] == []
    # The check answers as the send does (issue 19, F10): no open report to answer, named or not.
    checked = await team.check("vt-feedback", "huisarts-zuid", BSN_CHILD, in_reply_to=report)
    assert (checked["allowed"], checked["code"]) == (False, "invalid_request")
    unnamed = await team.check("vt-feedback", "huisarts-zuid", BSN_CHILD)
    assert (unnamed["allowed"], unnamed["code"]) == (False, "invalid_request")
