"""The policy core's answers as the partner receives them: refusals, decisions, payload checks.

The error object is the contract's answer to a refused exchange (CONTRACT.md, errors); a
partner's developer acts on its `how_to_fix`. Each test pins the whole body, so a changed
word, id or detail fails here (mutation testing, `make mutate`, docs/mutation-testing.md,
showed the suite let such slips through in the lines after a `raise`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gateway.config.compiled_schema import compile_schema
from gateway.config.purposes import LegalBasis
from gateway.errors import (
    ConsentRequired,
    GatewayError,
    InvalidRequest,
    InvalidSubject,
    PayloadNotMinimal,
)
from gateway.policy import decide
from gateway.policy.cases import case_not_found
from gateway.policy.decision import Caller, Decision, RecipientDecision
from gateway.policy.request import parse_exchange_request
from tests.conftest import ROLES, example
from tests.test_core_edges_policy import (
    BSN,
    FORMATS,
    GI,
    JUSTIFICATION,
    MELDCODE,
    SCHOOL,
    SWT,
    ZORG,
    _covering,
    _decide,
)
from tests.test_properties import SETTLED, consent, world


def refusal_body(purpose: str, sender: str, recipients: list[str]) -> dict[str, Any]:
    with pytest.raises(GatewayError) as refused:
        _decide(purpose, sender, recipients)
    return refused.value.to_body()


def test_a_recipient_the_purpose_does_not_reach_is_refused_naming_the_kinds_it_does():
    assert refusal_body("safety-report", SCHOOL, [ZORG]) == {
        "error": {
            "code": "recipient_not_allowed",
            "message": "recipient 'zorg-noord' (kind 'care_provider') may not receive purpose "
            "'safety-report'",
            "how_to_fix": "Purpose 'safety-report' goes only to social_team (and never to the "
            "sender itself).",
            "purpose": "safety-report",
            "recipient": "zorg-noord",
        }
    }


def test_an_unknown_recipient_is_refused_pointing_at_the_partner_list():
    assert refusal_body("safety-report", SCHOOL, ["nobody"]) == {
        "error": {
            "code": "unknown_recipient",
            "message": "recipient 'nobody' is not a registered partner",
            "how_to_fix": "Check the partner id; GET /v1/partners lists the registered partners.",
            "purpose": "safety-report",
            "recipient": "nobody",
        }
    }


def test_a_purpose_reaching_several_kinds_names_them_all_in_order():
    assert refusal_body("information-request", SWT, [GI]) == {
        "error": {
            "code": "recipient_not_allowed",
            "message": "recipient 'gi-noordholland' (kind 'certified_institution') may not "
            "receive purpose 'information-request'",
            "how_to_fix": "Purpose 'information-request' goes only to care_provider, school (and "
            "never to the sender itself).",
            "purpose": "information-request",
            "recipient": "gi-noordholland",
        }
    }


def test_a_case_a_partner_is_no_member_of_is_answered_as_not_found_saying_who_can_add_it():
    assert case_not_found().to_body() == {
        "error": {
            "code": "not_found",
            "message": "no case you are a member of has this id",
            "how_to_fix": "Check the case id; the social team that directs the case can "
            "register your organisation in its network.",
        }
    }


WAITING_BASIS = "Jeugdwet art. 2.4 lid 2; art. 3.5; art. 7.4.0"
# The safety report's break-glass ground: the conflict of duties (issue 19).
BREAK_GLASS_BASIS = (
    "AVG art. 6 lid 1 sub d; art. 9 lid 2 sub c; UAVG art. 22 lid 2 sub b; conflict of duties "
    "weighed under the Wet verplichte meldcode"
)


def test_each_allowed_recipient_is_named_with_the_basis_it_receives_on():
    assert _decide("waiting-list-status", GI, [SWT]).recipients == (
        RecipientDecision(SWT, LegalBasis("statute", WAITING_BASIS), None, None),
    )
    glass = {"justification": JUSTIFICATION, "meldcode": MELDCODE}
    assert _decide("safety-report", SCHOOL, [SWT], break_glass=glass).recipients == (
        RecipientDecision(
            SWT, LegalBasis("break_glass", f"{BREAK_GLASS_BASIS} (break-glass)"), None, None
        ),
    )


def _closure_notice(
    records: list[Any], *, held: date | None = None, now: datetime = SETTLED
) -> Decision:
    """The team's closure notice to the school, decided on these records at ``now``."""
    catalogue, partners = world()
    body = {"purpose": "closure-notice", "to": [SCHOOL], "subject": BSN}
    request = parse_exchange_request(
        {**body, "payload": example("closure-notice")}, payload_required=False
    )
    partner = partners.get(SWT)
    assert partner is not None
    return decide(
        request,
        caller=Caller(partner, "actor-1", ROLES[SWT]),
        recipients=[SCHOOL],
        fan_out=False,
        catalogue=catalogue,
        partners=partners,
        consents=records,
        now=now,
        held_birth_date=held,
    )


