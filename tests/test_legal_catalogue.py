"""The legal catalogue (issue 19): a complete ground per purpose and direction, and its rows tested.

- The loader refuses at start-up a purpose or a direction without a complete ground: the AVG
  art. 6 ground, the art. 9 exception and UAVG article where special categories are involved,
  the sector-law article, whether the client's agreement is required, and the retention source.
- The decision takes the ground of the direction (sender kind -> recipient kind).
- Every row of docs/legal-basis.md is backed by an exchange it allows and one it refuses, asked
  over real HTTP with POST /v1/exchanges/check (the "may I share?" path runs the same decision
  as a send) on SQLite and PostgreSQL, plus real sends for the per-direction grounds.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.config import ConfigError, load_catalogue
from gateway.config.grounds import Ground
from gateway.policy import decide
from gateway.policy.decision import Caller
from gateway.policy.grounds import GroundFacts, choose_ground
from gateway.policy.relations import RELATION_RULES, SubjectTies
from gateway.policy.request import parse_exchange_request
from tests.conftest import BSN_CHILD, DEFAULT_CONFIG, REPO, ROLES, Running, copy_config, example
from tests.helpers import Http, assert_contract_error, break_glass, relate

KINDS = {
    "swt-denhelder": "social_team",
    "zorg-noord": "care_provider",
    "gi-noordholland": "certified_institution",
    "school-de-es": "school",
    # issue 19: the partner kinds the seeds name
    "veiligthuis-nhn": "veilig_thuis",
    "huisarts-zuid": "general_practitioner",
    "jgz-hollandsnoorden": "youth_health_care",
    "leerplicht-denhelder": "compulsory_education",
    "wi-denhelder": "work_and_income",
    "rvdk-noordholland": "child_protection_board",
}


def shipped() -> Any:
    return load_catalogue(DEFAULT_CONFIG, REPO / "schemas")


# -- the loader: no purpose or direction without a complete ground ------------------------------


def catalogue_with(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the shipped config whose purposes.toml has `old` replaced by `new` once."""
    config = copy_config(tmp_path / "config")
    text = (config / "purposes.toml").read_text()
    changed = text.replace(old, new, 1)
    assert changed != text, old
    (config / "purposes.toml").write_text(changed)
    return config


def _refused(config: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    return str(raised.value)


START_STOP_GROUND = """reference = "Jeugdwet art. 7.4.0 lid 2"
avg_art6 = ["c"]
special_categories = true
avg_art9 = ["h"]
uavg = "UAVG art. 30"
"""


@pytest.mark.parametrize("key", ["avg_art6", "special_categories", "avg_art9", "uavg"])
def test_a_default_ground_missing_a_field_is_refused_at_start_up(tmp_path: Path, key: str):
    # safety-assessment's default ground (start-stop's is an agreement row since issue 19's
    # acts_for_college: its statutory rows are direction grounds).
    text = (DEFAULT_CONFIG / "purposes.toml").read_text()
    start = text.index('id = "safety-assessment"')
    line = re.compile(rf"^{key} = .*\n", re.MULTILINE).search(text, start)
    assert line is not None
    message = _refused(
        catalogue_with(tmp_path, text[start : line.end()], text[start : line.start()])
    )
    assert "purposes.toml" in message
    assert "purpose 'safety-assessment'.legal_basis" in message
    assert f"incomplete ground: missing '{key}'" in message


@pytest.mark.parametrize("key", ["sector_law", "agreement_required", "retention"])
def test_every_default_ground_field_is_required(tmp_path: Path, key: str):
    text = (DEFAULT_CONFIG / "purposes.toml").read_text()
    start = text.index('id = "evaluation-feedback"')
    line = re.compile(rf"^{key} = .*\n", re.MULTILINE).search(text, start)
    assert line is not None
    message = _refused(
        catalogue_with(tmp_path, text[start : line.end()], text[start : line.start()])
    )
    assert "purpose 'evaluation-feedback'.legal_basis" in message
    assert f"incomplete ground: missing '{key}'" in message


def test_an_empty_field_is_no_ground(tmp_path: Path):
    message = _refused(
        catalogue_with(tmp_path, 'uavg = "UAVG art. 30"\nsector_law', 'uavg = " "\nsector_law')
    )
    assert "incomplete ground: 'uavg' is empty" in message
    message = _refused(catalogue_with(tmp_path / "b", 'avg_art6 = ["c"]\n', "avg_art6 = []\n"))
    assert "incomplete ground: 'avg_art6' is empty" in message


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('avg_art6 = ["c"]\n', 'avg_art6 = ["g"]\n', "'avg_art6' has 'g'"),
        ('avg_art9 = ["h"]\n', 'avg_art9 = ["k"]\n', "'avg_art9' has 'k'"),
        ('avg_art6 = ["c"]\n', 'avg_art6 = ["c", "c"]\n', "names a letter twice"),
        (
            START_STOP_GROUND,
            START_STOP_GROUND.replace("= true", "= false"),
            "'avg_art9' and 'uavg' belong to a ground with special_categories = true",
        ),
        (
            'type = "statute"\nreference = "Jeugdwet art. 7.4.0',
            'type = "law"\nreference = "J',
            "'type'",
        ),
    ],
)
def test_a_ground_with_a_wrong_value_is_refused(tmp_path: Path, old: str, new: str, words: str):
    message = _refused(catalogue_with(tmp_path, old, new))
    assert "purpose 'start-stop'" in message
    assert words in message


