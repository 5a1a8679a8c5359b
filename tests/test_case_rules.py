"""Case networks: who may open a case, add or remove its members, and what a non-member learns.

Each test is an attack with a partner's own valid token, over real HTTP against a running
gateway, on SQLite and on PostgreSQL (the `backend` fixture).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.errors import Forbidden, NotFound
from gateway.policy.decision import Caller
from gateway.service import cases
from gateway.store.base import LogFilter
from gateway.store.postgres_schema import POSTGRES_MIGRATIONS
from gateway.store.schema import SCHEMA_VERSION, SQLITE_MIGRATIONS
from gateway.subject import parse_subject
from tests.conftest import BSN_CHILD, Running, example
from tests.helpers import linked_pseudonym
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    PostgresBackend,
    SqliteBackend,
    storage_backend_fixture,
)

Clients = Callable[..., PartnerClient]
MEASURE = {"type": "ots", "ruling": "ECLI:NL:RBNHO:2026:1234"}
NEVER_OPENED = "case_" + "a" * 26


async def refusal(call: Any) -> GatewayClientError:
    with pytest.raises(GatewayClientError) as refused:
        await call
    return refused.value


async def log_size(running: Running) -> int:
    return await running.gw.storage.log_size()


async def members(client: PartnerClient, case_id: str) -> list[tuple[str, str]]:
    network = await client.case_network(case_id)
    return [(m["partner"], m["role"]) for m in network["members"]]


# -- Opening a case ---------------------------------------------------------------------------


async def test_a_social_team_opens_a_case_under_an_unguessable_id_and_directs_it(
    running: Running, clients: Clients
) -> None:
    team = clients("swt-denhelder")

    first = await team.open_case(dossier_reference="WT-2026/0117")
    second = await team.open_case()

    assert re.fullmatch(r"case_[a-z2-7]{26}", first["case_id"])
    assert first["case_id"] != second["case_id"]
    assert (first["dossier_reference"], first["director"]) == ("WT-2026/0117", "swt-denhelder")
    assert await members(team, first["case_id"]) == [("swt-denhelder", "procesregisseur")]
    [row] = await running.gw.storage.log_rows(first["log_index"], first["log_index"] + 1)
    assert (row.entry.decision, row.entry.case_id, row.entry.recipient) == (
        "case_opened",
        first["case_id"],
        "swt-denhelder",
    )


@pytest.mark.parametrize("partner", ["zorg-noord", "school-de-es", "gi-noordholland"])
async def test_a_partner_that_is_not_a_social_team_opening_a_case_is_forbidden(
    running: Running, clients: Clients, partner: str
) -> None:
    size = await log_size(running)

    refused = await refusal(clients(partner).open_case())

    assert (refused.status, refused.code) == (403, "forbidden")
    assert await log_size(running) == size


@pytest.mark.parametrize(
    "reference",
    ["WT-999992351", "dossier.12345678", "1234567890", "123.456.782", "WT 0117", "x" * 41, ""],
)
async def test_a_dossier_reference_that_could_hold_a_bsn_or_free_text_is_refused_and_changes_nothing(
    running: Running, clients: Clients, reference: str
) -> None:
    size = await log_size(running)

    refused = await refusal(clients("swt-denhelder").open_case(dossier_reference=reference))

    assert (refused.status, refused.code) == (400, "invalid_request")
    assert reference not in str(refused.details) or not reference
    assert await log_size(running) == size


async def test_a_caller_chosen_case_id_is_404_and_creates_no_case(
    running: Running, clients: Clients
) -> None:
    team = clients("swt-denhelder")
    size = await log_size(running)

    refused = await refusal(team.register_member("case-2026-0042", "zorg-noord"))

    assert (refused.status, refused.code) == (404, "not_found")
    assert await running.gw.storage.get_case("case-2026-0042") is None
    assert await running.gw.storage.case_network("case-2026-0042") == []
    assert await log_size(running) == size


# -- Who adds and removes members -------------------------------------------------------------


async def test_a_care_provider_adding_itself_to_a_case_it_does_not_know_gets_the_unknown_case_404(
    running: Running, clients: Clients
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    case_id = (await team.open_case())["case_id"]
    size = await log_size(running)

    existing = await refusal(provider.register_member(case_id, "zorg-noord", role="involved"))
    missing = await refusal(provider.register_member(NEVER_OPENED, "zorg-noord"))

    assert (existing.status, existing.details) == (missing.status, missing.details)
    assert existing.code == "not_found"
    assert await members(team, case_id) == [("swt-denhelder", "procesregisseur")]
    assert await log_size(running) == size


async def test_a_member_school_adding_itself_again_or_another_partner_is_forbidden(
    running: Running, clients: Clients
) -> None:
    team, school = clients("swt-denhelder"), clients("school-de-es")
    case_id = (await team.open_case())["case_id"]
    await team.register_member(case_id, "school-de-es", role="referrer")
    before = await members(team, case_id)
    size = await log_size(running)

    as_involved = await refusal(school.register_member(case_id, "school-de-es", role="involved"))
    other = await refusal(school.register_member(case_id, "zorg-noord"))
    removal = await refusal(school.remove_member(case_id, "swt-denhelder"))

    assert [(r.status, r.code) for r in (as_involved, other, removal)] == [(403, "forbidden")] * 3
    assert await members(team, case_id) == before
    assert await log_size(running) == size


async def test_nobody_makes_another_social_team_procesregisseur_of_a_case(
    running: Running, clients: Clients
) -> None:
    team = clients("swt-denhelder")
    case_id = (await team.open_case())["case_id"]

    refused = await refusal(team.register_member(case_id, "zorg-noord", role="procesregisseur"))
    demoted = await refusal(team.register_member(case_id, "swt-denhelder", role="involved"))
    leaving = await refusal(team.remove_member(case_id, "swt-denhelder"))

    # Two procesregisseurs, or none: a conflict, to be solved by handing procesregie over.
    assert [(r.status, r.code) for r in (refused, demoted, leaving)] == [
        (409, "procesregie_conflict")
    ] * 3
    assert await members(team, case_id) == [("swt-denhelder", "procesregisseur")]


async def test_a_certified_institution_adds_itself_only_as_holder_of_a_measure_citing_the_ruling(
    running: Running, clients: Clients
) -> None:
    team, gi = clients("swt-denhelder"), clients("gi-noordholland")
    case_id = (await team.open_case())["case_id"]

    without = await refusal(gi.register_member(case_id, "gi-noordholland"))
    bsn_in_ruling = await refusal(
        gi.register_member(
            case_id, "gi-noordholland", measure={"type": "ots", "ruling": f"C/15/{BSN_CHILD}"}
        )
    )
    joined = await gi.register_member(case_id, "gi-noordholland", measure=MEASURE)

    assert (without.status, without.code) == (404, "not_found")
    assert (bsn_in_ruling.status, bsn_in_ruling.code) == (400, "invalid_request")
    assert joined["measure"] == MEASURE
    # The GI owes the case's director its waiting-list status, as when the team registers it.
    assert [(e["purpose"], e["owed_by"]) for e in joined["expectations_opened"]] == [
        ("waiting-list-status", "gi-noordholland")
    ]
    assert ("gi-noordholland", "involved") in await members(team, case_id)
    rows = await running.gw.storage.search_log(
        LogFilter(decision="case_member_added"), after=None, limit=10
    )
    [entry] = [r.entry for r in rows]
    assert (entry.sender.partner if entry.sender else None, entry.recipient) == (
        "gi-noordholland",
        "gi-noordholland",
    )
    assert entry.details == {"role": "involved", "measure": MEASURE}


async def test_a_ruling_carrying_a_bsn_across_separators_is_refused_and_logs_nothing(
    running: Running, clients: Clients
) -> None:
    team, gi = clients("swt-denhelder"), clients("gi-noordholland")
    case_id = (await team.open_case())["case_id"]
    size = await log_size(running)

    refused = await refusal(
        gi.register_member(
            case_id, "gi-noordholland", measure={"type": "ots", "ruling": "C/15 123 456 782"}
        )
    )

    assert (refused.status, refused.code) == (400, "invalid_request")
    assert await log_size(running) == size


async def test_a_certified_institution_cannot_make_itself_the_referrer_and_take_the_familys_status(
    running: Running, clients: Clients
) -> None:
    team, gi = clients("swt-denhelder"), clients("gi-noordholland")
    case_id = (await team.open_case())["case_id"]
    await team.register_member(case_id, "school-de-es", role="referrer")

    as_referrer = await refusal(
        gi.register_member(case_id, "gi-noordholland", role="referrer", measure=MEASURE)
    )
    await gi.register_member(case_id, "gi-noordholland", measure=MEASURE)
    promoted = await refusal(
        gi.register_member(case_id, "gi-noordholland", role="referrer", measure=MEASURE)
    )

    assert (as_referrer.status, as_referrer.code) == (403, "forbidden")
    assert (promoted.status, promoted.code) == (403, "forbidden")
    assert sorted(await members(team, case_id)) == [
        ("gi-noordholland", "involved"),
        ("school-de-es", "referrer"),
        ("swt-denhelder", "procesregisseur"),
    ]


async def test_a_care_provider_citing_a_measure_still_cannot_add_itself(
    running: Running, clients: Clients
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    case_id = (await team.open_case())["case_id"]

    refused = await refusal(provider.register_member(case_id, "zorg-noord", measure=MEASURE))

    assert (refused.status, refused.code) == (404, "not_found")
    assert await members(team, case_id) == [("swt-denhelder", "procesregisseur")]


async def test_every_change_of_membership_is_a_log_entry_an_officer_finds(
    running: Running, clients: Clients
) -> None:
    team, officer = clients("swt-denhelder"), clients("fg-denhelder")
    case_id = (await team.open_case())["case_id"]

    await team.register_member(case_id, "zorg-noord", role="involved")
    await team.register_member(case_id, "zorg-noord", role="referrer")
    removed = await team.remove_member(case_id, "zorg-noord")
    again = await refusal(team.remove_member(case_id, "zorg-noord"))

    assert removed == {"case_id": case_id, "partner": "zorg-noord", "removed": True}
    assert (again.status, again.code) == (404, "not_found")
    assert await members(team, case_id) == [("swt-denhelder", "procesregisseur")]
    seen = []
    for decision in ("case_member_added", "case_member_changed", "case_member_removed"):
        page = await officer.request("GET", "/v1/audit/entries", params={"decision": decision})
        seen += [
            (
                e["decision"],
                e["sender"]["partner"],
                e["sender"]["role"],
                e["recipient"],
                e["case_id"],
                e["details"]["role"],
            )
            for e in page["entries"]
        ]
    assert seen == [
        (
            "case_member_added",
            "swt-denhelder",
            "procesregisseur",
            "zorg-noord",
            case_id,
            "involved",
        ),
        (
            "case_member_changed",
            "swt-denhelder",
            "procesregisseur",
            "zorg-noord",
            case_id,
            "referrer",
        ),
        (
            "case_member_removed",
            "swt-denhelder",
            "procesregisseur",
            "zorg-noord",
            case_id,
            "referrer",
        ),
    ]


# -- What a non-member learns -----------------------------------------------------------------


async def _answers(client: PartnerClient, case_id: str) -> list[tuple[int, Any]]:
    """The status and body of every call on a case, for one case id."""
    calls = [
        client.case_network(case_id),
        client.register_member(case_id, "school-de-es"),
        client.remove_member(case_id, "zorg-noord"),
        client.request("GET", f"/v1/cases/{case_id}/household"),
        client.request(
            "PUT",
            f"/v1/cases/{case_id}/household",
            json_body={"children": [{"bsn": BSN_CHILD, "child_ref": "kind-1"}]},
        ),
        client.request(
            "POST",
            f"/v1/cases/{case_id}/referrer-status",
            json_body={"bsn": BSN_CHILD, "status": "help_started"},
        ),
    ]
    out = []
    for call in calls:
        refused = await refusal(call)
        out.append((refused.status, refused.details))
    return out


@pytest.mark.parametrize("prober", ["school-de-es", "zorg-noord", "gi-noordholland"])
async def test_a_partner_probing_case_ids_gets_the_same_404_for_existing_and_unknown_cases(
    running: Running, clients: Clients, prober: str
) -> None:
    case_id = (await clients("swt-denhelder").open_case())["case_id"]
    size = await log_size(running)
    client = clients(prober)

    existing = await _answers(client, case_id)
    unknown = await _answers(client, NEVER_OPENED)

    assert existing == unknown
    for status, body in existing:
        assert (status, body["code"]) == (404, "not_found")
    assert await log_size(running) == size


async def test_a_non_member_asking_about_a_case_learns_nothing_a_stranger_would_not(
    running: Running, clients: Clients
) -> None:
    team, school = clients("swt-denhelder"), clients("school-de-es")
    case_id = (await team.open_case())["case_id"]
    await team.register_member(case_id, "gi-noordholland", role="involved")
    await team.register_member(case_id, "zorg-noord", role="involved")

    existing = await _answers(school, case_id)
    unknown = await _answers(school, NEVER_OPENED)

    assert existing == unknown
    assert all(status == 404 for status, _ in existing)
    assert "gi-noordholland" not in str(existing)


def _closure(to: Any) -> dict[str, Any]:
    return {
        "purpose": "closure-notice",
        "to": to,
        "subject": {"bsn": BSN_CHILD},
        "payload": example("closure-notice"),
    }


async def test_a_non_member_sending_to_a_case_network_is_refused_naming_no_member(
    running: Running, clients: Clients
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    case_id = (await team.open_case())["case_id"]
    await team.register_member(case_id, "gi-noordholland", role="involved")
    await team.register_member(case_id, "school-de-es", role="referrer")
    before = await log_size(running)

    sent = await refusal(
        provider.request("POST", "/v1/exchanges", json_body=_closure({"case_network": case_id}))
    )
    unknown = await refusal(
        provider.request(
            "POST", "/v1/exchanges", json_body=_closure({"case_network": NEVER_OPENED})
        )
    )
    checked = await provider.request(
        "POST", "/v1/exchanges/check", json_body=_closure({"case_network": case_id})
    )

    assert (sent.status, sent.code) == (404, "unknown_recipient")
    assert sent.details["message"] == unknown.details["message"]
    assert sent.details["how_to_fix"] == unknown.details["how_to_fix"]
    for answer in (sent.details, checked):
        for member in ("swt-denhelder", "gi-noordholland", "school-de-es"):
            assert member not in str(answer)
    assert (checked["allowed"], checked["code"]) == (False, "unknown_recipient")
    rows = await running.gw.storage.log_rows(before, await log_size(running))
    assert [(r.entry.decision, r.entry.reason, r.entry.recipient) for r in rows] == [
        ("refused", "unknown_recipient", None),
        ("refused", "unknown_recipient", None),
    ]
    assert (await clients("gi-noordholland").inbox())["messages"] == []


# -- Existing cases survive the migration -----------------------------------------------------

_OLD_MEMBERS = [
    # case-old-1: a procesregisseur member directs it.
    ("case-old-1", "swt-denhelder", "procesregisseur", "swt-denhelder", 1),
    ("case-old-1", "zorg-noord", "involved", "swt-denhelder", 2),
    # case-old-2: no procesregisseur; the team that registered others directs it.
    ("case-old-2", "school-de-es", "referrer", "swt-denhelder", 3),
    ("case-old-2", "gi-noordholland", "involved", "gi-noordholland", 4),
    # case-old-3: only self-registrations: no director.
    ("case-old-3", "school-de-es", "involved", "school-de-es", 5),
]


async def test_migration_8_makes_every_existing_case_id_a_case_with_its_director(
    storage_backend: SqliteBackend | PostgresBackend,
) -> None:
    if isinstance(storage_backend, SqliteBackend):
        conn = sqlite3.connect(storage_backend.path, isolation_level=None)
        try:
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for version, statements in SQLITE_MIGRATIONS:
                if version < 8:
                    for statement in statements:
                        conn.execute(statement)
            conn.execute("INSERT INTO meta VALUES ('schema_version', '7')")
            for row in _OLD_MEMBERS:
                conn.execute(
                    "INSERT INTO case_network (case_id, partner_id, role, contact, "
                    "registered_by, registered_ms) VALUES (?, ?, ?, NULL, ?, ?)",
                    row,
                )
        finally:
            conn.close()
    else:
        await storage_backend.sql_rows(f'CREATE SCHEMA IF NOT EXISTS "{storage_backend.schema}"')
        await storage_backend.sql_rows(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        for version, statements in POSTGRES_MIGRATIONS:
            if version < 8:
                for statement in statements:
                    await storage_backend.sql_rows(statement)
        await storage_backend.sql_rows("INSERT INTO meta VALUES ('schema_version', '7')")
        for row in _OLD_MEMBERS:
            await storage_backend.sql_rows(
                "INSERT INTO case_network (case_id, partner_id, role, contact, registered_by, "
                "registered_ms) VALUES ($1, $2, $3, NULL, $4, $5)",
                *row,
            )
    instance = storage_backend.make()
    assert await storage_backend.migrate(instance) == SCHEMA_VERSION
    await instance.open()
    try:
        one, two, three = [await instance.get_case(f"case-old-{n}") for n in (1, 2, 3)]
        assert one is not None
        assert two is not None
        assert three is not None
        assert (one.director, two.director, three.director) == (
            "swt-denhelder",
            "swt-denhelder",
            None,
        )
        assert one.opened_at == datetime.fromtimestamp(0.001, UTC)
        # The director of case-old-2 was not a member: it becomes its procesregisseur.
        assert sorted(
            (m.partner_id, m.role) for m in await instance.case_network("case-old-2")
        ) == [
            ("gi-noordholland", "involved"),
            ("school-de-es", "referrer"),
            ("swt-denhelder", "procesregisseur"),
        ]
        assert [(m.partner_id, m.role) for m in await instance.case_network("case-old-1")] == [
            ("swt-denhelder", "procesregisseur"),
            ("zorg-noord", "involved"),
        ]
    finally:
        await instance.close()


# -- The household, and the rules held by the services themselves ------------------------------


async def test_registering_a_child_in_a_household_is_a_logged_act_naming_the_child_by_pseudonym_only(
    running: Running, clients: Clients
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    case_id = (await team.open_case())["case_id"]
    await team.register_member(case_id, "zorg-noord", role="involved")
    children = {"children": [{"bsn": BSN_CHILD, "child_ref": "kind-1"}]}

    # A member that does not direct the case registers no child, and leaves no trace.
    size = await log_size(running)
    refused = await refusal(
        provider.request("PUT", f"/v1/cases/{case_id}/household", json_body=children)
    )
    assert (refused.status, refused.code) == (403, "forbidden")
    assert await running.gw.storage.household(case_id) == []
    assert await log_size(running) == size

    # The director's registration is what lets it record consent and correct a birth date for
    # the child: an officer finds it in the log, with the child as a pseudonym.
    await team.request("PUT", f"/v1/cases/{case_id}/household", json_body=children)
    rows = await running.gw.storage.log_rows(size, await log_size(running))
    [entry] = [row.entry for row in rows]
    assert entry.sender is not None
    assert (entry.decision, entry.sender.partner, entry.case_id, entry.subject) == (
        "household_child_registered",
        "swt-denhelder",
        case_id,
        await linked_pseudonym(running, BSN_CHILD),
    )
    assert BSN_CHILD not in entry.canonical().decode()
    found = await running.gw.storage.search_log(
        LogFilter(subject=await linked_pseudonym(running, BSN_CHILD)), after=None, limit=50
    )
    assert "household_child_registered" in [row.entry.decision for row in found]


async def test_a_caller_of_the_case_service_is_held_to_who_may_open_a_case_and_register_children(
    running: Running, clients: Clients
) -> None:
    team = clients("swt-denhelder")
    case_id = (await team.open_case())["case_id"]
    await team.register_member(case_id, "zorg-noord", role="involved")
    child = [("kind-1", parse_subject({"bsn": BSN_CHILD}, running.gw.catalogue.identifier_systems))]
    school_partner = running.gw.partners.get("school-de-es")
    provider_partner = running.gw.partners.get("zorg-noord")
    assert school_partner is not None
    assert provider_partner is not None
    school = Caller(school_partner, "actor-1", "intern_begeleider")
    provider = Caller(provider_partner, "actor-1", "casusregisseur")
    size = await log_size(running)

    # Any route, the CLI or the demo calling the service directly meets the same rules as HTTP.
    with pytest.raises(Forbidden):
        await cases.open_case(running.gw, school, None, None)
    with pytest.raises(Forbidden):
        await cases.register_household(running.gw, provider, case_id, child)
    with pytest.raises(NotFound):
        await cases.register_household(running.gw, school, case_id, child)

    assert await running.gw.storage.household(case_id) == []
    assert await log_size(running) == size


async def test_a_case_id_with_a_trailing_newline_names_no_case_and_changes_nothing(
    running: Running, clients: Clients
) -> None:
    team = clients("swt-denhelder")
    case_id = (await team.open_case())["case_id"]
    size = await log_size(running)

    for method, path, body in (
        ("PUT", f"/v1/cases/{case_id}%0A/network/zorg-noord", {"role": "involved"}),
        (
            "PUT",
            f"/v1/cases/{case_id}%0A/household",
            {"children": [{"bsn": BSN_CHILD, "child_ref": "kind-1"}]},
        ),
        ("GET", f"/v1/cases/{case_id}%0A/network", None),
    ):
        refused = await refusal(team.request(method, path, json_body=body))
        assert (refused.status, refused.code) == (400, "invalid_request"), path

    assert await members(team, case_id) == [("swt-denhelder", "procesregisseur")]
    assert await running.gw.storage.get_case(case_id + "\n") is None
    assert await running.gw.storage.household(case_id) == []
    assert await log_size(running) == size
