"""An exchange names only a case its sender is a member of, and no case id a caller made up
reaches the log.

Each test is an attack with a partner's own valid token, over real HTTP against a running
gateway, on SQLite and on PostgreSQL (the `backend` fixture).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.log.entry import LogEntry
from tests.conftest import BSN_CHILD, Running, example
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    storage_backend_fixture,
)

Clients = Callable[..., PartnerClient]
SMUGGLED = "bsn-999992351"  # a case id shaped to pass the pattern and carry a person number


async def entries_since(running: Running, size: int) -> list[LogEntry]:
    rows = await running.gw.storage.log_rows(size, await running.gw.storage.log_size())
    return [row.entry for row in rows]


async def refused(call: Any) -> GatewayClientError:
    with pytest.raises(GatewayClientError) as caught:
        await call
    return caught.value


async def test_a_provider_tying_its_feedback_to_another_partners_case_is_refused_as_if_it_did_not_exist(
    running: Running, clients: Clients
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    case_id = (await team.open_case())["case_id"]  # the provider is no member
    feedback = example("evaluation-feedback")

    answers = []
    for named in (case_id, "case_" + "b" * 26):
        size = await running.gw.storage.log_size()
        error = await refused(
            provider.send(
                "evaluation-feedback", "swt-denhelder", BSN_CHILD, feedback, case_id=named
            )
        )
        answers.append((error.status, error.code, error.message))
        [entry] = await entries_since(running, size)
        assert (entry.decision, entry.reason, entry.case_id) == ("refused", "not_found", None)
        assert named not in entry.canonical().decode()

    assert answers[0] == answers[1]
    assert answers[0][:2] == (404, "not_found")
    assert (await team.inbox())["messages"] == []


async def test_a_partner_smuggling_a_bsn_in_a_case_id_gets_it_neither_into_the_log_nor_answered(
    running: Running, clients: Clients
) -> None:
    provider = clients("zorg-noord")
    feedback = example("evaluation-feedback")
    size = await running.gw.storage.log_size()

    send = await refused(
        provider.send("evaluation-feedback", "swt-denhelder", BSN_CHILD, feedback, case_id=SMUGGLED)
    )
    check = await provider.check(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, case_id=SMUGGLED
    )
    network = await refused(
        provider.send("evaluation-feedback", {"case_network": SMUGGLED}, BSN_CHILD, feedback)
    )

    assert (send.code, check["allowed"], check["code"], network.code) == (
        "not_found",
        False,
        "not_found",
        "unknown_recipient",
    )
    assert SMUGGLED not in f"{send.message} {send.how_to_fix} {check} {network.message}"
    logged = await entries_since(running, size)
    assert [(e.decision, e.reason) for e in logged] == [
        ("refused", "not_found"),
        ("refused", "unknown_recipient"),
    ]
    for entry in logged:
        assert "999992351" not in entry.canonical().decode()
        assert entry.case_id is None


async def test_a_member_ties_its_exchange_to_the_case_and_the_log_says_so(
    running: Running, clients: Clients
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    case_id = (await team.open_case())["case_id"]
    await team.register_member(case_id, "zorg-noord")
    # The child in the case's household: the provider's relation to it (issue 19).
    await team.request(
        "PUT",
        f"/v1/cases/{case_id}/household",
        json_body={"children": [{"bsn": BSN_CHILD, "child_ref": "kind-1"}]},
    )
    size = await running.gw.storage.log_size()

    sent = await provider.send(
        "evaluation-feedback",
        "swt-denhelder",
        BSN_CHILD,
        example("evaluation-feedback"),
        case_id=case_id,
    )

    [entry] = await entries_since(running, size)
    assert (entry.decision, entry.exchange_id, entry.case_id) == (
        "disclosed",
        sent["exchange_id"],
        case_id,
    )
    [message] = (await team.inbox())["messages"]
    assert message["case_id"] == case_id


async def test_a_partner_removed_from_a_case_can_no_longer_tie_exchanges_to_it(
    running: Running, clients: Clients
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    case_id = (await team.open_case())["case_id"]
    await team.register_member(case_id, "zorg-noord")
    await team.remove_member(case_id, "zorg-noord")

    error = await refused(
        provider.send(
            "evaluation-feedback",
            "swt-denhelder",
            BSN_CHILD,
            example("evaluation-feedback"),
            case_id=case_id,
        )
    )

    assert (error.status, error.code) == (404, "not_found")


@pytest.mark.parametrize(
    ("purpose", "to"),
    [
        ("noor-jansen-999992351", "swt-denhelder"),
        ("evaluation-feedback", "999992351"),
        ("noor-jansen-999992351", {"case_network": SMUGGLED}),
    ],
    ids=["purpose", "recipient", "purpose-to-a-case-network"],
)
async def test_caller_text_in_purpose_or_recipient_stays_out_of_the_log_whatever_refuses_first(
    running: Running, clients: Clients, purpose: str, to: Any
) -> None:
    provider = clients("zorg-noord")
    size = await running.gw.storage.log_size()

    await refused(
        provider.send(
            purpose, to, BSN_CHILD, example("evaluation-feedback"), case_id="case_" + "c" * 26
        )
    )

    [entry] = await entries_since(running, size)
    assert entry.decision == "refused"
    # Only what the catalogue and the registry know is logged: never the caller's text.
    catalogued = purpose if running.gw.catalogue.get(purpose) is not None else None
    registered = to if isinstance(to, str) and running.gw.partners.get(to) is not None else None
    assert (entry.purpose, entry.recipient, entry.case_id) == (catalogued, registered, None)
    assert "999992351" not in entry.canonical().decode()