def test_an_agreement_ground_that_does_not_require_agreement_is_refused(tmp_path: Path):
    closure = (
        'agreement_required = true\nretention = "Jeugdwet art. 7.3.8 by analogy: 20 years"\n\n'
    )
    closure += '[[purpose]]\nid = "information-reply"'
    message = _refused(catalogue_with(tmp_path, closure, closure.replace("= true", "= false", 1)))
    assert "purpose 'information-request'.legal_basis" in message
    assert "agreement_required must be true" in message


def test_a_reference_claiming_avg_consent_needs_avg_art6_sub_a(tmp_path: Path):
    old = 'reference = "AVG art. 6 lid 1 sub e; Jeugdwet art. 7.3.11 lid 1 / BW'
    new = 'reference = "AVG art. 6 lid 1 sub a; Jeugdwet art. 7.3.11 lid 1 / BW'
    message = _refused(catalogue_with(tmp_path, old, new))
    assert "claims AVG art. 6(1)(a) consent" in message


def test_consent_required_must_follow_the_grounds(tmp_path: Path):
    old = 'schema = "leerplicht-signal.schema.json"\nconsent_required = false'
    message = _refused(catalogue_with(tmp_path, old, old.replace("false", "true")))
    assert "purpose 'leerplicht-signal'" in message
    assert "contradicts its grounds" in message
    # And the other way: safety-assessment has an agreement row since issue 19's college
    # condition, so it must say consent_required = true.
    old = 'consent_required = true\ninbox_retention_days = 30\nrecord_retention_years = 20\nprocessing_activity = "https://register.example.org/verwerkingsactiviteiten/safety-assessment"'
    message = _refused(catalogue_with(tmp_path / "b", old, old.replace("true", "false", 1)))
    assert "purpose 'safety-assessment'" in message
    assert "contradicts its grounds" in message


DIRECTION = 'from = ["certified_institution"]\nto = ["social_team"]\ntype = "statute"\n'


@pytest.mark.parametrize(
    ("new", "words"),
    [
        ('from = ["school"]\nto = ["social_team"]\ntype = "statute"\n', "'from' has 'school'"),
        (
            'from = ["certified_institution"]\nto = ["school"]\ntype = "statute"\n',
            "'to' has 'school'",
        ),
        ('from = []\nto = ["social_team"]\ntype = "statute"\n', "'from' and 'to' must each"),
        ('to = ["social_team"]\ntype = "statute"\n', "missing required key 'from'"),
        (DIRECTION + "agreement = true\n", "unknown key(s) 'agreement'"),
        (DIRECTION.replace('type = "statute"\n', ""), "missing required key 'type'"),
    ],
)
def test_a_wrong_direction_ground_is_refused(tmp_path: Path, new: str, words: str):
    message = _refused(catalogue_with(tmp_path, DIRECTION, new))
    assert "purpose 'start-stop'.ground[0]" in message
    assert words in message


def test_a_direction_ground_missing_a_field_is_refused(tmp_path: Path):
    old = DIRECTION + 'reference = "Jeugdwet art. 7.4.0 lid 2"\navg_art6 = ["c"]\n'
    message = _refused(catalogue_with(tmp_path, old, DIRECTION + 'reference = "x"\n'))
    assert "purpose 'start-stop'.ground[0]" in message
    assert "incomplete ground: missing 'avg_art6'" in message


def test_two_grounds_for_one_direction_are_refused(tmp_path: Path):
    text = (DEFAULT_CONFIG / "purposes.toml").read_text()
    start = text.index('[[purpose.ground]]\nfrom = ["certified_institution"]')
    end = text.index("[[purpose.ground]]", start + 1)
    ground = text[start:end].rstrip("\n") + "\n"
    message = _refused(catalogue_with(tmp_path, ground, ground + ground))
    assert "purpose 'start-stop'.ground[1]" in message
    assert "direction certified_institution -> social_team already has a ground" in message


def test_an_unconditional_ground_before_another_of_its_direction_is_refused(tmp_path: Path):
    # The later ground could never apply: grounds of one direction are tried in order.
    text = (DEFAULT_CONFIG / "purposes.toml").read_text()
    start = text.index('[[purpose.ground]]\nfrom = ["certified_institution"]')
    end = text.index("[[purpose.ground]]", start + 1)
    ground = text[start:end]
    bare = ground.replace("recipient_acts_for_college = true\n", "")
    message = _refused(catalogue_with(tmp_path, ground, bare + ground))
    assert "purpose 'start-stop'.ground[1]" in message
    assert "direction certified_institution -> social_team already has a ground of its own" in (
        message
    )


