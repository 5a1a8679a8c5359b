"""Privacy officers see only the organisations they oversee: the rule, its config, storage, API.

Each officer is bound in `partners.toml` to the partners it serves (`oversees = [...]`) or to all
(`oversees = "all"`, the operator's own officer). The attacks: the school's officer reading the
care provider's exchanges with the social team through the search, an entry, its leaf, its
inclusion proof, the subject access report, the break-glass queue or its review; and anyone but
the operator's officer reading entries that name no organisation. The rule is one pure function
(`Oversight.may_see`); the storage search applies it in SQL, and is held against it here.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.client.http import PartnerClient
from gateway.config import ConfigError, Partner, load_partners
from gateway.config.partners import MAX_OVERSEEN
from gateway.log.entry import LogEntry, Sender
from gateway.policy.oversight import Oversight, oversight_of
from gateway.runtime import DEFAULT_CONFIG
from gateway.store.base import BreakGlassRecord, ExchangeEffects, LogFilter, Storage
from gateway.store.sqlite import SqliteStorage
from tests.conftest import BSN_CHILD, copy_config
from tests.helpers import assert_contract_error
from tests.officer_scope_helpers import (
    OPERATOR_OFFICER,
    PROVIDER_OFFICER,
    SCHOOL_OFFICER,
    ScopedTown,
    scoped_running_fixture,  # noqa: F401  (pytest finds the fixtures by name)
    scoped_town_fixture,  # noqa: F401
    tell_scope_story,
)
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    storage_backend_fixture,
    storage_fixture,
)
from tests.test_log_search import PARTNERS, _entry, _matches, _random_filter, _random_log

MakeClient = Callable[..., PartnerClient]
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SCHOOL = "school-de-es"
PROVIDER = "zorg-noord"
TEAM = "swt-denhelder"
SCHOOL_ONLY = Oversight(SCHOOL_OFFICER, frozenset({SCHOOL}))
EVERYTHING = Oversight(OPERATOR_OFFICER, None)


def _logged(decision: str, sender: str | None, recipient: str | None) -> LogEntry:
    return LogEntry(
        time=T0,
        decision=decision,
        sender=None if sender is None else Sender(sender, "actor", "role"),
        recipient=recipient,
    )


# --- the rule, as one pure function ----------------------------------------------------------


def test_the_schools_officer_may_not_see_an_exchange_between_the_provider_and_the_team() -> None:
    assert not SCHOOL_ONLY.may_see(_logged("disclosed", PROVIDER, TEAM))
    assert not SCHOOL_ONLY.may_see(_logged("refused", TEAM, PROVIDER))
    assert EVERYTHING.may_see(_logged("disclosed", PROVIDER, TEAM))


def test_the_schools_officer_sees_what_the_school_sent_received_or_recorded() -> None:
    assert SCHOOL_ONLY.may_see(_logged("disclosed", SCHOOL, TEAM))
    assert SCHOOL_ONLY.may_see(_logged("refused", TEAM, SCHOOL))
    assert SCHOOL_ONLY.may_see(_logged("delivered", TEAM, SCHOOL))
    # A consent entry's sender is the partner that recorded it.
    assert SCHOOL_ONLY.may_see(_logged("consent_recorded", SCHOOL, None))
    assert not SCHOOL_ONLY.may_see(_logged("consent_recorded", TEAM, None))


def test_an_entry_that_names_no_organisation_is_only_for_the_operators_officer() -> None:
    for decision in ("token_refused", "partners_reloaded", "partners_reload_failed"):
        nameless = _logged(decision, None, None)
        assert EVERYTHING.may_see(nameless)
        assert not SCHOOL_ONLY.may_see(nameless)
    # A refused token of a client id nobody registered names no organisation anyone oversees.
    assert not SCHOOL_ONLY.may_see(_logged("token_refused", "nobody-known", None))


def test_an_officer_sees_its_own_looks_but_not_another_officers() -> None:
    assert SCHOOL_ONLY.may_see(_logged("audit_access", SCHOOL_OFFICER, None))
    assert SCHOOL_ONLY.may_see(_logged("officer_link_issued", None, SCHOOL_OFFICER))
    assert not SCHOOL_ONLY.may_see(_logged("audit_access", PROVIDER_OFFICER, None))
    assert not SCHOOL_ONLY.may_see(_logged("audit_access", OPERATOR_OFFICER, None))


def _partner(kind: str, oversees: frozenset[str] | str | None) -> Partner:
    registry = load_partners(DEFAULT_CONFIG)
    base = registry.partners[OPERATOR_OFFICER]
    return replace(base, id="someone", kind=kind, oversees=oversees)  # type: ignore[arg-type]


def test_a_partner_without_a_binding_oversees_nothing_but_its_own_acts() -> None:
    # Fail closed: no binding (or a partner that is no officer) is never "everything".
    for partner in (_partner("privacy_officer", None), _partner("school", "all")):
        view = oversight_of(partner)
        assert view.parties == frozenset({"someone"})
        assert not view.may_see(_logged("disclosed", PROVIDER, TEAM))
        assert not view.may_see(_logged("token_refused", None, None))
    assert oversight_of(_partner("privacy_officer", "all")).sees_all
    assert oversight_of(_partner("privacy_officer", frozenset({SCHOOL}))).parties == frozenset(
        {SCHOOL, "someone"}
    )


def test_an_officer_bound_to_nothing_sees_nothing_of_anyone() -> None:
    empty = Oversight("fg-x", frozenset())
    assert not empty.may_see(_logged("disclosed", SCHOOL, TEAM))
    assert empty.may_see(_logged("audit_access", "fg-x", None))


# --- partners.toml -------------------------------------------------------------------------------


def _config_with_officer(tmp_path: Path, binding: str | None) -> Path:
    config = copy_config(tmp_path / "config")
    text = (config / "partners.toml").read_text()
    assert 'oversees = "all"' in text
    line = "" if binding is None else f"oversees = {binding}\n"
    text = text.replace(
        "oversees = \"all\"  # the operator's (the municipality's) own officer\n", line
    )
    (config / "partners.toml").write_text(text)
    return config


def test_the_shipped_officer_is_the_operators_and_oversees_everything() -> None:
    officer = load_partners(DEFAULT_CONFIG).partners[OPERATOR_OFFICER]
    assert officer.oversees == "all"
    assert oversight_of(officer).sees_all
    assert all(
        p.oversees is None for p in load_partners(DEFAULT_CONFIG) if p.kind != "privacy_officer"
    )


def test_an_officer_without_oversees_stops_the_gateway_with_what_to_add(tmp_path: Path) -> None:
    config = _config_with_officer(tmp_path, None)
    with pytest.raises(ConfigError) as raised:
        load_partners(config)
    message = str(raised.value)
    assert "partners.toml" in message
    assert f"partner '{OPERATOR_OFFICER}'" in message
    assert "oversees = [" in message
    assert 'oversees = "all"' in message


@pytest.mark.parametrize(
    ("binding", "problem"),
    [
        ('["school-de-es", "nobody-here"]', "'nobody-here', which is no partner here"),
        ('["fg-denhelder"]', "a privacy_officer"),
        ('"everyone"', 'must be "all" or a list'),
        ("[]", "'oversees' is empty"),
        ('["school-de-es", "school-de-es"]', "more than once"),
        ("[1]", "list of strings"),
        ("true", 'must be "all" or a list'),
        (str([f"p-{n:03d}" for n in range(101)]).replace("'", '"'), "more than 100"),
    ],
)
def test_an_officer_bound_to_something_that_is_not_an_organisation_here_is_a_config_error(
    tmp_path: Path, binding: str, problem: str
) -> None:
    config = _config_with_officer(tmp_path, binding)
    with pytest.raises(ConfigError) as raised:
        load_partners(config)
    assert problem in str(raised.value)
    assert f"partner '{OPERATOR_OFFICER}'" in str(raised.value)


def test_a_partner_that_is_no_officer_cannot_claim_to_oversee_others(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    text = (config / "partners.toml").read_text()
    text = text.replace('id = "school-de-es"\n', 'id = "school-de-es"\noversees = "all"\n')
    (config / "partners.toml").write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_partners(config)
    assert "partner 'school-de-es'" in str(raised.value)
    assert "only for partners of kind privacy_officer" in str(raised.value)


def test_an_officer_may_oversee_a_partner_listed_after_it(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    text = (config / "partners.toml").read_text()
    officer_at = text.index('[[partner]]\nid = "fg-denhelder"')
    text = text[officer_at:] + "\n" + text[:officer_at]
    text = text.replace('oversees = "all"', 'oversees = ["swt-denhelder", "zorg-noord"]')
    (config / "partners.toml").write_text(text)
    officer = load_partners(config).partners[OPERATOR_OFFICER]
    assert officer.oversees == frozenset({TEAM, PROVIDER})


# --- storage: the same rule in SQL -------------------------------------------------------------


async def test_a_search_within_an_oversight_gives_exactly_the_entries_may_see_allows(
    storage: Storage,
) -> None:
    rng = random.Random(20261217)
    count = 400
    log = _random_log(rng, count)
    await storage.append_log([_entry(logged) for logged in log])
    views = [
        EVERYTHING,
        Oversight("fg-x", frozenset()),
        Oversight("fg-x", frozenset({SCHOOL})),
        Oversight("fg-x", frozenset({PROVIDER, "gi-noordholland"})),
        Oversight("fg-x", frozenset(PARTNERS)),
        # An officer's own id counts as one of its parties (here one that also sends).
        Oversight(TEAM, frozenset({SCHOOL})),
    ]
    for _ in range(300):
        view = rng.choice(views)
        flt = replace(_random_filter(rng, count), parties=view.parties)
        after = rng.choice([None, rng.randrange(-1, count)])
        limit = rng.choice([1, 2, 7, 50, 500])
        want = [
            logged.index
            for logged in log
            if (after is None or logged.index > after)
            and _matches(logged, flt)
            and view.may_see(_entry(logged))
        ][:limit]
        got = [row.index for row in await storage.search_log(flt, after=after, limit=limit)]
        assert got == want, (view, flt, after, limit)
    assert await storage.search_log(LogFilter(parties=frozenset()), after=None, limit=10) == []


async def test_paging_within_an_oversight_gives_full_pages_and_every_visible_entry_once(
    storage: Storage,
) -> None:
    log = _random_log(random.Random(17), 300)
    await storage.append_log([_entry(logged) for logged in log])
    flt = LogFilter(parties=SCHOOL_ONLY.parties)
    pages: list[list[int]] = []
    after = None
    while page := await storage.search_log(flt, after=after, limit=9):
        pages.append([row.index for row in page])
        after = page[-1].index
    visible = [logged.index for logged in log if SCHOOL in (logged.sender, logged.recipient)]
    assert [i for page in pages for i in page] == visible
    assert all(len(page) == 9 for page in pages[:-1])


async def test_counts_and_the_break_glass_queue_hold_only_the_overseen_organisations(
    storage: Storage,
) -> None:
    entries = [
        _logged("disclosed", PROVIDER, TEAM),
        _logged("disclosed", PROVIDER, TEAM),
        _logged("refused", PROVIDER, TEAM),
        _logged("disclosed", SCHOOL, TEAM),
        _logged("refused", TEAM, SCHOOL),
        _logged("token_refused", None, None),
    ]
    await storage.append_log([replace(e, reason="r") for e in entries])
    until = T0 + timedelta(days=1)
    all_counts = await storage.log_activity(T0, until)
    school_counts = await storage.log_activity(T0, until, parties=SCHOOL_ONLY.parties)
    assert sum(c.count for c in all_counts) == 6
    assert sum(c.count for c in school_counts) == 2
    assert {c.partner for c in school_counts} == {SCHOOL, TEAM}
    assert await storage.log_activity(T0, until, parties=frozenset()) == []
    school_refusals = await storage.refusal_counts(T0, until, parties=SCHOOL_ONLY.parties)
    assert [(r.partner, r.recipient, r.count) for r in school_refusals] == [(TEAM, SCHOOL, 1)]
    assert len(await storage.refusal_counts(T0, until)) == 2

    for exchange_id, sender in (("ex-school", SCHOOL), ("ex-provider", PROVIDER)):
        record = BreakGlassRecord(exchange_id, sender, "safety-report", T0, b"\x04sealed")
        await storage.record_exchange(
            [_logged("disclosed", sender, TEAM)], [], ExchangeEffects(break_glass=record)
        )
    mine = await storage.break_glass_records(status=None, limit=10, senders=SCHOOL_ONLY.parties)
    assert [r.exchange_id for r in mine] == ["ex-school"]
    size = await storage.log_size()
    refused = await storage.review_break_glass(
        "ex-provider",
        status="unjustified",
        by=SCHOOL_OFFICER,
        at=T0,
        sealed_note=b"\x04note",
        entry=_logged("break_glass_reviewed", SCHOOL_OFFICER, None),
        senders=SCHOOL_ONLY.parties,
    )
    assert refused is None
    assert await storage.log_size() == size
    [untouched] = await storage.break_glass_records(
        status=None, limit=10, senders=frozenset({PROVIDER})
    )
    assert untouched.status == "pending"


# Filters the officers' searches send, with the indexes that may drive each: a subject before
# anything, else each overseen partner's own walks (or the named partner's), which SQLite,
# planning without statistics, makes on a purpose's or decision's index when one is named, as
# it does for one partner's search: in index order all the same, never sorting.
_DRIVING_INDEX = [
    (LogFilter(parties=frozenset({"p", "q"})), {"log_by_sender", "log_by_recipient"}),
    (LogFilter(parties=frozenset({"p"}), decision="d"), {"log_by_decision"}),
    (
        LogFilter(parties=frozenset({"p", "q"}), purpose="u", decision="d"),
        {"log_by_purpose_decision"},
    ),
    (LogFilter(parties=frozenset({"p"}), since=T0), {"log_by_sender", "log_by_recipient"}),
    (LogFilter(parties=frozenset({"p"}), partner="p"), {"log_by_sender", "log_by_recipient"}),
    (LogFilter(parties=frozenset({"p"}), partner="x"), {"log_by_sender", "log_by_recipient"}),
    (LogFilter(parties=frozenset({"p", "q"}), subject="s"), {"log_by_subject"}),
    (LogFilter(parties=frozenset({"p"}), subject="s", partner="x"), {"log_by_subject"}),
]


@pytest.mark.parametrize(("flt", "driving"), _DRIVING_INDEX, ids=repr)
async def test_an_officers_search_walks_its_partners_indexes_and_never_sorts_the_log(
    tmp_path: Path, flt: LogFilter, driving: set[str]
) -> None:
    storage = SqliteStorage(tmp_path / "gateway.sqlite3")
    await storage.open()
    await storage.close()
    sql, args = SqliteStorage.search_sql(flt, after=None, limit=50)
    with sqlite3.connect(tmp_path / "gateway.sqlite3") as conn:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args)]
    assert not [step for step in plan if "TEMP B-TREE FOR ORDER BY" in step], plan
    assert not [step for step in plan if step.startswith("SCAN log_entries")], plan
    walked = {
        step.split(" INDEX ")[1].split(" ")[0]
        for step in plan
        if step.startswith("SEARCH log_entries USING") and " INDEX " in step
    }
    assert walked, plan
    assert walked <= driving, plan


# --- the audit API, over HTTP, on both back ends ------------------------------------------------


async def _entries(town: ScopedTown, officer: str, **params: str) -> list[dict[str, object]]:
    """Every entry the officer's search finds, page by page (pages of 2)."""
    found: list[dict[str, object]] = []
    after = ""
    while True:
        answer = await town.get(officer, "/v1/audit/entries", limit="2", after=after, **params)
        assert answer.status == 200, answer.text
        page = answer.body
        assert page["next"] is None or len(page["entries"]) == 2
        found += page["entries"]
        if page["next"] is None:
            return found
        after = page["next"]


