"""A relation to the child where the ground presumes one (issue 19), as the attacks it prevents.

Start and stop messages, evaluation feedback and safety assessments rest on grounds that presume
the sender helps this person. A partner with a valid token but without a referral received for
the person, a membership of a case whose household holds the person, or its own start of help,
is refused `403 relation_required`, logged without the BSN; the "may I share?" check says the
same. Over real HTTP on SQLite and PostgreSQL; the loader and the pure rule without a server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.client.keygen import generate_partner_jwks
from gateway.clock import FixedClock
from gateway.config import ConfigError, load_catalogue
from gateway.errors import RelationRequired
from gateway.policy import decide, parse_exchange_request
from gateway.policy.decision import Caller
from gateway.policy.relations import RELATION_RULES, SubjectTies
from gateway.policy.rules import AnyOf
from gateway.runtime import build_gateway
from gateway.web import create_app
from tests.conftest import (
    BSN_CHILD,
    BSN_OTHER,
    DEFAULT_CONFIG,
    REPO,
    ROLES,
    Running,
    copy_config,
    example,
)
from tests.helpers import (
    Http,
    assert_contract_error,
    gateway_state,
    log_entries,
    relate,
    relate_client,
    valid_bsn,
)

MakeClient = Callable[..., PartnerClient]
ALL_THREE = ["referral_received", "case_member", "help_started"]
NUMERIC_SYSTEM = "urn:example:leerlingnummer"


def start_message() -> dict[str, Any]:
    start = {**example("start-stop"), "event": "start"}
    for key in ("end_date", "end_reason"):
        start.pop(key)
    return start


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


# A young person of 16 who agrees alone: the Jeugdwet rows apply to a minor (an adult's start
# or stop falls under the Wmo 2015 and needs agreement, docs/legal-basis.md 4.4), whatever day
# the tests run.
YOUNG_PERSON_BORN = (date.today() - timedelta(days=16 * 365 + 60)).isoformat()


async def refer(team: PartnerClient, bsn: str, **extra: Any) -> dict[str, Any]:
    """The social team records the family's agreement and refers `bsn` to Zorgaanbieder Noord."""
    await team.record_consent(
        {
            "subject": {"bsn": bsn, "birth_date": YOUNG_PERSON_BORN},
            "given_by": [{"role": "subject"}],
            "evidence": {"method": "written", "reference": "dossier-2026-0042"},
            "purposes": ["referral"],
            "to": ["zorg-noord"],
        }
    )
    sent: dict[str, Any] = await team.send(
        "referral", "zorg-noord", bsn, example("referral"), **extra
    )
    return sent


def refused(raised: pytest.ExceptionInfo[GatewayClientError]) -> GatewayClientError:
    error = raised.value
    assert (error.status, error.code) == (403, "relation_required")
    return error


# -- the attacks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "recipient"),
    [
        ("start-stop", "swt-denhelder"),
        ("evaluation-feedback", "swt-denhelder"),
        ("safety-assessment", "swt-denhelder"),
        ("safety-assessment", "gi-noordholland"),
    ],
)
async def test_a_provider_with_a_valid_token_reporting_about_a_child_it_never_received_is_refused(
    running: Running, http: Http, purpose: str, recipient: str
) -> None:
    provider = await http.token("zorg-noord")
    before = await gateway_state(running)
    payload = start_message() if purpose == "start-stop" else example(purpose)
    body = {"purpose": purpose, "to": recipient, "subject": {"bsn": BSN_CHILD}, "payload": payload}
    answer = await http.call("POST", "/v1/exchanges", token=provider, json_body=body)
    error = assert_contract_error(answer, 403, "relation_required")
    assert error["missing_relation"] == ALL_THREE
    assert error["purpose"] == purpose
    for name in ALL_THREE:
        assert f"({name})" in error["message"]
    assert "/v1/cases/{case_id}/household" in error["how_to_fix"]
    assert BSN_CHILD not in answer.text
    # Refused and logged like other refusals: one entry, no BSN, nothing delivered.
    after = await gateway_state(running)
    assert after.inboxes == before.inboxes
    assert after.log_size == before.log_size + 1
    (entry,) = await log_entries(running, before.log_size)
    assert (entry.decision, entry.reason, entry.purpose) == (
        "refused",
        "relation_required",
        purpose,
    )
    assert entry.recipient == recipient
    assert entry.details["missing_relation"] == ALL_THREE
    assert entry.subject is not None
    assert BSN_CHILD not in entry.canonical().decode()