def test_every_shipped_ground_is_complete_and_none_rests_on_avg_consent():
    for purpose in shipped():
        for ground in (purpose.ground, *purpose.direction_grounds):
            assert ground.avg_art6
            assert "a" not in ground.avg_art6
            assert ground.sector_law.strip()
            assert ground.retention.strip()
            assert ground.special_categories == bool(ground.uavg)
            assert "6 lid 1 sub a" not in ground.reference
            if ground.type == "consent":
                assert ground.agreement_required
        assert purpose.consent_required == any(
            g.agreement_required for g in (purpose.ground, *purpose.direction_grounds)
        )


# -- the decision takes the direction's ground --------------------------------------------------


def test_ground_for_picks_the_direction_and_falls_back_to_the_default():
    catalogue = shipped()
    assessment = catalogue.get("safety-assessment")
    to_gi = assessment.ground_for("care_provider", "certified_institution")
    assert to_gi.reference == "Jeugdwet art. 7.3.11 lid 4"
    assert assessment.ground_for("social_team", "certified_institution") is to_gi
    # Towards the team: the college's duty where the team acts for the college, else agreement.
    college, default = assessment.grounds_for("care_provider", "social_team")
    assert college.reference == "Jeugdwet art. 7.4.0 lid 2"
    assert college.conditions.recipient_acts_for_college
    assert assessment.ground_for("care_provider", "social_team") is default is assessment.ground
    assert default.agreement_required
    start_stop = catalogue.get("start-stop")
    from_gi, default = start_stop.grounds_for("certified_institution", "social_team")
    assert from_gi.avg_art9 == ("g",)
    assert from_gi.conditions.recipient_acts_for_college
    adults, from_provider, _ = start_stop.grounds_for("care_provider", "social_team")
    assert (adults.conditions.subjects, adults.agreement_required) == ("adults", True)
    assert from_provider.avg_art9 == ("h",)
    # Without facts a ground with conditions never holds: the default (agreement) row.
    assert start_stop.ground_for("care_provider", "social_team") is default is start_stop.ground
    assert default.agreement_required


def _decide_with(catalogue: Any, purpose: str, sender: str, recipient: str) -> Any:
    from tests.test_properties import world

    partners = world()[1]
    body = {"purpose": purpose, "to": [recipient], "subject": {"bsn": BSN_CHILD}}
    body["payload"] = example(purpose)
    partner = partners.get(sender)
    assert partner is not None
    return decide(
        parse_exchange_request(body, payload_required=False),
        caller=Caller(partner, "actor-1", ROLES[sender]),
        recipients=[recipient],
        fan_out=False,
        catalogue=catalogue,
        partners=partners,
        consents=[],
        now=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        # The sender is in the network of the child's case, with the recipient (issue 19).
        ties=SubjectTies({RELATION_RULES["case_member"].tie: frozenset({recipient})}),
    )


def test_a_direction_that_needs_agreement_is_refused_without_it_while_others_pass(tmp_path: Path):
    # A municipality whose social team is not the college: from the GI the team gets the
    # start-stop message only with the client's agreement; from a care provider as shipped.
    old = DIRECTION + 'reference = "Jeugdwet art. 7.4.0 lid 2"'
    new = DIRECTION.replace("statute", "consent") + 'reference = "client\'s agreement"'
    config = catalogue_with(tmp_path, old, new)
    text = (config / "purposes.toml").read_text()
    start = text.index('from = ["certified_institution"]\nto = ["social_team"]')
    flag = text.index("agreement_required = false", start)
    text = (
        text[:flag] + "agreement_required = true" + text[flag + len("agreement_required = false") :]
    )
    text = text.replace(
        'schema = "start-stop.schema.json"\nconsent_required = false',
        'schema = "start-stop.schema.json"\nconsent_required = true',
    )
    (config / "purposes.toml").write_text(text)
    catalogue = load_catalogue(config, REPO / "schemas")
    from gateway.errors import ConsentRequired

    with pytest.raises(ConsentRequired):
        _decide_with(catalogue, "start-stop", "gi-noordholland", "swt-denhelder")
    (allowed,) = _decide_with(catalogue, "start-stop", "zorg-noord", "swt-denhelder").allowed
    assert allowed.legal_basis.to_json() == {
        "type": "statute",
        "reference": "Jeugdwet art. 7.4.0 lid 2",
    }