def _names(entry: dict[str, object]) -> set[str | None]:
    sender = entry["sender"]
    return {None if sender is None else sender["partner"], entry["recipient"]}  # type: ignore[index]


async def test_the_schools_officer_searching_the_log_sees_no_provider_to_team_exchange(
    town: ScopedTown, clients: MakeClient
) -> None:
    story = await tell_scope_story(town, clients)
    seen = await _entries(town, SCHOOL_OFFICER)
    indices = {e["index"] for e in seen}
    assert not indices & set(story.provider_to_team)
    assert story.provider_glass_index not in indices
    assert story.clientless_token_refusal not in indices
    assert {
        story.school_disclosed,
        story.school_refused_as_sender,
        story.school_refused_as_recipient,
        story.school_glass_index,
    } <= indices
    assert all(_names(e) & {SCHOOL, SCHOOL_OFFICER} for e in seen)
    # Naming the provider, or its decision, widens nothing.
    assert await _entries(town, SCHOOL_OFFICER, partner=PROVIDER) == []
    by_child = await _entries(town, SCHOOL_OFFICER, bsn=BSN_CHILD)
    assert [e["index"] for e in by_child] == [
        story.school_disclosed,
        story.school_refused_as_sender,
    ]
    # The operator's officer sees them all.
    everything = {e["index"] for e in await _entries(town, OPERATOR_OFFICER)}
    assert set(story.provider_to_team) | {story.clientless_token_refusal} <= everything


