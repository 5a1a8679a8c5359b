"""Findings F3, F4, F8 and F9 of the security review of issue 17, each as the attack it prevents.

Over real HTTP against a running gateway, on SQLite and on PostgreSQL (the `backend` fixture),
each attacker using its own valid token:

- F3: a school covered by a care provider's consent only through `kind:school` learns nothing of
  it (listing, FHIR form, withdrawal, refusal reasons), yet can still tell whether it may reply.
- F4: a consent naming a party the viewer's kind may not see is, for that viewer, as absent as
  one it has no part in: no entry with an empty or shortened `from`.
- F8: a certified institution citing a ruling cannot join a case whose id was chosen by a caller
  before schema 8 (guessable); only the case's director adds it.
- F9: why a token request in a partner's name was refused stays out of the partner's own
  disclosure list and proofs; its privacy officers read it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from consent import ConsentRecord, Evidence, Giver, is_party, shown_to
from gateway.client.assertion import make_client_assertion
from gateway.log.entry import LogEntry, Sender
from gateway.policy.cases import issued_case_id
from gateway.policy.oversight import oversight_of
from gateway.policy.visibility import knows_of
from gateway.store.base import Case, LogFilter, NetworkMember
from tests.conftest import ROLES, Running, example
from tests.helpers import Answer, Http, seed_request, signing_jwk, valid_bsn
from tests.test_properties import world

DAY = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TEAM, PROVIDER, SCHOOL, GI = "swt-denhelder", "zorg-noord", "school-de-es", "gi-noordholland"
OFFICER = "fg-denhelder"
THIRTEEN = "2013-05-01"  # 13 on DAY
EVERY_AGE_BAND = ["subject_or_custodian"]
MEASURE = {"type": "ots", "ruling": "ECLI:NL:RBNHO:2026:1234"}


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    running.clock.moment = DAY
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


async def call(http: Http, partner: str, method: str, path: str, body: Any = None) -> Answer:
    token = await http.token(partner)
    if body is None:
        return await http.call(method, path, token=token)
    return await http.call(method, path, token=token, json_body=body)


async def record(
    http: Http,
    recorder: str,
    bsn: str,
    purposes: Sequence[str],
    to: Sequence[str],
    *,
    senders: Sequence[str] | None = None,
    case_id: str | None = None,
) -> str:
    body: dict[str, Any] = {
        "subject": {"bsn": bsn, "birth_date": THIRTEEN},
        "given_by": [{"role": "subject"}, {"role": "custodian", "name": "Marieke Jansen"}],
        "purposes": list(purposes),
        "to": list(to),
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }
    if senders is not None:
        body["from"] = list(senders)
    if case_id is not None:
        body["case_id"] = case_id
    answer = await call(http, recorder, "POST", "/v1/consents", body)
    assert answer.status == 201, answer.text
    return str(answer.body["consent_id"])


async def listed(http: Http, partner: str, bsn: str) -> list[dict[str, Any]]:
    answer = await call(http, partner, "GET", f"/v1/consents?bsn={bsn}")
    assert answer.status == 200, answer.text
    return list(answer.body["consents"])


def exchange(purpose: str, to: str, bsn: str, *, payload: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"purpose": purpose, "to": [to], "subject": {"bsn": bsn}}
    if payload:
        body["payload"] = example(purpose)
    return body


def alike(text: str, *bsns: str) -> str:
    for bsn in bsns:
        text = text.replace(bsn, "BSN")
    return text


async def reply_to_team(http: Http, bsn: str) -> dict[str, Any]:
    """A check body: the school's information reply to the team's open request about `bsn` (a
    check, like a send, first asks for the open request a reply answers; issue 19, F10)."""
    asked = await seed_request(http.running, TEAM, SCHOOL, bsn)
    return {**exchange("information-reply", TEAM, bsn, payload=False), "in_reply_to": asked}


async def refused_reply(http: Http, bsn: str) -> Answer:
    """The school asks whether it may send the team an information reply about the child: no."""
    answer = await call(http, SCHOOL, "POST", "/v1/exchanges/check", await reply_to_team(http, bsn))
    assert (answer.status, answer.body["allowed"]) == (200, False), answer.text
    assert answer.body["code"] == "consent_required"
    assert answer.body["missing_consent"]["given_by"] == EVERY_AGE_BAND
    assert answer.body.get("reasons", []) == []
    return answer


async def absent_alike(http: Http, partner: str, consent_id: str) -> None:
    """The partner gets for the consent what it gets for an id that was never given out."""
    never = "con_" + "0" * 26
    for method, suffix in (("GET", "/fhir"), ("POST", "/withdraw")):
        real = await call(http, partner, method, f"/v1/consents/{consent_id}{suffix}")
        made_up = await call(http, partner, method, f"/v1/consents/{never}{suffix}")
        assert (real.status, real.body) == (made_up.status, made_up.body) == (404, made_up.body)
        assert made_up.body["error"]["code"] == "not_found"


# -- F3: a partner covered only by a kind entry is no party ---------------------------------------


async def test_a_school_covered_only_by_kind_school_learns_nothing_of_a_care_providers_consent(
    running: Running, http: Http
) -> None:
    child, stranger = valid_bsn(301), valid_bsn(302)
    consent_id = await record(http, PROVIDER, child, ["closure-notice"], ["kind:school"])
    # The kind entry still covers the provider's notice to the school.
    sent = await call(
        http, PROVIDER, "POST", "/v1/exchanges", exchange("closure-notice", SCHOOL, child)
    )
    assert (sent.status, sent.body["consent_id"]) == (201, consent_id), sent.text

    # The school lists, reads and withdraws as if there were nothing: no recorder, no youth care.
    assert await listed(http, SCHOOL, child) == []
    await absent_alike(http, SCHOOL, consent_id)
    # The answer about its own reply names neither the consent nor the child's age band, word
    # for word as about a child nobody recorded a consent for.
    refused = await refused_reply(http, child)
    unknown = await refused_reply(http, stranger)
    for secret in (consent_id, PROVIDER, "12 to 15"):
        assert secret not in refused.text
    assert alike(refused.text, child) == alike(unknown.text, stranger)
    # The recorder still sees its consent whole.
    [own] = await listed(http, PROVIDER, child)
    assert (own["consent_id"], own["to"], own["recorded_by"]) == (
        consent_id,
        ["kind:school"],
        PROVIDER,
    )


async def test_a_school_covered_only_by_kind_can_still_tell_by_a_check_whether_it_may_reply(
    running: Running, http: Http
) -> None:
    child, stranger = valid_bsn(303), valid_bsn(304)
    await record(http, PROVIDER, child, ["closure-notice"], ["kind:school"])
    reply = await reply_to_team(http, child)

    before = await call(http, SCHOOL, "POST", "/v1/exchanges/check", reply)
    other = await call(
        http, SCHOOL, "POST", "/v1/exchanges/check", await reply_to_team(http, stranger)
    )
    assert (before.status, before.body["allowed"]) == (200, False), before.text
    assert alike(before.text, child) == alike(other.text, stranger)

    own = await record(http, SCHOOL, child, ["information-reply"], [TEAM])
    after = await call(http, SCHOOL, "POST", "/v1/exchanges/check", reply)
    assert (after.status, after.body["allowed"]) == (200, True), after.text
    assert [c["consent_id"] for c in await listed(http, SCHOOL, child)] == [own]


# -- F4: no trace of a hidden party -----------------------------------------------------------------


async def _case_with(http: Http, child: str, *partners: str) -> str:
    opened = await call(http, TEAM, "POST", "/v1/cases", {})
    assert opened.status == 201, opened.text
    case_id = str(opened.body["case_id"])
    for partner in partners:
        joined = await call(
            http, TEAM, "PUT", f"/v1/cases/{case_id}/network/{partner}", {"role": "involved"}
        )
        assert joined.status == 201, joined.text
    household = await call(
        http,
        TEAM,
        "PUT",
        f"/v1/cases/{case_id}/household",
        {"children": [{"bsn": child, "child_ref": "kind-1"}]},
    )
    assert household.status in (200, 201), household.text
    return case_id


async def test_a_school_named_in_a_case_consent_beside_a_care_provider_gets_no_entry_with_a_gap(
    running: Running, http: Http
) -> None:
    child = valid_bsn(305)
    case_id = await _case_with(http, child, PROVIDER, SCHOOL)
    # The director records the family's agreement that the provider may notify the school.
    hidden = await record(
        http, TEAM, child, ["closure-notice"], [SCHOOL], senders=[PROVIDER], case_id=case_id
    )
    # And that the school may reply to the team: no party the school may not know of.
    shown = await record(
        http, TEAM, child, ["information-reply"], [TEAM], senders=[SCHOOL], case_id=case_id
    )

    # The school sees the second whole and nothing of the first: no empty `from` giving away
    # that a care provider is involved.
    school_view = await listed(http, SCHOOL, child)
    assert [(c["consent_id"], c["from"], c["to"], c["recorded_by"]) for c in school_view] == [
        (shown, [SCHOOL], [TEAM], TEAM)
    ]
    assert PROVIDER not in str(school_view)
    await absent_alike(http, SCHOOL, hidden)
    # The recorder sees both whole.
    assert sorted(
        (c["consent_id"], c["from"], c["to"]) for c in await listed(http, TEAM, child)
    ) == sorted([(hidden, [PROVIDER], [SCHOOL]), (shown, [SCHOOL], [TEAM])])
    # The consent still covers the provider's notice to the school.
    sent = await call(
        http, PROVIDER, "POST", "/v1/exchanges", exchange("closure-notice", SCHOOL, child)
    )
    assert (sent.status, sent.body["consent_id"]) == (201, hidden), sent.text


async def test_a_refusal_names_no_consent_whose_other_parties_the_sender_may_not_see(
    running: Running, http: Http
) -> None:
    child, stranger = valid_bsn(307), valid_bsn(308)
    case_id = await _case_with(http, child, PROVIDER, SCHOOL)
    hidden = await record(
        http, TEAM, child, ["closure-notice"], [SCHOOL], senders=[PROVIDER], case_id=case_id
    )
    # The school is named in it (as recipient), but the provider is hidden from it: its refused
    # reply hears of no consent and no age band, as about a child without any consent.
    refused = await refused_reply(http, child)
    unknown = await refused_reply(http, stranger)
    assert hidden not in refused.text
    assert alike(refused.text, child) == alike(unknown.text, stranger)
    # The director, which may see every party, is told why its consent does not cover.
    own = await call(http, TEAM, "POST", "/v1/exchanges", exchange("closure-notice", SCHOOL, child))
    assert own.status == 403, own.text
    assert own.body["error"]["reasons"] == [f"consent {hidden}: sender '{TEAM}' not in scope"]


# -- F8: legacy case ids ------------------------------------------------------------------------


async def _legacy_case(running: Running, case_id: str) -> None:
    """A case from before schema 8 as migration 8 leaves it: the caller's id, its director."""
    now = running.clock.now()
    await running.gw.storage.open_case(
        Case(case_id, TEAM, None, now),
        NetworkMember(case_id, TEAM, "procesregisseur", None, TEAM, now),
        LogEntry(
            time=now,
            decision="case_opened",
            sender=Sender(TEAM, None, None),
            recipient=TEAM,
            case_id=case_id,
            details={"role": "procesregisseur"},
        ),
    )