def test_break_glass_names_the_directions_break_glass_ground():
    from tests.test_properties import world

    catalogue, partners = world()
    body = {
        "purpose": "safety-report",
        "to": ["swt-denhelder"],
        "subject": {"bsn": BSN_CHILD},
        "payload": example("safety-report"),
        "break_glass": break_glass(
            "Kind vertelt op school over geweld thuis, vandaag.",
            "De veiligheid van het kind gaat voor.",
            "Ouders zijn vandaag niet bereikbaar.",
        ),
    }
    school = partners.get("school-de-es")
    assert school is not None
    decision = decide(
        parse_exchange_request(body, payload_required=False),
        caller=Caller(school, "actor-1", ROLES["school-de-es"]),
        recipients=["swt-denhelder"],
        fan_out=False,
        catalogue=catalogue,
        partners=partners,
        consents=[],
        now=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )
    (allowed,) = decision.allowed
    # The conflict of duties (issue 19): vital interests, not the agreement ground's articles.
    ground, default = catalogue.get("safety-report").grounds_for("school", "social_team")
    assert ground.conditions.break_glass
    assert not ground.agreement_required
    assert (ground.avg_art6, ground.avg_art9) == (("d",), ("c",))
    assert default.agreement_required
    assert allowed.legal_basis.to_json() == {
        "type": "break_glass",
        "reference": f"{ground.reference} (break-glass)",
    }


def _safety_report_glass_row() -> str:
    """The safety report's break-glass ground, as the shipped purposes.toml writes it."""
    text = (DEFAULT_CONFIG / "purposes.toml").read_text()
    start = text.index("[[purpose.ground]]", text.index('id = "safety-report"'))
    end = text.index("break_glass = true\n", start) + len("break_glass = true\n")
    return text[start:end]


def test_a_break_glass_ground_that_needs_agreement_is_refused(tmp_path: Path):
    row = _safety_report_glass_row()
    wrong = row.replace("agreement_required = false", "agreement_required = true").replace(
        'type = "statute"', 'type = "consent"'
    )
    message = _refused(catalogue_with(tmp_path, row, wrong))
    assert "purpose 'safety-report'.ground[0]" in message
    assert "agreement_required must be false" in message


def test_a_break_glass_ground_on_a_purpose_without_break_glass_is_refused(tmp_path: Path):
    # The purpose's own flag (the line before its `alternative`), not the ground's condition.
    config = catalogue_with(
        tmp_path,
        "break_glass = true\n# The lawful route",
        "break_glass = false\n# The lawful route",
    )
    message = _refused(config)
    assert "purpose 'safety-report'" in message
    assert "ground[0] holds only under break-glass, and the purpose does not allow" in message


def test_break_glass_on_a_direction_that_needs_agreement_needs_its_own_ground(tmp_path: Path):
    # Without it the disclosure would name the agreement's articles, which it does not rest on.
    message = _refused(catalogue_with(tmp_path, _safety_report_glass_row(), ""))
    assert "purpose 'safety-report'" in message
    assert "direction care_provider -> social_team needs the client's agreement" in message
    assert "break_glass = true" in message


@pytest.mark.parametrize(
    ("new", "words"),
    [
        ('alternative = "no-such-purpose"\n', "names no other purpose: 'no-such-purpose'"),
        ('alternative = "safety-report"\n', "names no other purpose: 'safety-report'"),
        (
            'alternative = "closure-notice"\n',
            "'closure-notice', which needs the client's agreement",
        ),
        ('alternative = "vt-feedback"\n', "'vt-feedback', which 'care_provider' may not send"),
    ],
)
def test_a_wrong_alternative_is_refused(tmp_path: Path, new: str, words: str):
    message = _refused(catalogue_with(tmp_path, 'alternative = "safety-report-vt"\n', new))
    assert "purpose 'safety-report'" in message
    assert words in message


# -- every row of docs/legal-basis.md, over real HTTP -------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row of the table: a direction, the article its ground must name, and a refusal."""

    purpose: str
    sender: str
    recipient: str
    article: str  # a piece of the ground's reference that the row relies on
    agreement: bool
    # For a statutory row: an exchange of the same purpose outside the row, and its code.
    outside: tuple[str, str, str] | None = None
    # A break-glass row (the conflict of duties): allowed with break-glass, refused without it.
    break_glass: bool = False