async def test_the_schools_officer_gets_404_for_another_organisations_entry_leaf_and_proof(
    town: ScopedTown, clients: MakeClient
) -> None:
    story = await tell_scope_story(town, clients)
    hidden = story.provider_to_team[0]
    size = (await town.running.gw.storage.latest_checkpoint()).size  # type: ignore[union-attr]
    beyond = size + 1000
    for path in ("/v1/audit/entries/{}", "/v1/audit/entries/{}/leaf", "/v1/audit/entries/{}/fhir"):
        theirs = assert_contract_error(
            await town.get(SCHOOL_OFFICER, path.format(hidden)), 404, "not_found"
        )
        absent = assert_contract_error(
            await town.get(SCHOOL_OFFICER, path.format(beyond)), 404, "not_found"
        )
        # Not yours and not there read the same, but for the index asked about.
        assert theirs["message"].replace(str(hidden), "N") == absent["message"].replace(
            str(beyond), "N"
        )
        assert theirs["how_to_fix"] == absent["how_to_fix"]
        assert (await town.get(OPERATOR_OFFICER, path.format(hidden))).status == 200
    proof = await town.get(
        SCHOOL_OFFICER, "/v1/audit/proof/inclusion", index=str(hidden), tree_size=str(size)
    )
    assert assert_contract_error(proof, 404, "not_found") == absent | {
        "message": absent["message"].replace(str(beyond), str(hidden))
    }
    assert "leaf_hash" not in proof.text
    own = await town.get(
        SCHOOL_OFFICER,
        "/v1/audit/proof/inclusion",
        index=str(story.school_disclosed),
        tree_size=str(size),
    )
    assert own.status == 200, own.text
    # Checkpoints and consistency proofs name no entry: every officer gets them.
    assert (await town.get(SCHOOL_OFFICER, "/v1/audit/checkpoint")).status == 200
    consistency = await town.get(
        SCHOOL_OFFICER, "/v1/audit/proof/consistency", first="1", second=str(size)
    )
    assert consistency.status == 200, consistency.text
    assert (
        await town.get(SCHOOL_OFFICER, f"/v1/audit/entries/{story.school_disclosed}")
    ).status == 200


