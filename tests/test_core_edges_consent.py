"""Consent rules at their edges: birthdays, age bands, statuses and the gaps a refusal names.

Each test names a realistic slip (an age counted a day early, a `<` for `<=` at 12 or 16) that
mutation testing (`make mutate`, docs/mutation-testing.md) showed the suite let through.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import pytest

from consent import (
    ConsentRecord,
    Evidence,
    Giver,
    explain_missing,
    find_covering_consent,
    status,
    withdraw,
)
from consent.age import age_band, age_on, required_givers
from consent.evaluate import Viewer
from consent.parse import ConsentDraft, parse_consent_request
from consent.scope import CaseScope, RecordingScope, verify_recording_scope
from gateway.errors import ConsentInvalid, ConsentScopeNotAllowed, InvalidRequest


def test_a_child_turns_12_on_its_birthday_not_the_day_before():
    born = date(2014, 6, 15)
    assert age_on(born, date(2026, 6, 14)) == 11
    assert age_on(born, date(2026, 6, 15)) == 12
    assert age_on(born, born) == 0


def test_a_child_born_on_29_february_turns_a_year_older_on_1_march_in_other_years():
    born = date(2012, 2, 29)
    assert age_on(born, date(2026, 2, 28)) == 13
    assert age_on(born, date(2026, 3, 1)) == 14
    assert age_on(born, date(2028, 2, 29)) == 16


def test_a_date_before_the_birth_date_is_refused():
    with pytest.raises(ValueError, match="before the birth date"):
        age_on(date(2014, 6, 15), date(2014, 6, 14))


@pytest.mark.parametrize(
    ("age", "band", "givers"),
    [
        (0, "under 12", {"custodian"}),
        (11, "under 12", {"custodian"}),
        (12, "12 to 15", {"subject", "custodian"}),
        (15, "12 to 15", {"subject", "custodian"}),
        (16, "16 or older", {"subject"}),
    ],
)
def test_the_age_bands_change_exactly_at_12_and_16(age: int, band: str, givers: set[str]):
    assert age_band(age) == band
    assert required_givers(age) == givers


def test_a_negative_age_is_refused():
    with pytest.raises(ValueError, match="negative"):
        required_givers(-1)


# -- which consent covers, and what a refusal says --------------------------------------------------

PSEUDONYM = "ab" * 32
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SUBJECT = Giver(role="subject")
CUSTODIAN = Giver(role="custodian")
# The partner the explanations are written for: the recorder of every record below.
RECORDER = Viewer(partner="swt-noord", kind="social_team")
EXCHANGE = {
    "purpose": "closure-notice",
    "sender": "swt-noord",
    "recipient": "school-de-es",
    "recipient_kind": "school",
}


def _record(**overrides: object) -> ConsentRecord:
    fields: dict[str, object] = {
        "consent_id": "cns-1",
        "subject": PSEUDONYM,
        "birth_date": date(1990, 1, 1),
        "given_by": (SUBJECT,),
        "purposes": frozenset({"closure-notice"}),
        "senders": frozenset({"swt-noord"}),
        "recipients": frozenset({"school-de-es"}),
        "valid_from": date(2026, 1, 1),
        "valid_until": None,
        "evidence": Evidence(method="written", reference="dossier 2026-17"),
        "recorded_by": "swt-noord",
        "recorded_at": datetime(2026, 1, 1, 9, 0, tzinfo=UTC),
        "withdrawn_at": None,
    }
    fields.update(overrides)
    return ConsentRecord(**fields)  # type: ignore[arg-type]


def _covering(records: list[ConsentRecord], on: datetime = NOW, **overrides: str) -> object:
    return find_covering_consent(records, **{**EXCHANGE, **overrides}, on=on)  # type: ignore[arg-type]


def test_the_most_recently_recorded_of_two_covering_consents_is_the_basis():
    older = _record(consent_id="cns-b", recorded_at=datetime(2026, 1, 1, 9, tzinfo=UTC))
    newer = _record(consent_id="cns-a", recorded_at=datetime(2026, 2, 1, 9, tzinfo=UTC))
    assert _covering([older, newer]) is newer
    assert _covering([newer, older]) is newer


def test_of_two_consents_recorded_at_the_same_moment_the_greatest_id_is_the_basis():
    one, two = _record(consent_id="cns-1"), _record(consent_id="cns-2")
    assert _covering([two, one]) is two
    assert _covering([one, two]) is two


def test_a_consent_naming_the_recipients_kind_covers_every_partner_of_that_kind_only():
    record = _record(recipients=frozenset({"kind:school"}))
    assert _covering([record]) is record
    assert _covering([record], recipient="zorg-noord", recipient_kind="care_provider") is None


def test_a_consent_is_withdrawn_from_the_moment_of_withdrawal_not_a_moment_later():
    record = _record(withdrawn_at=NOW)
    assert status(record, NOW) == "withdrawn"
    assert status(record, NOW - timedelta(microseconds=1)) == "active"
    assert _covering([record]) is None
    assert _covering([record], on=NOW - timedelta(seconds=1)) is record


def test_a_consent_ends_on_its_exclusive_last_day_and_starts_on_its_first():
    record = _record(valid_from=date(2026, 11, 20), valid_until=date(2026, 11, 25))
    assert status(record, NOW) == "expired"
    assert status(record, NOW - timedelta(days=1)) == "active"
    assert status(record, datetime(2026, 11, 20, 0, 0, tzinfo=UTC)) == "active"
    assert status(record, datetime(2026, 11, 19, 23, 59, tzinfo=UTC)) == "pending"


def test_a_withdrawal_outranks_expiry_and_expiry_outranks_pending():
    record = _record(
        valid_from=date(2026, 11, 20), valid_until=date(2026, 11, 21), withdrawn_at=NOW
    )
    assert status(record, NOW) == "withdrawn"


def test_withdrawing_twice_keeps_the_first_moment_and_a_later_one_replaces_a_future_one():
    once = withdraw(_record(), now=NOW)
    assert once.withdrawn_at == NOW
    assert withdraw(once, now=NOW + timedelta(days=1)).withdrawn_at == NOW
    scheduled = _record(withdrawn_at=NOW + timedelta(days=1))
    assert withdraw(scheduled, now=NOW).withdrawn_at == NOW


def test_a_consent_given_by_the_custodian_stops_covering_on_the_childs_12th_birthday():
    record = _record(
        birth_date=date(2014, 11, 25), given_by=(CUSTODIAN,), recorded_at=NOW - timedelta(days=30)
    )
    assert _covering([record], on=NOW - timedelta(days=1)) is record
    assert _covering([record]) is None
    missing = explain_missing([record], **EXCHANGE, on=NOW, viewer=RECORDER)  # type: ignore[arg-type]
    assert missing.given_by == ("subject", "custodian")
    assert missing.reasons == (
        "consent cns-1: givers no longer sufficient because the subject turned 12: "
        "the subject must consent too",
    )


def test_a_child_consenting_alone_at_16_suffices_and_at_15_does_not():
    record = _record(birth_date=date(2010, 11, 25), given_by=(SUBJECT,), recorded_at=NOW)
    assert _covering([record]) is record
    assert _covering([record], on=NOW - timedelta(days=1)) is None
    early = _record(
        birth_date=date(2010, 11, 25), given_by=(SUBJECT,), recorded_at=NOW - timedelta(days=3)
    )
    missing = explain_missing([early], **EXCHANGE, on=NOW - timedelta(days=1), viewer=RECORDER)  # type: ignore[arg-type]
    assert missing.reasons == (
        "consent cns-1: givers not sufficient for a subject aged 12 to 15: "
        "a custodian (gezagsdrager) must consent too",
    )


def test_a_consent_without_a_birth_date_is_held_to_the_birth_date_another_record_knows():
    child = _record(
        consent_id="cns-2",
        birth_date=date(2018, 1, 1),
        given_by=(CUSTODIAN,),
        purposes=frozenset({"referral"}),
    )
    adult_claim = _record(consent_id="cns-1", birth_date=None, given_by=(SUBJECT,))
    assert _covering([adult_claim]) is adult_claim  # alone, the subject's own consent stands
    assert _covering([adult_claim, child]) is None
    missing = explain_missing([adult_claim, child], **EXCHANGE, on=NOW, viewer=RECORDER)  # type: ignore[arg-type]
    assert missing.given_by == ("custodian",)


def test_without_any_known_birth_date_the_refusal_asks_for_the_subject_or_the_custodians():
    missing = explain_missing([], **EXCHANGE, on=NOW, viewer=RECORDER)  # type: ignore[arg-type]
    assert missing.given_by == ("subject_or_custodian",)
    assert missing.reasons == ()
    # Not "no consent is recorded": that would tell a stranger what the registry holds.
    assert missing.explanation() == (
        "No active consent covers purpose 'closure-notice' from 'swt-noord' to 'school-de-es' "
        "for this subject."
    )
    error = missing.to_error()
    assert "the custodians as the age rules require" in error.how_to_fix
    assert error.extra["missing_consent"] == {
        "purpose": "closure-notice",
        "from": "swt-noord",
        "to": "school-de-es",
        "given_by": ["subject_or_custodian"],
    }
    # A held date gives the age band only to a partner party to one of the subject's records.
    other = [_record(purposes=frozenset({"referral"}))]
    stranger = explain_missing(
        [], **EXCHANGE, on=NOW, viewer=RECORDER, held_birth_date=date(2020, 1, 1)
    )  # type: ignore[arg-type]
    assert stranger.given_by == ("subject_or_custodian",)
    hinted = explain_missing(
        other, **EXCHANGE, on=NOW, viewer=RECORDER, held_birth_date=date(2020, 1, 1)
    )  # type: ignore[arg-type]
    assert hinted.given_by == ("custodian",)
    unborn = explain_missing(
        other, **EXCHANGE, on=NOW, viewer=RECORDER, held_birth_date=date(2027, 1, 1)
    )  # type: ignore[arg-type]
    assert unborn.given_by == ("subject_or_custodian",)


def test_a_refusal_lists_every_gap_of_every_record_in_order():
    records = [
        _record(
            consent_id="cns-2",
            recorded_at=datetime(2026, 3, 1, tzinfo=UTC),
            purposes=frozenset({"referral"}),
            senders=frozenset({"zorg-noord"}),
        ),
        _record(
            consent_id="cns-1",
            withdrawn_at=datetime(2026, 6, 1, 8, tzinfo=UTC),
            recipients=frozenset({"kind:care_provider"}),
        ),
        _record(
            consent_id="cns-3",
            recorded_at=datetime(2026, 4, 1, tzinfo=UTC),
            valid_until=date(2026, 5, 1),
        ),
        _record(
            consent_id="cns-4",
            recorded_at=datetime(2026, 4, 2, tzinfo=UTC),
            valid_from=date(2027, 1, 1),
        ),
    ]
    missing = explain_missing(records, **EXCHANGE, on=NOW, viewer=RECORDER)  # type: ignore[arg-type]
    assert missing.reasons == (
        "consent cns-1: withdrawn on 2026-06-01",
        "consent cns-1: recipient 'school-de-es' (kind school) not in scope",
        "consent cns-2: purpose 'closure-notice' not in scope",
        "consent cns-2: sender 'swt-noord' not in scope",
        "consent cns-3: expired on 2026-05-01",
        "consent cns-4: not valid before 2027-01-01",
    )
    assert missing.explanation() == (
        "No active consent covers purpose 'closure-notice' from 'swt-noord' to 'school-de-es' "
        "for this subject. " + " ".join(f"{r}." for r in missing.reasons)
    )
    assert missing.given_by == ("subject",)
    error = missing.to_error()
    assert error.code == "consent_required"
    assert "given by the subject for purpose 'closure-notice'" in error.how_to_fix


def test_records_of_two_subjects_are_never_weighed_together():
    with pytest.raises(ValueError, match="more than one subject"):
        _covering([_record(), _record(subject="cd" * 32)])


# -- recording a consent ----------------------------------------------------------------------------

KNOWN = frozenset({"closure-notice", "information-request"})


def _body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "subject": {"bsn": "999992351", "birth_date": "1990-01-01"},
        "given_by": [{"role": "subject"}],
        "purposes": ["closure-notice"],
        "to": ["school-de-es"],
        "evidence": {"method": "written", "reference": "dossier 2026-17"},
    }
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def _parse(body: object, now: datetime = NOW) -> ConsentDraft:
    return parse_consent_request(
        body,  # type: ignore[arg-type]
        recorded_by="swt-noord",
        now=now,
        new_id=lambda: "cns-9",
        known_purposes=KNOWN,
    )


def test_a_consent_without_from_names_the_recording_partner_as_its_only_sender():
    draft = _parse(_body())
    assert draft.senders == frozenset({"swt-noord"})
    assert draft.valid_from == NOW.date()
    assert draft.valid_until is None
    assert (draft.consent_id, draft.recorded_by, draft.recorded_at) == ("cns-9", "swt-noord", NOW)
    assert _parse(_body(**{"from": ["zorg-noord"]})).senders == frozenset({"zorg-noord"})


def test_a_birth_date_of_today_is_accepted_and_tomorrow_refused():
    today = NOW.date().isoformat()
    born_today = _body(
        subject={"bsn": "999992351", "birth_date": today}, given_by=[{"role": "custodian"}]
    )
    assert _parse(born_today).birth_date == NOW.date()
    tomorrow = (NOW.date() + timedelta(days=1)).isoformat()
    with pytest.raises(ConsentInvalid, match="future"):
        _parse(_body(subject={"bsn": "999992351", "birth_date": tomorrow}))


def test_a_consent_ending_on_its_first_day_or_today_is_refused_and_tomorrow_accepted():
    today = NOW.date()
    with pytest.raises(ConsentInvalid, match="after /valid_from"):
        _parse(_body(valid_from="2026-12-01", valid_until="2026-12-01"))
    with pytest.raises(ConsentInvalid, match="in the past"):
        _parse(_body(valid_from="2026-01-01", valid_until=today.isoformat()))
    tomorrow = today + timedelta(days=1)
    assert _parse(_body(valid_until=tomorrow.isoformat())).valid_until == tomorrow
    assert _parse(_body(valid_from="2026-12-01", valid_until="2026-12-02")).valid_from == date(
        2026, 12, 1
    )


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"given_by": []}, ConsentInvalid),
        ({"given_by": [{"role": "subject"}, {"role": "subject"}]}, ConsentInvalid),
        ({"given_by": [{"role": "parent"}]}, InvalidRequest),
        ({"given_by": [{"role": "subject", "name": ""}]}, InvalidRequest),
        ({"given_by": [{"role": "subject", "name": "n" * 101}]}, InvalidRequest),
        ({"given_by": [{"role": "subject"}] + [{"role": "custodian"}] * 4}, InvalidRequest),
        ({"purposes": []}, ConsentInvalid),
        ({"purposes": ["unknown"]}, ConsentInvalid),
        ({"purposes": [7]}, InvalidRequest),
        ({"from": []}, ConsentInvalid),
        ({"from": ["Zorg"]}, InvalidRequest),
        ({"to": []}, ConsentInvalid),
        ({"to": ["kind:bakery"]}, InvalidRequest),
        ({"to": [f"partner-{n}" for n in range(51)]}, InvalidRequest),
        ({"evidence": {"method": "telepathy", "reference": "x"}}, InvalidRequest),
        ({"evidence": {"method": "written", "reference": ""}}, InvalidRequest),
        ({"evidence": {"method": "written", "reference": "r" * 201}}, InvalidRequest),
        ({"subject": {"birth_date": "1990-01-01"}}, InvalidRequest),
        ({"subject": {"bsn": "999992351", "identifier": {}}}, InvalidRequest),
        ({"note": "free text"}, InvalidRequest),
    ],
)
def test_a_consent_request_outside_its_limits_is_refused(changes: dict[str, object], error: type):
    with pytest.raises(error):
        _parse(_body(**changes))


def test_a_consent_request_at_its_limits_is_accepted():
    draft = _parse(
        _body(
            given_by=[{"role": "subject", "name": "n" * 100}] + [{"role": "custodian"}] * 3,
            to=[f"partner-{n}" for n in range(49)] + ["kind:school"],
            evidence={"method": "digital", "reference": "r" * 200},
        )
    )
    assert len(draft.given_by) == 4
    assert "kind:school" in draft.recipients
    assert draft.evidence.reference == "r" * 200


# -- the recording scope (consent/scope.py) --------------------------------------------------

KINDS = {
    "swt": "social_team",
    "swt-2": "social_team",
    "school": "school",
    "care": "care_provider",
    "dpo": "privacy_officer",
}
# purpose -> the kinds that may send it
SENDER_KINDS = {
    "referral": frozenset({"school", "social_team"}),
    "care-plan": frozenset({"social_team"}),
    "care-report": frozenset({"care_provider"}),
}
CASE = CaseScope(
    directors=frozenset({"swt"}),
    members=frozenset({"swt", "school", "care"}),
    household=frozenset({"child"}),
)


def record_scope(
    purposes: tuple[str, ...],
    senders: tuple[str, ...],
    recipients: tuple[str, ...],
    *,
    recorder: str = "school",
    case: CaseScope | None = None,
    subject: str = "child",
) -> None:
    verify_recording_scope(
        RecordingScope(purposes, senders, recipients),
        recorder=recorder,
        recorder_kind=KINDS[recorder],
        kind_of=KINDS.get,
        sender_kinds=SENDER_KINDS,
        case=case,
        subject=subject,
    )


def scope_refusal(*args: tuple[str, ...], **kwargs: Any) -> str:
    with pytest.raises(ConsentScopeNotAllowed) as refused:
        record_scope(*args, **kwargs)
    return str(refused.value.extra["field"])


def test_a_partner_records_consent_for_what_it_sends_itself_to_a_partner_or_a_kind():
    record_scope(("referral",), ("school",), ("swt", "kind:care_provider"))
    record_scope(("referral",), (), ("swt",))


def test_a_partner_naming_another_sender_beside_itself_is_refused_at_that_index():
    assert scope_refusal(("referral",), ("school", "swt"), ("care",)) == "/from/1"
    assert scope_refusal(("referral",), ("swt",), ("care",)) == "/from/0"


def test_a_partner_recording_a_purpose_its_kind_may_not_send_is_refused_at_that_index():
    assert scope_refusal(("referral", "care-plan"), ("school",), ("swt",)) == "/purposes/1"
    assert scope_refusal(("unknown",), ("school",), ("swt",)) == "/purposes/0"


def test_a_recipient_that_is_no_partner_or_is_an_officer_is_refused_at_that_index():
    assert scope_refusal(("referral",), ("school",), ("swt", "999999990")) == "/to/1"
    assert scope_refusal(("referral",), ("school",), ("dpo",)) == "/to/0"


def test_the_director_of_a_case_records_for_exchanges_between_its_members():
    record_scope(
        ("referral", "care-report"),
        ("school", "care"),
        ("swt", "school"),
        recorder="swt",
        case=CASE,
    )


def test_recording_for_a_case_one_does_not_direct_reads_as_a_case_that_does_not_exist():
    nobody = CaseScope(frozenset(), frozenset(), frozenset())
    args = (("referral",), ("school",), ("swt",))
    assert scope_refusal(*args, recorder="swt-2", case=CASE) == "/case_id"
    assert scope_refusal(*args, recorder="swt", case=nobody) == "/case_id"
    # a member that is not the director, and a director that is not a social team
    assert scope_refusal(*args, recorder="school", case=CASE) == "/case_id"
    odd = CaseScope(frozenset({"school"}), CASE.members, CASE.household)
    assert scope_refusal(*args, recorder="school", case=odd) == "/case_id"


def test_the_director_of_a_case_recording_for_a_child_outside_its_household_is_refused():
    args = (("referral",), ("school",), ("swt",))
    assert scope_refusal(*args, recorder="swt", case=CASE, subject="other-child") == "/subject"
    # Without a case the household plays no part: a partner records for what it sends itself.
    record_scope(*args, subject="other-child")


def test_consent_for_a_case_naming_a_kind_or_a_non_member_is_refused_at_that_field():
    direct: dict[str, Any] = {"recorder": "swt", "case": CASE}
    assert scope_refusal(("referral",), ("school",), ("swt", "kind:school"), **direct) == "/to/1"
    assert scope_refusal(("referral",), ("kind:school",), ("swt",), **direct) == "/from/0"
    assert scope_refusal(("referral",), ("school", "swt-2"), ("swt",), **direct) == "/from/1"
    assert scope_refusal(("referral",), ("school",), ("swt", "swt-2"), **direct) == "/to/1"


def test_consent_for_a_case_with_a_sender_whose_kind_sends_none_of_the_purposes_is_refused():
    direct: dict[str, Any] = {"recorder": "swt", "case": CASE}
    assert scope_refusal(("care-plan",), ("swt", "school"), ("care",), **direct) == "/from/1"
    assert scope_refusal(("care-plan", "care-report"), ("school",), ("swt",), **direct) == (
        "/purposes/0"
    )


def test_a_viewer_is_party_to_a_consent_it_recorded_sent_or_received_by_id_never_by_kind():
    record = _record(
        senders=frozenset({"school-a"}), recipients=frozenset({"care-b", "kind:school"})
    )
    sees_all = lambda party: True  # noqa: E731
    assert Viewer("swt-noord", "social_team").is_party_to(record)
    assert Viewer("school-a", "school", sees_all).is_party_to(record)
    assert Viewer("care-b", "care_provider", sees_all).is_party_to(record)
    # Covered by the kind entry, but no party: it does not hear of the record.
    assert not Viewer("school-c", "school", sees_all).is_party_to(record)
    assert not Viewer("care-c", "care_provider", sees_all).is_party_to(record)
    assert not Viewer("school-a-2", "social_team", sees_all).is_party_to(record)
    # Named, but another party is hidden from it: as if it had no part in the record.
    assert not Viewer("school-a", "school").is_party_to(record)
    assert not Viewer("school-a", "school", lambda p: p != "care-b").is_party_to(record)
    assert Viewer("school-a", "school", lambda p: p in ("care-b", "kind:school")).is_party_to(
        record
    )


def test_consent_for_a_case_naming_a_kind_says_a_kind_reaches_beyond_the_case():
    with pytest.raises(ConsentScopeNotAllowed) as refused:
        record_scope(("referral",), ("school",), ("kind:school",), recorder="swt", case=CASE)
    assert "names a partner kind" in refused.value.message


def test_the_consent_required_refusal_tells_the_partner_exactly_what_to_record():
    unknown_age = explain_missing([], **EXCHANGE, on=NOW, viewer=RECORDER)  # type: ignore[arg-type]
    assert unknown_age.to_error().to_body() == {
        "error": {
            "code": "consent_required",
            "message": "No active consent covers purpose 'closure-notice' from 'swt-noord' to "
            "'school-de-es' for this subject.",
            "how_to_fix": "Record consent (POST /v1/consents) given by the subject or, for a "
            "minor, the custodians as the age rules require for purpose 'closure-notice', from "
            "'swt-noord', to 'school-de-es'.",
            "missing_consent": {
                "purpose": "closure-notice",
                "from": "swt-noord",
                "to": "school-de-es",
                "given_by": ["subject_or_custodian"],
            },
        }
    }
    child = explain_missing(
        [_record(purposes=frozenset({"referral"}))],
        **EXCHANGE,  # type: ignore[arg-type]
        on=NOW,
        viewer=RECORDER,
        held_birth_date=date(2012, 1, 1),
    )
    assert child.to_error().how_to_fix == (
        "Record consent (POST /v1/consents) given by the subject and a custodian "
        "(gezagsdrager) for purpose 'closure-notice', from 'swt-noord', to 'school-de-es'."
    )


@pytest.mark.parametrize("case_id", ["case_1", "c", "A.b-9_z", "x" * 64, "0.1"])
def test_a_case_consent_keeps_its_case_id(case_id: str):
    assert _parse(_body(case_id=case_id)).case_id == case_id
    assert _parse(_body()).case_id is None


@pytest.mark.parametrize("case_id", ["", "x" * 65, "12345", "case 1", "case/1", "case_1\n", 7, []])
def test_a_case_id_that_is_not_one_is_refused_naming_the_field(case_id: object):
    with pytest.raises(InvalidRequest) as refused:
        _parse(_body(case_id=case_id))
    assert refused.value.extra == {"field": "/case_id"}


def test_a_record_of_a_person_without_a_bsn_keeps_the_identifier_system():
    draft = _parse(_body())
    kept = draft.to_record("cd" * 32, "urn:example:leerlingnummer")
    assert kept.subject_system == "urn:example:leerlingnummer"
    assert kept.subject == "cd" * 32
    assert draft.to_record("cd" * 32).subject_system is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"given_by": [{"role": "subject", "note": "x"}]},
            "/given_by/0/note",
            "Field /given_by/0/note is not taken by this call; allowed in /given_by/0 are "
            "authority, decides_alone, name, role.",
        ),
        (
            {"evidence": {"method": "written", "reference": "r", "note": "x"}},
            "/evidence/note",
            "Field /evidence/note is not taken by this call; allowed in /evidence are method, "
            "reference.",
        ),
        (
            {"evidence": {"reference": "r"}},
            "/evidence/method",
            "Field /evidence/method is required.",
        ),
        (
            {"evidence": {"method": 1, "reference": "r"}},
            "/evidence/method",
            "Field /evidence/method must be a string.",
        ),
    ],
)
def test_a_refused_giver_or_evidence_field_is_named_by_its_pointer(
    changes: dict[str, object], field: str, message: str
):
    with pytest.raises(InvalidRequest) as refused:
        _parse(_body(**changes))
    assert (refused.value.extra, refused.value.message) == ({"field": field}, message)


def test_a_one_character_giver_name_and_evidence_reference_are_kept():
    draft = _parse(
        _body(
            given_by=[{"role": "subject", "name": "J"}],
            evidence={"method": "verbal", "reference": "7"},
        )
    )
    assert draft.given_by == (Giver("subject", "J"),)
    assert draft.given_by[0].name == "J"
    assert draft.evidence == Evidence("verbal", "7")


def test_the_birth_date_the_gateway_holds_outranks_the_one_a_record_was_given_with():
    adult_by_record = _record()  # 1990: the subject's own consent suffices by the record
    held = date(2016, 1, 1)  # the gateway holds a 10-year-old: a custodian must consent
    assert _covering([adult_by_record]) is adult_by_record
    found = find_covering_consent([adult_by_record], **EXCHANGE, on=NOW, held_birth_date=held)  # type: ignore[arg-type]
    assert found is None
    missing = explain_missing(
        [adult_by_record],
        **EXCHANGE,  # type: ignore[arg-type]
        on=NOW,
        viewer=RECORDER,
        held_birth_date=held,
    )
    assert missing.given_by == ("custodian",)
    assert missing.reasons == (
        "consent cns-1: givers not sufficient for a subject aged under 12: a custodian "
        "(gezagsdrager) must consent too",
    )


def test_a_pending_record_is_explained_as_pending_whatever_end_or_later_withdrawal_it_has():
    pending = _record(
        valid_from=date(2027, 1, 1),
        valid_until=date(2027, 6, 1),
        withdrawn_at=datetime(2027, 2, 1, tzinfo=UTC),
    )
    missing = explain_missing([pending], **EXCHANGE, on=NOW, viewer=RECORDER)  # type: ignore[arg-type]
    assert missing.reasons == ("consent cns-1: not valid before 2027-01-01",)


def test_a_record_without_any_birth_date_known_needs_the_subject_and_says_so():
    by_custodian = _record(birth_date=None, given_by=(CUSTODIAN,))
    missing = explain_missing([by_custodian], **EXCHANGE, on=NOW, viewer=RECORDER)  # type: ignore[arg-type]
    assert missing.reasons == (
        "consent cns-1: givers not sufficient: the birth date is unknown, so the subject must "
        "consent",
    )


def test_a_child_born_on_the_exchange_day_is_aged_0_not_unborn():
    by_custodian = _record(birth_date=None, given_by=(CUSTODIAN,))
    today = NOW.date()
    found = find_covering_consent([by_custodian], **EXCHANGE, on=NOW, held_birth_date=today)  # type: ignore[arg-type]
    assert found is by_custodian
    other = [_record(purposes=frozenset({"referral"}))]
    missing = explain_missing(other, **EXCHANGE, on=NOW, viewer=RECORDER, held_birth_date=today)  # type: ignore[arg-type]
    assert missing.given_by == ("custodian",)


def test_without_a_held_date_the_givers_asked_for_cover_every_birth_date_the_records_know():
    child = _record(
        purposes=frozenset({"referral"}), birth_date=date(2016, 1, 1), given_by=(CUSTODIAN,)
    )
    adult = _record(
        consent_id="cns-2", purposes=frozenset({"referral"}), birth_date=date(2009, 1, 1)
    )
    for records in ([child, adult], [adult, child]):
        missing = explain_missing(records, **EXCHANGE, on=NOW, viewer=RECORDER)  # type: ignore[arg-type]
        assert missing.given_by == ("subject", "custodian")


class _NoOffset(tzinfo):
    """A time zone that knows no offset: as unusable for comparing as no zone at all."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda moment: _record(recorded_at=moment), "recorded_at"),
        (lambda moment: _record(withdrawn_at=moment), "withdrawn_at"),
        (lambda moment: status(_record(), moment), "now"),
        (lambda moment: withdraw(_record(), now=moment), "now"),
    ],
)
def test_a_moment_without_a_usable_zone_is_refused_naming_the_argument(make: Any, name: str):
    for moment in (datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 9, tzinfo=_NoOffset())):
        with pytest.raises(ValueError, match=f"^{name} must be a timezone-aware datetime$"):
            make(moment)


