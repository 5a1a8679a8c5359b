"""The consent registry's pure core: age rules, status, coverage, explanations and parsing."""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import consent
from consent import (
    ConsentRecord,
    Evidence,
    Giver,
    age_on,
    explain_missing,
    find_covering_consent,
    parse_consent_request,
    required_givers,
    status,
    verify_givers,
    withdraw,
)
from gateway.errors import ConsentInvalid, ConsentRequired, InvalidRequest

PSEUDONYM = "ab" * 32
OTHER_PSEUDONYM = "cd" * 32
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SUBJECT = Giver(role="subject", name="Sam Jansen")
CUSTODIAN = Giver(role="custodian", name="Kim Jansen")
PURPOSES = frozenset({"closure-notice", "information-request", "referrer-status"})


def at(day: date, hour: int = 12) -> datetime:
    """A moment on ``day`` in UTC, for exchanges and recordings."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def make_record(**overrides: Any) -> ConsentRecord:
    """A consent that covers closure notices from swt-noord to school-de-es, for an adult."""
    fields: dict[str, Any] = {
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
    return ConsentRecord(**fields)


def covering(records: list[ConsentRecord], **overrides: Any) -> ConsentRecord | None:
    """find_covering_consent for a closure notice from swt-noord to school-de-es at NOW."""
    query: dict[str, Any] = {
        "purpose": "closure-notice",
        "sender": "swt-noord",
        "recipient": "school-de-es",
        "recipient_kind": "school",
        "on": NOW,
    }
    query.update(overrides)
    return find_covering_consent(records, **query)


def missing(records: list[ConsentRecord], **overrides: Any) -> consent.MissingConsent:
    """explain_missing for the same exchange as ``covering``."""
    query: dict[str, Any] = {
        "purpose": "closure-notice",
        "sender": "swt-noord",
        "recipient": "school-de-es",
        "recipient_kind": "school",
        "on": NOW,
        "viewer": consent.Viewer("swt-noord", "social_team"),
        "held_birth_date": None,
    }
    query.update(overrides)
    return explain_missing(records, **query)


# --- the public surface ---------------------------------------------------------


def test_public_api_of_the_consent_package_is_pinned() -> None:
    assert consent.__all__ == [
        "Authority",
        "CaseScope",
        "ConsentDraft",
        "ConsentRecord",
        "ConsentStatus",
        "Evidence",
        "Giver",
        "MinorDecision",
        "MissingConsent",
        "RecordingScope",
        "Viewer",
        "age_on",
        "consent_body_from_fhir",
        "consent_to_fhir",
        "explain_missing",
        "find_covering_consent",
        "giver_names_shown_to",
        "is_party",
        "missing_givers",
        "parse_consent_request",
        "required_givers",
        "shown_to",
        "status",
        "verify_givers",
        "verify_recording_scope",
        "withdraw",
    ]
    for name in consent.__all__:
        assert hasattr(consent, name)


# --- age ------------------------------------------------------------------------


def test_child_is_eleven_on_the_day_before_the_twelfth_birthday() -> None:
    assert age_on(date(2014, 11, 25), date(2026, 11, 24)) == 11


def test_child_is_twelve_on_the_twelfth_birthday_itself() -> None:
    assert age_on(date(2014, 11, 25), date(2026, 11, 25)) == 12


def test_person_is_fifteen_on_the_day_before_the_sixteenth_birthday() -> None:
    assert age_on(date(2010, 11, 25), date(2026, 11, 24)) == 15


def test_person_is_sixteen_on_the_sixteenth_birthday_itself() -> None:
    assert age_on(date(2010, 11, 25), date(2026, 11, 25)) == 16


def test_leap_day_child_turns_twelve_on_29_february_of_a_leap_year() -> None:
    assert age_on(date(2012, 2, 29), date(2024, 2, 28)) == 11
    assert age_on(date(2012, 2, 29), date(2024, 2, 29)) == 12


def test_leap_day_child_has_birthday_on_1_march_in_a_non_leap_year() -> None:
    assert age_on(date(2012, 2, 29), date(2025, 2, 28)) == 12
    assert age_on(date(2012, 2, 29), date(2025, 3, 1)) == 13


def test_leap_day_child_turns_twelve_on_1_march_of_the_non_leap_year_2100() -> None:
    assert age_on(date(2088, 2, 29), date(2100, 2, 28)) == 11
    assert age_on(date(2088, 2, 29), date(2100, 3, 1)) == 12


def test_age_is_not_defined_before_birth() -> None:
    with pytest.raises(ValueError, match="before the birth date"):
        age_on(date(2020, 5, 1), date(2020, 4, 30))


@pytest.mark.parametrize(
    ("age", "roles"),
    [
        (0, {"custodian"}),
        (11, {"custodian"}),
        (12, {"subject", "custodian"}),
        (15, {"subject", "custodian"}),
        (16, {"subject"}),
        (80, {"subject"}),
    ],
)
def test_required_givers_follow_the_age_bands(age: int, roles: set[str]) -> None:
    assert required_givers(age) == frozenset(roles)


def test_required_givers_refuse_a_negative_age() -> None:
    with pytest.raises(ValueError, match="negative"):
        required_givers(-1)


def test_custodian_alone_suffices_on_the_day_before_the_twelfth_birthday() -> None:
    verify_givers(date(2014, 11, 25), (CUSTODIAN,), date(2026, 11, 24))


def test_custodian_alone_no_longer_suffices_on_the_twelfth_birthday() -> None:
    with pytest.raises(ConsentInvalid) as caught:
        verify_givers(date(2014, 11, 25), (CUSTODIAN,), date(2026, 11, 25))
    assert "12 to 15" in caught.value.message
    assert "lacks the subject" in caught.value.message
    assert "the subject and a custodian" in caught.value.how_to_fix


def test_child_and_custodian_together_suffice_from_twelve_to_fifteen() -> None:
    verify_givers(date(2014, 11, 25), (SUBJECT, CUSTODIAN), date(2026, 11, 25))
    verify_givers(date(2010, 11, 25), (SUBJECT, CUSTODIAN), date(2026, 11, 24))


def test_child_alone_does_not_suffice_on_the_day_before_the_sixteenth_birthday() -> None:
    with pytest.raises(ConsentInvalid) as caught:
        verify_givers(date(2010, 11, 25), (SUBJECT,), date(2026, 11, 24))
    assert "12 to 15" in caught.value.message
    assert "custodian" in caught.value.message


def test_the_person_alone_suffices_on_the_sixteenth_birthday() -> None:
    verify_givers(date(2010, 11, 25), (SUBJECT,), date(2026, 11, 25))


def test_custodian_alone_does_not_suffice_for_a_sixteen_year_old() -> None:
    with pytest.raises(ConsentInvalid) as caught:
        verify_givers(date(2010, 11, 25), (CUSTODIAN,), date(2026, 11, 25))
    assert "16 or older" in caught.value.message
    assert "lacks the subject" in caught.value.message


def test_nobody_giving_consent_never_suffices() -> None:
    with pytest.raises(ConsentInvalid):
        verify_givers(date(2010, 11, 25), (), date(2026, 11, 25))


def test_unknown_birth_date_is_accepted_when_the_subject_consents() -> None:
    verify_givers(None, (SUBJECT,), date(2026, 11, 25))


def test_unknown_birth_date_with_a_custodian_alone_is_refused() -> None:
    with pytest.raises(ConsentInvalid) as caught:
        verify_givers(None, (CUSTODIAN,), date(2026, 11, 25))
    assert "birth date is unknown" in caught.value.message
    assert "birth_date" in caught.value.how_to_fix


def test_birth_date_after_the_checking_date_is_refused() -> None:
    with pytest.raises(ConsentInvalid, match="after the date"):
        verify_givers(date(2027, 1, 1), (CUSTODIAN,), date(2026, 11, 25))


def test_age_rule_refusals_name_neither_givers_nor_birth_dates() -> None:
    with pytest.raises(ConsentInvalid) as caught:
        verify_givers(date(2014, 11, 25), (CUSTODIAN,), date(2026, 11, 25))
    text = caught.value.message + caught.value.how_to_fix
    assert "Kim" not in text
    assert "2014" not in text


@given(
    birth_date=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    years=st.integers(min_value=1, max_value=120),
)
def test_age_increments_exactly_on_each_birthday(birth_date: date, years: int) -> None:
    year = birth_date.year + years
    try:
        birthday = birth_date.replace(year=year)
    except ValueError:
        birthday = date(year, 3, 1)
    assert age_on(birth_date, birthday - timedelta(days=1)) == years - 1
    assert age_on(birth_date, birthday) == years
    assert age_on(birth_date, birthday + timedelta(days=1)) == years


@given(
    birth_date=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    offset=st.integers(min_value=0, max_value=120 * 366),
)
def test_age_grows_by_one_only_from_the_day_before_a_birthday(
    birth_date: date, offset: int
) -> None:
    day = birth_date + timedelta(days=offset)
    following = day + timedelta(days=1)
    grew = age_on(birth_date, following) - age_on(birth_date, day)
    try:
        anniversary = birth_date.replace(year=following.year)
    except ValueError:
        anniversary = date(following.year, 3, 1)
    assert grew == (1 if following == anniversary else 0)


# --- records and status -----------------------------------------------------------


def test_consent_is_pending_before_its_first_valid_day() -> None:
    record = make_record(valid_from=date(2026, 12, 1))
    assert status(record, at(date(2026, 11, 30))) == "pending"
    assert status(record, at(date(2026, 12, 1), hour=0)) == "active"


def test_consent_expires_on_its_exclusive_end_date() -> None:
    record = make_record(valid_until=date(2027, 11, 1))
    assert status(record, at(date(2027, 10, 31), hour=23)) == "active"
    assert status(record, at(date(2027, 11, 1), hour=0)) == "expired"


def test_withdrawal_takes_effect_at_its_moment() -> None:
    withdrawn_at = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    record = withdraw(make_record(), now=withdrawn_at)
    assert status(record, withdrawn_at - timedelta(seconds=1)) == "active"
    assert status(record, withdrawn_at) == "withdrawn"


def test_withdrawal_outranks_expiry() -> None:
    record = make_record(
        valid_until=date(2026, 6, 1), withdrawn_at=datetime(2026, 5, 1, tzinfo=UTC)
    )
    assert status(record, NOW) == "withdrawn"


def test_withdrawing_twice_keeps_the_first_withdrawal() -> None:
    first = withdraw(make_record(), now=NOW)
    again = withdraw(first, now=NOW + timedelta(days=3))
    assert again.withdrawn_at == NOW


def test_status_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        status(make_record(), datetime(2026, 11, 25, 10, 0))


def test_a_record_refuses_a_bsn_as_its_subject() -> None:
    with pytest.raises(ValueError, match="never a BSN"):
        make_record(subject="999992351")


def test_a_record_refuses_a_window_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="valid_until"):
        make_record(valid_from=date(2026, 5, 1), valid_until=date(2026, 5, 1))


def test_a_record_keeps_names_and_birth_dates_out_of_its_repr() -> None:
    text = repr(make_record(given_by=(SUBJECT, CUSTODIAN), birth_date=date(2012, 3, 4)))
    assert "Jansen" not in text
    assert "2012" not in text


# --- coverage -----------------------------------------------------------------------


def test_active_consent_covers_an_exchange_in_its_scope() -> None:
    record = make_record()
    assert covering([record]) == record


def test_withdrawn_consent_refuses_next_exchange() -> None:
    record = withdraw(make_record(), now=NOW - timedelta(minutes=1))
    assert covering([record]) is None
    assert missing([record]).reasons == ("consent cns-1: withdrawn on 2026-11-25",)


def test_expired_consent_does_not_cover() -> None:
    record = make_record(valid_until=date(2026, 11, 25))
    assert covering([record]) is None
    assert missing([record]).reasons == ("consent cns-1: expired on 2026-11-25",)


def test_not_yet_valid_consent_does_not_cover() -> None:
    record = make_record(valid_from=date(2026, 11, 26))
    assert covering([record]) is None
    assert missing([record]).reasons == ("consent cns-1: not valid before 2026-11-26",)


def test_consent_for_another_purpose_does_not_cover() -> None:
    record = make_record(purposes=frozenset({"information-request"}))
    assert covering([record]) is None
    assert missing([record]).reasons == ("consent cns-1: purpose 'closure-notice' not in scope",)


def test_consent_for_another_sender_does_not_cover() -> None:
    record = make_record(senders=frozenset({"swt-zuid"}))
    assert covering([record]) is None
    assert missing([record]).reasons == ("consent cns-1: sender 'swt-noord' not in scope",)


def test_consent_scoped_to_a_partner_id_covers_only_that_partner() -> None:
    record = make_record(recipients=frozenset({"school-de-es"}))
    assert covering([record]) == record
    assert covering([record], recipient="school-het-anker") is None
    assert missing([record], recipient="school-het-anker").reasons == (
        "consent cns-1: recipient 'school-het-anker' (kind school) not in scope",
    )


def test_consent_scoped_to_a_partner_kind_covers_every_partner_of_that_kind() -> None:
    record = make_record(recipients=frozenset({"kind:care_provider"}))
    assert covering([record], recipient="zorg-noord", recipient_kind="care_provider") == record
    assert covering([record], recipient="zorg-zuid", recipient_kind="care_provider") == record
    assert covering([record], recipient="school-de-es", recipient_kind="school") is None


def test_custodian_consent_for_an_eleven_year_old_stops_covering_when_the_child_turns_12() -> None:
    record = make_record(
        birth_date=date(2014, 11, 25),
        given_by=(CUSTODIAN,),
        recorded_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    )
    assert covering([record], on=at(date(2026, 11, 24))) == record
    assert covering([record], on=at(date(2026, 11, 25))) is None
    explained = missing([record], on=at(date(2026, 11, 25)))
    assert explained.reasons == (
        "consent cns-1: givers no longer sufficient because the subject turned 12: "
        "the subject must consent too",
    )
    assert explained.given_by == ("subject", "custodian")


def test_child_and_custodian_consent_keeps_covering_after_the_sixteenth_birthday() -> None:
    record = make_record(birth_date=date(2010, 11, 25), given_by=(SUBJECT, CUSTODIAN))
    assert covering([record], on=at(date(2026, 11, 25))) == record


def test_consent_without_a_birth_date_is_held_to_the_birth_date_other_records_know() -> None:
    undated = make_record(consent_id="cns-undated", birth_date=None, given_by=(SUBJECT,))
    dated = make_record(
        consent_id="cns-dated",
        birth_date=date(2016, 1, 1),
        given_by=(CUSTODIAN,),
        purposes=frozenset({"information-request"}),
    )
    assert covering([undated]) == undated
    assert covering([undated, dated]) is None
    assert (
        "consent cns-undated: givers not sufficient for a subject aged under 12: "
        "a custodian (gezagsdrager) must consent too"
    ) in missing([undated, dated]).reasons


def test_the_most_recently_recorded_covering_consent_is_chosen_whatever_the_order() -> None:
    older = make_record(consent_id="cns-a", recorded_at=datetime(2026, 2, 1, tzinfo=UTC))
    newer = make_record(consent_id="cns-b", recorded_at=datetime(2026, 3, 1, tzinfo=UTC))
    twin = make_record(consent_id="cns-c", recorded_at=datetime(2026, 3, 1, tzinfo=UTC))
    for order in itertools.permutations([older, newer, twin]):
        assert covering(list(order)) == twin


def test_records_of_two_subjects_are_refused_together() -> None:
    with pytest.raises(ValueError, match="more than one subject"):
        covering([make_record(), make_record(subject=OTHER_PSEUDONYM)])


def test_missing_consent_names_givers_from_the_held_birth_date() -> None:
    record = make_record(birth_date=None, withdrawn_at=NOW - timedelta(days=1))
    explained = missing([record], held_birth_date=date(2018, 6, 1))
    assert explained.given_by == ("custodian",)


def test_missing_consent_names_givers_from_a_birth_date_on_record() -> None:
    record = make_record(birth_date=date(2012, 6, 1), withdrawn_at=NOW - timedelta(days=1))
    assert missing([record]).given_by == ("subject", "custodian")


def test_missing_consent_without_any_birth_date_asks_subject_or_custodian() -> None:
    assert missing([]).given_by == ("subject_or_custodian",)


def test_missing_consent_lists_every_reason_of_every_record_in_recording_order() -> None:
    first = make_record(
        consent_id="cns-1",
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        purposes=frozenset({"referrer-status"}),
        recipients=frozenset({"kind:care_provider"}),
    )
    second = make_record(
        consent_id="cns-2",
        recorded_at=datetime(2026, 2, 1, tzinfo=UTC),
        withdrawn_at=datetime(2026, 4, 2, 8, 0, tzinfo=UTC),
    )
    assert missing([second, first]).reasons == (
        "consent cns-1: purpose 'closure-notice' not in scope",
        "consent cns-1: recipient 'school-de-es' (kind school) not in scope",
        "consent cns-2: withdrawn on 2026-04-02",
    )


def test_missing_consent_reasons_carry_no_names_or_birth_dates() -> None:
    records = [
        make_record(
            consent_id="cns-1",
            birth_date=date(2014, 11, 25),
            given_by=(CUSTODIAN,),
            withdrawn_at=NOW - timedelta(days=2),
            purposes=frozenset({"referrer-status"}),
        ),
        make_record(consent_id="cns-2", birth_date=date(2014, 11, 25), given_by=(SUBJECT,)),
    ]
    text = missing(records).to_error().message
    assert "Jansen" not in text
    assert "2014" not in text


def test_missing_consent_becomes_the_contracts_consent_required_refusal() -> None:
    record = make_record(purposes=frozenset({"referrer-status"}))
    explained = missing([record], held_birth_date=date(2012, 6, 1))
    error = explained.to_error()
    assert isinstance(error, ConsentRequired)
    body = error.to_body()["error"]
    assert body["code"] == "consent_required"
    assert body["missing_consent"] == {
        "purpose": "closure-notice",
        "from": "swt-noord",
        "to": "school-de-es",
        "given_by": ["subject", "custodian"],
    }
    assert "not in scope" in body["message"]
    assert "the subject and a custodian" in body["how_to_fix"]


# --- property: what find_covering_consent returns always matches ------------------------

PARTNERS = ("swt-noord", "zorg-noord", "school-de-es", "gi-noord")
KINDS = ("social_team", "care_provider", "school", "certified_institution")
ROLE_SETS = ((SUBJECT,), (CUSTODIAN,), (SUBJECT, CUSTODIAN), ())
START = date(2025, 1, 1)


def _oracle_age(birth_date: date, on: date) -> int:
    # Independent of consent.age: count the birthdays passed, with 29 February on 1 March.
    month_day = (birth_date.month, birth_date.day)
    if month_day == (2, 29) and not _is_leap(on.year):
        month_day = (3, 1)
    return on.year - birth_date.year - (1 if (on.month, on.day) < month_day else 0)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _oracle_covers(
    record: ConsentRecord, purpose: str, sender: str, recipient: str, kind: str, on: datetime
) -> bool:
    if record.withdrawn_at is not None and record.withdrawn_at <= on:
        return False
    if not record.valid_from <= on.date():
        return False
    if record.valid_until is not None and not on.date() < record.valid_until:
        return False
    if purpose not in record.purposes or sender not in record.senders:
        return False
    if recipient not in record.recipients and f"kind:{kind}" not in record.recipients:
        return False
    roles = {giver.role for giver in record.given_by}
    if record.birth_date is None:
        return "subject" in roles
    if on.date() < record.birth_date:
        return False
    age = _oracle_age(record.birth_date, on.date())
    needed = {"custodian"} if age < 12 else {"subject", "custodian"} if age < 16 else {"subject"}
    return needed <= roles


@st.composite
def _records(draw: st.DrawFn, birth_date: date | None, index: int) -> ConsentRecord:
    valid_from = START + timedelta(days=draw(st.integers(0, 700)))
    valid_until = draw(
        st.none() | st.integers(1, 700).map(lambda days: valid_from + timedelta(days=days))
    )
    recorded_at = at(START) + timedelta(hours=draw(st.integers(0, 24 * 700)))
    withdrawn_at = draw(
        st.none() | st.integers(0, 24 * 700).map(lambda hours: recorded_at + timedelta(hours=hours))
    )
    recipient_entries = st.sampled_from(PARTNERS + tuple(f"kind:{kind}" for kind in KINDS))
    return make_record(
        consent_id=f"cns-{index}",
        birth_date=birth_date,
        given_by=draw(st.sampled_from(ROLE_SETS)),
        purposes=draw(st.frozensets(st.sampled_from(sorted(PURPOSES)), max_size=3)),
        senders=draw(st.frozensets(st.sampled_from(PARTNERS), max_size=3)),
        recipients=draw(st.frozensets(recipient_entries, max_size=4)),
        valid_from=valid_from,
        valid_until=valid_until,
        recorded_at=recorded_at,
        withdrawn_at=withdrawn_at,
    )


@st.composite
def _record_sets(draw: st.DrawFn) -> list[ConsentRecord]:
    # One birth date per subject keeps the oracle simple: every record agrees on it.
    birth_date = draw(st.none() | st.dates(date(2005, 1, 1), date(2020, 12, 31)))
    count = draw(st.integers(0, 6))
    return [draw(_records(birth_date, index)) for index in range(count)]


@given(
    records=_record_sets(),
    purpose=st.sampled_from(sorted(PURPOSES)),
    sender=st.sampled_from(PARTNERS),
    recipient=st.sampled_from(PARTNERS),
    kind=st.sampled_from(KINDS),
    hours=st.integers(0, 24 * 800),
    shuffle=st.randoms(use_true_random=False),
)
def test_covering_consent_always_matches_the_exchange_and_none_is_missed(
    records: list[ConsentRecord],
    purpose: str,
    sender: str,
    recipient: str,
    kind: str,
    hours: int,
    shuffle: random.Random,
) -> None:
    on = at(START, hour=0) + timedelta(hours=hours)
    shuffled = list(records)
    shuffle.shuffle(shuffled)
    found = find_covering_consent(
        shuffled, purpose=purpose, sender=sender, recipient=recipient, recipient_kind=kind, on=on
    )
    expected = [r for r in records if _oracle_covers(r, purpose, sender, recipient, kind, on)]
    if not expected:
        assert found is None
        return
    assert found is not None
    assert found in records
    assert _oracle_covers(found, purpose, sender, recipient, kind, on)
    assert found == max(expected, key=lambda r: (r.recorded_at, r.consent_id))


@given(
    records=_record_sets(),
    purpose=st.sampled_from(sorted(PURPOSES)),
    sender=st.sampled_from(PARTNERS),
    recipient=st.sampled_from(PARTNERS),
    kind=st.sampled_from(KINDS),
    hours=st.integers(0, 24 * 800),
    viewer=st.sampled_from(PARTNERS),
    viewer_kind=st.sampled_from(KINDS),
)
def test_every_record_the_viewer_is_party_to_that_does_not_cover_is_given_a_reason(
    records: list[ConsentRecord],
    purpose: str,
    sender: str,
    recipient: str,
    kind: str,
    hours: int,
    viewer: str,
    viewer_kind: str,
) -> None:
    on = at(START, hour=0) + timedelta(hours=hours)
    explained = explain_missing(
        records,
        purpose=purpose,
        sender=sender,
        recipient=recipient,
        recipient_kind=kind,
        on=on,
        # A viewer that may know of every party: parties by id only, never by a kind entry.
        viewer=consent.Viewer(viewer, viewer_kind, lambda party: True),
    )
    explained_ids = {
        reason.split(":", 1)[0].removeprefix("consent ") for reason in explained.reasons
    }
    for record in records:
        covers = _oracle_covers(record, purpose, sender, recipient, kind, on)
        party = viewer in (record.recorded_by, *record.senders, *record.recipients)
        assert (record.consent_id in explained_ids) is (party and not covers)
    if not any(viewer in (r.recorded_by, *r.senders, *r.recipients) for r in records):
        # A partner party to none of the subject's consents learns the rule for every age band.
        assert explained.given_by == ("subject_or_custodian",)


# --- parsing ----------------------------------------------------------------------------

BSN = "999992351"


def valid_body() -> dict[str, Any]:
    """A request for a 14-year-old, given by the child and a custodian."""
    return {
        "subject": {"bsn": BSN, "birth_date": "2012-05-01"},
        "given_by": [{"role": "subject"}, {"role": "custodian", "name": "Kim Jansen"}],
        "purposes": ["closure-notice", "information-request"],
        "from": ["swt-noord"],
        "to": ["school-de-es", "kind:care_provider"],
        "valid_from": "2026-11-01",
        "valid_until": "2027-11-01",
        "evidence": {"method": "written", "reference": "dossier 2026-17"},
    }


class IdSource:
    """Hands out consent ids and counts how many were taken."""

    def __init__(self) -> None:
        self.taken = 0

    def __call__(self) -> str:
        self.taken += 1
        return f"cns-{self.taken}"


def parse(body: Any, *, now: datetime = NOW, new_id: Callable[[], str] | None = None) -> Any:
    return parse_consent_request(
        body,
        recorded_by="swt-noord",
        now=now,
        new_id=new_id or IdSource(),
        known_purposes=PURPOSES,
    )


def test_a_valid_request_becomes_a_draft_and_then_an_active_record() -> None:
    draft = parse(valid_body())
    record = draft.to_record(PSEUDONYM)
    assert record.consent_id == "cns-1"
    assert record.subject == PSEUDONYM
    assert record.birth_date == date(2012, 5, 1)
    assert record.given_by == (Giver(role="subject"), CUSTODIAN)
    assert record.purposes == frozenset({"closure-notice", "information-request"})
    assert record.senders == frozenset({"swt-noord"})
    assert record.recipients == frozenset({"school-de-es", "kind:care_provider"})
    assert record.valid_from == date(2026, 11, 1)
    assert record.valid_until == date(2027, 11, 1)
    assert record.evidence == Evidence(method="written", reference="dossier 2026-17")
    assert record.recorded_by == "swt-noord"
    assert record.recorded_at == NOW
    assert record.withdrawn_at is None
    assert status(record, NOW) == "active"


def test_from_defaults_to_the_recording_partner_and_valid_from_to_today() -> None:
    body = valid_body()
    del body["from"], body["valid_from"], body["valid_until"]
    draft = parse(body)
    assert draft.senders == frozenset({"swt-noord"})
    assert draft.valid_from == NOW.date()
    assert draft.valid_until is None


def test_optional_fields_sent_as_null_take_their_defaults() -> None:
    body = valid_body()
    body.update({"from": None, "valid_from": None, "valid_until": None})
    body["subject"] = {"bsn": BSN, "birth_date": None}
    body["given_by"] = [{"role": "subject", "name": None}]
    draft = parse(body)
    assert draft.senders == frozenset({"swt-noord"})
    assert draft.birth_date is None
    assert draft.given_by == (Giver(role="subject"),)


def test_a_draft_refuses_a_bsn_in_place_of_the_pseudonym() -> None:
    with pytest.raises(ValueError, match="never a BSN"):
        parse(valid_body()).to_record(BSN)


def test_age_rules_are_checked_on_the_recording_date() -> None:
    body = valid_body()
    body["subject"]["birth_date"] = "2014-11-25"
    body["given_by"] = [{"role": "custodian"}]
    assert parse(body, now=at(date(2026, 11, 24))).given_by == (Giver(role="custodian"),)
    with pytest.raises(ConsentInvalid, match="12 to 15"):
        parse(body, now=at(date(2026, 11, 25)))


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(body: dict[str, Any]) -> None:
        target: Any = body
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return mutate


def _drop(path: tuple[str | int, ...]) -> Callable[[dict[str, Any]], None]:
    def mutate(body: dict[str, Any]) -> None:
        target: Any = body
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return mutate


SHAPE_ERRORS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown top-level field", _set(("notes",), "Kim said yes"), "/notes"),
    ("missing subject", _drop(("subject",)), "/subject"),
    ("subject not an object", _set(("subject",), BSN), "/subject"),
    ("missing bsn", _drop(("subject", "bsn")), "/subject/bsn"),
    ("unknown subject field", _set(("subject", "name"), "Sam"), "/subject/name"),
    ("birth date not a string", _set(("subject", "birth_date"), 20120501), "/subject/birth_date"),
    (
        "birth date badly formatted",
        _set(("subject", "birth_date"), "1-5-2012"),
        "/subject/birth_date",
    ),
    ("birth date compact form", _set(("subject", "birth_date"), "20120501"), "/subject/birth_date"),
    ("birth date not a day", _set(("subject", "birth_date"), "2012-02-30"), "/subject/birth_date"),
    ("missing given_by", _drop(("given_by",)), "/given_by"),
    ("given_by not a list", _set(("given_by",), {"role": "subject"}), "/given_by"),
    ("too many givers", _set(("given_by",), [{"role": "custodian"}] * 5), "/given_by"),
    ("giver not an object", _set(("given_by", 0), "subject"), "/given_by/0"),
    ("giver without role", _set(("given_by", 0), {"name": "Sam"}), "/given_by/0/role"),
    ("unknown giver role", _set(("given_by", 0, "role"), "voogd"), "/given_by/0/role"),
    ("giver name too long", _set(("given_by", 1, "name"), "K" * 101), "/given_by/1/name"),
    ("giver name empty", _set(("given_by", 1, "name"), ""), "/given_by/1/name"),
    ("giver name not a string", _set(("given_by", 1, "name"), 7), "/given_by/1/name"),
    ("missing purposes", _drop(("purposes",)), "/purposes"),
    ("too many purposes", _set(("purposes",), ["closure-notice"] * 21), "/purposes"),
    ("purpose not a string", _set(("purposes", 1), 3), "/purposes/1"),
    ("sender not a partner id", _set(("from", 0), "SWT Noord"), "/from/0"),
    ("from not a list", _set(("from",), "swt-noord"), "/from"),
    ("too many senders", _set(("from",), [f"swt-{n}" for n in range(51)]), "/from"),
    ("missing to", _drop(("to",)), "/to"),
    ("recipient not a partner id", _set(("to", 0), "School De Es"), "/to/0"),
    ("recipient id too short", _set(("to", 0), "s"), "/to/0"),
    ("unknown recipient kind", _set(("to", 1), "kind:hospital"), "/to/1"),
    ("privacy officer is no recipient kind", _set(("to", 1), "kind:privacy_officer"), "/to/1"),
    ("too many recipients", _set(("to",), [f"school-{n}" for n in range(51)]), "/to"),
    ("valid_from badly formatted", _set(("valid_from",), "01-11-2026"), "/valid_from"),
    ("valid_until not a day", _set(("valid_until",), "2027-13-01"), "/valid_until"),
    ("missing evidence", _drop(("evidence",)), "/evidence"),
    ("evidence not an object", _set(("evidence",), "written"), "/evidence"),
    ("unknown evidence method", _set(("evidence", "method"), "telepathy"), "/evidence/method"),
    ("missing evidence reference", _drop(("evidence", "reference")), "/evidence/reference"),
    (
        "evidence reference too long",
        _set(("evidence", "reference"), "r" * 201),
        "/evidence/reference",
    ),
    ("evidence reference empty", _set(("evidence", "reference"), ""), "/evidence/reference"),
]

RULE_ERRORS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "birth date in the future",
        _set(("subject", "birth_date"), "2027-01-01"),
        "/subject/birth_date",
    ),
    ("nobody gave consent", _set(("given_by",), []), "/given_by"),
    ("subject listed twice", _set(("given_by",), [{"role": "subject"}] * 2), "/given_by"),
    ("custodian missing for a 14-year-old", _set(("given_by",), [{"role": "subject"}]), ""),
    ("subject missing for a 14-year-old", _set(("given_by",), [{"role": "custodian"}]), ""),
    ("no purposes", _set(("purposes",), []), "/purposes"),
    ("purpose not in the catalogue", _set(("purposes", 1), "marketing"), "/purposes/1"),
    ("no senders", _set(("from",), []), "/from"),
    ("no recipients", _set(("to",), []), "/to"),
    ("window ends before it starts", _set(("valid_until",), "2026-10-01"), "/valid_until"),
    ("window ends the day it starts", _set(("valid_until",), "2026-11-01"), "/valid_until"),
    (
        "window already over",
        lambda body: body.update(valid_from="2025-01-01", valid_until="2026-11-25"),
        "/valid_until",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [(mutate, pointer) for _, mutate, pointer in SHAPE_ERRORS],
    ids=[case for case, _, _ in SHAPE_ERRORS],
)
def test_a_malformed_request_is_refused_as_invalid_request(
    mutate: Callable[[dict[str, Any]], None], pointer: str
) -> None:
    body = valid_body()
    mutate(body)
    ids = IdSource()
    with pytest.raises(InvalidRequest) as caught:
        parse(body, new_id=ids)
    assert caught.value.extra["field"] == pointer
    assert ids.taken == 0
    _assert_no_personal_data(caught.value.message + caught.value.how_to_fix)


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [(mutate, pointer) for _, mutate, pointer in RULE_ERRORS],
    ids=[case for case, _, _ in RULE_ERRORS],
)
def test_a_request_breaking_a_consent_rule_is_refused_as_consent_invalid(
    mutate: Callable[[dict[str, Any]], None], pointer: str
) -> None:
    body = valid_body()
    mutate(body)
    ids = IdSource()
    with pytest.raises(ConsentInvalid) as caught:
        parse(body, new_id=ids)
    assert caught.value.extra.get("field", "") == pointer
    assert ids.taken == 0
    _assert_no_personal_data(caught.value.message + caught.value.how_to_fix)


def test_a_body_that_is_not_an_object_is_refused_as_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="JSON object"):
        parse(["not", "an", "object"])


def test_an_unknown_field_with_an_odd_name_is_refused_without_echoing_it() -> None:
    body = valid_body()
    body["Kim Jansen, 999992351"] = True
    with pytest.raises(InvalidRequest) as caught:
        parse(body)
    assert caught.value.extra["field"] == ""
    _assert_no_personal_data(caught.value.message)


def _assert_no_personal_data(text: str) -> None:
    for secret in ("Kim", "Jansen", "Sam", BSN, "2012-05-01"):
        assert secret not in text


def test_the_request_body_is_left_untouched() -> None:
    body = valid_body()
    before = copy.deepcopy(body)
    parse(body)
    assert body == before
