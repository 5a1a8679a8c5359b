"""Grounds that hold only on a fact (issue 19), as the exchanges they allow and refuse.

- Jeugdwet art. 7.4.0 lid 2 is a duty towards the college: start and stop messages and evaluation
  feedback go without agreement only to a social team that acts for the college
  (`acts_for_college` in partners.toml, with its mandate); to another team they need the client's
  agreement, and the refusal says why.
- An adult falls under the Wmo 2015, not the Jeugdwet: an adult's evaluation feedback needs the
  client's agreement (no Wmo article allows it without), decided on the birth date held.
- Jeugdwet art. 7.3.11 lid 4 holds only towards the certified institution that carries out the
  supervision order for this child: closure notices and referrer status reach such an
  institution without agreement, any other institution only with it.

Each over real HTTP on SQLite and PostgreSQL, the send and the "may I share?" check alike; the
loaders refusing malformed keys without a server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.clock import FixedClock
from gateway.config import ConfigError, load_catalogue, load_partners
from gateway.policy.grounds import GroundFacts, choose_ground, is_minor
from gateway.runtime import build_gateway
from gateway.web import create_app
from tests.conftest import BSN_CHILD, BSN_OTHER, DEFAULT_CONFIG, REPO, Running, copy_config, example
from tests.helpers import Http, assert_contract_error, gateway_state, log_entries, relate

ADULT_BORN = "1990-01-01"
CHILD_BORN = "2016-03-14"
MANDATE_LINE = "acts_for_college = {"


def start_message() -> dict[str, Any]:
    start = {**example("start-stop"), "event": "start"}
    for key in ("end_date", "end_reason"):
        start.pop(key)
    return start


def without_mandate(tmp_path: Path) -> Path:
    """A copy of the shipped config whose social team does not act for the college."""
    config = copy_config(tmp_path / "config")
    lines = (config / "partners.toml").read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(MANDATE_LINE)]
    assert len(kept) == len(lines) - 1
    (config / "partners.toml").write_text("".join(kept))
    return config


async def serve(config: Path, tmp_path: Path, clock: FixedClock, url: str | None) -> Running:
    gw = build_gateway(config, tmp_path / "data", url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    return Running(gw, server, clock)


@pytest.fixture
async def no_mandate(
    tmp_path: Path, clock: FixedClock, storage_url: str | None
) -> AsyncIterator[Http]:
    """A gateway whose social team has no mandate, and a session to call it."""
    running = await serve(without_mandate(tmp_path), tmp_path, clock, storage_url)
    try:
        async with aiohttp.ClientSession() as session:
            yield Http(running, session)
    finally:
        await running.server.close()


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


async def record_consent(
    http: Http,
    purpose: str,
    sender: str,
    recipient: str,
    born: str,
    *,
    case_id: str | None = None,
) -> str:
    """The social team records the client's agreement for one direction of one purpose (the
    person, or for a child under 12 a custodian); it also holds the birth date given."""
    team = await http.token("swt-denhelder")
    child = date.fromisoformat(born).year > 2010
    body: dict[str, Any] = {
        "subject": {"bsn": BSN_CHILD, "birth_date": born},
        "given_by": [{"role": "custodian", "name": "J. de Vries"}]
        if child
        else [{"role": "subject", "name": "A. de Vries"}],
        "purposes": [purpose],
        "from": [sender],
        "to": [recipient],
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }
    if case_id is not None:
        body["case_id"] = case_id
    recorded = await http.call("POST", "/v1/consents", token=team, json_body=body)
    assert recorded.status == 201, recorded.text
    return str(recorded.body["consent_id"])


async def send(http: Http, sender: str, purpose: str, to: str, payload: Any) -> Any:
    token = await http.token(sender)
    body = {"purpose": purpose, "to": to, "subject": {"bsn": BSN_CHILD}, "payload": payload}
    return await http.call("POST", "/v1/exchanges", token=token, json_body=body)


async def check(http: Http, sender: str, purpose: str, to: str) -> dict[str, Any]:
    token = await http.token(sender)
    body = {"purpose": purpose, "to": to, "subject": {"bsn": BSN_CHILD}}
    answer = await http.call("POST", "/v1/exchanges/check", token=token, json_body=body)
    assert answer.status == 200, answer.text
    result: dict[str, Any] = answer.body
    return result


# -- 1. acts_for_college: a duty towards the college reaches only a team that acts for it -------


async def test_a_start_message_to_a_team_that_acts_for_the_college_goes_on_the_statute(
    running: Running, http: Http
) -> None:
    await relate(http, "zorg-noord", BSN_CHILD)
    checked = await check(http, "zorg-noord", "start-stop", "swt-denhelder")
    assert checked["allowed"] is True, checked
    statute = {"type": "statute", "reference": "Jeugdwet art. 7.4.0 lid 2"}
    assert checked["legal_basis"] == statute
    sent = await send(http, "zorg-noord", "start-stop", "swt-denhelder", start_message())
    assert sent.status == 201, sent.text
    assert sent.body["legal_basis"] == statute


WAITING_LIST_DUTY = "Jeugdwet art. 2.4 lid 2; art. 3.5; art. 7.4.0"


@pytest.mark.parametrize(
    ("sender", "purpose", "duty"),
    [
        ("zorg-noord", "start-stop", "Jeugdwet art. 7.4.0 lid 2"),
        ("gi-noordholland", "start-stop", "Jeugdwet art. 7.4.0 lid 2"),
        ("zorg-noord", "evaluation-feedback", "Jeugdwet art. 7.4.0 lid 2"),
        # Issue 19's follow-up (docs/legal-basis.md 4.1): the same condition on these two.
        ("zorg-noord", "safety-assessment", "Jeugdwet art. 7.4.0 lid 2"),
        ("gi-noordholland", "waiting-list-status", WAITING_LIST_DUTY),
        # Issue 20's safety plan follows the assessment's grounds.
        ("zorg-noord", "safety-plan", "Jeugdwet art. 7.4.0 lid 2"),
    ],
)
async def test_a_report_to_a_team_without_the_colleges_mandate_is_refused_without_agreement(
    no_mandate: Http, sender: str, purpose: str, duty: str
) -> None:
    http, running = no_mandate, no_mandate.running
    await relate(http, sender, BSN_CHILD)
    payload = start_message() if purpose == "start-stop" else example(purpose)
    checked = await check(http, sender, purpose, "swt-denhelder")
    before = await gateway_state(running)
    sent = await send(http, sender, purpose, "swt-denhelder", payload)
    error = assert_contract_error(sent, 403, "consent_required")
    assert "does not act for the college" in error["message"]
    assert error["ground_not_met"] == [
        {"reference": duty, "condition": "recipient_acts_for_college"}
    ]
    assert error["missing_consent"]["purpose"] == purpose
    assert BSN_CHILD not in sent.text
    # The check says the same, naming the agreement row as the ground.
    assert (checked["allowed"], checked["code"]) == (False, "consent_required")
    assert checked["explanation"] == error["message"]
    assert checked["legal_basis"]["type"] == "consent"
    assert "does not act for the college" in checked["legal_basis"]["reference"]
    # Refused and logged, naming the ground passed over and why; nothing delivered.
    after = await gateway_state(running)
    assert after.inboxes == before.inboxes
    (entry,) = await log_entries(running, before.log_size)
    assert (entry.decision, entry.reason) == ("refused", "consent_required")
    assert entry.details["ground_not_met"] == error["ground_not_met"]
    assert BSN_CHILD not in entry.canonical().decode()


@pytest.mark.parametrize(
    ("sender", "purpose"),
    [
        ("zorg-noord", "start-stop"),
        ("zorg-noord", "safety-assessment"),
        ("gi-noordholland", "waiting-list-status"),
        ("zorg-noord", "safety-plan"),
    ],
)
async def test_with_the_clients_agreement_a_team_without_the_mandate_gets_the_message(
    no_mandate: Http, sender: str, purpose: str
) -> None:
    http = no_mandate
    case_id = await relate(http, sender, BSN_CHILD)
    # A child's message (an adult's start falls under the Wmo 2015 row, tested below).
    consent_id = await record_consent(
        http, purpose, sender, "swt-denhelder", CHILD_BORN, case_id=case_id
    )
    checked = await check(http, sender, purpose, "swt-denhelder")
    assert (checked["allowed"], checked["consent_id"]) == (True, consent_id)
    payload = start_message() if purpose == "start-stop" else example(purpose)
    sent = await send(http, sender, purpose, "swt-denhelder", payload)
    assert sent.status == 201, sent.text
    assert sent.body["consent_id"] == consent_id
    assert sent.body["legal_basis"]["type"] == "consent"
    assert "does not act for the college" in sent.body["legal_basis"]["reference"]


def test_a_mandate_that_starts_later_does_not_hold_yet() -> None:
    catalogue = load_catalogue(DEFAULT_CONFIG, REPO / "schemas")
    partners = load_partners(DEFAULT_CONFIG)
    team = partners.get("swt-denhelder")
    assert team is not None
    assert team.acts_for_college is not None
    since = team.acts_for_college.since
    purpose = catalogue.get("start-stop")
    assert purpose is not None
    on_the_day = choose_ground(purpose, "care_provider", team, GroundFacts(), since)
    assert on_the_day.ground.reference == "Jeugdwet art. 7.4.0 lid 2"
    before = choose_ground(purpose, "care_provider", team, GroundFacts(), date(2024, 12, 31))
    assert before.ground is purpose.ground
    assert "runs only from 2025-01-01" in before.explanation()


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("acts_for_college = true\n", "must name the mandate as evidence"),
        ('acts_for_college = { mandate = "Besluit 2025" }\n', "needs 'mandate' and 'since'"),
        ('acts_for_college = { mandate = " ", since = 2025-01-01 }\n', "'mandate' is empty"),
        ('acts_for_college = { mandate = "B", since = "2025" }\n', "'since' must be a date"),
        (
            'acts_for_college = { mandate = "B", since = 2025-01-01, by = "x" }\n',
            "unknown key(s) 'by'",
        ),
    ],
)
def test_the_partner_loader_refuses_a_malformed_mandate(
    tmp_path: Path, line: str, words: str
) -> None:
    config = copy_config(tmp_path / "config")
    text = (config / "partners.toml").read_text()
    start = text.index("\n" + MANDATE_LINE) + 1
    end = text.index("\n", start) + 1
    (config / "partners.toml").write_text(text[:start] + line + text[end:])
    with pytest.raises(ConfigError) as raised:
        load_partners(config)
    assert "partner 'swt-denhelder'" in str(raised.value)
    assert words in str(raised.value)


def test_only_a_social_team_acts_for_the_college(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    text = (config / "partners.toml").read_text()
    mandate = 'acts_for_college = { mandate = "B", since = 2025-01-01 }\n'
    anchor = 'id = "zorg-noord"\n'
    (config / "partners.toml").write_text(text.replace(anchor, anchor + mandate, 1))
    with pytest.raises(ConfigError) as raised:
        load_partners(config)
    assert "'acts_for_college' is only for partners of kind social_team" in str(raised.value)


# -- 2. Jeugdwet or Wmo 2015 by the subject's age ----------------------------------------------


async def test_an_adults_evaluation_feedback_needs_agreement_and_cites_no_jeugdwet_duty(
    running: Running, http: Http
) -> None:
    case_id = await relate(http, "zorg-noord", BSN_CHILD)
    # The gateway holds the person's birth date from an agreement recorded for another purpose.
    await record_consent(
        http, "referral", "swt-denhelder", "zorg-noord", ADULT_BORN, case_id=case_id
    )
    checked = await check(http, "zorg-noord", "evaluation-feedback", "swt-denhelder")
    sent = await send(
        http, "zorg-noord", "evaluation-feedback", "swt-denhelder", example("evaluation-feedback")
    )
    error = assert_contract_error(sent, 403, "consent_required")
    assert "By the birth date held, the ground for this subject is" in error["message"]
    assert "Wmo 2015" in error["message"]
    assert "ground_not_met" not in error
    assert (checked["allowed"], checked["code"]) == (False, "consent_required")
    assert checked["legal_basis"]["type"] == "consent"
    assert "Wmo 2015" in checked["legal_basis"]["reference"]
    assert ADULT_BORN not in sent.text
    assert ADULT_BORN not in str(checked)
    # With the adult's own agreement it goes, on that ground.
    consent_id = await record_consent(
        http, "evaluation-feedback", "zorg-noord", "swt-denhelder", ADULT_BORN, case_id=case_id
    )
    sent = await send(
        http, "zorg-noord", "evaluation-feedback", "swt-denhelder", example("evaluation-feedback")
    )
    assert sent.status == 201, sent.text
    assert sent.body["consent_id"] == consent_id
    assert sent.body["legal_basis"] == checked["legal_basis"]


async def test_an_adults_start_message_needs_agreement_and_cites_no_jeugdwet_duty(
    running: Running, http: Http
) -> None:
    # docs/legal-basis.md 4.4: as evaluation feedback, an adult's start or stop falls under the
    # Wmo 2015, where no article lets the provider inform the college without agreement.
    case_id = await relate(http, "zorg-noord", BSN_CHILD)
    await record_consent(
        http, "referral", "swt-denhelder", "zorg-noord", ADULT_BORN, case_id=case_id
    )
    checked = await check(http, "zorg-noord", "start-stop", "swt-denhelder")
    sent = await send(http, "zorg-noord", "start-stop", "swt-denhelder", start_message())
    error = assert_contract_error(sent, 403, "consent_required")
    assert "By the birth date held, the ground for this subject is" in error["message"]
    assert "Wmo 2015" in error["message"]
    assert (checked["allowed"], checked["code"]) == (False, "consent_required")
    assert ADULT_BORN not in sent.text
    consent_id = await record_consent(
        http, "start-stop", "zorg-noord", "swt-denhelder", ADULT_BORN, case_id=case_id
    )
    sent = await send(http, "zorg-noord", "start-stop", "swt-denhelder", start_message())
    assert sent.status == 201, sent.text
    assert sent.body["consent_id"] == consent_id
    assert "Wmo 2015" in sent.body["legal_basis"]["reference"]
    # With no birth date held (another person) the Jeugdwet row applies, as documented (4.4).
    await relate(http, "zorg-noord", BSN_OTHER)
    token = await http.token("zorg-noord")
    body = {
        "purpose": "start-stop",
        "to": "swt-denhelder",
        "subject": {"bsn": BSN_OTHER},
        "payload": start_message(),
    }
    minor = await http.call("POST", "/v1/exchanges", token=token, json_body=body)
    assert minor.status == 201, minor.text
    assert minor.body["legal_basis"] == {
        "type": "statute",
        "reference": "Jeugdwet art. 7.4.0 lid 2",
    }


async def test_a_minors_evaluation_feedback_goes_on_the_jeugdwet_without_agreement(
    running: Running, http: Http
) -> None:
    case_id = await relate(http, "zorg-noord", BSN_CHILD)
    await record_consent(
        http, "referral", "swt-denhelder", "zorg-noord", CHILD_BORN, case_id=case_id
    )
    checked = await check(http, "zorg-noord", "evaluation-feedback", "swt-denhelder")
    statute = {"type": "statute", "reference": "Jeugdwet art. 7.4.0 lid 2"}
    assert (checked["allowed"], checked["legal_basis"]) == (True, statute)
    sent = await send(
        http, "zorg-noord", "evaluation-feedback", "swt-denhelder", example("evaluation-feedback")
    )
    assert sent.status == 201, sent.text
    assert (sent.body["legal_basis"], sent.body["consent_id"]) == (statute, None)


async def test_without_a_held_birth_date_the_jeugdwet_row_applies_as_documented(
    running: Running, http: Http
) -> None:
    # docs/legal-basis.md section 4.4: the shipped catalogue does not fail closed on an unknown
    # age (the "adults" row needs a birth date showing an adult).
    await relate(http, "zorg-noord", BSN_CHILD)
    checked = await check(http, "zorg-noord", "evaluation-feedback", "swt-denhelder")
    assert checked["allowed"] is True, checked
    assert checked["legal_basis"]["reference"] == "Jeugdwet art. 7.4.0 lid 2"


def test_a_jeugdwet_row_limited_to_minors_fails_closed_without_a_birth_date() -> None:
    # The choice a municipality makes with subjects = "minors" on the Jeugdwet row.
    catalogue = load_catalogue(DEFAULT_CONFIG, REPO / "schemas")
    purpose = catalogue.get("evaluation-feedback")
    assert purpose is not None
    _, jeugdwet, _ = purpose.grounds_for("care_provider", "social_team")
    from dataclasses import replace

    from gateway.config.grounds import Conditions

    minors = replace(
        jeugdwet, conditions=Conditions(recipient_acts_for_college=True, subjects="minors")
    )
    strict = replace(purpose, direction_grounds=(purpose.direction_grounds[0], minors))
    team = load_partners(DEFAULT_CONFIG).get("swt-denhelder")
    assert team is not None
    today = date(2026, 12, 7)
    unknown = choose_ground(strict, "care_provider", team, GroundFacts(), today)
    assert unknown.ground is strict.ground
    assert unknown.ground.agreement_required
    assert "holds no birth date" in unknown.explanation()
    child = GroundFacts(birth_date=date(2016, 3, 14))
    assert choose_ground(strict, "care_provider", team, child, today).ground is minors


def test_the_age_boundary_is_the_eighteenth_birthday() -> None:
    assert is_minor(date(2008, 12, 8), date(2026, 12, 7))
    assert not is_minor(date(2008, 12, 7), date(2026, 12, 7))
    # Born on 29 February: 18 on 1 March of a year without one.
    assert is_minor(date(2008, 2, 29), date(2026, 2, 28))
    assert not is_minor(date(2008, 2, 29), date(2026, 3, 1))


# -- the catalogue loader refuses malformed conditions -----------------------------------------


def _catalogue_with(tmp_path: Path, old: str, new: str) -> str:
    config = copy_config(tmp_path / "config")
    text = (config / "purposes.toml").read_text()
    changed = text.replace(old, new, 1)
    assert changed != text, old
    (config / "purposes.toml").write_text(changed)
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    return str(raised.value)


@pytest.mark.parametrize(
    ("new", "words"),
    [
        ('subjects = "children"\n', "'subjects' must be 'minors' or 'adults'"),
        ('subjects = ["adults"]\n', "'subjects' must be a str"),
        ('requires_measure = "voogdij"\n', "'requires_measure' must be 'ots'"),
        ('recipient_acts_for_college = "yes"\n', "'recipient_acts_for_college' must be a bool"),
    ],
)
def test_the_catalogue_loader_refuses_a_malformed_condition(
    tmp_path: Path, new: str, words: str
) -> None:
    # The first adults row of the file: start-stop's (issue 19), its ground[1].
    message = _catalogue_with(tmp_path, 'subjects = "adults"\n', new)
    assert "purpose 'start-stop'.ground[1]" in message
    assert words in message


def test_a_condition_on_the_wrong_recipient_kind_is_refused(tmp_path: Path) -> None:
    message = _catalogue_with(
        tmp_path, 'subjects = "adults"\n', 'subjects = "adults"\nrequires_measure = "ots"\n'
    )
    assert "'requires_measure' is a condition on a certified institution" in message
    tmp = tmp_path / "b"
    tmp.mkdir()
    text = (DEFAULT_CONFIG / "purposes.toml").read_text()
    start = text.index('id = "safety-assessment"')
    anchor = text.index('to = ["certified_institution"]\n', start)
    old = text[start : text.index("\n", anchor) + 1]
    message = _catalogue_with(tmp, old, old + "recipient_acts_for_college = true\n")
    assert "'recipient_acts_for_college' is a condition on a social team" in message


def test_conditions_on_the_default_ground_are_refused(tmp_path: Path) -> None:
    # The default ground is the one that holds when no condition does: it has none itself.
    old = "[purpose.legal_basis]\n"
    message = _catalogue_with(tmp_path, old, old + 'subjects = "minors"\n')
    assert "purpose 'referral'.legal_basis" in message
    assert "unknown key(s) 'subjects'" in message


def test_a_condition_that_falls_back_to_another_statute_is_refused(tmp_path: Path) -> None:
    # A leerplicht signal limited to a team that acts for the college would fall back to the
    # purpose's statutory default ground, meant for every team: refused (fail closed).
    text = (DEFAULT_CONFIG / "purposes.toml").read_text()
    start = text.index('id = "leerplicht-signal"')
    basis = text.index("[purpose.legal_basis]\n", start)
    end = text.index("\n\n", basis)
    default = text[basis:end] + "\n"
    row = default.replace(
        "[purpose.legal_basis]\n",
        '[[purpose.ground]]\nfrom = ["compulsory_education"]\nto = ["social_team"]\n',
    )
    message = _catalogue_with(
        tmp_path, default, default + row + "recipient_acts_for_college = true\n"
    )
    assert "purpose 'leerplicht-signal'" in message
    assert "falls back to 'Leerplichtwet 1969 art. 16 lid 4; AVG art. 6 lid 1 sub e', which " in (
        message
    )
    assert "needs no agreement" in message


# -- 3. informing the certified institution that carries out the OTS ---------------------------


def closure() -> dict[str, Any]:
    return example("closure-notice")


@pytest.mark.parametrize(
    ("sender", "purpose"),
    [("zorg-noord", "closure-notice"), ("swt-denhelder", "referrer-status")],
)
async def test_the_institution_with_the_childs_ots_is_informed_without_agreement(
    running: Running, http: Http, sender: str, purpose: str
) -> None:
    # The institution is in the network of the child's case (it joins citing the ruling).
    await relate(http, "gi-noordholland", BSN_CHILD)
    checked = await check(http, sender, purpose, "gi-noordholland")
    lid4 = {"type": "statute", "reference": "Jeugdwet art. 7.3.11 lid 4"}
    assert (checked["allowed"], checked["legal_basis"]) == (True, lid4)
    sent = await send(http, sender, purpose, "gi-noordholland", example(purpose))
    assert sent.status == 201, sent.text
    assert (sent.body["legal_basis"], sent.body["consent_id"]) == (lid4, None)


@pytest.mark.parametrize(
    ("sender", "purpose"),
    [("zorg-noord", "closure-notice"), ("swt-denhelder", "referrer-status")],
)
async def test_an_institution_without_an_ots_for_this_child_is_not_informed_without_agreement(
    running: Running, http: Http, sender: str, purpose: str
) -> None:
    # The institution carries out a measure for another child of another case: that is no OTS
    # for this one.
    await relate(http, "gi-noordholland", BSN_OTHER)
    checked = await check(http, sender, purpose, "gi-noordholland")
    before = await gateway_state(running)
    sent = await send(http, sender, purpose, "gi-noordholland", example(purpose))
    error = assert_contract_error(sent, 403, "consent_required")
    assert error["ground_not_met"] == [
        {"reference": "Jeugdwet art. 7.3.11 lid 4", "condition": "requires_measure"}
    ]
    assert "supervision order (OTS) for this child" in error["message"]
    assert (checked["allowed"], checked["code"]) == (False, "consent_required")
    assert checked["explanation"] == error["message"]
    assert checked["legal_basis"]["type"] == "consent"
    (entry,) = await log_entries(running, before.log_size)
    assert entry.details["ground_not_met"] == error["ground_not_met"]
    after = await gateway_state(running)
    assert after.inboxes == before.inboxes
