"""The replies an exchange makes owed, pinned whole (`plan_effects`).

An expectation is what the overdue notices and the officer's pages count on: who owes which
reply to whom, about which person or child, by when, bound to which codes. Each test compares
the complete effects with literal ones, so a dropped case id, child or deadline fails here
(mutation testing, `make mutate`, docs/mutation-testing.md, showed the suite let such slips
through).
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.clock import DUTCH_TIME
from gateway.policy.workflow import check_reply, plan_effects
from gateway.store.base import ExchangeEffects, Expectation, HouseholdChild
from tests.test_core_edges_policy import ASKED_ABOUT, _reply_purpose, _request_owed
from tests.test_properties import world

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TEAM, PROVIDER, OTHER_PROVIDER, SCHOOL = (
    "swt-denhelder",
    "zorg-noord",
    "zorg-zuid",
    "school-de-es",
)
FAMILY = "ab" * 32
CHILDREN = (
    HouseholdChild("case_1", "kind-1", "c1" * 32, TEAM, NOW),
    HouseholdChild("case_1", "kind-2", "c2" * 32, TEAM, NOW),
)


def effects(purpose: str, recipients: list[str], **changes: Any) -> ExchangeEffects:
    catalogued = world()[0].get(purpose)
    assert catalogued is not None
    ids = (f"exp-{n}" for n in itertools.count(1))
    arguments: dict[str, Any] = {
        "purpose": catalogued,
        "exchange_id": "ex_1",
        "sender": TEAM,
        "recipients": recipients,
        "case_id": "case_1",
        "subject": FAMILY,
        "payload": {},
        "in_reply_to": None,
        "owed_by_sender": (),
        "household": CHILDREN,
        "now": NOW,
        # A visible stand-in for sealing: what was sealed, for which expectation.
        "seal": lambda data, expectation_id: expectation_id.encode() + b":" + data,
        "new_id": lambda: next(ids),
    }
    arguments.update(changes)
    return plan_effects(**arguments)


def owed(n: int, purpose: str, by: str, due: datetime, **changes: Any) -> Expectation:
    fields: dict[str, Any] = {
        "expectation_id": f"exp-{n}",
        "purpose": purpose,
        "origin_purpose": "referral",
        "origin_exchange_id": "ex_1",
        "case_id": "case_1",
        "owed_by": by,
        "owed_to": TEAM,
        "subject": FAMILY,
        "child_ref": None,
        "opened_at": NOW,
        "due_at": due,
    }
    fields.update(changes)
    return Expectation(**fields)


def test_a_referral_makes_each_recipient_owe_a_start_an_evaluation_and_one_assessment_a_child():
    in_10_days = NOW + timedelta(days=10)
    evaluation = datetime(2027, 3, 1, 23, 59, 59, tzinfo=DUTCH_TIME)
    result = effects(
        "referral", [PROVIDER, OTHER_PROVIDER], payload={"evaluation_date": "2027-03-01"}
    )
    assert result == ExchangeEffects(
        open=(
            owed(1, "start-stop", PROVIDER, in_10_days),
            owed(2, "start-stop", OTHER_PROVIDER, in_10_days),
            owed(3, "evaluation-feedback", PROVIDER, evaluation),
            owed(4, "evaluation-feedback", OTHER_PROVIDER, evaluation),
            owed(
                5, "safety-assessment", PROVIDER, in_10_days, subject="c1" * 32, child_ref="kind-1"
            ),
            owed(
                6, "safety-assessment", PROVIDER, in_10_days, subject="c2" * 32, child_ref="kind-2"
            ),
            owed(
                7,
                "safety-assessment",
                OTHER_PROVIDER,
                in_10_days,
                subject="c1" * 32,
                child_ref="kind-1",
            ),
            owed(
                8,
                "safety-assessment",
                OTHER_PROVIDER,
                in_10_days,
                subject="c2" * 32,
                child_ref="kind-2",
            ),
        ),
        close=(),
        closed_by="ex_1",
        closed_at=NOW,
    )


def test_without_a_household_or_a_case_the_referred_person_is_owed_one_of_each():
    result = effects("referral", [PROVIDER], household=(), case_id=None)
    in_10_days, in_90_days = NOW + timedelta(days=10), NOW + timedelta(days=90)
    assert result.open == (
        owed(1, "start-stop", PROVIDER, in_10_days, case_id=None),
        owed(2, "evaluation-feedback", PROVIDER, in_90_days, case_id=None),
        owed(3, "safety-assessment", PROVIDER, in_10_days, case_id=None),
    )


def test_an_information_request_binds_the_reply_to_the_topics_it_asked_sealed_per_expectation():
    topics = ["school-attendance", "wellbeing"]
    result = effects(
        "information-request",
        [SCHOOL],
        payload={"topics": topics, "reply_by": "2026-12-01"},
        household=(),
    )
    asked = json.dumps({"topics": topics}).encode()
    assert result.open == (
        owed(
            1,
            "information-reply",
            SCHOOL,
            datetime(2026, 12, 1, 23, 59, 59, tzinfo=DUTCH_TIME),
            origin_purpose="information-request",
            constraints=b"exp-1:" + asked,
        ),
    )


def test_a_purpose_that_expects_no_reply_opens_nothing_and_binds_nothing():
    result = effects("closure-notice", [SCHOOL], household=())
    assert result == ExchangeEffects(open=(), close=(), closed_by="ex_1", closed_at=NOW)


def test_a_reply_to_a_request_that_bound_no_topics_may_answer_any():
    purpose = _reply_purpose()
    items, field = purpose.reply_to.items.split("[].")
    check_reply(
        purpose,
        subject=ASKED_ABOUT,
        in_reply_to="ex_12345678",
        recipients=[TEAM],
        request=_request_owed(TEAM),
        asked=None,
        payload={items: [{field: "wellbeing"}, {field: "anything"}]},
    )