ROWS = [
    Row("referral", "swt-denhelder", "zorg-noord", "Jeugdwet art. 2.3", True),
    Row(
        "start-stop",
        "zorg-noord",
        "swt-denhelder",
        "Jeugdwet art. 7.4.0 lid 2",
        False,
        ("zorg-noord", "gi-noordholland", "recipient_not_allowed"),
    ),
    Row(
        "start-stop",
        "gi-noordholland",
        "swt-denhelder",
        "Jeugdwet art. 7.4.0 lid 2",
        False,
        ("school-de-es", "swt-denhelder", "sender_not_allowed"),
    ),
    Row(
        "evaluation-feedback",
        "zorg-noord",
        "swt-denhelder",
        "Jeugdwet art. 7.4.0 lid 2",
        False,
        ("gi-noordholland", "swt-denhelder", "sender_not_allowed"),
    ),
    # Towards the institution with the OTS (in the child's case): lid 4; without it, agreement.
    Row(
        "closure-notice",
        "zorg-noord",
        "gi-noordholland",
        "Jeugdwet art. 7.3.11 lid 4",
        False,
        ("zorg-noord", "gi-noordholland", "consent_required"),
    ),
    Row("closure-notice", "zorg-noord", "school-de-es", "Jeugdwet art. 7.3.11 lid 1", True),
    Row("closure-notice", "swt-denhelder", "school-de-es", "BW art. 7:457 lid 1", True),
    Row("referrer-status", "swt-denhelder", "school-de-es", "AVG art. 6 lid 1 sub e", True),
    Row(
        "referrer-status",
        "swt-denhelder",
        "gi-noordholland",
        "Jeugdwet art. 7.3.11 lid 4",
        False,
        ("swt-denhelder", "gi-noordholland", "consent_required"),
    ),
    Row(
        "safety-assessment",
        "zorg-noord",
        "gi-noordholland",
        "Jeugdwet art. 7.3.11 lid 4",
        False,
        ("school-de-es", "gi-noordholland", "sender_not_allowed"),
    ),
    Row(
        "safety-assessment",
        "swt-denhelder",
        "gi-noordholland",
        "Jeugdwet art. 7.3.11 lid 4",
        False,
        ("gi-noordholland", "swt-denhelder", "sender_not_allowed"),
    ),
    Row(
        "safety-assessment",
        "zorg-noord",
        "swt-denhelder",
        "Jeugdwet art. 7.4.0 lid 2",
        False,
        ("zorg-noord", "school-de-es", "recipient_not_allowed"),
    ),
    # issue 20: the safety plan an unsafe outcome makes its assessor owe, as the assessment's rows
    Row(
        "safety-plan",
        "zorg-noord",
        "swt-denhelder",
        "Jeugdwet art. 7.4.0 lid 2",
        False,
        ("zorg-noord", "school-de-es", "recipient_not_allowed"),
    ),
    Row(
        "safety-plan",
        "swt-denhelder",
        "gi-noordholland",
        "Jeugdwet art. 7.3.11 lid 4",
        False,
        ("school-de-es", "gi-noordholland", "sender_not_allowed"),
    ),
    Row(
        "waiting-list-status",
        "gi-noordholland",
        "swt-denhelder",
        "Jeugdwet art. 2.4 lid 2",
        False,
        ("zorg-noord", "swt-denhelder", "sender_not_allowed"),
    ),
    Row("information-request", "swt-denhelder", "school-de-es", "AVG art. 6 lid 1 sub e", True),
    Row("information-request", "swt-denhelder", "zorg-noord", "AVG art. 6 lid 1 sub e", True),
    Row("information-reply", "school-de-es", "swt-denhelder", "parents' agreement", True),
    Row("information-reply", "zorg-noord", "swt-denhelder", "BW art. 7:457 lid 1", True),
    # The safety report to the team needs the family's agreement (issue 19, §4.3); without it
    # only break-glass, the conflict of duties.
    Row("safety-report", "school-de-es", "swt-denhelder", "BW art. 7:457 lid 1", True),
    Row("safety-report", "zorg-noord", "swt-denhelder", "Jeugdwet art. 7.3.11 lid 1", True),
    Row(
        "safety-report",
        "school-de-es",
        "swt-denhelder",
        "AVG art. 6 lid 1 sub d",
        False,
        break_glass=True,
    ),
    # issue 19: the partner kinds the seeds name
    Row(
        "safety-report-vt",
        "school-de-es",
        "veiligthuis-nhn",
        "Wmo 2015 art. 5.2.6",
        False,
        ("school-de-es", "swt-denhelder", "recipient_not_allowed"),
    ),
    Row(
        "safety-report-vt",
        "huisarts-zuid",
        "veiligthuis-nhn",
        "Wet verplichte meldcode",
        False,
        ("veiligthuis-nhn", "veiligthuis-nhn", "sender_not_allowed"),
    ),
    Row(
        "vt-feedback",
        "veiligthuis-nhn",
        "huisarts-zuid",
        "Wmo 2015 art. 4.1.1",
        False,
        # A reply: the check, as the send, first asks for an open report it answers.
        ("zorg-noord", "huisarts-zuid", "invalid_request"),
    ),
    Row("medical-referral", "huisarts-zuid", "zorg-noord", "Jeugdwet art. 2.6 lid 1 sub g", True),
    Row(
        "medical-referral",
        "jgz-hollandsnoorden",
        "zorg-noord",
        "Wet publieke gezondheid art. 5",
        True,
    ),
    Row("medical-referral", "huisarts-zuid", "swt-denhelder", "BW art. 7:457 lid 1", True),
    Row(
        "medical-referral",
        "jgz-hollandsnoorden",
        "swt-denhelder",
        "BW art. 7:457 lid 1",
        True,
    ),
    Row(
        "leerplicht-signal",
        "leerplicht-denhelder",
        "swt-denhelder",
        "Leerplichtwet 1969 art. 16 lid 4",
        False,
        ("leerplicht-denhelder", "school-de-es", "recipient_not_allowed"),
    ),
    Row(
        "child-protection-board-information",
        "huisarts-zuid",
        "rvdk-noordholland",
        "BW art. 1:240",
        False,
        ("wi-denhelder", "rvdk-noordholland", "sender_not_allowed"),
    ),
]


