"""Edges of gateway/policy that mutation testing showed no test pinned (docs/mutation-testing.md).

The relation rules' own refusals, the acknowledgement an urgent message makes owed (whole), the
explanation of a ground chosen after several were passed over (whole), and the retention terms
for a consent without purposes and for a run's batch.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from gateway.config import Catalogue, LegalBasis, load_catalogue
from gateway.config.grounds import Conditions, Ground
from gateway.config.purposes import RELATION_PURPOSES, PayloadSchema
from gateway.config.urgency import ACKNOWLEDGEMENT
from gateway.errors import (
    BreakGlassNotAllowed,
    ConsentRequired,
    PayloadNotMinimal,
    RelationRequired,
    SchemaViolation,
    SenderNotAllowed,
    UnknownRecipient,
)
from gateway.officer.sessions import SESSION_IDLE
from gateway.policy import decide, parse_exchange_request
from gateway.policy.decision import Caller, Decision
from gateway.policy.grounds import ChosenGround, GroundFacts, PassedOver, choose_ground
from gateway.policy.minimal import check_payload
from gateway.policy.relations import (
    NO_TIES,
    RELATION_RULES,
    Relation,
    SubjectTies,
    Tie,
    TieKind,
    _relation,
    relation_towards,
)
from gateway.policy.retention import consent_retained_until, retention_terms, years_before
from gateway.policy.visibility import knows_of
from gateway.policy.workflow import check_reply, plan_effects
from gateway.runtime import DEFAULT_CONFIG
from gateway.store.base import Expectation
from tests.conftest import BSN_CHILD, REPO, ROLES, example
from tests.helpers import break_glass
from tests.test_properties import world

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TEAM, SCHOOL = "swt-denhelder", "school-de-es"
PERSON = "ab" * 32
ADULTS_GROUND = (
    "AVG art. 6 lid 1 sub e; client's agreement (Wmo 2015: no article lets a provider inform the "
    "college without it)"
)


@pytest.fixture
def catalogue() -> Catalogue:
    return load_catalogue(DEFAULT_CONFIG, REPO / "schemas")


# -- relations ------------------------------------------------------------------------------------


def test_each_relation_rule_is_the_fact_its_purposes_establish_towards_a_partner() -> None:
    kinds: dict[str, TieKind] = {
        "referral_received": "received",
        "case_member": "case_household",
        "help_started": "sent",
    }
    assert set(RELATION_RULES) == set(kinds)
    for name, rule in RELATION_RULES.items():
        assert rule.name == name
        assert rule.tie == Tie(kinds[name], RELATION_PURPOSES[name])
        assert rule.description
        assert rule.how_to_establish
        # The rules are built by one helper; built again it gives the very same rule.
        assert _relation(name, kinds[name], rule.description, rule.how_to_establish) == rule


def test_a_relation_that_does_not_hold_refuses_naming_itself_and_how_to_establish_it() -> None:
    rule = RELATION_RULES["case_member"]

    refusal = rule(NO_TIES)

    assert refusal is not None
    assert refusal.error is RelationRequired
    assert refusal.code == "relation_required"
    assert refusal.message == (
        "no membership of a case network whose household holds this subject (case_member)"
    )
    assert refusal.how_to_fix == rule.how_to_establish
    assert refusal.how_to_fix.startswith("Ask the social team that directs the person's case")
    assert dict(refusal.extra) == {"missing_relation": ["case_member"]}


def test_a_relation_holds_on_its_own_fact_and_not_on_another_or_on_one_towards_no_one() -> None:
    rule = RELATION_RULES["help_started"]
    other = RELATION_RULES["referral_received"]

    assert rule(SubjectTies({rule.tie: frozenset({TEAM})})) is None
    assert rule(SubjectTies({other.tie: frozenset({TEAM})})) is not None
    assert rule(SubjectTies({rule.tie: frozenset()})) is not None


def test_a_relation_value_built_by_hand_refuses_with_its_own_words() -> None:
    rule = Relation("own", Tie("sent", ("start-stop",)), "own words", "Do the thing.")

    refusal = rule(NO_TIES)

    assert refusal is not None
    assert (refusal.message, refusal.how_to_fix) == ("no own words (own)", "Do the thing.")


# -- the acknowledgement an urgent message makes owed --------------------------------------------


def test_an_urgent_message_makes_each_recipient_owe_an_acknowledgement_about_the_person_in_the_case() -> (
    None
):
    purpose = world()[0].get("safety-report")
    assert purpose is not None
    assert purpose.urgent is not None
    ids = (f"exp-{n}" for n in itertools.count(1))

    effects = plan_effects(
        purpose=purpose,
        exchange_id="ex_urgent",
        sender=SCHOOL,
        recipients=[TEAM],
        case_id="case_7",
        subject=PERSON,
        payload={"acute_danger": True},
        in_reply_to=None,
        owed_by_sender=(),
        household=(),
        now=NOW,
        seal=lambda data, expectation_id: data,
        new_id=lambda: next(ids),
    )

    acknowledgements = [e for e in effects.open if e.purpose == ACKNOWLEDGEMENT]
    assert acknowledgements == [
        Expectation(
            expectation_id=acknowledgements[0].expectation_id,
            purpose=ACKNOWLEDGEMENT,
            origin_purpose="safety-report",
            origin_exchange_id="ex_urgent",
            case_id="case_7",
            owed_by=TEAM,
            owed_to=SCHOOL,
            subject=PERSON,
            child_ref=None,
            opened_at=NOW,
            due_at=NOW + timedelta(minutes=purpose.urgent.acknowledge_within_minutes),
        )
    ]


# -- the explanation of the ground chosen ---------------------------------------------------------


def _ground(reference: str, conditions: Conditions, agreement_required: bool = False) -> Ground:
    return Ground(
        type="consent" if agreement_required else "statute",
        reference=reference,
        avg_art6=("c",),
        avg_art9=(),
        uavg=None,
        sector_law=reference,
        agreement_required=agreement_required,
        retention="purpose",
        conditions=conditions,
    )


def test_the_explanation_of_a_ground_after_several_passed_over_is_one_sentence_each_spaced_once() -> (
    None
):
    college = _ground("Jeugdwet art. 7.4.0 lid 2", Conditions(recipient_acts_for_college=True))
    measure = _ground("Jeugdwet art. 7.3.11 lid 4", Conditions(requires_measure="ots"))
    agreement = _ground("AVG art. 6(1)(a)", Conditions(), agreement_required=True)
    adults = _ground("Wmo 2015 art. 5.2.6", Conditions(subjects="adults"))
    chosen = ChosenGround(
        adults,
        (
            PassedOver(college, "recipient_acts_for_college", "no mandate"),
            PassedOver(agreement, "subjects", "not said"),
            PassedOver(measure, "requires_measure", "no order"),
        ),
    )

    assert chosen.explanation() == (
        "The ground 'Jeugdwet art. 7.4.0 lid 2' does not apply: no mandate. "
        "The ground 'Jeugdwet art. 7.3.11 lid 4' does not apply: no order. "
        "By the birth date held, the ground for this subject is 'Wmo 2015 art. 5.2.6'."
    )


# -- retention ------------------------------------------------------------------------------------


def test_a_consent_without_purposes_is_kept_for_the_catalogues_longest_term(
    catalogue: Catalogue,
) -> None:
    ended = datetime(2027, 3, 4, 9, 30, tzinfo=UTC)
    longest = catalogue.longest_record_retention_years

    assert consent_retained_until(
        withdrawn_at=ended, valid_until=None, purposes=frozenset(), catalogue=catalogue
    ) == ended.replace(year=2027 + longest)
    assert consent_retained_until(
        withdrawn_at=None, valid_until=date(2028, 5, 6), purposes=frozenset(), catalogue=catalogue
    ) == datetime(2028 + longest, 5, 6, tzinfo=UTC)


def test_a_retention_run_removes_a_thousand_records_of_a_kind_unless_told_otherwise(
    catalogue: Catalogue,
) -> None:
    assert retention_terms(catalogue, NOW, SESSION_IDLE).batch == 1000
    told = retention_terms(catalogue, NOW, SESSION_IDLE, batch=7)
    assert told.batch == 7
    assert told.now == NOW
    assert told.closed_before_otherwise == years_before(
        NOW, catalogue.longest_record_retention_years
    )


# -- the payload check and the replies, later survivors -------------------------------------------


def test_a_report_to_veilig_thuis_makes_its_feedback_owed_within_five_working_days() -> None:
    purpose = world()[0].get("safety-report-vt")
    assert purpose is not None
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

    effects = plan_effects(
        purpose=purpose,
        exchange_id="ex_vt",
        sender=SCHOOL,
        recipients=["veiligthuis-nhn"],
        case_id=None,
        subject=PERSON,
        payload={},
        in_reply_to=None,
        owed_by_sender=(),
        household=(),
        now=friday,
        seal=lambda data, expectation_id: data,
        new_id=lambda: "exp-1",
    )

    feedback = [e for e in effects.open if e.purpose == "vt-feedback"]
    # Five working days from a Friday: the next Friday, not Wednesday (five calendar days).
    assert [e.due_at for e in feedback] == [datetime(2026, 12, 4, 10, 0, tzinfo=UTC)]


def test_a_reply_rule_naming_no_field_of_the_request_lets_the_reply_answer_any_topic() -> None:
    purpose = world()[0].get("information-reply")
    assert purpose is not None
    assert purpose.reply_to is not None
    assert purpose.reply_to.items is not None
    open_ended = replace(purpose, reply_to=replace(purpose.reply_to, allowed_from=None))
    request = Expectation(
        expectation_id="exp-1",
        purpose="information-reply",
        origin_purpose=purpose.reply_to.purpose,
        origin_exchange_id="ex_request",
        case_id=None,
        owed_by=SCHOOL,
        owed_to=TEAM,
        subject=PERSON,
        child_ref=None,
        opened_at=NOW,
        due_at=NOW + timedelta(days=10),
    )
    items = purpose.reply_to.items.split("[]")[0]
    field = purpose.reply_to.items.split("[].")[1]
    payload = {items: [{field: "never-asked"}]}

    check_reply(
        open_ended,
        subject=PERSON,
        in_reply_to="ex_request",
        recipients=[TEAM],
        request=request,
        asked={"topics": ["something-else"]},
        payload=payload,
    )
    with pytest.raises(PayloadNotMinimal):
        check_reply(
            purpose,
            subject=PERSON,
            in_reply_to="ex_request",
            recipients=[TEAM],
            request=request,
            asked={"topics": ["something-else"]},
            payload=payload,
        )


def _violations(schema: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    with pytest.raises(PayloadNotMinimal) as refused:
        check_payload("p", PayloadSchema.compile(schema), payload)
    return [v["path"] for v in refused.value.extra["violations"]]


def test_a_schema_that_is_false_refuses_every_payload_naming_the_whole_payload() -> None:
    assert _violations(False, {"a": 1}) == ["/payload"]  # type: ignore[arg-type]


def test_a_field_ruled_out_behind_a_reference_is_refused_naming_the_object_that_holds_it() -> None:
    ruled_out = {"type": "object", "properties": {"end_date": False}}
    at_root = {"$ref": "#/$defs/x", "$defs": {"x": ruled_out}}
    inside = {
        "type": "object",
        "properties": {"inner": {"$ref": "#/$defs/x"}},
        "$defs": {"x": ruled_out},
    }

    assert _violations(at_root, {"end_date": "2026-01-01"}) == ["/payload"]
    assert _violations(inside, {"inner": {"end_date": "2026-01-01"}}) == ["/payload/inner"]


def _evaluation_feedback_at(
    now: datetime,
    recipients: tuple[str, ...] = (TEAM,),
    fan_out: bool = False,
    role: str | None = None,
    sender: str = "zorg-noord",
    **extra: Any,
) -> Decision:
    catalogue, partners = world()
    provider = partners.get(sender)
    assert provider is not None
    body = {
        "purpose": "evaluation-feedback",
        # A fan-out names the case network; the service passes its members as `recipients`.
        "to": {"case_network": "case_1"} if fan_out else list(recipients),
        "subject": {"bsn": BSN_CHILD},
        "payload": example("evaluation-feedback"),
        **extra,
    }
    born = date(2008, 1, 6)
    return decide(
        parse_exchange_request(body, payload_required=True),
        caller=Caller(provider, "actor-1", role or ROLES[sender]),
        recipients=list(recipients),
        fan_out=fan_out,
        catalogue=catalogue,
        partners=partners,
        consents=[],
        now=now,
        held_birth_date=born,
        ties=SubjectTies({RELATION_RULES["help_started"].tie: frozenset({TEAM})}),
        facts=GroundFacts(birth_date=born),
    )


def test_the_ground_follows_the_age_on_the_dutch_date_not_the_utc_date() -> None:
    # Born 6 January 2008: 18 from 00:00 Dutch time on 6 January 2026, 23:00 UTC the day before.
    minor = _evaluation_feedback_at(datetime(2026, 1, 5, 22, 59, tzinfo=UTC))
    assert [(r.recipient, r.legal_basis) for r in minor.recipients] == [
        (TEAM, LegalBasis("statute", "Jeugdwet art. 7.4.0 lid 2"))
    ]
    with pytest.raises(ConsentRequired) as refused:
        _evaluation_feedback_at(datetime(2026, 1, 5, 23, 30, tzinfo=UTC))
    assert str(refused.value).startswith(
        "By the birth date held, the ground for this subject is 'AVG art. 6 lid 1 sub e;"
    )


def test_a_fanned_out_recipient_that_is_no_partner_is_refused_under_its_own_id() -> None:
    decision = _evaluation_feedback_at(
        datetime(2026, 1, 5, 9, 0, tzinfo=UTC), (TEAM, "nobody"), fan_out=True
    )

    assert [(r.recipient, r.allowed) for r in decision.recipients] == [
        (TEAM, True),
        ("nobody", False),
    ]
    refused = decision.recipients[1]
    assert refused.refusal is not None
    assert refused.refusal.code == "unknown_recipient"
    assert dict(refused.refusal.extra) == {"purpose": "evaluation-feedback", "recipient": "nobody"}


def test_a_fanned_out_recipient_of_a_kind_the_purpose_does_not_reach_is_refused_under_its_id() -> (
    None
):
    decision = _evaluation_feedback_at(
        datetime(2026, 1, 5, 9, 0, tzinfo=UTC), (TEAM, SCHOOL), fan_out=True
    )

    assert [(r.recipient, r.allowed) for r in decision.recipients] == [
        (TEAM, True),
        (SCHOOL, False),
    ]


def test_a_fan_out_to_an_empty_case_network_is_refused_saying_how_to_fill_it() -> None:
    with pytest.raises(UnknownRecipient) as refused:
        _evaluation_feedback_at(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), (), fan_out=True)

    assert refused.value.to_body() == {
        "error": {
            "code": "unknown_recipient",
            "message": "there is no recipient to send to (the case network is empty)",
            "how_to_fix": (
                "Register the partners involved with PUT /v1/cases/{case_id}/network/{partner_id}."
            ),
            "purpose": "evaluation-feedback",
        }
    }


def test_a_schema_that_does_not_say_object_still_checks_the_fields_of_the_payload() -> None:
    # Without a root "type", a non-object would pass the schema; the payload itself must not.
    schema = PayloadSchema.compile({"properties": {"a": {"type": "string"}}})

    check_payload("p", schema, {"a": "text"})
    with pytest.raises(SchemaViolation) as refused:
        check_payload("p", schema, {"a": 1})
    assert refused.value.extra["violations"] == [
        {"path": "/payload/a", "message": "must be of type string"}
    ]


def test_a_relation_towards_another_partner_is_refused_naming_purpose_recipient_and_relations() -> (
    None
):
    purpose = world()[0].get("evaluation-feedback")
    assert purpose is not None
    ties = SubjectTies({RELATION_RULES["help_started"].tie: frozenset({"gi-noordholland"})})

    assert relation_towards(purpose, ties, "gi-noordholland") is None
    refusal = relation_towards(purpose, ties, TEAM)
    assert refusal is not None
    assert refusal.code == "relation_required"
    assert refusal.message == (
        "purpose 'evaluation-feedback' presumes that you help this person on behalf of the "
        "recipient; your relation to this subject is not towards recipient 'swt-denhelder'"
    )
    assert dict(refusal.extra) == {
        "purpose": "evaluation-feedback",
        "recipient": TEAM,
        "missing_relation": ["referral_received", "case_member", "help_started"],
    }


def test_a_team_without_a_mandate_passes_over_the_college_ground_saying_why() -> None:
    catalogue, partners = world()
    purpose = catalogue.get("evaluation-feedback")
    team = partners.get(TEAM)
    assert purpose is not None
    assert team is not None

    chosen = choose_ground(
        purpose,
        "care_provider",
        replace(team, acts_for_college=None),
        GroundFacts(),
        date(2026, 1, 5),
    )

    assert [(p.ground.reference, p.condition, p.why) for p in chosen.passed_over] == [
        (
            ADULTS_GROUND,
            "subjects",
            "it holds for adults only, and the gateway holds no birth date for this subject "
            "(record one with the client's consent)",
        ),
        (
            "Jeugdwet art. 7.4.0 lid 2",
            "recipient_acts_for_college",
            "recipient 'swt-denhelder' does not act for the college (no mandate or assignment is "
            "recorded for it), and the duty runs towards the college",
        ),
    ]
    assert chosen.ground.agreement_required


def test_a_child_before_the_teams_mandate_passes_over_the_adult_and_college_grounds_saying_why() -> (
    None
):
    catalogue, partners = world()
    purpose = catalogue.get("evaluation-feedback")
    team = partners.get(TEAM)
    assert purpose is not None
    assert team is not None

    chosen = choose_ground(
        purpose, "care_provider", team, GroundFacts(birth_date=date(2016, 3, 14)), date(2024, 6, 1)
    )

    assert [(p.ground.reference, p.condition, p.why) for p in chosen.passed_over] == [
        (ADULTS_GROUND, "subjects", "it holds for adults only"),
        (
            "Jeugdwet art. 7.4.0 lid 2",
            "recipient_acts_for_college",
            "the mandate of recipient 'swt-denhelder' to act for the college runs only from "
            "2025-01-01",
        ),
    ]


def test_an_institution_carrying_out_no_order_for_the_child_is_passed_over_saying_why() -> None:
    catalogue, partners = world()
    purpose = catalogue.get("closure-notice")
    institution = partners.get("gi-noordholland")
    assert purpose is not None
    assert institution is not None
    today = date(2026, 1, 5)

    chosen = choose_ground(purpose, "care_provider", institution, GroundFacts(), today)

    assert [(p.ground.reference, p.condition, p.why) for p in chosen.passed_over] == [
        (
            "Jeugdwet art. 7.3.11 lid 4",
            "requires_measure",
            "recipient 'gi-noordholland' is not recorded as carrying out a supervision order "
            "(OTS) for this child: it is not in the network of a case whose household holds "
            "the child",
        )
    ]
    holder = GroundFacts(measure_holders=frozenset({"gi-noordholland"}))
    held = choose_ground(purpose, "care_provider", institution, holder, today)
    assert (held.ground.reference, held.passed_over) == ("Jeugdwet art. 7.3.11 lid 4", ())


def test_a_school_may_know_of_a_kind_it_sees_named_as_a_kind_but_not_of_a_hidden_one() -> None:
    catalogue, partners = world()
    school = partners.get(SCHOOL)
    assert school is not None
    known = knows_of(school, partners, catalogue.case_network_visibility)

    assert [known(p) for p in ("kind:social_team", "kind:school", SCHOOL, TEAM)] == [True] * 4
    hidden = ("kind:care_provider", "kind:certified_institution", "zorg-noord", "nobody", "kind:x")
    assert [known(p) for p in hidden] == [False] * 5


def test_break_glass_on_a_purpose_without_it_is_refused_saying_to_share_on_its_own_basis() -> None:
    glass = break_glass(
        "A child is in acute danger tonight.", "the child's safety", "there is no time to ask"
    )

    with pytest.raises(BreakGlassNotAllowed) as refused:
        _evaluation_feedback_at(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), break_glass=glass)

    assert refused.value.to_body() == {
        "error": {
            "code": "break_glass_not_allowed",
            "message": "purpose 'evaluation-feedback' does not allow break-glass",
            "how_to_fix": (
                "Share on the purpose's own basis (record consent first where it needs "
                "consent); break-glass exists only for safety reports."
            ),
            "purpose": "evaluation-feedback",
        }
    }


def test_an_actor_role_the_purpose_does_not_name_is_refused_listing_the_roles_that_may() -> None:
    purpose = world()[0].get("evaluation-feedback")
    assert purpose is not None

    with pytest.raises(SenderNotAllowed) as refused:
        _evaluation_feedback_at(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), role="conciërge")

    assert refused.value.to_body() == {
        "error": {
            "code": "sender_not_allowed",
            "message": "actor role 'conciërge' may not send purpose 'evaluation-feedback'",
            "how_to_fix": "Let a professional with one of these roles send it: "
            + ", ".join(sorted(purpose.sender_roles))
            + ".",
            "purpose": "evaluation-feedback",
        }
    }


def test_a_partner_of_a_kind_the_purpose_does_not_name_is_refused_listing_the_kinds_that_may() -> (
    None
):
    purpose = world()[0].get("evaluation-feedback")
    assert purpose is not None

    with pytest.raises(SenderNotAllowed) as refused:
        _evaluation_feedback_at(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), sender=SCHOOL)

    assert refused.value.to_body() == {
        "error": {
            "code": "sender_not_allowed",
            "message": "a partner of kind 'school' may not send purpose 'evaluation-feedback'",
            "how_to_fix": "Only "
            + ", ".join(sorted(purpose.sender_kinds))
            + " may send it; choose the purpose that fits your role.",
            "purpose": "evaluation-feedback",
        }
    }


def test_the_kinds_that_may_send_are_listed_comma_separated() -> None:
    catalogue, partners = world()
    school = partners.get(SCHOOL)
    assert school is not None
    body = {
        "purpose": "closure-notice",
        "to": [TEAM],
        "subject": {"bsn": BSN_CHILD},
        "payload": example("closure-notice"),
    }

    with pytest.raises(SenderNotAllowed) as refused:
        decide(
            parse_exchange_request(body, payload_required=True),
            caller=Caller(school, "actor-1", ROLES[SCHOOL]),
            recipients=[TEAM],
            fan_out=False,
            catalogue=catalogue,
            partners=partners,
            consents=[],
            now=NOW,
        )

    assert refused.value.how_to_fix == (
        "Only care_provider, social_team may send it; choose the purpose that fits your role."
    )
