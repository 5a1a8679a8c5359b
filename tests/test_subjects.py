"""Subjects without a BSN (issue 10): the pure parts, without a running gateway.

The value type and its parser, the onderwijsnummer check, domain-separated pseudonyms (BSN
pseudonyms pinned to what stored data already holds), the catalogue's `[[identifier_system]]`
tables and their start-up checks, and the mappings that must say which kind of subject an entry
names (log entry, LDV, VNG Verwerkingenlogging, FHIR Consent in).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.fhir import BSN_SYSTEM, consent_body_from_fhir
from gateway.config.errors import ConfigError
from gateway.config.purposes import load_catalogue
from gateway.errors import ConsentInvalid, GatewayError, InvalidRequest, InvalidSubject
from gateway.log.entry import LogEntry, Sender
from gateway.standards.ldv import ATTR_DATA_SUBJECT_ID_TYPE, ldv_records, subject_id_type
from gateway.standards.verwerkingenlogging import ActivityTerms, verwerkingsactie
from gateway.subject import (
    IdentifierSystem,
    Pseudonymiser,
    Subject,
    parse_subject,
    parse_subject_query,
    passes_onderwijsnummer_check,
    pseudonym_input,
    require_accepted,
    validate_bsn,
)
from tests.conftest import (
    BSN_CHILD,
    LOCAL_PUPIL_ID,
    LOCAL_PUPIL_SYSTEM,
    ONDERWIJSNUMMER_CHILD,
    ONDERWIJSNUMMER_SYSTEM,
    REPO,
    copy_config,
)
from tests.test_fhir_consent import fhir_consent

KEY = bytes(range(32))
# HMAC-SHA256(KEY, b"bsn:999992351"): the BSN pseudonym as stored data already holds it.
PINNED_BSN_PSEUDONYM = "6be67c210792eb4331be568f909445c536cfc6af519dbf9d9552cd3fe367b82b"

ONDERWIJSNUMMER = IdentifierSystem(
    system=ONDERWIJSNUMMER_SYSTEM,
    title={"nl": "Onderwijsnummer", "en": "Education number"},
    pattern=re.compile(r"^10[0-9]{7}$"),
    check="onderwijsnummer",
)
LOCAL = IdentifierSystem(
    system=LOCAL_PUPIL_SYSTEM,
    title={"nl": "Lokaal leerlingnummer", "en": "Local pupil number"},
    pattern=re.compile(r"^DH-[0-9]{6}$"),
    purposes=frozenset({"information-request"}),
)
SYSTEMS = {s.system: s for s in (ONDERWIJSNUMMER, LOCAL)}


def identifier(system: str, value: object) -> dict[str, Any]:
    return {"identifier": {"system": system, "value": value}}


def error_text(error: GatewayError) -> str:
    return str(error.to_body())


# -- the onderwijsnummer check ------------------------------------------------------------------


def test_the_onderwijsnummer_check_takes_the_documented_example_and_refuses_its_counterexamples():
    # python-stdnum's doctest examples for stdnum.nl.onderwijsnummer.
    assert passes_onderwijsnummer_check("101222331")
    assert not passes_onderwijsnummer_check("100252333")  # remainder is not 5
    assert not passes_onderwijsnummer_check("211222337")  # does not start with 10
    assert not passes_onderwijsnummer_check("1012223311")  # ten digits
    assert passes_onderwijsnummer_check(ONDERWIJSNUMMER_CHILD)


def test_a_bsn_is_never_an_onderwijsnummer():
    # The elfproef leaves remainder 0, the onderwijsnummer's variant 5.
    assert validate_bsn(BSN_CHILD) == BSN_CHILD
    assert not passes_onderwijsnummer_check(BSN_CHILD)
    with pytest.raises(InvalidSubject):
        validate_bsn(ONDERWIJSNUMMER_CHILD)


@pytest.mark.parametrize("suffix", ["\n", " ", "0", "\u0660"])
def test_nine_digits_and_something_after_them_are_no_bsn(suffix: str) -> None:
    # `$` in a pattern also matches before a final newline: the whole value must be 9 digits.
    with pytest.raises(InvalidSubject, match="exactly 9 digits"):
        validate_bsn(BSN_CHILD + suffix)
    assert not passes_onderwijsnummer_check(ONDERWIJSNUMMER_CHILD + suffix)


def onderwijsnummer_near(seed: int) -> str:
    """The first onderwijsnummer whose digits after "10" start at `seed` (the check digit fits)."""
    for k in range(20):
        prefix = f"10{(seed + k) % 1_000_000:06d}"
        total = sum(int(d) * w for d, w in zip(prefix, range(9, 1, -1), strict=True))
        last = (total - 5) % 11  # 9*d1 + ... + 2*d8 - d9 leaves 5
        if last < 10:
            return prefix + str(last)
    raise AssertionError("no onderwijsnummer near the seed")


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=999_999),
    st.integers(min_value=2, max_value=8),
    st.integers(min_value=1, max_value=9),
)
def test_changing_one_digit_of_an_onderwijsnummer_is_always_caught(
    seed: int, position: int, change: int
):
    number = onderwijsnummer_near(seed)
    assert passes_onderwijsnummer_check(number)
    digit = (int(number[position]) + change) % 10
    changed = number[:position] + str(digit) + number[position + 1 :]
    assert not passes_onderwijsnummer_check(changed)


# -- parsing a subject ----------------------------------------------------------------------------


def test_a_bsn_subject_parses_as_before():
    subject = parse_subject({"bsn": BSN_CHILD}, SYSTEMS)
    assert subject == Subject("bsn", BSN_CHILD)
    assert subject.system is None
    assert subject.to_json() == {"bsn": BSN_CHILD}
    assert subject.id_type == "bsn"


def test_an_identifier_subject_of_a_declared_system_parses():
    subject = parse_subject(identifier(ONDERWIJSNUMMER_SYSTEM, ONDERWIJSNUMMER_CHILD), SYSTEMS)
    assert subject == Subject("identifier", ONDERWIJSNUMMER_CHILD, ONDERWIJSNUMMER_SYSTEM)
    assert subject.to_json() == identifier(ONDERWIJSNUMMER_SYSTEM, ONDERWIJSNUMMER_CHILD)
    assert subject.id_type == ONDERWIJSNUMMER_SYSTEM
    assert Subject.from_json(subject.to_json()) == subject


@pytest.mark.parametrize(
    "body",
    [
        BSN_CHILD,
        None,
        {},
        {"bsn": BSN_CHILD, "identifier": {"system": LOCAL_PUPIL_SYSTEM, "value": LOCAL_PUPIL_ID}},
        {"bsn": BSN_CHILD, "name": "Noor"},
        {"identifier": [LOCAL_PUPIL_SYSTEM, LOCAL_PUPIL_ID]},
        {"identifier": {"system": LOCAL_PUPIL_SYSTEM}},
        {"identifier": {"system": LOCAL_PUPIL_SYSTEM, "value": LOCAL_PUPIL_ID, "use": "official"}},
    ],
    ids=[
        "string",
        "null",
        "empty",
        "both",
        "extra_key",
        "identifier_list",
        "no_value",
        "identifier_extra_key",
    ],
)
def test_a_subject_of_the_wrong_shape_is_an_invalid_request(body: Any):
    with pytest.raises(InvalidRequest) as raised:
        parse_subject(body, SYSTEMS)
    assert BSN_CHILD not in error_text(raised.value)
    assert LOCAL_PUPIL_ID not in error_text(raised.value)


def test_an_unknown_system_is_named_and_the_accepted_ones_listed():
    with pytest.raises(InvalidSubject) as raised:
        parse_subject(identifier("urn:example:elsewhere", LOCAL_PUPIL_ID), SYSTEMS)
    error = raised.value
    assert "'urn:example:elsewhere'" in error.message
    assert ONDERWIJSNUMMER_SYSTEM in error.how_to_fix
    assert LOCAL_PUPIL_SYSTEM in error.how_to_fix
    assert error.extra["accepted_systems"] == sorted(SYSTEMS)
    assert LOCAL_PUPIL_ID not in error_text(error)


@pytest.mark.parametrize("system", ["bsn", BSN_CHILD, f"urn:x:{BSN_CHILD}", "", 7, None])
def test_a_system_that_is_not_declared_is_refused_without_echoing_a_number(system: object):
    with pytest.raises(InvalidSubject) as raised:
        parse_subject(identifier(system, ONDERWIJSNUMMER_CHILD), SYSTEMS)
    assert BSN_CHILD not in error_text(raised.value)
    assert ONDERWIJSNUMMER_CHILD not in error_text(raised.value)


def test_without_declared_systems_only_a_bsn_is_accepted():
    with pytest.raises(InvalidSubject) as raised:
        parse_subject(identifier(ONDERWIJSNUMMER_SYSTEM, ONDERWIJSNUMMER_CHILD), {})
    assert '{"bsn"' in raised.value.how_to_fix
    assert parse_subject({"bsn": BSN_CHILD}, {}).value == BSN_CHILD


@pytest.mark.parametrize(
    ("system", "value"),
    [
        (ONDERWIJSNUMMER_SYSTEM, "100252333"),  # check digit test fails
        (ONDERWIJSNUMMER_SYSTEM, BSN_CHILD),  # a BSN is no onderwijsnummer
        (ONDERWIJSNUMMER_SYSTEM, "10200001"),  # eight digits
        (ONDERWIJSNUMMER_SYSTEM, f"{ONDERWIJSNUMMER_CHILD}\n"),  # fullmatch, not match
        (ONDERWIJSNUMMER_SYSTEM, 102000019),  # a number, not a string
        (LOCAL_PUPIL_SYSTEM, "DH-04217"),
        (LOCAL_PUPIL_SYSTEM, "dh-004217"),
        (LOCAL_PUPIL_SYSTEM, "DH-004217" * 10),  # over the length bound
    ],
)
def test_a_value_failing_its_systems_format_is_invalid_subject_and_never_repeated(
    system: str, value: object
):
    with pytest.raises(InvalidSubject) as raised:
        parse_subject(identifier(system, value), SYSTEMS)
    text = error_text(raised.value)
    assert system in raised.value.how_to_fix
    assert str(value).strip() not in text


def test_the_check_failure_says_which_check():
    with pytest.raises(InvalidSubject) as raised:
        parse_subject(identifier(ONDERWIJSNUMMER_SYSTEM, "100252333"), SYSTEMS)
    assert "onderwijsnummer check digit test" in raised.value.message


def test_a_subject_never_shows_its_number_in_its_repr():
    subject = Subject("identifier", LOCAL_PUPIL_ID, LOCAL_PUPIL_SYSTEM)
    assert LOCAL_PUPIL_ID not in repr(subject)
    assert BSN_CHILD not in repr(Subject("bsn", BSN_CHILD))


def test_a_subject_kind_and_system_must_agree():
    with pytest.raises(ValueError, match="BSN subject has no system"):
        Subject("bsn", BSN_CHILD, ONDERWIJSNUMMER_SYSTEM)
    with pytest.raises(ValueError, match="identifier subject needs one"):
        Subject("identifier", LOCAL_PUPIL_ID)


def test_a_query_names_a_person_by_bsn_or_by_a_whole_identifier():
    assert parse_subject_query({}, SYSTEMS) is None
    assert parse_subject_query({"bsn": BSN_CHILD}, SYSTEMS) == Subject("bsn", BSN_CHILD)
    named = parse_subject_query(
        {"identifier_system": LOCAL_PUPIL_SYSTEM, "identifier_value": LOCAL_PUPIL_ID}, SYSTEMS
    )
    assert named == Subject("identifier", LOCAL_PUPIL_ID, LOCAL_PUPIL_SYSTEM)
    for half in ({"identifier_system": LOCAL_PUPIL_SYSTEM}, {"identifier_value": LOCAL_PUPIL_ID}):
        with pytest.raises(InvalidRequest):
            parse_subject_query(half, SYSTEMS)
    with pytest.raises(InvalidRequest):
        parse_subject_query(
            {
                "bsn": BSN_CHILD,
                "identifier_system": LOCAL_PUPIL_SYSTEM,
                "identifier_value": LOCAL_PUPIL_ID,
            },
            SYSTEMS,
        )
    with pytest.raises(InvalidSubject):
        parse_subject_query(
            {"identifier_system": LOCAL_PUPIL_SYSTEM, "identifier_value": "DH-1"}, SYSTEMS
        )


def test_a_system_limited_to_some_purposes_is_refused_for_others():
    local = Subject("identifier", LOCAL_PUPIL_ID, LOCAL_PUPIL_SYSTEM)
    require_accepted(local, ["information-request"], SYSTEMS)
    with pytest.raises(InvalidSubject) as raised:
        require_accepted(local, ["information-request", "referral"], SYSTEMS)
    assert "referral" in raised.value.message
    assert "information-request" in raised.value.how_to_fix
    # A BSN and a system without a purpose list go with any purpose.
    require_accepted(Subject("bsn", BSN_CHILD), ["referral"], SYSTEMS)
    onderwijsnummer = Subject("identifier", ONDERWIJSNUMMER_CHILD, ONDERWIJSNUMMER_SYSTEM)
    require_accepted(onderwijsnummer, ["referral"], SYSTEMS)


# -- pseudonyms -----------------------------------------------------------------------------------


def test_bsn_pseudonyms_stay_exactly_as_stored_data_holds_them():
    pseudonymiser = Pseudonymiser(KEY)
    expected = hmac.new(KEY, b"bsn:" + BSN_CHILD.encode(), hashlib.sha256).hexdigest()
    assert expected == PINNED_BSN_PSEUDONYM
    assert pseudonymiser.pseudonym(BSN_CHILD) == PINNED_BSN_PSEUDONYM
    assert pseudonymiser.pseudonym_of(Subject("bsn", BSN_CHILD)) == PINNED_BSN_PSEUDONYM


def test_an_identifier_pseudonym_is_the_hmac_of_its_system_and_value():
    subject = Subject("identifier", ONDERWIJSNUMMER_CHILD, ONDERWIJSNUMMER_SYSTEM)
    data = b"id:" + ONDERWIJSNUMMER_SYSTEM.encode() + b"\x00" + ONDERWIJSNUMMER_CHILD.encode()
    assert pseudonym_input(subject) == data
    assert (
        Pseudonymiser(KEY).pseudonym_of(subject) == hmac.new(KEY, data, hashlib.sha256).hexdigest()
    )


def test_the_same_value_under_two_systems_or_as_a_bsn_gives_three_pseudonyms():
    pseudonymiser = Pseudonymiser(KEY)
    names = {
        pseudonymiser.pseudonym_of(Subject("bsn", BSN_CHILD)),
        pseudonymiser.pseudonym_of(Subject("identifier", BSN_CHILD, "urn:example:a")),
        pseudonymiser.pseudonym_of(Subject("identifier", BSN_CHILD, "urn:example:b")),
    }
    assert len(names) == 3


_SYSTEM_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30)
_SUBJECTS = st.one_of(
    st.from_regex(r"\A[0-9]{9}\Z").map(lambda v: Subject("bsn", v)),
    st.builds(
        lambda system, value: Subject("identifier", value, system),
        st.one_of(_SYSTEM_TEXT.map(lambda t: "urn:x:" + t), _SYSTEM_TEXT.map("https://".__add__)),
        st.text(max_size=40),
    ),
)


@settings(max_examples=1000, deadline=None)
@given(_SUBJECTS, _SUBJECTS)
def test_distinct_subjects_never_share_a_pseudonym_input(first: Subject, second: Subject):
    if first != second:
        assert pseudonym_input(first) != pseudonym_input(second)
    else:
        assert pseudonym_input(first) == pseudonym_input(second)


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(r"\A[0-9]{9}\Z"),
    st.one_of(_SYSTEM_TEXT.map(lambda t: "urn:x:" + t), _SYSTEM_TEXT.map("https://".__add__)),
)
def test_a_value_under_a_system_never_shares_an_input_with_the_same_bsn(value: str, system: str):
    # The shortest way to a collision would be a value equal to a BSN: it still differs.
    bsn = pseudonym_input(Subject("bsn", value))
    assert bsn != pseudonym_input(Subject("identifier", value, system))
    assert bsn.startswith(b"bsn:")


# -- the catalogue ----------------------------------------------------------------------------------


def test_the_shipped_catalogue_declares_the_onderwijsnummer_and_a_local_system():
    catalogue = load_catalogue(REPO / "config", REPO / "schemas")
    systems = catalogue.identifier_systems
    assert systems[ONDERWIJSNUMMER_SYSTEM].check == "onderwijsnummer"
    assert systems[ONDERWIJSNUMMER_SYSTEM].purposes is None
    local = systems[LOCAL_PUPIL_SYSTEM]
    assert local.check is None
    assert local.purposes is not None
    assert local.purposes <= catalogue.ids
    assert local.validate(LOCAL_PUPIL_ID) == LOCAL_PUPIL_ID
    assert systems[ONDERWIJSNUMMER_SYSTEM].validate(ONDERWIJSNUMMER_CHILD) == ONDERWIJSNUMMER_CHILD


def with_systems(tmp_path: Path, tables: str) -> Callable[[], Any]:
    config = copy_config(tmp_path / "config")
    shipped = (config / "purposes.toml").read_text()
    start = shipped.index("\n# The onderwijsnummer")
    # The shipped systems (up to the next table that is not one) are replaced by the ones
    # under test; the purposes after them stay (a purpose may name another as `alternative`).
    end = re.search(r"\n\[(?!\[identifier_system\]\])", shipped[start + 1 :])
    assert end is not None
    rest = shipped[start + 1 + end.start() :]
    (config / "purposes.toml").write_text(shipped[:start] + tables + rest)
    return lambda: load_catalogue(config, REPO / "schemas")


SYSTEM = """
[[identifier_system]]
system = "urn:example:leerlingnummer"
title = {{ nl = "Leerlingnummer", en = "Pupil number" }}
pattern = "^[0-9]{{6}}$"
{extra}
"""


@pytest.mark.parametrize(
    ("tables", "problem"),
    [
        (SYSTEM.format(extra='format = "digits"'), "unknown key(s) 'format'"),
        (
            SYSTEM.format(extra="").replace('"^[0-9]{6}$"', '"^[0-9{6}$"'),
            "'pattern' is not a valid regular expression",
        ),
        (
            SYSTEM.format(extra="").replace('"^[0-9]{6}$"', '"[0-9]{6}"'),
            "'pattern' must be anchored",
        ),
        (
            SYSTEM.format(extra='check = "luhn"'),
            "'check' has 'luhn', expected one of onderwijsnummer",
        ),
        (SYSTEM.format(extra="") * 2, "duplicate identifier system 'urn:example:leerlingnummer'"),
        (
            SYSTEM.format(extra="").replace("urn:example:leerlingnummer", "bsn"),
            "the BSN is not an identifier system",
        ),
        (
            SYSTEM.format(extra="").replace("urn:example:leerlingnummer", BSN_SYSTEM),
            "the BSN is not an identifier system",
        ),
        (
            SYSTEM.format(extra="").replace("urn:example:leerlingnummer", "leerlingnummer"),
            "'system' must be an absolute URI",
        ),
        (SYSTEM.format(extra='purposes = ["lunch-order"]'), "'purposes' has 'lunch-order'"),
        (SYSTEM.format(extra="purposes = []"), "'purposes' must not be empty"),
        (SYSTEM.format(extra="").replace("title = ", "name = "), "unknown key(s) 'name'"),
        (
            SYSTEM.format(extra="").replace("[[identifier_system]]", "[[identifier_systems]]"),
            "'identifier_systems'",
        ),
    ],
    ids=[
        "unknown_key",
        "bad_regex",
        "unanchored",
        "unknown_check",
        "duplicate",
        "bsn",
        "bsn_naming_system",
        "not_a_uri",
        "unknown_purpose",
        "empty_purposes",
        "missing_title",
        "misspelled_table",
    ],
)
def test_a_wrong_identifier_system_stops_the_start_with_a_clear_error(
    tmp_path: Path, tables: str, problem: str
):
    load = with_systems(tmp_path, tables)
    with pytest.raises(ConfigError) as raised:
        load()
    assert "purposes.toml" in str(raised.value)
    assert problem in str(raised.value)


def test_a_catalogue_without_identifier_systems_accepts_only_bsns(tmp_path: Path):
    catalogue = with_systems(tmp_path, "")()
    assert catalogue.identifier_systems == {}


def test_a_declared_system_with_a_purpose_list_loads(tmp_path: Path):
    catalogue = with_systems(
        tmp_path, SYSTEM.format(extra='purposes = ["referral"]\ncheck = "onderwijsnummer"')
    )()
    declared = catalogue.identifier_systems["urn:example:leerlingnummer"]
    assert declared.purposes == frozenset({"referral"})
    assert declared.title == {"nl": "Leerlingnummer", "en": "Pupil number"}


# -- what says which kind of subject an entry names -------------------------------------------------

MOMENT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def disclosed(subject_system: str | None) -> LogEntry:
    return LogEntry(
        time=MOMENT,
        decision="disclosed",
        reason="statute",
        exchange_id="ex_subjects1",
        disclosure_id="dis_subjects1",
        purpose="evaluation-feedback",
        sender=Sender("zorg-noord", "zorg-noord-actor-1", "casusregisseur"),
        recipient="swt-denhelder",
        subject="ab" * 32,
        subject_system=subject_system,
        fields=("goals[].result",),
    )


def test_a_bsn_entry_keeps_the_leaf_bytes_of_entries_logged_before():
    leaf = disclosed(None).canonical()
    assert b"subject_system" not in leaf
    assert LogEntry.from_canonical(leaf).canonical() == leaf


def test_an_identifier_entry_records_its_system_and_reads_back():
    entry = disclosed(ONDERWIJSNUMMER_SYSTEM)
    assert entry.to_json()["subject_system"] == ONDERWIJSNUMMER_SYSTEM
    assert LogEntry.from_canonical(entry.canonical()) == entry


def test_ldv_names_the_kind_of_pseudonym():
    assert subject_id_type(None) == "pseudonym:bsn"
    assert subject_id_type(ONDERWIJSNUMMER_SYSTEM) == f"pseudonym:{ONDERWIJSNUMMER_SYSTEM}"
    for system, expected in (
        (None, "pseudonym:bsn"),
        (ONDERWIJSNUMMER_SYSTEM, f"pseudonym:{ONDERWIJSNUMMER_SYSTEM}"),
    ):
        [record] = ldv_records(
            0,
            disclosed(system).to_json(),
            processing_activity=lambda _: "https://register.example.org/x",
            processor_of=lambda p: f"urn:partner:{p}",
            gateway_id="gw",
        )
        assert record.attributes[ATTR_DATA_SUBJECT_ID_TYPE] == expected


TERMS = ActivityTerms("https://register.example.org/x", "normaal", 20, "Evaluatie")


def vng_body(**person: Any) -> dict[str, Any]:
    return verwerkingsactie(
        disclosed(None).to_json(),
        terms=TERMS,
        sender_identifiers=None,
        recipient_identifiers=None,
        system="gw",
        **person,
    )


def test_vng_verwerkingenlogging_names_an_identifier_subject_by_its_system():
    body = vng_body(subject=Subject("identifier", LOCAL_PUPIL_ID, LOCAL_PUPIL_SYSTEM))
    [person] = body["verwerkteObjecten"]
    assert person["soortObjectId"] == LOCAL_PUPIL_SYSTEM
    assert person["objectId"] == LOCAL_PUPIL_ID
    for by_bsn in (vng_body(bsn=BSN_CHILD), vng_body(subject=Subject("bsn", BSN_CHILD))):
        assert by_bsn["verwerkteObjecten"][0]["soortObjectId"] == "BSN"
        assert by_bsn["verwerkteObjecten"][0]["objectId"] == BSN_CHILD
    with pytest.raises(ValueError, match="exactly one"):
        vng_body()
    with pytest.raises(ValueError, match="exactly one"):
        vng_body(bsn=BSN_CHILD, subject=Subject("bsn", BSN_CHILD))


def test_a_fhir_consent_patient_with_a_declared_system_is_an_identifier_subject():
    resource = fhir_consent()
    resource["contained"][0]["identifier"] = [
        {"system": ONDERWIJSNUMMER_SYSTEM, "value": ONDERWIJSNUMMER_CHILD}
    ]
    body = consent_body_from_fhir(
        resource, partner_by_agb=lambda _: None, identifier_systems=[ONDERWIJSNUMMER_SYSTEM]
    )
    assert body["subject"]["identifier"] == {
        "system": ONDERWIJSNUMMER_SYSTEM,
        "value": ONDERWIJSNUMMER_CHILD,
    }
    assert "bsn" not in body["subject"]
    assert {"role": "subject"} in body["given_by"]


def test_a_fhir_consent_patient_with_both_is_named_by_the_bsn():
    resource = fhir_consent()
    resource["contained"][0]["identifier"].insert(
        0, {"system": ONDERWIJSNUMMER_SYSTEM, "value": ONDERWIJSNUMMER_CHILD}
    )
    body = consent_body_from_fhir(
        resource, partner_by_agb=lambda _: None, identifier_systems=[ONDERWIJSNUMMER_SYSTEM]
    )
    assert body["subject"]["bsn"] == BSN_CHILD


@pytest.mark.parametrize("form", ["contained", "reference"])
def test_a_fhir_consent_patient_with_an_undeclared_system_names_the_element(form: str):
    resource = fhir_consent()
    undeclared = {"system": "urn:example:elsewhere", "value": LOCAL_PUPIL_ID}
    if form == "contained":
        resource["contained"][0]["identifier"] = [undeclared]
    else:
        resource["patient"] = {"identifier": undeclared}
    with pytest.raises(ConsentInvalid) as raised:
        consent_body_from_fhir(
            resource, partner_by_agb=lambda _: None, identifier_systems=[ONDERWIJSNUMMER_SYSTEM]
        )
    assert raised.value.extra["element"] == "Consent.patient.identifier.system"
    assert ONDERWIJSNUMMER_SYSTEM in raised.value.how_to_fix
    assert LOCAL_PUPIL_ID not in error_text(raised.value)