async def test_a_refused_token_of_no_known_client_is_seen_only_by_the_operators_officer(
    town: ScopedTown, clients: MakeClient
) -> None:
    story = await tell_scope_story(town, clients)
    index = str(story.clientless_token_refusal)
    for officer in (SCHOOL_OFFICER, PROVIDER_OFFICER):
        assert await _entries(town, officer, decision="token_refused") == []
        assert (await town.get(officer, f"/v1/audit/entries/{index}")).status == 404
    found = await _entries(town, OPERATOR_OFFICER, decision="token_refused")
    assert story.clientless_token_refusal in {e["index"] for e in found}
    assert (await town.get(OPERATOR_OFFICER, f"/v1/audit/entries/{index}")).status == 200


async def test_the_subject_access_report_of_the_schools_officer_lists_only_the_schools_part(
    town: ScopedTown, clients: MakeClient
) -> None:
    story = await tell_scope_story(town, clients)
    school = (await town.get(SCHOOL_OFFICER, "/v1/audit/subject-report", bsn=BSN_CHILD)).body
    assert [d["index"] for d in school["disclosures"]] == [
        story.school_disclosed,
        story.school_refused_as_sender,
    ]
    assert school["count"] == 2
    assert school["oversees"] == [SCHOOL]
    everyone = (await town.get(OPERATOR_OFFICER, "/v1/audit/subject-report", bsn=BSN_CHILD)).body
    assert everyone["oversees"] == "all"
    assert set(story.provider_to_team) <= {d["index"] for d in everyone["disclosures"]}
    printable = await town.http.call(
        "GET",
        "/v1/audit/subject-report",
        token=await town.token(SCHOOL_OFFICER),
        params={"bsn": BSN_CHILD, "format": "html"},
    )
    assert "school-de-es (the organisations this officer oversees)" in printable.text
    assert "Zorgaanbieder Noord" not in printable.text