def row_id(row: Row) -> str:
    glass = ":break-glass" if row.break_glass else ""
    return f"{row.purpose}:{KINDS[row.sender]}->{KINDS[row.recipient]}{glass}"


def test_the_rows_cover_every_direction_ground_of_the_catalogue():
    covered = {(r.purpose, KINDS[r.sender], KINDS[r.recipient]) for r in ROWS}
    for purpose in shipped():
        assert any(p == purpose.id for p, _, _ in covered), purpose.id
        for ground in purpose.direction_grounds:
            assert any(p == purpose.id and ground.covers(s, r) for p, s, r in covered), (
                purpose.id,
                sorted(ground.from_kinds),
                sorted(ground.to_kinds),
            )


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


GLASS = break_glass(
    "Kind vertelt op school over geweld thuis, vandaag.",
    "De veiligheid van het kind gaat voor.",
    "Ouders zijn vandaag niet bereikbaar en vragen brengt het kind in gevaar.",
)


def check_body(row: Row, sender: str, recipient: str) -> dict[str, Any]:
    body: dict[str, Any] = {"purpose": row.purpose, "to": recipient, "subject": {"bsn": BSN_CHILD}}
    if row.break_glass:
        body["break_glass"] = GLASS
    return body


async def record_agreement(http: Http, row: Row) -> str:
    """The client's agreement, recorded by the social team for this one direction."""
    team = await http.token("swt-denhelder")
    body = {
        "subject": {"bsn": BSN_CHILD, "birth_date": "1990-01-01"},
        "given_by": [{"role": "subject"}],
        "purposes": [row.purpose],
        "from": [row.sender],
        "to": [row.recipient],
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }
    if row.sender != "swt-denhelder":
        opened = await http.call("POST", "/v1/cases", token=team, json_body={})
        assert opened.status == 201, opened.text
        case_id = opened.body["case_id"]
        for member in {row.sender, row.recipient} - {"swt-denhelder"}:
            joined = await http.call(
                "PUT",
                f"/v1/cases/{case_id}/network/{member}",
                token=team,
                json_body={"role": "involved"},
            )
            assert joined.status == 201, joined.text
        # A consent recorded for the case covers the case's own household only.
        registered = await http.call(
            "PUT",
            f"/v1/cases/{case_id}/household",
            token=team,
            json_body={"children": [{"bsn": BSN_CHILD, "child_ref": "kind-1"}]},
        )
        assert registered.status == 200, registered.text
        body["case_id"] = case_id
    recorded = await http.call("POST", "/v1/consents", token=team, json_body=body)
    assert recorded.status == 201, recorded.text
    return str(recorded.body["consent_id"])


async def related(running: Running, http: Http, purpose: str, sender: str, recipient: str) -> None:
    """Where the purpose presumes a relation to the child (issue 19), give the sender one
    towards the recipient (both in the network of the child's case)."""
    if running.gw.catalogue.get(purpose).relation:
        await relate(http, sender, BSN_CHILD, towards=[recipient])


def row_ground(running: Running, row: Row) -> Ground:
    """The ground the row's direction takes with the facts the row's set-up gives: the demo
    team acts for the college, no birth date is held, and a certified institution recipient is
    in the child's case (`related_recipient`)."""
    recipient = running.gw.partners.get(row.recipient)
    assert recipient is not None
    facts = GroundFacts(None, frozenset({row.recipient}))
    purpose = running.gw.catalogue.get(row.purpose)
    today = running.clock.now().date()
    return choose_ground(
        purpose, KINDS[row.sender], recipient, facts, today, break_glass=row.break_glass
    ).ground


async def measure_held(running: Running, http: Http, row: Row) -> None:
    """Where the row's ground holds towards the institution with the OTS only, put the
    recipient institution in a case whose household holds the child (docs/legal-basis.md 4.2)."""
    purpose = running.gw.catalogue.get(row.purpose)
    grounds = purpose.grounds_for(KINDS[row.sender], KINDS[row.recipient])
    if any(g.conditions.requires_measure for g in grounds):
        await relate(http, row.recipient, BSN_CHILD)


async def open_request(http: Http, row: Row) -> str | None:
    """For a reply purpose, the open request it answers (the team's information request on the
    family's agreement, or the reporter's report to Veilig Thuis); None for other purposes."""
    reply_to = http.running.gw.catalogue.get(row.purpose).reply_to
    if reply_to is None:
        return None
    if reply_to.purpose != "information-request":
        # The row's recipient asked: e.g. the GP's report that Veilig Thuis's feedback answers.
        asker = await http.token(row.recipient)
        body = {
            "purpose": reply_to.purpose,
            "to": row.sender,
            "subject": {"bsn": BSN_CHILD},
            "payload": example(reply_to.purpose),
        }
        asked = await http.call("POST", "/v1/exchanges", token=asker, json_body=body)
        assert asked.status == 201, asked.text
        return str(asked.body["exchange_id"])
    asking = Row("information-request", "swt-denhelder", row.sender, "", True)
    await record_agreement(http, asking)
    team = await http.token("swt-denhelder")
    body = {
        **check_body(asking, "swt-denhelder", row.sender),
        "payload": {"topics": ["attendance"]},
    }
    asked = await http.call("POST", "/v1/exchanges", token=team, json_body=body)
    assert asked.status == 201, asked.text
    return str(asked.body["exchange_id"])