async def test_a_provider_referred_child_a_reporting_about_child_b_of_another_family_is_refused(
    running: Running, clients: MakeClient
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    await refer(team, BSN_CHILD)
    # About the child it was referred: allowed on the referral it received.
    started = await provider.send("start-stop", "swt-denhelder", BSN_CHILD, start_message())
    assert started["legal_basis"]["type"] == "statute"
    # About a child of another family, of which it received nothing: refused.
    with pytest.raises(GatewayClientError) as raised:
        await provider.send(
            "evaluation-feedback", "swt-denhelder", BSN_OTHER, example("evaluation-feedback")
        )
    refused(raised)
    with pytest.raises(GatewayClientError) as raised:
        await provider.send("start-stop", "swt-denhelder", BSN_OTHER, start_message())
    refused(raised)


async def test_a_referral_to_another_provider_gives_this_provider_no_relation(
    running: Running, clients: MakeClient
) -> None:
    team, gi = clients("swt-denhelder"), clients("gi-noordholland")
    await refer(team, BSN_CHILD)  # to zorg-noord, not to the certified institution
    with pytest.raises(GatewayClientError) as raised:
        await gi.send("start-stop", "swt-denhelder", BSN_CHILD, start_message())
    refused(raised)


async def test_membership_of_a_case_whose_household_lacks_the_child_is_no_relation(
    running: Running, clients: MakeClient
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    case_id = await relate_client(team, "zorg-noord", BSN_CHILD)
    # A member of this family's case reports about a child outside the household: refused,
    # also when it names the case it is a member of.
    with pytest.raises(GatewayClientError) as raised:
        await provider.send(
            "safety-assessment",
            "swt-denhelder",
            BSN_OTHER,
            example("safety-assessment"),
            case_id=case_id,
        )
    refused(raised)
    # The household's own child: allowed.
    sent = await provider.send(
        "safety-assessment", "swt-denhelder", BSN_CHILD, example("safety-assessment")
    )
    assert sent["disclosures"][0]["recipient"] == "swt-denhelder"


async def test_a_household_child_without_the_provider_in_the_case_network_is_no_relation(
    running: Running, clients: MakeClient
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    await relate_client(team, "swt-denhelder", BSN_CHILD)  # the team's case, provider not in it
    with pytest.raises(GatewayClientError) as raised:
        await provider.send(
            "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
        )
    refused(raised)


async def test_a_referral_of_a_household_counts_for_the_brother_or_sister_it_asks_about(
    running: Running, clients: MakeClient
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    third = valid_bsn(42)
    # The team's case holds two children; the provider is not in its network. The referral of
    # the first asks a safety assessment of each child of the household.
    case_id = await relate_client(team, "swt-denhelder", BSN_CHILD, BSN_OTHER)
    referral = await refer(team, BSN_CHILD, case_id=case_id)
    assert {e["child_ref"] for e in referral["expectations_opened"]} >= {"kind-1", "kind-2"}
    sent = await provider.send(
        "safety-assessment",
        "swt-denhelder",
        BSN_OTHER,
        {"children": [{**example("safety-assessment")["children"][0], "child_ref": "kind-2"}]},
    )
    assert sent["disclosures"]
    # A child the referral did not ask about is not covered by it.
    with pytest.raises(GatewayClientError) as raised:
        await provider.send(
            "safety-assessment", "swt-denhelder", third, example("safety-assessment")
        )
    refused(raised)


async def test_the_providers_own_start_keeps_its_relation_after_it_leaves_the_case(
    running: Running, clients: MakeClient
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    case_id = await relate_client(team, "zorg-noord", BSN_CHILD)
    await provider.send("start-stop", "swt-denhelder", BSN_CHILD, start_message())
    await team.remove_member(case_id, "zorg-noord")
    # Its own start of help is its relation now: the feedback on that help may still go.
    sent = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    assert sent["disclosures"]
    # A start message another provider sent gives this one nothing.
    gi = clients("gi-noordholland")
    with pytest.raises(GatewayClientError) as raised:
        await gi.send("start-stop", "swt-denhelder", BSN_CHILD, start_message())
    refused(raised)


@pytest.fixture
async def two_systems(
    tmp_path: Path, clock: FixedClock, storage_url: str | None
) -> AsyncIterator[Running]:
    """A gateway whose catalogue also declares a nine-digit pupil number without a check."""
    config = copy_config(tmp_path / "config")
    with (config / "purposes.toml").open("a", encoding="utf-8") as catalogue:
        catalogue.write(
            "\n[[identifier_system]]\n"
            f'system = "{NUMERIC_SYSTEM}"\n'
            'title = { nl = "Leerlingnummer", en = "Pupil number" }\n'
            'pattern = "^[0-9]{9}$"\n'
        )
    gw = build_gateway(config, tmp_path / "data", storage_url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    try:
        yield Running(gw, server, clock)
    finally:
        await server.close()


async def test_a_relation_under_one_identifier_system_does_not_count_for_another(
    two_systems: Running,
) -> None:
    async with aiohttp.ClientSession() as session:
        http = Http(two_systems, session)
        await relate(http, "zorg-noord", BSN_CHILD)  # the child in the household by BSN
        provider = await http.token("zorg-noord")

        async def feedback(subject: dict[str, Any]) -> Any:
            body = {
                "purpose": "evaluation-feedback",
                "to": "swt-denhelder",
                "subject": subject,
                "payload": example("evaluation-feedback"),
            }
            return await http.call("POST", "/v1/exchanges", token=provider, json_body=body)

        # The same nine digits under a pupil-number system name someone else for the gateway.
        other = await feedback({"identifier": {"system": NUMERIC_SYSTEM, "value": BSN_CHILD}})
        assert_contract_error(other, 403, "relation_required")
        same = await feedback({"bsn": BSN_CHILD})
        assert same.status == 201, same.text


# -- a relation holds towards the partners it ties the sender to, not towards everyone ---------

OTHER_TEAM = "swt-schagen"
OTHER_GI = "gi-tweede"


@pytest.fixture
async def wider(tmp_path: Path, clock: FixedClock, storage_url: str | None) -> AsyncIterator[Http]:
    """A gateway with a second social team (acting for the college too) and a second certified
    institution, both mere recipients here; and a session to call it."""
    config = copy_config(tmp_path / "config")
    with (config / "partners.toml").open("a", encoding="utf-8") as partners:
        for partner_id, kind, extra in (
            (
                OTHER_TEAM,
                "social_team",
                'acts_for_college = { mandate = "Mandaatbesluit (test)", since = 2025-01-01 }\n',
            ),
            (OTHER_GI, "certified_institution", ""),
        ):
            _, public = generate_partner_jwks(partner_id, now=clock.now())
            (config / "keys" / f"{partner_id}.jwks.json").write_text(json.dumps(public))
            partners.write(
                f'\n[[partner]]\nid = "{partner_id}"\nname = "{partner_id}"\nkind = "{kind}"\n'
                f'{extra}jwks = "keys/{partner_id}.jwks.json"\n'
            )
    gw = build_gateway(config, tmp_path / "data", storage_url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield Http(Running(gw, server, clock), session)
    finally:
        await server.close()


async def _report(http: Http, purpose: str, recipient: str, *, check: bool = False) -> Any:
    provider = await http.token("zorg-noord")
    payload = start_message() if purpose == "start-stop" else example(purpose)
    body = {"purpose": purpose, "to": recipient, "subject": {"bsn": BSN_CHILD}, "payload": payload}
    path = "/v1/exchanges/check" if check else "/v1/exchanges"
    return await http.call("POST", path, token=provider, json_body=body)


def _not_towards(answer: Any, recipient: str) -> None:
    error = assert_contract_error(answer, 403, "relation_required")
    assert f"not towards recipient '{recipient}'" in error["message"]
    assert error["missing_relation"] == ALL_THREE
    assert BSN_CHILD not in answer.text


async def _refer_to_provider(http: Http) -> None:
    """The first team refers the child to the provider, with the client's agreement to that
    and to the provider's feedback to any social team."""
    team = await http.token("swt-denhelder")
    common = {
        "subject": {"bsn": BSN_CHILD, "birth_date": YOUNG_PERSON_BORN},
        "given_by": [{"role": "subject"}],
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }
    provider = await http.token("zorg-noord")
    for token, scope in (
        (team, {"purposes": ["referral"], "to": ["zorg-noord"]}),
        (provider, {"purposes": ["evaluation-feedback"], "to": ["kind:social_team"]}),
    ):
        recorded = await http.call(
            "POST", "/v1/consents", token=token, json_body={**common, **scope}
        )
        assert recorded.status == 201, recorded.text
    referral = {
        "purpose": "referral",
        "to": "zorg-noord",
        "subject": {"bsn": BSN_CHILD},
        "payload": example("referral"),
    }
    referred = await http.call("POST", "/v1/exchanges", token=team, json_body=referral)
    assert referred.status == 201, referred.text


async def test_a_provider_referred_by_one_team_sending_feedback_to_another_team_is_refused(
    wider: Http,
) -> None:
    # Even with the client's agreement to feedback to any social team: the provider helps the
    # child on the first team's referral, not on the other team's behalf.
    await _refer_to_provider(wider)
    before = await gateway_state(wider.running)
    for purpose in ("evaluation-feedback", "start-stop", "safety-assessment"):
        _not_towards(await _report(wider, purpose, OTHER_TEAM), OTHER_TEAM)
    assert (await gateway_state(wider.running)).inboxes == before.inboxes
    (entry, *_) = await log_entries(wider.running, before.log_size)
    assert (entry.decision, entry.reason, entry.recipient) == (
        "refused",
        "relation_required",
        OTHER_TEAM,
    )
    # The check says the same, and to the team that referred the child the feedback goes.
    checked = (await _report(wider, "evaluation-feedback", OTHER_TEAM, check=True)).body
    assert (checked["allowed"], checked["code"]) == (False, "relation_required")
    sent = await _report(wider, "evaluation-feedback", "swt-denhelder")
    assert sent.status == 201, sent.text


async def test_a_provider_in_a_case_sending_a_safety_assessment_to_a_gi_outside_it_is_refused(
    wider: Http,
) -> None:
    case_id = await relate(wider, "zorg-noord", BSN_CHILD)
    team = await wider.token("swt-denhelder")
    joined = await wider.call(
        "PUT", f"/v1/cases/{case_id}/network/gi-noordholland", token=team, json_body={}
    )
    assert joined.status == 201, joined.text
    _not_towards(await _report(wider, "safety-assessment", OTHER_GI), OTHER_GI)
    _not_towards(await _report(wider, "safety-assessment", OTHER_TEAM), OTHER_TEAM)
    checked = (await _report(wider, "safety-assessment", OTHER_GI, check=True)).body
    assert (checked["allowed"], checked["code"]) == (False, "relation_required")
    sent = await _report(wider, "safety-assessment", "gi-noordholland")
    assert sent.status == 201, sent.text


async def test_a_fan_out_reaches_only_the_members_the_providers_relation_is_towards(
    wider: Http,
) -> None:
    await _refer_to_provider(wider)  # the provider's relation to the child: towards the team
    # A case of another family, with the provider and the other team in its network.
    case_id = await relate(wider, "zorg-noord", BSN_OTHER)
    team = await wider.token("swt-denhelder")
    joined = await wider.call(
        "PUT", f"/v1/cases/{case_id}/network/{OTHER_TEAM}", token=team, json_body={}
    )
    assert joined.status == 201, joined.text
    provider = await wider.token("zorg-noord")
    body = {
        "purpose": "start-stop",
        "to": {"case_network": case_id},
        "subject": {"bsn": BSN_CHILD},
        "payload": start_message(),
    }
    sent = await wider.call("POST", "/v1/exchanges", token=provider, json_body=body)
    assert sent.status == 201, sent.text
    assert [d["recipient"] for d in sent.body["disclosures"]] == ["swt-denhelder"]
    (other,) = sent.body["refused"]
    assert other["recipient"] == OTHER_TEAM
    assert other["code"] == "relation_required", other
    assert f"not towards recipient '{OTHER_TEAM}'" in other["message"]


async def test_help_started_holds_towards_the_partner_the_start_went_to_only(
    wider: Http,
) -> None:
    case_id = await relate(wider, "zorg-noord", BSN_CHILD)
    started = await _report(wider, "start-stop", "swt-denhelder")
    assert started.status == 201, started.text
    team = await wider.token("swt-denhelder")
    left = await wider.call("DELETE", f"/v1/cases/{case_id}/network/zorg-noord", token=team)
    assert left.status in (200, 204), left.text
    # Out of the case, its own start of help ties it to the team the start went to only.
    _not_towards(await _report(wider, "evaluation-feedback", OTHER_TEAM), OTHER_TEAM)
    sent = await _report(wider, "evaluation-feedback", "swt-denhelder")
    assert sent.status == 201, sent.text


# -- the "may I share?" check says the same ---------------------------------------------------


async def test_the_check_refuses_without_a_relation_and_names_the_directions_ground(
    running: Running, clients: MakeClient
) -> None:
    team, provider = clients("swt-denhelder"), clients("zorg-noord")
    before = await gateway_state(running)
    answer = await provider.check("safety-assessment", "gi-noordholland", BSN_CHILD)
    assert (answer["allowed"], answer["code"]) == (False, "relation_required")
    assert answer["missing_relation"] == ALL_THREE
    assert "PUT /v1/cases/{case_id}/network/{partner_id}" in answer["how_to_fix"]
    assert "(case_member)" in answer["explanation"]
    # The ground of the direction asked about (care provider -> certified institution), not the
    # purpose's default ground towards the social team.
    assert answer["legal_basis"] == {"type": "statute", "reference": "Jeugdwet art. 7.3.11 lid 4"}
    assert await gateway_state(running) == before  # the check writes nothing
    case_id = await relate_client(team, "zorg-noord", BSN_CHILD)
    # In the child's case without the institution: a relation, but not towards it.
    towards = await provider.check("safety-assessment", "gi-noordholland", BSN_CHILD)
    assert (towards["allowed"], towards["code"]) == (False, "relation_required")
    assert "not towards recipient 'gi-noordholland'" in towards["explanation"]
    await team.register_member(case_id, "gi-noordholland")
    allowed = await provider.check("safety-assessment", "gi-noordholland", BSN_CHILD)
    assert (allowed["allowed"], allowed["code"]) == (True, "allowed")
    assert allowed["legal_basis"] == {"type": "statute", "reference": "Jeugdwet art. 7.3.11 lid 4"}


async def test_a_refused_check_names_the_ground_of_the_refused_direction(
    running: Running, clients: MakeClient
) -> None:
    team = clients("swt-denhelder")
    # A consent-based purpose refused to a school: the check shows the school direction's
    # ground, which is the default here; to a care provider the same purpose's other ground.
    answer = await team.check("information-request", "zorg-noord", BSN_CHILD)
    assert (answer["allowed"], answer["code"]) == (False, "consent_required")
    ground = running.gw.catalogue.get("information-request").ground_for(
        "social_team", "care_provider"
    )
    assert answer["legal_basis"] == ground.basis.to_json()
    provider = clients("gi-noordholland")
    answer = await provider.check("start-stop", "swt-denhelder", BSN_CHILD)
    assert answer["code"] == "relation_required"
    # The demo team acts for the college: the GI direction's statutory ground, not the default.
    gi_ground = running.gw.catalogue.get("start-stop").grounds_for(
        "certified_institution", "social_team"
    )[0]
    assert gi_ground is not running.gw.catalogue.get("start-stop").ground
    assert answer["legal_basis"] == gi_ground.basis.to_json()


# -- F10: the check runs the reply check that a send runs -------------------------------------


async def test_the_check_refuses_a_reply_to_no_open_request_as_the_send_does(
    running: Running, clients: MakeClient
) -> None:
    school = clients("school-de-es")
    reply = example("information-reply")
    checked = await school.check(
        "information-reply", "swt-denhelder", BSN_CHILD, reply, in_reply_to="ex_doesnotexist"
    )
    with pytest.raises(GatewayClientError) as raised:
        await school.send(
            "information-reply", "swt-denhelder", BSN_CHILD, reply, in_reply_to="ex_doesnotexist"
        )
    assert (checked["allowed"], checked["code"]) == (False, raised.value.code)
    assert checked["code"] == "invalid_request"
    assert checked["explanation"] == raised.value.message
    unnamed = await school.check("information-reply", "swt-denhelder", BSN_CHILD, reply)
    assert (unnamed["allowed"], unnamed["code"]) == (False, "invalid_request")
    assert "in_reply_to" in unnamed["explanation"]


async def test_the_check_refuses_a_reply_answering_topics_not_asked_as_the_send_does(
    running: Running, clients: MakeClient
) -> None:
    team, school = clients("swt-denhelder"), clients("school-de-es")
    family = {"bsn": BSN_CHILD, "birth_date": "1990-01-01"}
    common = {
        "subject": family,
        "given_by": [{"role": "subject"}],
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }
    await team.record_consent(
        {**common, "purposes": ["information-request"], "to": ["school-de-es"]}
    )
    await school.record_consent(
        {**common, "purposes": ["information-reply"], "to": ["swt-denhelder"]}
    )
    asked = await team.send(
        "information-request", "school-de-es", BSN_CHILD, {"topics": ["attendance"]}
    )
    reply = example("information-reply")
    assert {a["topic"] for a in reply["answers"]} - {"attendance"}
    checked = await school.check(
        "information-reply", "swt-denhelder", BSN_CHILD, reply, in_reply_to=asked["exchange_id"]
    )
    assert (checked["allowed"], checked["code"]) == (False, "payload_not_minimal")
    assert checked["violations"]
    only_asked = {**reply, "answers": [a for a in reply["answers"] if a["topic"] == "attendance"]}
    allowed = await school.check(
        "information-reply",
        "swt-denhelder",
        BSN_CHILD,
        only_asked,
        in_reply_to=asked["exchange_id"],
    )
    assert (allowed["allowed"], allowed["code"]) == (True, "allowed")


# -- the loader and the pure rule -------------------------------------------------------------


def catalogue_with(tmp_path: Path, old: str, new: str) -> Path:
    config = copy_config(tmp_path / "config")
    text = (config / "purposes.toml").read_text()
    changed = text.replace(old, new, 1)
    assert changed != text, old
    (config / "purposes.toml").write_text(changed)
    return config


LINE = 'relation = ["referral_received", "case_member", "help_started"]\n'


@pytest.mark.parametrize(
    ("new", "words"),
    [
        ('relation = ["referral_received", "friendship"]\n', "'relation' has 'friendship'"),
        ("relation = []\n", "'relation' must not be empty"),
        ('relation = ["case_member", "case_member"]\n', "names a relation twice"),
        ('relation = "case_member"\n', "'relation'"),
    ],
)
def test_a_wrong_relation_is_refused_at_start_up(tmp_path: Path, new: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_catalogue(catalogue_with(tmp_path, LINE, new), REPO / "schemas")
    assert "purpose 'start-stop'" in str(raised.value)
    assert words in str(raised.value)


def test_a_relation_no_purpose_of_the_catalogue_can_establish_is_refused(tmp_path: Path) -> None:
    text = (DEFAULT_CONFIG / "purposes.toml").read_text()
    # A catalogue whose safety report presumes a start of help, without a start-stop purpose.
    start = text.index('[[purpose]]\nid = "start-stop"')
    end = text.index('[[purpose]]\nid = "evaluation-feedback"')
    config = catalogue_with(tmp_path, text[start:end], "")
    trimmed = (config / "purposes.toml").read_text()
    trimmed = trimmed.replace(LINE, "").replace(
        'expects_reply = [\n  { purpose = "start-stop"',
        'expects_reply = [\n  { purpose = "referral"',
    )
    trimmed = trimmed.replace(
        'alternative = "safety-report-vt"\n',
        'alternative = "safety-report-vt"\nrelation = ["help_started"]\n',
    )
    (config / "purposes.toml").write_text(trimmed)
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    assert "purpose 'safety-report'" in str(raised.value)
    assert "'help_started', which a 'start-stop' message establishes" in str(raised.value)


def test_a_referral_by_a_gp_or_youth_physician_establishes_referral_received_too() -> None:
    assert RELATION_RULES["referral_received"].tie.purposes == ("referral", "medical-referral")
    assert RELATION_RULES["help_started"].tie.purposes == ("start-stop",)


def test_the_shipped_reports_on_help_presume_a_relation_and_the_others_none() -> None:
    catalogue = load_catalogue(DEFAULT_CONFIG, REPO / "schemas")
    presuming = {p.id for p in catalogue if p.relation}
    # issue 20: the safety plan an unsafe outcome owes presumes what the assessment presumes
    assert presuming == {"start-stop", "evaluation-feedback", "safety-assessment", "safety-plan"}
    for purpose_id in presuming:
        assert list(catalogue.get(purpose_id).relation) == ALL_THREE


def _decide(ties: SubjectTies) -> Any:
    from tests.test_properties import world

    catalogue, partners = world()
    provider = partners.get("zorg-noord")
    assert provider is not None
    body = {
        "purpose": "evaluation-feedback",
        "to": ["swt-denhelder"],
        "subject": {"bsn": BSN_CHILD},
        "payload": example("evaluation-feedback"),
    }
    return decide(
        parse_exchange_request(body, payload_required=True),
        caller=Caller(provider, "actor-1", ROLES["zorg-noord"]),
        recipients=["swt-denhelder"],
        fan_out=False,
        catalogue=catalogue,
        partners=partners,
        consents=[],
        now=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        ties=ties,
    )


def test_the_decision_without_facts_refuses_and_any_one_relation_allows() -> None:
    with pytest.raises(RelationRequired) as raised:
        _decide(SubjectTies())
    assert raised.value.extra["missing_relation"] == ALL_THREE
    for name in ALL_THREE:
        tie = RELATION_RULES[name].tie
        decision = _decide(SubjectTies({tie: frozenset({"swt-denhelder"})}))
        assert [r.recipient for r in decision.allowed] == ["swt-denhelder"]


def test_a_tie_of_the_wrong_purpose_establishes_nothing() -> None:
    wrong = RELATION_RULES["referral_received"].tie
    with pytest.raises(RelationRequired):
        _decide(SubjectTies({type(wrong)("received", ("closure-notice",)): TEAM}))
    with pytest.raises(RelationRequired):
        _decide(SubjectTies({type(wrong)("sent", ("referral",)): TEAM}))


TEAM = frozenset({"swt-denhelder"})


def test_a_relation_towards_another_partner_only_refuses_the_recipient_and_says_so() -> None:
    for name in ALL_THREE:
        tie = RELATION_RULES[name].tie
        with pytest.raises(RelationRequired) as raised:
            _decide(SubjectTies({tie: frozenset({"swt-other", "gi-noordholland"})}))
        assert "not towards recipient 'swt-denhelder'" in raised.value.message
        assert raised.value.extra["missing_relation"] == ALL_THREE


def test_a_tie_with_no_partner_is_no_relation_at_all() -> None:
    tie = RELATION_RULES["case_member"].tie
    assert SubjectTies({tie: frozenset()}).found == frozenset()
    with pytest.raises(RelationRequired) as raised:
        _decide(SubjectTies({tie: frozenset()}))
    assert "no relation of yours to this subject shows it" in raised.value.message


def test_an_any_of_without_rules_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="at least one rule"):
        AnyOf([], lambda refusals: refusals[0])