async def test_a_certified_institution_citing_a_ruling_cannot_join_a_guessable_legacy_case(
    running: Running, http: Http
) -> None:
    legacy, never = "case-2026-0042", "case-2026-0043"
    await _legacy_case(running, legacy)
    size = await running.gw.storage.log_size()
    body = {"role": "involved", "measure": MEASURE}

    probe = await call(http, GI, "PUT", f"/v1/cases/{legacy}/network/{GI}", body)
    unknown = await call(http, GI, "PUT", f"/v1/cases/{never}/network/{GI}", body)

    # The same answer as for a case that does not exist: the probe learns nothing, joins nothing.
    assert (probe.status, probe.body) == (unknown.status, unknown.body)
    assert probe.body["error"]["code"] == "not_found"
    assert [m.partner_id for m in await running.gw.storage.case_network(legacy)] == [TEAM]
    assert await running.gw.storage.log_size() == size
    # The case's director still adds the institution, with its measure.
    added = await call(http, TEAM, "PUT", f"/v1/cases/{legacy}/network/{GI}", body)
    assert added.status == 201, added.text
    # Once a member, it still cannot register itself anew there.
    again = await call(http, GI, "PUT", f"/v1/cases/{legacy}/network/{GI}", body)
    assert (again.status, again.body["error"]["code"]) == (403, "forbidden")