def test_a_subject_named_by_an_identifier_without_a_bsn_is_taken():
    subject = {"identifier": {"system": "urn:example:leerlingnummer", "value": "123"}}
    draft = _parse(_body(subject={**subject, "birth_date": "1990-01-01"}))
    assert draft.birth_date == date(1990, 1, 1)


def test_the_recording_scope_holds_the_senders_the_request_named():
    named = _parse(_body(**{"from": ["swt-noord", "zorg-noord"]}))
    assert named.scope == RecordingScope(
        purposes=("closure-notice",),
        senders=("swt-noord", "zorg-noord"),
        recipients=("school-de-es",),
    )
    assert _parse(_body()).scope.senders == ("swt-noord",)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {**_body(), "Bad Key!": 1},
            "",
            "Object / has a field this call does not take; allowed in / are case_id, evidence, "
            "from, given_by, purposes, subject, to, valid_from, valid_until.",
        ),
        (
            _body(given_by=[{"role": "subject", "na me": 1}]),
            "/given_by/0",
            "Object /given_by/0 has a field this call does not take; allowed in /given_by/0 are "
            "authority, decides_alone, name, role.",
        ),
    ],
)
def test_a_field_whose_name_is_no_field_name_is_refused_without_echoing_it(
    body: dict[str, object], field: str, message: str
):
    with pytest.raises(InvalidRequest) as refused:
        _parse(body)
    assert (refused.value.extra, refused.value.message) == ({"field": field}, message)