async def test_the_break_glass_review_shows_an_officer_only_its_organisations_uses(
    town: ScopedTown, clients: MakeClient
) -> None:
    story = await tell_scope_story(town, clients)
    queue = (await town.get(SCHOOL_OFFICER, "/v1/audit/break-glass")).body["break_glass"]
    assert [q["exchange_id"] for q in queue] == [story.school_glass]
    assert "Moeder belt" not in str(queue)
    provider_queue = (await town.get(PROVIDER_OFFICER, "/v1/audit/break-glass")).body
    assert [q["exchange_id"] for q in provider_queue["break_glass"]] == [story.provider_glass]
    everyone = (await town.get(OPERATOR_OFFICER, "/v1/audit/break-glass")).body["break_glass"]
    assert {q["exchange_id"] for q in everyone} == {story.school_glass, story.provider_glass}

    # Judging the provider's use as the school's officer: as absent as an unknown one.
    size = await town.running.gw.storage.log_size()
    token = await town.token(SCHOOL_OFFICER)
    answers = [
        await town.http.call(
            "POST",
            f"/v1/audit/break-glass/{exchange_id}/review",
            token=token,
            json_body={"justified": False, "note": "niet nodig"},
        )
        for exchange_id in (story.provider_glass, "no-such-exchange")
    ]
    assert [a.status for a in answers] == [404, 404]
    assert assert_contract_error(answers[0], 404, "not_found") == answers[1].body["error"]
    assert await town.running.gw.storage.log_size() == size
    still = (await town.get(PROVIDER_OFFICER, "/v1/audit/break-glass")).body["break_glass"]
    assert still[0]["status"] == "pending"
    judged = await town.http.call(
        "POST",
        f"/v1/audit/break-glass/{story.school_glass}/review",
        token=token,
        json_body={"justified": True, "note": "terecht"},
    )
    assert judged.status == 200, judged.text


async def test_an_officer_overseeing_the_most_partners_allowed_still_gets_its_pages(
    storage: Storage,
) -> None:
    many = frozenset({SCHOOL, *(f"p-{n:03d}" for n in range(MAX_OVERSEEN - 1))})
    view = Oversight("fg-x", many)
    await storage.append_log(
        [_logged("disclosed", PROVIDER, TEAM), _logged("disclosed", TEAM, SCHOOL)] * 3
    )
    rows = await storage.search_log(LogFilter(parties=view.parties), after=None, limit=10)
    assert [row.index for row in rows] == [1, 3, 5]
    rows = await storage.search_log(
        LogFilter(parties=view.parties, partner=TEAM, decision="disclosed"), after=1, limit=1
    )
    assert [row.index for row in rows] == [3]