async def test_a_certified_institution_still_joins_a_case_opened_under_a_gateway_chosen_id(
    running: Running, http: Http
) -> None:
    opened = await call(http, TEAM, "POST", "/v1/cases", {})
    case_id = str(opened.body["case_id"])
    assert issued_case_id(case_id)
    assert not issued_case_id("case-2026-0042")
    assert not issued_case_id(case_id + "\n")
    joined = await call(
        http,
        GI,
        "PUT",
        f"/v1/cases/{case_id}/network/{GI}",
        {"role": "involved", "measure": MEASURE},
    )
    assert joined.status == 201, joined.text


# -- F9: why a token was refused ----------------------------------------------------------------


async def test_a_thief_holding_a_partners_token_cannot_read_why_its_forged_assertions_failed(
    running: Running, http: Http
) -> None:
    start = await running.gw.storage.log_size()
    # Forged: the school's name, another partner's key.
    forged = make_client_assertion(
        signing_jwk(PROVIDER),
        partner_id=SCHOOL,
        audience=running.gw.settings.id,
        actor_id="school-de-es-actor-1",
        actor_role=ROLES[SCHOOL],
        now=running.clock.now(),
    )
    assert (await http.post_token(forged)).status == 400
    # Replayed: a copied assertion used a second time.
    copied = http.assertion(SCHOOL)
    assert (await http.post_token(copied)).status == 200
    assert (await http.post_token(copied)).status == 400
    rows = await running.gw.storage.search_log(
        LogFilter(decision="token_refused"), after=start - 1 if start else None, limit=10
    )
    refused = [r for r in rows if r.index >= start]
    assert len(refused) == 2
    assert {r.entry.sender.partner for r in refused if r.entry.sender} == {SCHOOL}

    # With the school's valid token: no such entry in its list, under any filter, nor a proof.
    token = await http.token(SCHOOL)
    for params in ({}, {"decision": "token_refused"}):
        answer = await http.call("GET", "/v1/disclosures", token=token, params=params)
        assert answer.status == 200, answer.text
        assert all(e["decision"] != "token_refused" for e in answer.body["entries"])
        assert "jti_replayed" not in answer.text
    assert answer.body["entries"] == []
    for row in refused:
        proof = await http.call("GET", f"/v1/disclosures/{row.index}/proof", token=token)
        missing = await http.call("GET", "/v1/disclosures/99999999/proof", token=token)
        assert (proof.status, proof.body) == (missing.status, missing.body) == (404, missing.body)

    # Its privacy officers read them, with the reason: the school's own, and the operator's.
    operator_officer = running.gw.partners.get(OFFICER)
    assert operator_officer is not None
    schools_officer = replace(operator_officer, id="fg-school", oversees=frozenset({SCHOOL}))
    assert all(oversight_of(schools_officer).may_see(r.entry) for r in refused)
    seen = await http.call(
        "GET",
        "/v1/audit/entries",
        token=await http.token(OFFICER),
        params={"decision": "token_refused"},
    )
    assert seen.status == 200, seen.text
    assert {r.entry.reason for r in refused} <= {e["reason"] for e in seen.body["entries"]}
    assert "jti_replayed" in {e["reason"] for e in seen.body["entries"]}


