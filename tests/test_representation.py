"""Who may agree for whom: the representative acting, at every age boundary and for each kind.

The exchange day is 25 November 2026; each birth date below puts the subject on the day before
or the day of its 12th, 16th or 18th birthday. The rules are docs/legal-basis.md section 8.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from consent import (
    Authority,
    ConsentRecord,
    Evidence,
    Giver,
    MinorDecision,
    explain_missing,
    find_covering_consent,
    missing_givers,
    verify_givers,
)
from consent.evaluate import Viewer
from consent.parse import parse_consent_request
from consent.representation import authority_satisfied, contradiction
from gateway.errors import ConsentInvalid, InvalidRequest

ON = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
DAY_BEFORE_12 = date(2014, 11, 26)
ON_12 = date(2014, 11, 25)
DAY_BEFORE_16 = date(2010, 11, 26)
ON_16 = date(2010, 11, 25)
DAY_BEFORE_18 = date(2008, 11, 26)
ON_18 = date(2008, 11, 25)

REGISTER = Authority(established_by="gezagsregister", reference="gezagsregister 2026-0113")
ORDER = Authority(established_by="court_order", reference="beschikking C/19/2026/17")
SUBJECT = Giver("subject")
ALONE = Giver(
    "subject", decides_alone=MinorDecision(ground="serious_harm", reference="assessment 2026-4")
)
SOLE = Giver("parent_sole_authority", authority=REGISTER)
JOINT_A = Giver("parent_joint_authority", "A. de Vries", authority=REGISTER)
JOINT_B = Giver("parent_joint_authority", "B. de Vries", authority=REGISTER)
GUARDIAN = Giver("guardian", authority=ORDER)
GUARDIAN_GI = Giver("guardian_gi", authority=ORDER)
MENTOR = Giver("mentor", authority=ORDER)
CURATOR = Giver("curator", authority=ORDER)
CUSTODIAN = Giver("custodian")
PSEUDONYM = "cd" * 32
RECORDER = Viewer(partner="swt-noord", kind="social_team")
EXCHANGE: dict[str, Any] = {
    "purpose": "closure-notice",
    "sender": "swt-noord",
    "recipient": "school-de-es",
    "recipient_kind": "school",
}


def _record(birth_date: date | None, *givers: Giver, recorded: date = ON) -> ConsentRecord:
    return ConsentRecord(
        consent_id="cns-7",
        subject=PSEUDONYM,
        birth_date=birth_date,
        given_by=givers,
        purposes=frozenset({"closure-notice"}),
        senders=frozenset({"swt-noord"}),
        recipients=frozenset({"school-de-es"}),
        valid_from=date(2020, 1, 1),
        valid_until=None,
        evidence=Evidence(method="written", reference="dossier 2026-17"),
        recorded_by="swt-noord",
        recorded_at=datetime(recorded.year, recorded.month, recorded.day, 9, tzinfo=UTC),
    )


# (birth date, givers, covers on the exchange day)
BOUNDARIES: dict[str, tuple[date, tuple[Giver, ...], bool]] = {
    "11: the parent with sole authority alone": (DAY_BEFORE_12, (SOLE,), True),
    "11: both holders of joint authority": (DAY_BEFORE_12, (JOINT_A, JOINT_B), True),
    "11: one holder of joint authority alone": (DAY_BEFORE_12, (JOINT_A,), False),
    "11: a guardian (person)": (DAY_BEFORE_12, (GUARDIAN,), True),
    "11: a certified institution as guardian": (DAY_BEFORE_12, (GUARDIAN_GI,), True),
    "11: a legacy custodian": (DAY_BEFORE_12, (CUSTODIAN,), True),
    "11: the child alone": (DAY_BEFORE_12, (SUBJECT,), False),
    "11: the child deciding alone": (DAY_BEFORE_12, (ALONE,), False),
    "11: a curator": (DAY_BEFORE_12, (CURATOR,), False),
    "12: the parent with sole authority alone": (ON_12, (SOLE,), False),
    "12: child and the parent with sole authority": (ON_12, (SUBJECT, SOLE), True),
    "12: child and one holder of joint authority": (ON_12, (SUBJECT, JOINT_A), False),
    "12: child and both holders of joint authority": (ON_12, (SUBJECT, JOINT_A, JOINT_B), True),
    "12: child and the certified institution as guardian": (ON_12, (SUBJECT, GUARDIAN_GI), True),
    "12: the child alone": (ON_12, (SUBJECT,), False),
    "12: the child deciding alone": (ON_12, (ALONE,), True),
    "15: the child deciding alone": (DAY_BEFORE_16, (ALONE,), True),
    "15: the child alone": (DAY_BEFORE_16, (SUBJECT,), False),
    "15: both holders without the child": (DAY_BEFORE_16, (JOINT_A, JOINT_B), False),
    "16: the youth alone": (ON_16, (SUBJECT,), True),
    "16: both holders without the youth": (ON_16, (JOINT_A, JOINT_B), False),
    "17: a mentor without the youth": (DAY_BEFORE_18, (MENTOR,), False),
    "17: the youth alone": (DAY_BEFORE_18, (SUBJECT,), True),
    "18: a mentor alone": (ON_18, (MENTOR,), True),
    "18: a curator alone": (ON_18, (CURATOR,), True),
    "18: the adult alone": (ON_18, (SUBJECT,), True),
}


@pytest.mark.parametrize(("birth_date", "givers", "covers"), BOUNDARIES.values(), ids=BOUNDARIES)
def test_who_may_agree_changes_exactly_on_the_12th_16th_and_18th_birthday(
    birth_date: date, givers: tuple[Giver, ...], covers: bool
) -> None:
    record = _record(birth_date, *givers, recorded=date(2008, 11, 25))
    found = find_covering_consent([record], **EXCHANGE, on=NOW, held_birth_date=birth_date)
    assert (found is record) is covers
    assert (missing_givers(birth_date, givers, ON) == frozenset()) is covers


def test_an_exchange_refused_for_one_holder_of_joint_authority_names_the_other_holder() -> None:
    record = _record(DAY_BEFORE_12, JOINT_A)
    missing = explain_missing([record], **EXCHANGE, on=NOW, viewer=RECORDER)
    assert missing.given_by == ("custodian",)
    assert missing.reasons == (
        "consent cns-7: givers not sufficient for a subject aged under 12: the other holder of "
        "joint authority (parent_joint_authority) must consent too",
    )


def test_a_childs_own_agreement_without_the_parents_is_refused_naming_the_custodian() -> None:
    missing = explain_missing([_record(ON_12, SUBJECT)], **EXCHANGE, on=NOW, viewer=RECORDER)
    assert missing.reasons == (
        "consent cns-7: givers not sufficient for a subject aged 12 to 15: a custodian "
        "(gezagsdrager) must consent too",
    )


def test_recording_for_one_holder_of_joint_authority_is_refused_naming_the_other_holder() -> None:
    with pytest.raises(ConsentInvalid) as refused:
        verify_givers(DAY_BEFORE_12, (JOINT_A,), ON)
    assert "lacks the other holder of joint authority (parent_joint_authority)" in str(
        refused.value.message
    )
    assert refused.value.how_to_fix == (
        "Record the consent with given_by including a custodian (gezagsdrager) (a holder of "
        "authority: the parent with sole authority, both holders of joint authority, or the "
        "guardian, each with its authority evidence)."
    )


def test_the_childs_decision_to_agree_alone_still_holds_after_its_16th_birthday() -> None:
    record = _record(DAY_BEFORE_16, ALONE, recorded=date(2026, 11, 24))
    assert find_covering_consent([record], **EXCHANGE, on=NOW, held_birth_date=DAY_BEFORE_16)
    # One day later the youth is 16 and agrees alone anyway.
    assert missing_givers(DAY_BEFORE_16, (ALONE,), date(2026, 11, 26)) == frozenset()


def test_a_sole_parents_agreement_for_an_eleven_year_old_stops_on_the_12th_birthday() -> None:
    record = _record(ON_12, SOLE, recorded=date(2026, 11, 24))
    missing = explain_missing([record], **EXCHANGE, on=NOW, viewer=RECORDER, held_birth_date=ON_12)
    assert missing.reasons == (
        "consent cns-7: givers no longer sufficient because the subject turned 12: the subject "
        "must consent too",
    )


# -- which representative may act for whom, checked when the agreement is recorded -----------


@pytest.mark.parametrize(
    ("birth_date", "givers", "accepted"),
    [
        (DAY_BEFORE_18, (SUBJECT, MENTOR), False),
        (ON_18, (MENTOR,), True),
        (DAY_BEFORE_18, (SUBJECT, JOINT_A, JOINT_B), True),
        (ON_18, (SUBJECT, JOINT_A, JOINT_B), False),
        (ON_18, (SUBJECT, GUARDIAN_GI), False),
        (ON_18, (SUBJECT, CUSTODIAN), True),
        (DAY_BEFORE_12, (ALONE, SOLE), False),
        (ON_12, (ALONE,), True),
        (DAY_BEFORE_16, (ALONE,), True),
        (ON_16, (ALONE,), False),
    ],
    ids=[
        "a mentor for a 17-year-old",
        "a mentor on the 18th birthday",
        "joint authority the day before the 18th birthday",
        "joint authority on the 18th birthday",
        "a certified institution as guardian of an adult",
        "a legacy custodian beside an adult (today's meaning)",
        "an 11-year-old deciding alone",
        "deciding alone on the 12th birthday",
        "deciding alone the day before the 16th birthday",
        "deciding alone on the 16th birthday",
    ],
)
def test_a_representative_acts_only_for_a_person_of_the_age_its_authority_covers(
    birth_date: date, givers: tuple[Giver, ...], accepted: bool
) -> None:
    if accepted:
        verify_givers(birth_date, givers, ON)
        return
    with pytest.raises(ConsentInvalid) as refused:
        verify_givers(birth_date, givers, ON)
    assert refused.value.extra["field"] == "/given_by"


@pytest.mark.parametrize("giver", [MENTOR, ALONE], ids=["mentor", "deciding alone"])
def test_without_a_birth_date_a_mentor_or_a_child_deciding_alone_is_refused(giver: Giver) -> None:
    with pytest.raises(ConsentInvalid) as refused:
        verify_givers(None, (SUBJECT, giver) if giver is MENTOR else (giver,), ON)
    assert refused.value.extra["field"] == "/subject/birth_date"


@pytest.mark.parametrize(
    ("givers", "problem"),
    [
        ((SOLE, JOINT_A), "more than one kind of authority"),
        ((JOINT_A, GUARDIAN), "more than one kind of authority"),
        ((SOLE, GUARDIAN_GI), "more than one kind of authority"),
        ((SOLE, SOLE), "more than one parent with sole authority"),
        ((JOINT_A, JOINT_B, JOINT_A), "more than 2 holders of joint authority"),
        ((SOLE, MENTOR), "together with an adult's mentor or curator"),
        ((CUSTODIAN, CURATOR), "together with an adult's mentor or curator"),
    ],
)
def test_givers_who_cannot_act_together_are_named_as_a_contradiction(
    givers: tuple[Giver, ...], problem: str
) -> None:
    found = contradiction(givers)
    assert found is not None
    assert problem in found


def test_a_legacy_custodian_may_stand_beside_any_kind_of_authority() -> None:
    assert contradiction((CUSTODIAN, SOLE)) is None
    assert contradiction((CUSTODIAN, JOINT_A, JOINT_B)) is None
    assert authority_satisfied((CUSTODIAN,))
    assert not authority_satisfied((JOINT_A,))
    assert not authority_satisfied((MENTOR,))


# -- the request body ----------------------------------------------------------------------


def _parse(birth_date: str, *givers: dict[str, Any]) -> Any:
    body = {
        "subject": {"bsn": "999992351", "birth_date": birth_date},
        "given_by": list(givers),
        "purposes": ["closure-notice"],
        "to": ["school-de-es"],
        "evidence": {"method": "written", "reference": "dossier 2026-17"},
    }
    return parse_consent_request(
        body,
        recorded_by="swt-noord",
        now=NOW,
        new_id=lambda: "cns-9",
        known_purposes=frozenset({"closure-notice"}),
    )


REGISTER_JSON = {"established_by": "gezagsregister", "reference": "gezagsregister 2026-0113"}


def test_both_holders_of_joint_authority_with_their_evidence_are_recorded() -> None:
    draft = _parse(
        "2016-03-01",
        {"role": "parent_joint_authority", "name": "A. de Vries", "authority": REGISTER_JSON},
        {"role": "parent_joint_authority", "authority": REGISTER_JSON},
    )
    assert [g.role for g in draft.given_by] == ["parent_joint_authority"] * 2
    assert draft.given_by[0].authority == REGISTER


def test_a_childs_decision_to_agree_alone_is_recorded_with_its_ground() -> None:
    draft = _parse(
        "2013-03-01",
        {"role": "subject", "decides_alone": {"ground": "persistent_wish", "reference": "r-1"}},
    )
    assert draft.given_by[0].decides_alone == MinorDecision("persistent_wish", "r-1")


@pytest.mark.parametrize(
    ("giver", "error", "field"),
    [
        ({"role": "guardian_gi"}, ConsentInvalid, "/given_by/0/authority"),
        ({"role": "subject", "authority": REGISTER_JSON}, ConsentInvalid, "/given_by/0/authority"),
        (
            {"role": "curator", "authority": {"established_by": "hearsay", "reference": "x"}},
            InvalidRequest,
            "/given_by/0/authority/established_by",
        ),
        (
            {"role": "curator", "authority": {"established_by": "court_order", "reference": ""}},
            InvalidRequest,
            "/given_by/0/authority/reference",
        ),
        (
            {"role": "mentor", "authority": {**REGISTER_JSON, "note": "x"}},
            InvalidRequest,
            "/given_by/0/authority/note",
        ),
        (
            {
                "role": "parent_sole_authority",
                "authority": REGISTER_JSON,
                "decides_alone": {"ground": "serious_harm", "reference": "r"},
            },
            ConsentInvalid,
            "/given_by/0/decides_alone",
        ),
        (
            {"role": "subject", "decides_alone": {"ground": "wish", "reference": "r"}},
            InvalidRequest,
            "/given_by/0/decides_alone/ground",
        ),
    ],
    ids=[
        "a representative without evidence of authority",
        "authority evidence on the subject",
        "an unknown source of authority",
        "an empty authority reference",
        "an unknown field in the authority",
        "a parent deciding alone",
        "an unknown ground for deciding alone",
    ],
)
def test_a_giver_with_missing_or_misplaced_evidence_is_refused_by_its_pointer(
    giver: dict[str, Any], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as refused:
        _parse("1990-01-01", giver)
    assert refused.value.extra["field"] == field  # type: ignore[attr-defined]


def test_two_kinds_of_authority_in_one_body_are_refused_at_given_by() -> None:
    with pytest.raises(ConsentInvalid) as refused:
        _parse(
            "2016-03-01",
            {"role": "parent_sole_authority", "authority": REGISTER_JSON},
            {"role": "guardian", "authority": REGISTER_JSON},
        )
    assert refused.value.extra["field"] == "/given_by"
    assert "more than one kind of authority" in refused.value.message


def test_a_representative_without_evidence_of_authority_cannot_exist_in_the_core() -> None:
    with pytest.raises(ValueError, match="authority must be recorded"):
        Giver("guardian")
    with pytest.raises(ValueError, match="acts for themselves"):
        Giver("subject", authority=REGISTER)
    with pytest.raises(ValueError, match="only the subject"):
        Giver("mentor", authority=ORDER, decides_alone=MinorDecision("serious_harm", "r"))


@pytest.mark.parametrize(
    "role",
    [
        "parent_sole_authority",
        "parent_joint_authority",
        "guardian",
        "guardian_gi",
        "mentor",
        "curator",
    ],
)
def test_every_representative_kind_without_evidence_of_authority_is_refused(role: str) -> None:
    with pytest.raises(ConsentInvalid) as refused:
        _parse("1990-01-01", {"role": role})
    assert refused.value.extra["field"] == "/given_by/0/authority"
    assert f"required for role {role}" in refused.value.message