CONSENT_BASIS = LegalBasis(
    "consent",
    "AVG art. 6 lid 1 sub e; Jeugdwet art. 7.3.11 lid 1 / BW art. 7:457 lid 1 (client's agreement)",
)


def test_the_birth_date_the_gateway_holds_decides_whose_consent_the_exchange_needs():
    # An adult's own consent by its record; the gateway holds a 10-year-old.
    records = [_covering("closure-notice", SWT, SCHOOL)]
    assert _closure_notice(records).recipients == (
        RecipientDecision(SCHOOL, CONSENT_BASIS, "cns-1", None),
    )
    with pytest.raises(ConsentRequired) as refused:
        _closure_notice(records, held=date(2016, 1, 1))
    assert refused.value.extra["missing_consent"]["given_by"] == ["custodian"]


def test_a_consent_counts_from_its_first_day_in_dutch_time():
    starts = consent(
        "cns-1",
        purposes_=frozenset({"closure-notice"}),
        senders=frozenset({SWT}),
        recipients=frozenset({SCHOOL}),
        valid_from=date(2026, 1, 5),
    )
    # 23:30 UTC on 4 January is 00:30 on 5 January in the Netherlands.
    decision = _closure_notice([starts], now=datetime(2026, 1, 4, 23, 30, tzinfo=UTC))
    assert decision.recipients == (RecipientDecision(SCHOOL, CONSENT_BASIS, "cns-1", None),)


def test_a_consent_that_ended_at_dutch_midnight_is_explained_as_expired():
    ended = consent(
        "cns-1",
        purposes_=frozenset({"closure-notice"}),
        senders=frozenset({SWT}),
        recipients=frozenset({SCHOOL}),
        valid_until=date(2026, 1, 5),
    )
    # 23:30 UTC on 4 January is 00:30 on 5 January in the Netherlands: the consent has ended.
    with pytest.raises(ConsentRequired) as refused:
        _closure_notice([ended], now=datetime(2026, 1, 4, 23, 30, tzinfo=UTC))
    assert refused.value.extra["reasons"] == ["consent cns-1: expired on 2026-01-05"]


def test_a_consent_required_refusal_names_what_to_record_and_why_each_known_record_falls_short():
    # Recorded by another partner, naming the team by its id: the team is party to it (a
    # `kind:social_team` entry would not make it one: tests/test_review_findings_i17.py).
    other = consent(
        "cns-7",
        purposes_=frozenset({"referral"}),
        senders=frozenset({ZORG}),
        recipients=frozenset({SWT}),
    )
    with pytest.raises(ConsentRequired) as refused:
        _closure_notice([replace(other, recorded_by=ZORG)])
    assert refused.value.to_body() == {
        "error": {
            "code": "consent_required",
            "message": "purpose 'closure-notice' needs consent, and no active consent covers "
            "sending it from 'swt-denhelder' to 'school-de-es' about this subject",
            "how_to_fix": "Record the consent of the person themselves with POST /v1/consents "
            "(purposes ['closure-notice'], from ['swt-denhelder'], to ['school-de-es'] or "
            "['kind:school']), then send again.",
            "purpose": "closure-notice",
            "recipient": "school-de-es",
            "missing_consent": {
                "purpose": "closure-notice",
                "from": "swt-denhelder",
                "to": "school-de-es",
                "given_by": ["subject"],
            },
            "reasons": [
                "consent cns-7: purpose 'closure-notice' not in scope",
                "consent cns-7: sender 'swt-denhelder' not in scope",
                "consent cns-7: recipient 'school-de-es' (kind school) not in scope",
            ],
        }
    }


LOCAL_PUPIL = {"system": "https://denhelder.nl/id/leerling-lokaal", "value": "DH-123456"}


def _request(**changes: Any) -> dict[str, Any]:
    return {"purpose": "closure-notice", "to": [SCHOOL], "subject": BSN, **changes}