@pytest.mark.parametrize(
    ("record", "held", "reason"),
    [
        (
            _record(birth_date=None, given_by=(CUSTODIAN,)),
            date(2027, 1, 1),
            "givers not sufficient: the exchange date lies before the subject's birth date",
        ),
        (
            # Recorded on the day of birth, when a custodian's consent sufficed.
            _record(
                birth_date=date(2014, 11, 25),
                given_by=(CUSTODIAN,),
                recorded_at=datetime(2014, 11, 25, 12, tzinfo=UTC),
            ),
            None,
            "givers no longer sufficient because the subject turned 12: the subject must "
            "consent too",
        ),
        (
            # Sixteen on the exchange day.
            _record(
                birth_date=date(2010, 11, 25),
                given_by=(CUSTODIAN,),
                recorded_at=datetime(2015, 3, 1, 12, tzinfo=UTC),
            ),
            None,
            "givers no longer sufficient because the subject turned 16: the subject must "
            "consent too",
        ),
    ],
)
def test_a_record_the_age_rules_outgrew_is_explained_by_the_birthday_that_did_it(
    record: ConsentRecord, held: date | None, reason: str
):
    missing = explain_missing([record], **EXCHANGE, on=NOW, viewer=RECORDER, held_birth_date=held)  # type: ignore[arg-type]
    assert missing.reasons == (f"consent cns-1: {reason}",)
