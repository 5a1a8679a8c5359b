"""Refusals of the policy core as the partner receives them: code, message, fix and details.

The error object is the contract's answer to a refused exchange (CONTRACT.md, errors); a
partner's developer acts on its `how_to_fix`. Each test pins the whole body, so a changed
word, id or detail fails here (mutation testing, `make mutate`, docs/mutation-testing.md,
showed the suite let such slips through in the lines after a `raise`).
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import GatewayError
from gateway.policy.cases import case_not_found
from tests.test_core_edges_policy import GI, SCHOOL, SWT, ZORG, _decide


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