def test_a_subject_by_a_declared_identifier_is_taken_only_where_the_catalogue_declares_it():
    body = _request(subject={"identifier": LOCAL_PUPIL})
    systems = world()[0].identifier_systems
    parsed = parse_exchange_request(body, payload_required=False, identifier_systems=systems)
    assert (parsed.subject.kind, parsed.subject.system) == ("identifier", LOCAL_PUPIL["system"])
    for undeclared in ({}, {"identifier_systems": None}):
        with pytest.raises(InvalidSubject) as refused:
            parse_exchange_request(body, payload_required=False, **undeclared)
        assert refused.value.to_body()["error"]["how_to_fix"] == (
            'This gateway accepts a subject only as {"bsn": "<9 digits>"}.'
        )


def test_a_missing_payload_is_named_where_one_is_required_and_a_one_letter_purpose_is_parsed():
    with pytest.raises(InvalidRequest) as refused:
        parse_exchange_request(_request(), payload_required=True)
    assert refused.value.message == "missing required field(s): payload"
    assert parse_exchange_request(_request(purpose="x"), payload_required=False).purpose == "x"


@pytest.mark.parametrize(
    "break_glass",
    ["now", {"justification": "too short", "meldcode": MELDCODE}, {"justification": "j" * 30}],
)
def test_a_malformed_break_glass_is_answered_with_the_five_meldcode_questions(break_glass: Any):
    with pytest.raises(InvalidRequest) as refused:
        parse_exchange_request(_request(break_glass=break_glass), payload_required=False)
    assert refused.value.how_to_fix == (
        "Give break_glass as {justification, meldcode: {interest_served, no_other_way, "
        "consent_not_possible, proportionate, minimal_information}}: the five questions of the "
        "meldcode's conflict-of-duties test."
    )


def test_a_decision_without_a_payload_discloses_no_fields_and_a_refused_payload_names_its_purpose():
    assert _decide("waiting-list-status", GI, [SWT], payload=False).fields == ()
    catalogue, partners = world()
    body = _request(
        purpose="waiting-list-status", to=[SWT], payload={**example("waiting-list-status")}
    )
    body["payload"]["diagnosis"] = "x"
    partner = partners.get(GI)
    assert partner is not None
    with pytest.raises(PayloadNotMinimal) as refused:
        decide(
            parse_exchange_request(body, payload_required=False),
            caller=Caller(partner, "actor-1", ROLES[GI]),
            recipients=[SWT],
            fan_out=False,
            catalogue=catalogue,
            partners=partners,
            consents=[],
            now=SETTLED,
        )
    assert refused.value.extra["purpose"] == "waiting-list-status"


def test_a_declared_identifier_is_refused_for_a_purpose_its_system_is_not_declared_for():
    body = _request(purpose="referral", to=[ZORG], subject={"identifier": LOCAL_PUPIL})
    systems = world()[0].identifier_systems
    with pytest.raises(InvalidSubject) as refused:
        parse_exchange_request(body, payload_required=False, identifier_systems=systems)
    assert refused.value.message == (
        "identifier system 'https://denhelder.nl/id/leerling-lokaal' is not accepted for "
        "purpose(s) referral"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("case_id", "bad id", "'case_id' must be a case id of letters, digits, '.', '_' or '-'"),
        ("in_reply_to", "nope", "'in_reply_to' must be an exchange id ('ex_...')"),
    ],
)
def test_a_malformed_reference_is_refused_saying_what_it_must_be(
    field: str, value: str, message: str
):
    with pytest.raises(InvalidRequest) as refused:
        parse_exchange_request(_request(**{field: value}), payload_required=False)
    assert refused.value.message == message


# -- the payload check's quick yes (gateway/policy/compiled.py) -------------------------------
# The compiled check's answer stands in for jsonschema's, so where it answers it must agree.


@pytest.mark.parametrize(
    ("schema", "instance", "valid"),
    [
        ({"properties": {"a": {}}, "additionalProperties": True}, {"b": 1}, True),
        ({"properties": {"a": {}}, "additionalProperties": False}, {"b": 1}, False),
        ({"maxLength": 0}, "", True),
        ({"maxLength": 0}, "a", False),
        ({"minItems": 0}, [], True),
        ({"maxItems": 0}, [1], False),
    ],
)
def test_the_compiled_check_answers_as_jsonschema_for_open_objects_and_zero_limits(
    schema: dict[str, Any], instance: Any, valid: bool
):
    check = compile_schema(schema, FORMATS)
    assert check is not None
    assert check(instance) is valid
    assert Draft202012Validator(schema, format_checker=FORMATS).is_valid(instance) is valid