async def check(
    http: Http, row: Row, sender: str, recipient: str, in_reply_to: str | None = None
) -> dict[str, Any]:
    token = await http.token(sender)
    body = check_body(row, sender, recipient)
    if in_reply_to is not None:
        body["in_reply_to"] = in_reply_to
    answer = await http.call("POST", "/v1/exchanges/check", token=token, json_body=body)
    assert answer.status == 200, answer.text
    result: dict[str, Any] = answer.body
    return result


@pytest.mark.parametrize("row", ROWS, ids=row_id)
async def test_each_row_allows_its_exchange_on_its_own_ground(
    running: Running, http: Http, row: Row
) -> None:
    ground = row_ground(running, row)
    assert ground.agreement_required is row.agreement
    assert row.article in ground.reference or row.article in ground.sector_law
    consent_id = await record_agreement(http, row) if row.agreement else None
    await related(running, http, row.purpose, row.sender, row.recipient)
    await measure_held(running, http, row)
    in_reply_to = await open_request(http, row)
    answer = await check(http, row, row.sender, row.recipient, in_reply_to)
    assert answer["allowed"] is True, answer
    if row.break_glass:
        assert ground.conditions.break_glass
        reference = f"{ground.reference} (break-glass)"
        assert answer["legal_basis"] == {"type": "break_glass", "reference": reference}
        assert answer["consent_id"] is None
        return
    expected_type = "consent" if row.agreement else "statute"
    assert answer["legal_basis"] == {"type": expected_type, "reference": ground.reference}
    assert answer["consent_id"] == consent_id


@pytest.mark.parametrize("row", ROWS, ids=row_id)
async def test_each_row_refuses_what_it_does_not_allow(
    running: Running, http: Http, row: Row
) -> None:
    if row.agreement:
        # Without the client's agreement the row refuses, naming what is missing.
        in_reply_to = await open_request(http, row)
        answer = await check(http, row, row.sender, row.recipient, in_reply_to)
        assert (answer["allowed"], answer["code"]) == (False, "consent_required")
        assert answer["missing_consent"]["purpose"] == row.purpose
        return
    if row.break_glass:
        # Without break-glass (and without the agreement) the break-glass ground does not hold.
        plain = Row(row.purpose, row.sender, row.recipient, row.article, row.agreement)
        answer = await check(http, plain, row.sender, row.recipient)
        assert (answer["allowed"], answer["code"]) == (False, "consent_required")
        return
    assert row.outside is not None
    sender, recipient, code = row.outside
    # The sender outside the row holds the relation the purpose presumes, so that what refuses
    # is the direction itself.
    await related(running, http, row.purpose, sender, recipient)
    answer = await check(http, row, sender, recipient)
    assert (answer["allowed"], answer["code"]) == (False, code)


async def test_one_send_to_two_directions_logs_each_on_its_own_ground(
    running: Running, http: Http
) -> None:
    team = await http.token("swt-denhelder")
    opened = await http.call("POST", "/v1/cases", token=team, json_body={})
    assert opened.status == 201, opened.text
    case_id = opened.body["case_id"]
    for member in ("zorg-noord", "gi-noordholland"):
        joined = await http.call(
            "PUT", f"/v1/cases/{case_id}/network/{member}", token=team, json_body={}
        )
        assert joined.status == 201, joined.text
    # The child in the case's household: the provider's relation to it (issue 19).
    registered = await http.call(
        "PUT",
        f"/v1/cases/{case_id}/household",
        token=team,
        json_body={"children": [{"bsn": BSN_CHILD, "child_ref": "kind-1"}]},
    )
    assert registered.status == 200, registered.text
    provider = await http.token("zorg-noord")
    body = {
        "purpose": "safety-assessment",
        "to": ["gi-noordholland", "swt-denhelder"],
        "subject": {"bsn": BSN_CHILD},
        "payload": example("safety-assessment"),
        "case_id": case_id,
    }
    sent = await http.call("POST", "/v1/exchanges", token=provider, json_body=body)
    assert sent.status == 201, sent.text
    rows = await running.gw.storage.log_rows(0, await running.gw.storage.log_size())
    grounds = {
        rows[d["log_index"]].entry.recipient: rows[d["log_index"]].entry.legal_basis
        for d in sent.body["disclosures"]
    }
    assert grounds == {
        "gi-noordholland": {"type": "statute", "reference": "Jeugdwet art. 7.3.11 lid 4"},
        "swt-denhelder": {"type": "statute", "reference": "Jeugdwet art. 7.4.0 lid 2"},
    }


