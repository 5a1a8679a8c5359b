"""The policy core at its edges: the compiled payload check, the decision, the request parse.

Each test names a realistic slip (a `<` for `<=` at a schema limit, a check that passes what is
not an object, a rule skipped for one recipient) that mutation testing (`make mutate`,
docs/mutation-testing.md) showed the suite let through. The compiled check accepts a payload on
its own word, so every case here is held to jsonschema's verdict as well.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gateway.clock import DUTCH_TIME
from gateway.config.compiled_schema import Undecided, compile_schema
from gateway.config.purposes import PayloadSchema
from gateway.errors import (
    BreakGlassNotAllowed,
    ConsentRequired,
    Forbidden,
    InvalidRequest,
    PayloadNotMinimal,
    RecipientNotAllowed,
    Refusal,
    SchemaViolation,
    SenderNotAllowed,
    UnknownPurpose,
    UnknownRecipient,
)
from gateway.policy import decide
from gateway.policy.decision import (
    _MESSAGE_RULES,
    _RECIPIENT_RULES,
    Caller,
    Decision,
    _givers,
)
from gateway.policy.minimal import _describe, allowed_fields, check_payload, disclosed_fields
from gateway.policy.request import MAX_RECIPIENTS, CaseNetworkTarget, parse_exchange_request
from gateway.policy.rules import AllOf, Rule
from gateway.policy.workflow import check_reply, codes_at, due_date, plan_effects
from gateway.store.base import Expectation
from tests.conftest import ROLES, example
from tests.test_properties import SETTLED, consent, world

FORMATS = Draft202012Validator.FORMAT_CHECKER

# (schema, instance): boundary cases where a one-character slip flips the verdict.
CASES: list[tuple[dict[str, Any] | bool, Any]] = [
    (True, {"x": 1}),
    (False, {}),
    ({"minLength": 3}, "abc"),
    ({"minLength": 3}, "ab"),
    ({"minLength": 3}, 7),
    ({"maxLength": 3}, "abc"),
    ({"maxLength": 3}, "abcd"),
    ({"maxLength": 3}, ["a", "b", "c", "d"]),
    ({"minItems": 2}, ["a", "b"]),
    ({"minItems": 2}, ["a"]),
    ({"minItems": 2}, "a"),
    ({"maxItems": 2}, ["a", "b"]),
    ({"maxItems": 2}, ["a", "b", "c"]),
    ({"maxItems": 2}, "abc"),
    ({"minimum": 0}, 0),
    ({"minimum": 0}, -1),
    ({"minimum": 0}, -0.5),
    ({"minimum": 0}, "x"),
    ({"minimum": 0}, True),
    ({"maximum": 10}, 10),
    ({"maximum": 10}, 11),
    ({"maximum": 10}, 10.5),
    ({"maximum": 10}, "x"),
    ({"type": "integer"}, 1),
    ({"type": "integer"}, 1.0),
    ({"type": "integer"}, 1.5),
    ({"type": "integer"}, True),
    ({"type": "number"}, 1.5),
    ({"type": "number"}, False),
    ({"type": "number"}, "1"),
    ({"type": "string"}, "s"),
    ({"type": "string"}, 1),
    ({"type": "boolean"}, True),
    ({"type": "boolean"}, 0),
    ({"type": "null"}, None),
    ({"type": "null"}, 0),
    ({"type": "object"}, {}),
    ({"type": "object"}, []),
    ({"type": "array"}, []),
    ({"type": "array"}, {}),
    ({"type": ["string", "null"]}, None),
    ({"type": ["string", "null"]}, "x"),
    ({"type": ["string", "null"]}, 1),
    ({"required": ["a", "b"]}, {"a": 1, "b": 2}),
    ({"required": ["a", "b"]}, {"a": 1}),
    ({"required": ["a"]}, ["a"]),
    ({"properties": {"a": {"type": "string"}}}, {"a": "x"}),
    ({"properties": {"a": {"type": "string"}}}, {"a": 1}),
    ({"properties": {"a": {"type": "string"}}}, {"b": 1}),
    ({"properties": {"a": {"type": "string"}}}, "not an object"),
    ({"properties": {"a": {"type": "string"}, "b": {"type": "string"}}}, {"a": "x", "b": 1}),
    ({"properties": {"a": {}}, "additionalProperties": False}, {"a": 1}),
    ({"properties": {"a": {}}, "additionalProperties": False}, {"a": 1, "b": 2}),
    ({"properties": {"a": {}}, "additionalProperties": False}, "x"),
    ({"properties": {"a": {}}, "additionalProperties": {"type": "string"}}, {"a": 1, "b": "s"}),
    ({"properties": {"a": {}}, "additionalProperties": {"type": "string"}}, {"a": 1, "b": 2}),
    ({"properties": {"a": {}}, "additionalProperties": {"type": "string"}}, [1]),
    ({"additionalProperties": {"type": "string"}}, {"b": "s", "c": 2}),
    ({"pattern": "^[0-9]{4}$"}, "2026"),
    ({"pattern": "^[0-9]{4}$"}, "20261"),
    ({"pattern": "[0-9]"}, "ab1"),
    ({"pattern": "^[0-9]{4}$"}, 2026),
    ({"format": "date"}, "2026-02-28"),
    ({"format": "date"}, "2026-02-30"),
    ({"format": "date"}, 7),
    ({"enum": ["a", "b"]}, "a"),
    ({"enum": ["a", "b"]}, "c"),
    ({"enum": ["1"]}, 1),
    ({"const": "a"}, "a"),
    ({"const": "a"}, "b"),
    ({"const": None}, None),
    ({"const": None}, 0),
    ({"const": True}, True),
    ({"const": True}, 1),
    ({"const": False}, 0),
    ({"uniqueItems": True}, ["a", "b"]),
    ({"uniqueItems": True}, ["a", "a"]),
    ({"uniqueItems": True}, "aa"),
    ({"uniqueItems": False}, ["a", "a"]),
    ({"items": {"type": "string"}}, ["a", "b"]),
    ({"items": {"type": "string"}}, ["a", 1]),
    ({"items": {"type": "string"}}, [1, "a"]),
    ({"items": {"type": "string"}}, "a"),
    ({"not": {"type": "string"}}, "a"),
    ({"not": {"type": "string"}}, 1),
    ({"if": {"const": "a"}, "then": {"minLength": 2}}, "a"),
    ({"if": {"const": "a"}, "else": {"minLength": 2}}, "b"),
    ({"if": {"const": "a"}, "then": {"minLength": 1}, "else": {"minLength": 2}}, "a"),
    ({"if": {"const": "a"}, "then": {"minLength": 2}, "else": {"minLength": 1}}, "b"),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, None),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, 1),
    ({"allOf": [{"type": "string"}, {"minLength": 2}]}, "a"),
    ({"allOf": [{"type": "string"}, {"minLength": 2}]}, "ab"),
    ({"allOf": [{"type": "string"}, {"minLength": 2}]}, 1),
    ({"oneOf": [{"type": "string"}, {"minLength": 2}]}, "ab"),
    ({"oneOf": [{"type": "string"}, {"minLength": 2}]}, "a"),
    ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, 1.5),
    ({"type": "string", "minLength": 2, "maxLength": 3}, "a"),
    ({"type": "string", "minLength": 2, "maxLength": 3}, "abcd"),
    ({"type": "string", "minLength": 2, "maxLength": 3}, "abc"),
    ({"title": "annotated", "description": "d", "type": "string"}, "x"),
    ({"if": {"const": "a"}, "else": {"minLength": 2}}, "a"),
    ({"if": {"const": "a"}, "then": {"minLength": 2}}, "b"),
    # a format deep inside is checked as at the top
    ({"allOf": [{"format": "date"}]}, "2026-02-30"),
    ({"anyOf": [{"format": "date"}]}, "2026-02-30"),
    ({"oneOf": [{"format": "date"}, {"type": "integer"}]}, "2026-02-30"),
    ({"not": {"format": "date"}}, "2026-02-30"),
    ({"if": {"format": "date"}, "then": {"const": "x"}}, "2026-02-30"),
    ({"if": {"type": "string"}, "then": {"format": "date"}}, "2026-02-30"),
    ({"if": {"type": "integer"}, "else": {"format": "date"}}, "2026-02-30"),
    ({"items": {"format": "date"}}, ["2026-02-30"]),
    ({"properties": {"d": {"format": "date"}}}, {"d": "2026-02-30"}),
    ({"additionalProperties": {"format": "date"}}, {"d": "2026-02-30"}),
    ({"title": "annotated", "description": "d", "type": "string"}, 1),
]


@pytest.mark.parametrize(("schema", "instance"), CASES)
def test_the_compiled_check_agrees_with_jsonschema_at_every_limit(
    schema: dict[str, Any] | bool, instance: Any
):
    check = compile_schema(schema, FORMATS)
    assert check is not None, "this schema should compile"
    assert check(instance) == Draft202012Validator(schema, format_checker=FORMATS).is_valid(
        instance
    )


def test_without_a_format_checker_a_format_is_only_an_annotation():
    check = compile_schema({"format": "date"}, None)
    assert check is not None
    assert check("not a date")


@pytest.mark.parametrize(
    "schema",
    [
        {"patternProperties": {"^a": {}}},
        {"properties": {"a": {}}, "patternProperties": {"^a": {}}, "additionalProperties": False},
        {"prefixItems": [{}], "items": False},
        {"enum": [1, "a"]},
        {"const": 1},
        {"minLength": -1},
        {"minLength": 1.5},
        {"maxItems": "2"},
        {"minimum": "0"},
        {"minimum": True},
        {"type": "date"},
        {"type": 7},
        {"required": "a"},
        {"required": [1]},
        {"pattern": 7},
        {"format": 7},
        {"uniqueItems": 1},
        {"anyOf": []},
        {"oneOf": "x"},
        {"properties": ["a"]},
        {"$ref": "#/x"},
        {"properties": {"a": {"$ref": "#/x"}}},
        {"items": {"$ref": "#/x"}},
        {"not": {"$ref": "#/x"}},
        {"if": {"$ref": "#/x"}},
        {"if": {}, "then": {"$ref": "#/x"}},
        {"additionalProperties": {"$ref": "#/x"}},
        "not a schema",
    ],
)
def test_a_schema_the_compiler_does_not_fully_understand_is_left_to_jsonschema(schema: Any):
    assert compile_schema(schema, FORMATS) is None


def test_unique_items_over_non_strings_is_left_undecided():
    check = compile_schema({"uniqueItems": True}, FORMATS)
    assert check is not None
    with pytest.raises(Undecided):
        check([1, 1.0])


# -- the request's shape ---------------------------------------------------------------------------

BSN = {"bsn": "999992351"}
MELDCODE = {
    "interest_served": "the safety of the child at home",
    "no_other_way": True,
    "consent_not_possible": "asking the parents would endanger the child",
    "proportionate": True,
    "minimal_information": True,
}
JUSTIFICATION = "Acute danger reported by the teacher today."


def _request(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"purpose": "safety-report", "to": "zorg-noord", "subject": BSN}
    for name, value in fields.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def test_a_request_naming_one_recipient_twice_sends_it_once_in_the_given_order():
    parsed = parse_exchange_request(
        _request(to=["zorg-noord", "swt-denhelder", "zorg-noord"]), payload_required=False
    )
    assert parsed.to == ("zorg-noord", "swt-denhelder")
    assert parse_exchange_request(_request(), payload_required=False).to == ("zorg-noord",)


def test_a_request_to_50_recipients_is_read_and_to_51_refused():
    names = [f"partner-{n:02d}" for n in range(MAX_RECIPIENTS + 1)]
    assert len(parse_exchange_request(_request(to=names[:50]), payload_required=False).to) == 50
    with pytest.raises(InvalidRequest, match="more than 50"):
        parse_exchange_request(_request(to=names), payload_required=False)


@pytest.mark.parametrize(
    "to",
    [
        [],
        ["Zorg-Noord"],
        ["z"],
        ["zorg-noord", 7],
        7,
        {"case_network": "c-1", "x": 1},
        {"case_network": 7},
        {"case_network": "bad id!"},
        {"partner": "zorg-noord"},
    ],
)
def test_a_recipient_list_of_the_wrong_shape_is_refused(to: object):
    with pytest.raises(InvalidRequest):
        parse_exchange_request(_request(to=to), payload_required=False)


def test_a_case_network_target_keeps_its_case_id():
    parsed = parse_exchange_request(
        _request(to={"case_network": "c.1_x-2"}), payload_required=False
    )
    assert parsed.to == CaseNetworkTarget("c.1_x-2")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("case_id", "bad id"),
        ("case_id", "x" * 65),
        ("case_id", 7),
        ("in_reply_to", "ex_short"),
        ("in_reply_to", "xx_12345678"),
        ("in_reply_to", 7),
    ],
)
def test_a_case_id_or_reply_reference_of_the_wrong_shape_is_refused(field: str, value: object):
    with pytest.raises(InvalidRequest, match=field):
        parse_exchange_request(_request(**{field: value}), payload_required=False)


def test_a_case_id_and_reply_reference_of_the_right_shape_are_kept():
    parsed = parse_exchange_request(
        _request(case_id="x" * 64, in_reply_to="ex_12345678", payload={"a": 1}),
        payload_required=True,
    )
    assert (parsed.case_id, parsed.in_reply_to, parsed.payload) == (
        "x" * 64,
        "ex_12345678",
        {"a": 1},
    )
    assert parsed.purpose == "safety-report"
    assert parsed.subject.value == BSN["bsn"]
    bare = parse_exchange_request(_request(), payload_required=False)
    assert (bare.case_id, bare.in_reply_to, bare.break_glass, bare.payload) == (None,) * 4


@pytest.mark.parametrize(
    "body",
    [
        _request(extra=1),
        _request(purpose=None),
        _request(to=None),
        _request(subject=None),
        _request(purpose=""),
        _request(purpose="p" * 65),
        _request(purpose=7),
        _request(payload=[1]),
        [1],
    ],
)
def test_a_request_body_of_the_wrong_shape_is_refused(body: object):
    with pytest.raises(InvalidRequest):
        parse_exchange_request(body, payload_required=False)


def test_a_message_without_a_payload_is_refused_where_one_is_required():
    with pytest.raises(InvalidRequest, match="payload"):
        parse_exchange_request(_request(), payload_required=True)
    with pytest.raises(InvalidRequest, match="payload"):
        parse_exchange_request(_request(payload=None), payload_required=True)
    body = _request()
    body["payload"] = None
    with pytest.raises(InvalidRequest, match="payload"):
        parse_exchange_request(body, payload_required=True)
    assert parse_exchange_request(_request(purpose="p" * 64), payload_required=False)


def test_break_glass_keeps_the_trimmed_answers_for_the_officers_review():
    parsed = parse_exchange_request(
        _request(break_glass={"justification": f"  {JUSTIFICATION}  ", "meldcode": MELDCODE}),
        payload_required=False,
    )
    assert parsed.break_glass is not None
    assert parsed.break_glass.to_json() == {"justification": JUSTIFICATION, "meldcode": MELDCODE}


@pytest.mark.parametrize(
    "break_glass",
    [
        {"justification": "x" * 19, "meldcode": MELDCODE},
        {"justification": " " * 30, "meldcode": MELDCODE},
        {"justification": "x" * 1001, "meldcode": MELDCODE},
        {"justification": JUSTIFICATION, "meldcode": {**MELDCODE, "no_other_way": False}},
        {"justification": JUSTIFICATION, "meldcode": {**MELDCODE, "proportionate": False}},
        {"justification": JUSTIFICATION, "meldcode": {**MELDCODE, "minimal_information": False}},
        {"justification": JUSTIFICATION, "meldcode": {**MELDCODE, "proportionate": "yes"}},
        {"justification": JUSTIFICATION, "meldcode": {**MELDCODE, "interest_served": "x" * 9}},
        {"justification": JUSTIFICATION, "meldcode": {**MELDCODE, "interest_served": "x" * 501}},
        {"justification": JUSTIFICATION, "meldcode": {**MELDCODE, "consent_not_possible": 7}},
        {"justification": JUSTIFICATION, "meldcode": {**MELDCODE, "extra": True}},
        {"justification": JUSTIFICATION},
        {"justification": JUSTIFICATION, "meldcode": MELDCODE, "extra": 1},
        "because",
    ],
)
def test_break_glass_that_fails_the_conflict_of_duties_test_is_refused(break_glass: object):
    with pytest.raises(InvalidRequest):
        parse_exchange_request(_request(break_glass=break_glass), payload_required=False)


def test_break_glass_at_its_length_limits_is_read():
    answers = {**MELDCODE, "interest_served": "x" * 10, "consent_not_possible": "y" * 500}
    parsed = parse_exchange_request(
        _request(break_glass={"justification": "j" * 20, "meldcode": answers}),
        payload_required=False,
    )
    assert parsed.break_glass is not None
    assert parsed.break_glass.justification == "j" * 20
    parse_exchange_request(
        _request(break_glass={"justification": "j" * 1000, "meldcode": MELDCODE}),
        payload_required=False,
    )


# -- the decision ----------------------------------------------------------------------------------

SWT, ZORG, GI, SCHOOL, OFFICER = (
    "swt-denhelder",
    "zorg-noord",
    "gi-noordholland",
    "school-de-es",
    "fg-denhelder",
)


def _decide(
    purpose: str,
    sender: str,
    recipients: list[str],
    *,
    role: str | None = None,
    consents: list[Any] | None = None,
    fan_out: bool = False,
    break_glass: dict[str, Any] | None = None,
    payload: bool = True,
) -> Decision:
    catalogue, partners = world()
    body: dict[str, Any] = {"purpose": purpose, "to": recipients or [SWT], "subject": BSN}
    if payload:
        body["payload"] = example(purpose)
    if break_glass is not None:
        body["break_glass"] = break_glass
    parsed = parse_exchange_request(body, payload_required=False)
    partner = partners.get(sender)
    assert partner is not None
    return decide(
        parsed,
        caller=Caller(partner, "actor-1", role or ROLES[sender]),
        recipients=recipients,
        fan_out=fan_out,
        catalogue=catalogue,
        partners=partners,
        consents=consents or [],
        now=SETTLED,
    )


def _covering(purpose: str, sender: str, recipient: str, consent_id: str = "cns-1") -> Any:
    return consent(
        consent_id,
        purposes_=frozenset({purpose}),
        senders=frozenset({sender}),
        recipients=frozenset({recipient}),
    )


def test_a_school_sending_a_referral_only_social_teams_may_send_is_refused():
    with pytest.raises(SenderNotAllowed, match="kind 'school'"):
        _decide("referral", SCHOOL, [ZORG], role="intern_begeleider")


def test_a_social_team_actor_in_a_role_the_purpose_does_not_name_is_refused():
    with pytest.raises(SenderNotAllowed, match="actor role 'gezinsvoogd'"):
        _decide("referral", SWT, [ZORG], role="gezinsvoogd")


def test_an_unknown_purpose_is_refused_before_anything_else():
    with pytest.raises(UnknownPurpose):
        _decide("no-such-purpose", SWT, [ZORG], payload=False)


def test_break_glass_on_a_purpose_that_does_not_allow_it_is_refused():
    with pytest.raises(BreakGlassNotAllowed):
        _decide(
            "referral",
            SWT,
            [ZORG],
            break_glass={"justification": JUSTIFICATION, "meldcode": MELDCODE},
        )


def test_break_glass_on_a_safety_report_discloses_on_the_break_glass_basis():
    decision = _decide(
        "safety-report",
        SCHOOL,
        [SWT],
        break_glass={"justification": JUSTIFICATION, "meldcode": MELDCODE},
    )
    assert decision.break_glass is True
    (outcome,) = decision.allowed
    assert outcome.legal_basis is not None
    assert outcome.legal_basis.type == "break_glass"
    assert outcome.legal_basis.reference.endswith("(break-glass)")
    assert outcome.consent_id is None


def test_a_statutory_purpose_discloses_on_its_statute_without_a_consent():
    # The certified institution's waiting-list status: statute, no agreement (the safety report
    # to the team needs the family's agreement since issue 19).
    decision = _decide("waiting-list-status", GI, [SWT])
    assert decision.break_glass is False
    (outcome,) = decision.allowed
    purpose = world()[0].get("waiting-list-status")
    assert purpose is not None
    # The demo team acts for the college: the statutory row, not the agreement default.
    college, _ = purpose.grounds_for("certified_institution", "social_team")
    assert outcome.legal_basis == college.basis
    assert outcome.consent_id is None
    assert decision.refused == ()
    assert decision.fields
    assert all(isinstance(f, str) for f in decision.fields)


def test_an_exchange_with_no_recipient_at_all_is_refused():
    with pytest.raises(UnknownRecipient, match="no recipient"):
        _decide("safety-report", SCHOOL, [])


@pytest.mark.parametrize("recipient", [OFFICER, "no-such-partner"])
def test_a_privacy_officer_or_an_unknown_partner_is_no_recipient(recipient: str):
    with pytest.raises(UnknownRecipient):
        _decide("safety-report", SCHOOL, [recipient])


def test_a_partner_sending_to_itself_is_refused_even_when_its_kind_may_receive():
    with pytest.raises(RecipientNotAllowed):
        _decide("closure-notice", SWT, [SWT], consents=[_covering("closure-notice", SWT, SWT)])


def test_a_recipient_of_a_kind_the_purpose_does_not_reach_is_refused():
    with pytest.raises(RecipientNotAllowed):
        _decide("safety-report", SCHOOL, [ZORG])


def test_a_consent_purpose_without_a_covering_consent_is_refused_naming_what_is_missing():
    with pytest.raises(ConsentRequired) as refused:
        _decide("closure-notice", SWT, [SCHOOL], consents=[_covering("closure-notice", SWT, ZORG)])
    missing = refused.value.extra["missing_consent"]
    assert missing == {
        "purpose": "closure-notice",
        "from": SWT,
        "to": SCHOOL,
        "given_by": ["subject"],
    }
    assert refused.value.extra["recipient"] == SCHOOL
    assert refused.value.how_to_fix.startswith(
        "Record the consent of the person themselves with POST /v1/consents"
    )
    assert refused.value.extra["reasons"] == [
        "consent cns-1: recipient 'school-de-es' (kind school) not in scope"
    ]


def test_a_covering_consent_is_the_basis_and_is_named():
    decision = _decide(
        "closure-notice", SWT, [SCHOOL], consents=[_covering("closure-notice", SWT, SCHOOL, "c-9")]
    )
    (outcome,) = decision.allowed
    assert outcome.consent_id == "c-9"
    assert outcome.legal_basis is not None
    assert outcome.legal_basis.type == "consent"


def test_a_fan_out_to_a_case_network_delivers_to_those_covered_and_reports_the_rest():
    covered = _covering("closure-notice", SWT, SCHOOL)
    decision = _decide("closure-notice", SWT, [ZORG, SCHOOL], consents=[covered], fan_out=True)
    assert [o.recipient for o in decision.allowed] == [SCHOOL]
    assert [o.recipient for o in decision.refused] == [ZORG]
    refusal = decision.refused[0].refusal
    assert refusal is not None
    assert isinstance(refusal.to_error(), ConsentRequired)


def test_a_direct_send_to_two_recipients_is_refused_whole_when_one_is_not_covered():
    covered = _covering("closure-notice", SWT, SCHOOL)
    with pytest.raises(ConsentRequired) as refused:
        _decide("closure-notice", SWT, [SCHOOL, ZORG], consents=[covered])
    assert refused.value.extra["recipient"] == ZORG


def test_a_fan_out_where_every_recipient_is_refused_raises_the_first_refusal():
    with pytest.raises(ConsentRequired) as refused:
        _decide("closure-notice", SWT, [ZORG, SCHOOL], fan_out=True)
    assert refused.value.extra["recipient"] == ZORG
    # no consent at all, so no birth date is known: the refusal says who may give it
    assert refused.value.how_to_fix.startswith(
        "Record the consent of the person (16 or older), or for a child the custodians "
        "(and from 12 the child too) with POST /v1/consents"
    )


def test_a_refused_recipient_of_a_fan_out_carries_its_refusal_as_a_value():
    covered = _covering("closure-notice", SWT, SCHOOL)
    decision = _decide("closure-notice", SWT, [ZORG, SCHOOL], consents=[covered], fan_out=True)
    (outcome,) = decision.refused
    assert outcome.refusal is not None
    assert not isinstance(outcome.refusal, BaseException)
    assert (outcome.refusal.code, outcome.refusal.status) == ("consent_required", 403)
    assert outcome.refusal.extra["recipient"] == ZORG
    assert outcome.legal_basis is None
    assert outcome.consent_id is None


def test_of_several_whole_message_refusals_the_first_in_the_documented_order_wins():
    bad_break_glass = {"justification": JUSTIFICATION, "meldcode": MELDCODE}
    # wrong kind, wrong role, break-glass where not allowed, and no recipient: the kind wins
    with pytest.raises(SenderNotAllowed, match="kind 'school'"):
        _decide("referral", SCHOOL, [], role="gezinsvoogd", break_glass=bad_break_glass)
    # the kind is right: the role is next
    with pytest.raises(SenderNotAllowed, match="actor role 'gezinsvoogd'"):
        _decide("referral", SWT, [], role="gezinsvoogd", break_glass=bad_break_glass)
    # then break-glass, before the empty list of recipients
    with pytest.raises(BreakGlassNotAllowed):
        _decide("referral", SWT, [], break_glass=bad_break_glass)


def test_of_several_refused_recipients_of_a_direct_send_the_first_named_is_answered():
    with pytest.raises(UnknownRecipient):
        _decide("safety-report", SCHOOL, [OFFICER, ZORG])
    with pytest.raises(RecipientNotAllowed):
        _decide("safety-report", SCHOOL, [ZORG, OFFICER])


def test_the_decision_lists_its_rules_in_the_order_the_module_documents():
    assert [rule.__name__ for rule in _MESSAGE_RULES.rules] == [  # type: ignore[attr-defined]
        "_sender_kind_may_send",
        "_sender_role_may_send",
        "_break_glass_only_where_allowed",
        "_sender_relates_to_subject",
        "_someone_to_send_to",
    ]
    assert [rule.__name__ for rule in _RECIPIENT_RULES.rules] == [  # type: ignore[attr-defined]
        "_recipient_kind_may_receive",
        "_recipient_is_not_the_sender",
        "_sender_relates_towards_recipient",
    ]


def test_an_all_of_without_rules_cannot_be_built():
    with pytest.raises(ValueError, match="at least one rule"):
        AllOf([])


def test_all_of_answers_the_first_refusal_and_asks_no_rule_after_it():
    asked: list[str] = []

    def rule(name: str, refuses: bool) -> Rule[int]:
        def check(_: int) -> Refusal | None:
            asked.append(name)
            return Refusal(Forbidden, name, "") if refuses else None

        return check

    rules = AllOf([rule("a", False), rule("b", True), rule("c", True)])
    refusal = rules(0)
    assert refusal is not None
    assert refusal.message == "b"
    assert asked == ["a", "b"]
    asked.clear()
    assert AllOf([rule("a", False), rule("b", False)])(0) is None
    assert asked == ["a", "b"]


def test_a_refusal_value_raises_as_the_error_it_stands_for_with_the_same_answer():
    extra = {"purpose": "p", "recipient": "r", "missing_consent": {"purpose": "p"}}
    refusal = Refusal(ConsentRequired, "no consent", "record one", extra)
    error = refusal.to_error()
    assert type(error) is ConsentRequired
    assert (refusal.code, refusal.status) == (error.code, error.status) == ("consent_required", 403)
    assert (error.message, error.how_to_fix, error.extra) == ("no consent", "record one", extra)
    assert refusal.to_body() == ConsentRequired("no consent", "record one", **extra).to_body()
    assert Refusal(UnknownRecipient, "m", "h").to_body() == {
        "error": {"code": "unknown_recipient", "message": "m", "how_to_fix": "h"}
    }


# -- replies owed ------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_a_deadline_from_the_payload_is_the_end_of_that_day_in_dutch_time():
    due = due_date({"reply_by": "2026-12-01"}, "reply_by", 10, NOW)
    assert due == datetime(2026, 12, 1, 23, 59, 59, tzinfo=DUTCH_TIME)


@pytest.mark.parametrize("payload", [{}, {"reply_by": "soon"}, {"reply_by": 20261201}])
def test_without_a_readable_date_the_deadline_is_now_plus_the_days_allowed(payload: dict[str, Any]):
    assert due_date(payload, "reply_by", 10, NOW) == NOW + timedelta(days=10)
    assert due_date({"reply_by": "2026-12-01"}, None, 3, NOW) == NOW + timedelta(days=3)


def test_codes_are_read_from_a_plain_or_a_list_path_and_only_strings_count():
    payload = {
        "topics": ["a", "b", 3],
        "answers": [{"topic": "x"}, {"topic": 7}, {"other": "y"}, "z"],
    }
    assert codes_at(payload, "topics") == ["a", "b"]
    assert codes_at(payload, "answers[].topic") == ["x"]
    assert codes_at(payload, "missing") == []
    assert codes_at({"topics": "single"}, "topics") == ["single"]
    assert codes_at({"topics": "single"}, "topics[]") == []
    assert codes_at({"a": {"b": "c"}}, "a.b") == ["c"]


ASKED_ABOUT = "ab" * 32  # the pseudonym the request was about


def _request_owed(owed_to: str = SWT) -> Expectation:
    return Expectation(
        expectation_id="exp-1",
        purpose="information-reply",
        origin_purpose="information-request",
        origin_exchange_id="ex_12345678",
        case_id=None,
        owed_by=SCHOOL,
        owed_to=owed_to,
        subject=ASKED_ABOUT,
        child_ref=None,
        opened_at=NOW,
        due_at=NOW + timedelta(days=10),
    )


def _reply_purpose() -> Any:
    purpose = world()[0].get("information-reply")
    assert purpose is not None
    assert purpose.reply_to is not None
    return purpose


def test_a_reply_must_name_the_request_it_answers_and_answer_an_open_one():
    purpose = _reply_purpose()
    with pytest.raises(InvalidRequest, match="in_reply_to"):
        check_reply(
            purpose,
            subject=ASKED_ABOUT,
            in_reply_to=None,
            recipients=[SWT],
            request=None,
            asked=None,
            payload=None,
        )
    with pytest.raises(InvalidRequest, match="no open"):
        check_reply(
            purpose,
            subject=ASKED_ABOUT,
            in_reply_to="ex_12345678",
            recipients=[SWT],
            request=None,
            asked=None,
            payload=None,
        )


def test_a_reply_goes_back_only_to_the_partner_that_asked():
    purpose = _reply_purpose()
    for recipients in ([ZORG], [SWT, ZORG], []):
        with pytest.raises(InvalidRequest, match="goes back to the partner that asked"):
            check_reply(
                purpose,
                subject=ASKED_ABOUT,
                in_reply_to="ex_12345678",
                recipients=recipients,
                request=_request_owed(),
                asked=None,
                payload=None,
            )
    check_reply(
        purpose,
        subject=ASKED_ABOUT,
        in_reply_to="ex_12345678",
        recipients=[SWT],
        request=_request_owed(),
        asked=None,
        payload=None,
    )


def test_a_reply_answering_a_topic_that_was_not_asked_is_refused_naming_where():
    purpose = _reply_purpose()
    rule = purpose.reply_to
    items = rule.items.split("[]")[0]
    field = rule.items.split("[].")[1]
    asked = {rule.allowed_from: ["school_attendance", "wellbeing"]}
    payload = {
        items: [{field: "wellbeing"}, {field: "home_situation"}, {field: "school_attendance"}]
    }
    with pytest.raises(PayloadNotMinimal) as refused:
        check_reply(
            purpose,
            subject=ASKED_ABOUT,
            in_reply_to="ex_12345678",
            recipients=[SWT],
            request=_request_owed(),
            asked=asked,
            payload=payload,
        )
    assert refused.value.extra["violations"] == [
        {"path": f"/payload/{items}/1", "message": "topic not asked in the request"}
    ]
    assert "1 topic(s)" in refused.value.message
    assert "school_attendance, wellbeing" in refused.value.how_to_fix
    payload[items] = [{field: "wellbeing"}]
    check_reply(
        purpose,
        subject=ASKED_ABOUT,
        in_reply_to="ex_12345678",
        recipients=[SWT],
        request=_request_owed(),
        asked=asked,
        payload=payload,
    )


def test_a_purpose_that_answers_nothing_needs_no_reference():
    purpose = world()[0].get("safety-report")
    assert purpose is not None
    check_reply(
        purpose,
        subject=ASKED_ABOUT,
        in_reply_to=None,
        recipients=[SWT],
        request=None,
        asked=None,
        payload=None,
    )


# -- what a payload discloses, and what a refusal of it says --------------------------------------------

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["code", "when"],
    "properties": {
        "code": {"enum": ["a", "b"]},
        "when": {"type": "string", "format": "date"},
        "note": {"type": "string", "maxLength": 5, "pattern": "^[a-z]*$"},
        "count": {"type": "integer", "minimum": 1},
        "kids": {
            "type": "array",
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {"ref": {"type": "string"}},
                "additionalProperties": False,
            },
        },
        "kind": {"const": "x"},
        "a/b~c": {"type": "string"},
    },
    "if": {"properties": {"code": {"const": "a"}}},
    "then": {"properties": {"start": {"type": "string"}}},
    "else": {"properties": {"end": {"type": "string"}}},
    "anyOf": [{"properties": {"either": {}}}],
}
VALIDATOR = PayloadSchema.compile(SCHEMA)


def _refusal(payload: dict[str, Any]) -> Any:
    with pytest.raises((SchemaViolation, PayloadNotMinimal)) as refused:
        check_payload("p", VALIDATOR, payload)
    return refused.value


def test_a_valid_payload_passes_and_discloses_its_field_paths():
    payload = {"code": "a", "when": "2026-01-01", "kids": [{"ref": "k1"}, {"ref": "k2"}]}
    check_payload("p", VALIDATOR, payload)
    assert disclosed_fields(payload) == ("code", "kids", "kids[].ref", "when")
    assert disclosed_fields({"a": {"b": [[{"c": 1}]]}}) == ("a", "a.b", "a.b[][].c")


def test_the_schema_lists_every_field_it_permits_including_conditional_ones():
    assert allowed_fields(SCHEMA) == (
        "a/b~c", "code", "count", "either", "end", "kids", "kids[].ref", "kind", "note", "start", "when",
    )  # fmt: skip
    assert allowed_fields({"properties": {"x": True}}) == ("x",)


def test_extra_fields_are_named_by_path_and_refused_as_not_minimal():
    refused = _refusal(
        {"code": "a", "when": "2026-01-01", "bsn": "x", "kids": [{"ref": "k", "name": "n"}]}
    )
    assert isinstance(refused, PayloadNotMinimal)
    assert refused.extra["violations"] == [
        {"path": "/payload/bsn", "message": "field not allowed for this purpose"},
        {"path": "/payload/kids/0/name", "message": "field not allowed for this purpose"},
    ]
    assert refused.message == "the payload carries 2 field(s) that purpose 'p' does not allow"


@pytest.mark.parametrize(
    ("payload", "path", "message"),
    [
        ({"when": "2026-01-01"}, "/payload", "missing required field(s): code"),
        (
            {"code": "c", "when": "2026-01-01"},
            "/payload/code",
            "value is not one of the allowed codes",
        ),
        (
            {"code": "a", "when": "2026-01-01", "kind": "y"},
            "/payload/kind",
            "value is not one of the allowed codes",
        ),
        ({"code": "a", "when": 7}, "/payload/when", "must be of type string"),
        (
            {"code": "a", "when": "2026-01-01", "note": "abcdef"},
            "/payload/note",
            "violates maxLength 5",
        ),
        ({"code": "a", "when": "2026-01-01", "count": 0}, "/payload/count", "violates minimum 1"),
        (
            {"code": "a", "when": "2026-01-01", "kids": [{}, {}, {}]},
            "/payload/kids",
            "violates maxItems 2",
        ),
        (
            {"code": "a", "when": "2026-01-01", "note": "AB"},
            "/payload/note",
            "does not have the required format",
        ),
        ({"code": "a", "when": "2026-02-30"}, "/payload/when", "fails the schema rule 'format'"),
        (
            {"code": "a", "when": "2026-01-01", "a/b~c": 1},
            "/payload/a~1b~0c",
            "must be of type string",
        ),
    ],
)
def test_a_schema_violation_names_the_path_and_the_rule_never_the_value(
    payload: dict[str, Any], path: str, message: str
):
    refused = _refusal(payload)
    assert isinstance(refused, SchemaViolation)
    assert {"path": path, "message": message} in refused.extra["violations"]
    assert refused.message == "the payload does not match the schema of purpose 'p'"


def test_a_field_ruled_out_by_a_false_subschema_is_refused_as_not_minimal():
    schema = {"type": "object", "properties": {"start": {}, "end": False}}
    validator = PayloadSchema.compile(schema)
    with pytest.raises(PayloadNotMinimal):
        check_payload("p", validator, {"start": 1, "end": 2})


def test_a_start_carrying_an_end_date_is_refused_naming_the_end_date_and_reason():
    catalogue, _ = world()
    purpose = catalogue.get("start-stop")
    assert purpose is not None
    payload = {**example("start-stop"), "event": "start"}
    with pytest.raises(PayloadNotMinimal) as refused:
        check_payload("start-stop", purpose.payload_schema, payload)
    assert [v["path"] for v in refused.value.extra["violations"]] == [
        "/payload/end_date",
        "/payload/end_reason",
    ]


def test_violations_are_listed_in_the_order_of_their_paths():
    refused = _refusal({"code": "a", "when": "2026-01-01", "note": "ABCDEFG", "count": 0})
    assert [v["path"] for v in refused.extra["violations"]] == [
        "/payload/count",
        "/payload/note",
        "/payload/note",
    ]


def test_two_purposes_schemas_are_never_checked_with_each_others_compiled_check():
    lenient = PayloadSchema.compile({"type": "object"})
    strict = PayloadSchema.compile({"type": "object", "additionalProperties": False})
    check_payload("lenient", lenient, {"x": 1})
    with pytest.raises(PayloadNotMinimal):
        check_payload("strict", strict, {"x": 1})


def test_a_schema_the_compiler_leaves_to_jsonschema_is_still_enforced():
    validator = PayloadSchema.compile(
        {"type": "object", "patternProperties": {"^a": {"type": "string"}}}
    )
    check_payload("p", validator, {"ab": "x"})
    with pytest.raises(SchemaViolation):
        check_payload("p", validator, {"ab": 1})


def test_a_payload_the_compiled_check_cannot_decide_is_decided_by_jsonschema():
    validator = PayloadSchema.compile(
        {"type": "object", "properties": {"l": {"uniqueItems": True}}}
    )
    check_payload("p", validator, {"l": [1, 2]})
    with pytest.raises(SchemaViolation):
        check_payload("p", validator, {"l": [1, 1.0]})


def test_a_date_that_does_not_exist_is_refused_by_the_payload_check():
    validator = PayloadSchema.compile(
        {"type": "object", "properties": {"d": {"type": "string", "format": "date"}}}
    )
    check_payload("p", validator, {"d": "2026-02-28"})
    with pytest.raises(SchemaViolation):
        check_payload("p", validator, {"d": "2026-02-30"})


def test_allowed_fields_follows_every_combinator_and_conditional_under_its_parent() -> None:
    schema: dict[str, Any] = {
        "properties": {
            "a": {
                "allOf": [{"properties": {"b": {}}}],
                "anyOf": [{"properties": {"c": {}}}],
                "oneOf": [{"properties": {"d": {}}}],
                "if": {"properties": {"e": {}}},
                "then": {"properties": {"f": {}}},
                "else": {"properties": {"g": {}}},
            }
        },
        "allOf": [{"properties": {"h": {}}}],
        "oneOf": [{"properties": {"i": {}}}],
        "if": {"properties": {"j": {}}},
    }
    assert allowed_fields(schema) == (
        "a",
        "a.b",
        "a.c",
        "a.d",
        "a.e",
        "a.f",
        "a.g",
        "h",
        "i",
        "j",
    )


def test_allowed_fields_of_a_top_level_list_are_named_from_the_empty_path() -> None:
    assert allowed_fields({"items": {"properties": {"k": {}}}}) == ("[].k",)


@pytest.mark.parametrize(
    ("schema", "instance", "described"),
    [
        ({"required": ["a", "b", "c"]}, {"b": 1}, "missing required field(s): a, c"),
        ({"type": ["string", "null"]}, {}, "must be of type ['string', 'null']"),
        ({"enum": ["x", "y"]}, {}, "value is not one of the allowed codes"),
        ({"minProperties": 2}, {}, "fails the schema rule 'minProperties'"),
        ({"maxLength": 1}, "ab", "violates maxLength 1"),
        ({"minLength": 3}, "ab", "violates minLength 3"),
        ({"maxItems": 1}, [1, 2], "violates maxItems 1"),
        ({"minItems": 3}, [1], "violates minItems 3"),
        ({"maximum": 1}, 2, "violates maximum 1"),
        ({"minimum": 3}, 2, "violates minimum 3"),
        ({"pattern": "^a$"}, "b", "does not have the required format"),
    ],
)
def test_a_violation_is_described_by_its_rule_and_limit_never_its_value(
    schema: dict[str, Any], instance: Any, described: str
) -> None:
    errors = list(Draft202012Validator(schema).iter_errors(instance))
    assert errors
    assert {_describe(error) for error in errors} == {described}


def _closes(
    owed: list[Expectation],
    *,
    purpose: str = "information-reply",
    recipients: tuple[str, ...] = (SWT,),
    in_reply_to: str | None = None,
    case_id: str | None = None,
    subject: str = ASKED_ABOUT,
    payload: dict[str, Any] | None = None,
) -> tuple[str, ...]:
    catalogued = world()[0].get(purpose)
    assert catalogued is not None
    effects = plan_effects(
        purpose=catalogued,
        exchange_id="ex_reply",
        sender=SCHOOL,
        recipients=recipients,
        case_id=case_id,
        subject=subject,
        payload={} if payload is None else payload,
        in_reply_to=in_reply_to,
        owed_by_sender=owed,
        household=(),
        now=NOW,
        seal=lambda data, _id: data,
        new_id=lambda: "exp-new",
    )
    return effects.close


def _owed(expectation_id: str, **overrides: Any) -> Expectation:
    return replace(_request_owed(), expectation_id=expectation_id, **overrides)


def test_a_reply_closes_only_what_it_answers_by_request_or_case_to_its_recipient() -> None:
    owed = [
        _owed("by-request"),
        _owed("by-case", origin_exchange_id=None, case_id="case_1"),
        _owed("other-purpose", purpose="closure-notice"),
        _owed("to-another", owed_to=ZORG),
        _owed("other-request", origin_exchange_id="ex_other"),
        _owed("other-case", origin_exchange_id=None, case_id="case_2"),
    ]
    assert _closes(owed, in_reply_to="ex_12345678") == ("by-request",)
    assert _closes(owed, case_id="case_1") == ("by-case",)
    assert _closes(owed, in_reply_to="ex_12345678", case_id="case_1") == ("by-request", "by-case")
    assert _closes(owed) == ()


def test_a_reply_about_another_person_closes_nothing_but_one_about_nobody_in_particular() -> None:
    owed = [_owed("about-them"), _owed("about-nobody", subject=None)]
    assert _closes(owed, in_reply_to="ex_12345678", subject="cd" * 32) == ("about-nobody",)


def test_a_per_child_expectation_closes_only_when_the_reply_names_that_child() -> None:
    owed = [_owed("child-a", child_ref="kind-a"), _owed("child-b", child_ref="kind-b")]
    payload = {"children": [{"child_ref": "kind-a"}]}
    assert _closes(owed, in_reply_to="ex_12345678", payload=payload) == ("child-a",)
    assert _closes(owed, in_reply_to="ex_12345678") == ()


def test_the_deadline_ignores_the_payload_when_the_purpose_names_no_date_field() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert due_date({"": "2026-12-24"}, "", 5, now) == now + timedelta(days=5)
    assert due_date({"": "2026-12-24"}, None, 5, now) == now + timedelta(days=5)


def test_a_request_that_asked_no_topics_lets_its_reply_answer_none() -> None:
    purpose = _reply_purpose()
    items = purpose.reply_to.items.split("[]")[0]
    field = purpose.reply_to.items.split("[].")[1]
    with pytest.raises(PayloadNotMinimal):
        check_reply(
            purpose,
            subject=ASKED_ABOUT,
            in_reply_to="ex_12345678",
            recipients=[SWT],
            request=_request_owed(),
            asked={},
            payload={items: [{field: "wellbeing"}]},
        )


@pytest.mark.parametrize("recipient", [OFFICER, "no-such-partner"])
def test_a_refusal_of_an_unknown_recipient_names_it_the_purpose_and_where_to_look(recipient: str):
    with pytest.raises(UnknownRecipient) as refused:
        _decide("safety-report", SCHOOL, [recipient])
    assert refused.value.message == f"recipient '{recipient}' is not a registered partner"
    assert refused.value.how_to_fix is not None
    assert "GET /v1/partners" in refused.value.how_to_fix
    assert refused.value.extra == {"purpose": "safety-report", "recipient": recipient}


def test_the_givers_a_refusal_asks_for_are_named_in_words_joined_by_and() -> None:
    assert _givers(["subject", "custodian"]) == (
        "the person themselves and a custodian (gezagsdrager)"
    )
    assert _givers(["custodian"]) == "a custodian (gezagsdrager)"
    assert _givers(["guardian"]) == "guardian"


def test_a_field_ruled_out_by_a_false_subschema_inside_a_list_is_named_with_its_index():
    schema = PayloadSchema.compile(
        {
            "type": "object",
            "properties": {
                "kids": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"a": {"type": "string"}, "b": False},
                    },
                }
            },
        }
    )
    with pytest.raises(PayloadNotMinimal) as refused:
        check_payload("p", schema, {"kids": [{"a": "x"}, {"a": "y", "b": 1}]})
    assert [v["path"] for v in refused.value.extra["violations"]] == ["/payload/kids/1/b"]


def test_a_false_subschema_that_is_no_property_schema_is_named_by_where_it_stands():
    schema = PayloadSchema.compile({"type": "object", "properties": {"x": {"allOf": [False]}}})
    with pytest.raises(PayloadNotMinimal) as refused:
        check_payload("p", schema, {"x": 1})
    assert [v["path"] for v in refused.value.extra["violations"]] == ["/payload/x"]
