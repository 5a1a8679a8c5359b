"""Which members of a case network a member may see, and what sends and disclosure lists reveal.

The catalogue's `[case_network_visibility]` (config/purposes.toml) decides; the shipped default:
a school sees the social team and schools, a care provider the social team and care providers,
the social team and a certified institution everyone. Each test is an attack with a partner's own
valid token over real HTTP, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.config.errors import ConfigError
from gateway.config.purposes import load_catalogue
from gateway.log.entry import LogEntry, Sender
from tests.conftest import BSN_CHILD, REPO, Running, copy_config, example

Clients = Callable[..., PartnerClient]
EVERYONE = ["swt-denhelder", "zorg-noord", "gi-noordholland", "school-de-es"]


async def full_case(clients: Clients) -> str:
    """A case the team directs, with a care provider, a certified institution and a school."""
    team = clients("swt-denhelder")
    case_id = str((await team.open_case(dossier_reference="WT-2026/0117"))["case_id"])
    await team.register_member(case_id, "zorg-noord", role="involved")
    await team.register_member(case_id, "gi-noordholland", role="involved")
    await team.register_member(case_id, "school-de-es", role="referrer")
    return case_id


def consent(recorder: str, to: list[str]) -> dict[str, Any]:
    return {
        "subject": {"bsn": BSN_CHILD, "birth_date": "2013-06-02"},
        "given_by": [{"role": "subject"}, {"role": "custodian", "name": "M. Jansen"}],
        "purposes": ["closure-notice"],
        "from": [recorder],
        "to": to,
        "evidence": {"method": "written", "reference": "keukentafel-2026"},
    }


def closure(case_id: str) -> dict[str, Any]:
    return {
        "purpose": "closure-notice",
        "to": {"case_network": case_id},
        "subject": {"bsn": BSN_CHILD},
        "case_id": case_id,
        "payload": example("closure-notice"),
    }


async def listed(client: PartnerClient, case_id: str) -> set[str]:
    return {m["partner"] for m in (await client.case_network(case_id))["members"]}


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [
        ("school-de-es", {"swt-denhelder", "school-de-es"}),
        ("zorg-noord", {"swt-denhelder", "zorg-noord"}),
        ("gi-noordholland", set(EVERYONE)),
        ("swt-denhelder", set(EVERYONE)),
    ],
)
async def test_a_member_listing_a_case_network_sees_only_the_kinds_its_kind_may_see(
    running: Running, clients: Clients, viewer: str, sees: set[str]
) -> None:
    case_id = await full_case(clients)

    network = await clients(viewer).case_network(case_id)

    assert {m["partner"] for m in network["members"]} == sees
    for hidden in set(EVERYONE) - sees:
        assert hidden not in str(network)


async def test_the_dossier_reference_is_shown_to_the_directing_team_alone(
    running: Running, clients: Clients
) -> None:
    case_id = await full_case(clients)

    own = await clients("swt-denhelder").case_network(case_id)
    others = [await clients(p).case_network(case_id) for p in EVERYONE[1:]]

    assert own["dossier_reference"] == "WT-2026/0117"
    for network in others:
        assert "dossier_reference" not in network
        assert "WT-2026/0117" not in str(network)


async def test_a_care_provider_sending_to_the_case_network_never_reaches_or_names_the_gi_or_school(
    running: Running, clients: Clients
) -> None:
    case_id = await full_case(clients)
    provider = clients("zorg-noord")
    await provider.record_consent(
        consent("zorg-noord", ["swt-denhelder", "gi-noordholland", "school-de-es"])
    )
    before = await running.gw.storage.log_size()

    sent = await provider.request("POST", "/v1/exchanges", json_body=closure(case_id))

    assert [d["recipient"] for d in sent["disclosures"]] == ["swt-denhelder"]
    assert "refused" not in sent
    assert "gi-noordholland" not in str(sent)
    assert "school-de-es" not in str(sent)
    rows = await running.gw.storage.log_rows(before, await running.gw.storage.log_size())
    assert {r.entry.recipient for r in rows} == {"swt-denhelder"}
    for hidden in ("gi-noordholland", "school-de-es"):
        assert (await clients(hidden).inbox())["messages"] == []


async def test_a_refusal_in_a_case_network_send_names_only_members_the_sender_may_see(
    running: Running, clients: Clients
) -> None:
    case_id = await full_case(clients)
    provider = clients("zorg-noord")

    # No consent at all: every member the send reaches is refused; the refusal that comes back
    # concerns the social team, never the GI or the school.
    with pytest.raises(GatewayClientError) as refused:
        await provider.request("POST", "/v1/exchanges", json_body=closure(case_id))
    checked = await provider.request("POST", "/v1/exchanges/check", json_body=closure(case_id))

    assert refused.value.code == "consent_required"
    for answer in (refused.value.details, checked):
        assert "gi-noordholland" not in str(answer)
        assert "school-de-es" not in str(answer)


async def test_the_directing_team_sending_to_its_case_network_reaches_every_member(
    running: Running, clients: Clients
) -> None:
    case_id = await full_case(clients)
    team = clients("swt-denhelder")
    await team.record_consent(
        consent("swt-denhelder", ["zorg-noord", "gi-noordholland", "school-de-es"])
    )

    sent = await team.request("POST", "/v1/exchanges", json_body=closure(case_id))

    assert sorted(d["recipient"] for d in sent["disclosures"]) == sorted(EVERYONE[1:])


async def test_a_recipient_never_learns_from_its_disclosures_that_a_share_to_it_was_refused(
    running: Running, clients: Clients
) -> None:
    team, school = clients("swt-denhelder"), clients("school-de-es")
    with pytest.raises(GatewayClientError):
        await team.send("closure-notice", "school-de-es", BSN_CHILD, example("closure-notice"))
    [refusal] = await running.gw.storage.log_rows(0, await running.gw.storage.log_size())
    assert (refusal.entry.decision, refusal.entry.recipient) == ("refused", "school-de-es")
    await running.gw.sequencer().integrate()

    listing = await school.request("GET", "/v1/disclosures")
    by_decision = await school.request("GET", "/v1/disclosures", params={"decision": "refused"})
    with pytest.raises(GatewayClientError) as proof:
        await school.request("GET", f"/v1/disclosures/{refusal.index}/proof")
    sender_view = await team.request("GET", "/v1/disclosures")
    sender_proof = await team.request("GET", f"/v1/disclosures/{refusal.index}/proof")

    assert listing["entries"] == []
    assert by_decision["entries"] == []
    assert (proof.value.status, proof.value.code) == (404, "not_found")
    assert [e["index"] for e in sender_view["entries"]] == [refusal.index]
    assert sender_proof["index"] == refusal.index


async def test_a_school_never_learns_from_its_disclosures_what_a_case_network_send_did_with_the_gi(
    running: Running, clients: Clients
) -> None:
    # Entries from before visibility rules existed: a send to a case network by the school that
    # was refused for the GI, and one the school's list may show (refused for the team).
    case_id = await full_case(clients)
    sender = Sender("school-de-es", "school-de-es-actor-1", "intern_begeleider")
    now = running.clock.now()
    old = [
        LogEntry(
            time=now,
            decision="refused",
            reason="recipient_not_allowed",
            exchange_id="ex_old",
            purpose="safety-report",
            sender=sender,
            recipient=recipient,
            subject="pseudo-old",
            details={"case_network": case_id},
        )
        for recipient in ("gi-noordholland", "swt-denhelder")
    ]
    gi_index, team_index = await running.gw.storage.append_log(old)
    await running.gw.sequencer().integrate()
    school = clients("school-de-es")

    listing = await school.request("GET", "/v1/disclosures")
    with pytest.raises(GatewayClientError) as proof:
        await school.request("GET", f"/v1/disclosures/{gi_index}/proof")

    indices = [e["index"] for e in listing["entries"]]
    assert team_index in indices
    assert gi_index not in indices
    assert "gi-noordholland" not in str(listing)
    assert proof.value.status == 404


async def test_a_disclosure_page_skipping_hidden_entries_still_pages_through_every_shown_one(
    running: Running, clients: Clients
) -> None:
    team, school = clients("swt-denhelder"), clients("school-de-es")
    shown = []
    for _ in range(3):
        with pytest.raises(GatewayClientError):
            await team.send("closure-notice", "school-de-es", BSN_CHILD, example("closure-notice"))
        # The school's report to Veilig Thuis: statutory, no agreement needed (issue 19).
        reported = await school.send(
            "safety-report-vt",
            "veiligthuis-nhn",
            BSN_CHILD,
            {**example("safety-report-vt"), "acute_danger": False},
        )
        shown.append(reported["disclosures"][0]["log_index"])

    pages, after = [], None
    for _ in range(10):
        params = {"limit": "1", **({"after": after} if after else {})}
        page = await school.request("GET", "/v1/disclosures", params=params)
        pages += [e["index"] for e in page["entries"]]
        after = page["next"]
        if after is None:
            break

    assert pages == shown


# -- The table in the catalogue ---------------------------------------------------------------


def test_a_kind_the_visibility_table_does_not_list_sees_only_itself(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    text = (config / "purposes.toml").read_text()
    (config / "purposes.toml").write_text(text.replace('school = ["social_team", "school"]\n', ""))

    visibility = load_catalogue(config, REPO / "schemas").case_network_visibility

    assert not visibility.sees("school", "social_team")
    assert not visibility.sees("privacy_officer", "school")
    assert visibility.sees("social_team", "school")
    assert not visibility.mutual("social_team", "school")


@pytest.mark.parametrize(
    "line",
    ['school = ["social_team", "teacher"]', 'janitor = ["school"]', 'school = "social_team"'],
)
def test_a_visibility_table_naming_an_unknown_kind_stops_the_load_with_a_clear_error(
    tmp_path: Path, line: str
) -> None:
    config = copy_config(tmp_path / "config")
    text = (config / "purposes.toml").read_text()
    (config / "purposes.toml").write_text(text.replace('school = ["social_team", "school"]', line))

    with pytest.raises(ConfigError) as failed:
        load_catalogue(config, REPO / "schemas")

    assert "case_network_visibility" in str(failed.value)