# -- the rules themselves, in-process (for `make mutate`) -----------------------------------------


def test_a_school_may_know_of_teams_and_schools_by_id_or_kind_never_of_care_or_an_unknown_id() -> (
    None
):
    catalogue, partners = world()
    school = partners.get(SCHOOL)
    assert school is not None
    known = knows_of(school, partners, catalogue.case_network_visibility)
    for party in (SCHOOL, TEAM, "kind:social_team", "kind:school"):
        assert known(party), party
    for party in (PROVIDER, GI, "kind:care_provider", "kind:certified_institution", "nobody-here"):
        assert not known(party), party


def test_a_consent_is_shown_to_its_recorder_and_to_named_parties_that_may_know_of_every_other():
    record = ConsentRecord(
        consent_id="con-1",
        subject="ab" * 32,
        birth_date=None,
        given_by=(Giver("subject"),),
        purposes=frozenset({"closure-notice"}),
        senders=frozenset({PROVIDER}),
        recipients=frozenset({SCHOOL, "kind:school"}),
        valid_from=DAY.date(),
        valid_until=None,
        evidence=Evidence("written", "ref"),
        recorded_by=TEAM,
        recorded_at=DAY,
    )
    sees_all = lambda party: True  # noqa: E731
    assert shown_to(record, TEAM, lambda party: False)
    assert shown_to(record, PROVIDER, sees_all)
    assert shown_to(record, SCHOOL, sees_all)
    assert not shown_to(record, SCHOOL, lambda party: party != PROVIDER)
    assert not shown_to(record, SCHOOL, lambda party: party != "kind:school")
    # A school covered by the kind entry only is no party, whatever it may know of.
    assert not shown_to(record, "school-other", sees_all)
    assert not is_party(record, "school-other")
    for party in (SCHOOL, PROVIDER, TEAM):
        assert is_party(record, party), party