async def test_the_catalogue_lists_each_ground_with_its_fields(http: Http) -> None:
    answer = await http.call("GET", "/v1/purposes")
    assert answer.status == 200, answer.text
    by_id = {p["id"]: p for p in answer.body["purposes"]}
    basis = by_id["start-stop"]["legal_basis"]
    assert basis["type"] == "consent"
    assert "the recipient does not act for the college" in basis["reference"]
    assert basis["avg_art6"] == ["AVG art. 6 lid 1 sub e"]
    assert basis["special_categories"] is True
    assert basis["agreement_required"] is True
    assert "20 years" in basis["retention"]
    assert "recipient_acts_for_college" not in basis
    gi, adults_start, provider = by_id["start-stop"]["grounds"]
    assert (adults_start["subjects"], adults_start["type"]) == ("adults", "consent")
    assert (gi["from"], gi["to"]) == (["certified_institution"], ["social_team"])
    assert gi["avg_art9"] == ["AVG art. 9 lid 2 sub g"]
    assert (provider["type"], provider["reference"]) == ("statute", "Jeugdwet art. 7.4.0 lid 2")
    assert provider["avg_art6"] == ["AVG art. 6 lid 1 sub c"]
    assert provider["avg_art9"] == ["AVG art. 9 lid 2 sub h"]
    assert provider["uavg"] == "UAVG art. 30"
    assert provider["agreement_required"] is False
    assert provider["recipient_acts_for_college"] is True
    adults, _ = by_id["evaluation-feedback"]["grounds"]
    assert (adults["subjects"], adults["type"]) == ("adults", "consent")
    assert by_id["referral"]["grounds"] == []
    wait = by_id["waiting-list-status"]
    assert wait["expected_when_gi_joins"] == {"direct": 15, "beschermingstafel": 5}
    assert wait["expected_when_gi_joins_deadline"]["source"] == "local_agreement"
    assert wait["expected_when_gi_joins_deadline"]["count"] == "working"
    [reply] = by_id["information-request"]["expects_reply"]
    assert (reply["source"], reply["count"]) == ("local_agreement", "calendar")


# -- the safety report to the team without agreement (issue 19, §4.3) ---------------------------


async def test_a_safety_report_to_the_team_without_agreement_or_break_glass_names_both_ways(
    running: Running, http: Http
) -> None:
    school = await http.token("school-de-es")
    body = {
        "purpose": "safety-report",
        "to": "swt-denhelder",
        "subject": {"bsn": BSN_CHILD},
        "payload": example("safety-report"),
    }
    before = await running.gw.storage.log_size()
    sent = await http.call("POST", "/v1/exchanges", token=school, json_body=body)
    error = assert_contract_error(sent, 403, "consent_required")
    assert error["missing_consent"]["purpose"] == "safety-report"
    assert [g["condition"] for g in error["ground_not_met"]] == ["break_glass"]
    assert "it holds only with break-glass" in error["message"]
    fix = error["how_to_fix"]
    # The family's agreement, or in acute danger break-glass, or the report to Veilig Thuis.
    assert "POST /v1/consents (purposes ['safety-report']" in fix
    assert "in acute danger" in fix
    assert "send again with break_glass" in fix
    assert "send purpose 'safety-report-vt' to veilig_thuis instead" in fix
    rows = await running.gw.storage.log_rows(before, await running.gw.storage.log_size())
    assert [(r.entry.decision, r.entry.reason) for r in rows] == [("refused", "consent_required")]
    # The same refusal in Dutch, for a request that names no language.
    dutch = await http.call(
        "POST", "/v1/exchanges", token=school, json_body=body, headers={"Accept-Language": "nl"}
    )
    error = assert_contract_error(dutch, 403, "consent_required")
    assert dutch.headers["Content-Language"] == "nl"
    assert "Zonder die toestemming: bij acuut gevaar" in error["how_to_fix"]
    assert (
        "verstuur in plaats daarvan doel 'safety-report-vt' aan veilig_thuis"
        in (error["how_to_fix"])
    )
    # Each way then works: break-glass, the report to Veilig Thuis, the family's agreement.
    glass = await http.call(
        "POST", "/v1/exchanges", token=school, json_body={**body, "break_glass": GLASS}
    )
    assert glass.status == 201, glass.text
    assert glass.body["legal_basis"]["type"] == "break_glass"
    report = {**example("safety-report-vt"), "acute_danger": False}
    to_vt = await http.call(
        "POST",
        "/v1/exchanges",
        token=school,
        json_body={
            **body,
            "purpose": "safety-report-vt",
            "to": "veiligthuis-nhn",
            "payload": report,
        },
    )
    assert to_vt.status == 201, to_vt.text
    row = Row("safety-report", "school-de-es", "swt-denhelder", "", True)
    consent_id = await record_agreement(http, row)
    agreed = await http.call("POST", "/v1/exchanges", token=school, json_body=body)
    assert agreed.status == 201, agreed.text
    assert (agreed.body["legal_basis"]["type"], agreed.body["consent_id"]) == (
        "consent",
        consent_id,
    )
