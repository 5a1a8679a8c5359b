"""Every refusal the gateway can give has a reviewed Dutch text.

The source is read, not run: an AST walk finds every call of the GatewayError family and every
`Refusal(...)` in `gateway/` and `consent/` (the policy and the consent registry first among
them), turns each message and `how_to_fix` into a sample text (each f-string field becomes "x")
and asks the catalogue for a template that matches it with its fields on those values only. A
refusal added in English only fails here.
"""

from __future__ import annotations

import ast
import inspect
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

import gateway.errors as errors
from consent.age import age_band, describe_givers
from consent.representation import ROLE_PHRASES, authority_gap, describe_missing
from gateway.i18n import (
    CATALOGUE,
    Catalogue,
    Text,
    localize_check,
    localize_error,
    localize_exchange,
)
from gateway.i18n.catalogue import template_fields

REPO = Path(__file__).resolve().parents[1]
# The whole gateway but the catalogue itself: every refusal a partner's professional can read.
SCANNED = sorted(
    path
    for path in [*(REPO / "gateway").rglob("*.py"), *(REPO / "consent").rglob("*.py")]
    if "i18n" not in path.parts
)
FAMILY = {
    name
    for name, value in vars(errors).items()
    if inspect.isclass(value) and issubclass(value, errors.GatewayError)
}
# Helpers that build a refusal from texts, with the positions of their text arguments.
BUILDERS = {"Refusal": (1, 2), "_invalid": (1, 2)}
SAMPLE = "x"


def _sample(node: ast.expr, names: dict[str, list[ast.expr]], inner: bool = False) -> Iterator[str]:
    """The texts an argument can be: each f-string field as "x", a local name by its values.

    A value made elsewhere (a call, a parameter) is skipped as a whole argument (it is checked
    where it is made), but stands as "x" inside a concatenation ("Give one of: " + ", ".join(...)).
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield "".join(v.value if isinstance(v, ast.Constant) else SAMPLE for v in node.values)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        for left, right in itertools.product(
            _sample(node.left, names, True), _sample(node.right, names, True)
        ):
            yield left + right
    elif isinstance(node, ast.Name) and node.id in names:
        for value in names[node.id]:
            yield from _sample(value, names, inner)
    elif isinstance(node, ast.IfExp):
        yield from _sample(node.body, names, inner)
        yield from _sample(node.orelse, names, inner)
    elif inner:
        yield SAMPLE


def _local_strings(function: ast.AST) -> dict[str, list[ast.expr]]:
    found: dict[str, list[ast.expr]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found.setdefault(target.id, []).append(node.value)
    return found


def _text_arguments(call: ast.Call) -> list[ast.expr]:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name in BUILDERS:
        return [call.args[i] for i in BUILDERS[name] if i < len(call.args)]
    if name in FAMILY:
        texts = list(call.args[:2])
        texts += [k.value for k in call.keywords if k.arg in ("message", "how_to_fix")]
        return texts
    return []


def refusal_texts() -> list[tuple[str, str]]:
    """(where, sample text) for every refusal text written in the scanned source."""
    out = []
    for path in SCANNED:
        tree = ast.parse(path.read_text())
        functions = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for function in [tree, *functions]:
            names = _local_strings(function)
            body = function.body if isinstance(function, ast.Module) else [function]
            for node in (n for part in body for n in ast.walk(part)):
                if not isinstance(node, ast.Call):
                    continue
                for argument in _text_arguments(node):
                    for text in _sample(argument, names):
                        where = f"{path.relative_to(REPO)}:{node.lineno}"
                        out.append((where, text))
    return sorted(set(out))


def test_the_scan_finds_the_refusals_it_is_meant_to_check() -> None:
    texts = [text for _, text in refusal_texts()]
    assert "Check the partner id; GET /v1/partners lists the registered partners." in texts
    assert f"a partner of kind '{SAMPLE}' may not send purpose '{SAMPLE}'" in texts
    assert len(texts) > 150


def test_every_refusal_the_gateway_can_give_has_a_dutch_text() -> None:
    missing = [
        f"{where}: {text!r}"
        for where, text in refusal_texts()
        if not CATALOGUE.covers(text, SAMPLE)
    ]
    assert not missing, (
        "refusal texts without Dutch (add them to gateway/i18n/texts/):\n" + "\n".join(missing)
    )


def test_every_default_how_to_fix_has_a_dutch_text() -> None:
    defaults = {
        cls.default_how_to_fix
        for cls in vars(errors).values()
        if inspect.isclass(cls) and issubclass(cls, errors.GatewayError) and cls.default_how_to_fix
    }
    assert defaults
    assert [text for text in defaults if CATALOGUE.dutch(text) is None] == []


def test_the_words_for_who_must_consent_have_dutch_texts() -> None:
    phrases = [*ROLE_PHRASES.values(), authority_gap(())]
    phrases += [age_band(age) for age in (5, 12, 15, 16, 40)]
    for roles in (("subject",), ("custodian",), ("subject", "custodian")):
        phrases.append(describe_givers(roles))
        phrases.append(describe_missing(roles, ()))
    assert [phrase for phrase in phrases if CATALOGUE.dutch(phrase) is None] == []


def test_a_dutch_text_uses_only_the_fields_of_its_english_text() -> None:
    for text in CATALOGUE:
        english = dict(template_fields(text.en))
        for name, kind in template_fields(text.nl):
            assert english.get(name) == kind, text.en


def test_a_dutch_text_naming_a_field_its_english_text_lacks_is_refused_at_load() -> None:
    with pytest.raises(ValueError, match="uses fields it lacks"):
        Catalogue([Text("no such case", "casus {case} bestaat niet")])


def test_the_same_english_template_listed_twice_is_refused_at_load() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        Catalogue([Text("no such case", "geen casus"), Text("no such case", "geen zaak")])


def test_the_parameters_of_a_refusal_are_carried_into_its_dutch_text() -> None:
    english = "recipient 'zorg-noord' (kind 'care_provider') may not receive purpose 'p-1'"
    assert CATALOGUE.dutch(english) == (
        "ontvanger 'zorg-noord' (soort 'care_provider') mag doel 'p-1' niet ontvangen"
    )


def test_a_missing_consent_explanation_is_translated_sentence_by_sentence() -> None:
    english = (
        "No active consent covers purpose 'p' from 'a' to 'b' for this subject. "
        "consent c-1: withdrawn on 2026-01-02. "
        "consent c-2: givers not sufficient for a subject aged 12 to 15: "
        "a custodian (gezagsdrager) must consent too."
    )
    assert CATALOGUE.dutch(english) == (
        "Geen geldige toestemming dekt doel 'p' van 'a' aan 'b' voor deze persoon. "
        "toestemming c-1: ingetrokken op 2026-01-02. "
        "toestemming c-2: de gevers volstaan niet voor een persoon van 12 tot en met 15 jaar: "
        "ook een gezagsdrager moet toestemming geven."
    )


def test_an_allowed_check_explains_each_recipient_in_dutch_without_one_swallowing_the_next() -> (
    None
):
    english = (
        "Purpose 'p' may be shared with a: on statute (Jeugdwet art. 7.4.0 lid 2); "
        "b: on consent (AVG art. 6(1)(a)), consent c-1."
    )
    assert CATALOGUE.dutch(english) == (
        "Doel 'p' mag worden gedeeld met a: op grond van de wet (Jeugdwet art. 7.4.0 lid 2); "
        "b: op grond van toestemming (AVG art. 6(1)(a)), toestemming c-1."
    )


def test_an_error_with_one_text_lacking_dutch_stays_wholly_english() -> None:
    body = {
        "error": {
            "code": "invalid_request",
            "message": "a sentence no reviewer has translated",
            "how_to_fix": "Check the partner id; GET /v1/partners lists the registered partners.",
        }
    }
    assert localize_error(body, "nl") == (body, "en")


def test_a_violation_without_dutch_keeps_the_whole_check_answer_english() -> None:
    answer = {
        "allowed": False,
        "explanation": "the payload does not match the schema of purpose 'p'",
        "violations": [{"path": "/payload/x", "message": "an untranslated rule"}],
    }
    assert localize_check(answer, "nl") == (answer, "en")
    answer["violations"] = [{"path": "/payload/x", "message": "must be of type string"}]
    dutch, language = localize_check(answer, "nl")
    assert language == "nl"
    assert dutch["violations"] == [
        {"path": "/payload/x", "message": "moet van het type string zijn"}
    ]


def test_the_words_an_optional_field_must_be_have_dutch_texts() -> None:
    assert CATALOGUE.dutch("'in_reply_to' must be an exchange id ('ex_...')") == (
        "'in_reply_to' moet een exchange-id ('ex_...') zijn"
    )
    assert CATALOGUE.dutch("'case_id' must be a case id of letters, digits, '.', '_' or '-'")


def test_a_generic_template_does_not_count_as_the_dutch_of_words_it_would_swallow() -> None:
    # "'{key}' must be {what:phrase}" matches the sample, but "one of x" has no Dutch of its own.
    assert CATALOGUE.template_for("'colour' must be one of x") is not None
    assert not CATALOGUE.covers("'colour' must be one of x", SAMPLE)
    assert CATALOGUE.covers("'x' must be x", SAMPLE)


def test_the_recipients_a_fan_out_left_out_and_the_warnings_of_an_exchange_come_in_dutch() -> None:
    answer = {
        "exchange_id": "ex_1",
        "refused": [
            {
                "recipient": "school-de-es",
                "code": "recipient_not_allowed",
                "message": "recipient 'school-de-es' (kind 'school') may not receive purpose 'p'",
                "how_to_fix": "Purpose 'p' goes only to social_team (and never to the sender itself).",
                "reasons": [],
            }
        ],
        "warnings": [
            "no household is registered for this case: only the referred child is expected to "
            "get a safety assessment; register every child with PUT /v1/cases/{case_id}/household "
            "so none is missed"
        ],
    }
    dutch, language = localize_exchange(answer, "nl")
    assert language == "nl"
    assert dutch["exchange_id"] == "ex_1"
    assert dutch["refused"][0]["message"] == (
        "ontvanger 'school-de-es' (soort 'school') mag doel 'p' niet ontvangen"
    )
    assert dutch["warnings"][0].startswith("voor deze casus is geen huishouden geregistreerd")
    assert localize_exchange(answer, "en") == (answer, "en")
    untranslated = {**answer, "warnings": ["a warning no reviewer has seen"]}
    assert localize_exchange(untranslated, "nl") == (untranslated, "en")


def test_a_value_longer_than_any_real_one_is_not_translated_and_the_answer_stays_english() -> None:
    # An unknown field's name is the caller's text: beyond the bounds there is no Dutch (and no
    # unbounded matching work either); the answer then falls back to English.
    short = "unknown top-level field(s): colour, shoe_size"
    assert CATALOGUE.dutch(short) == "onbekend(e) veld(en) op het hoogste niveau: colour, shoe_size"
    long_names = "unknown top-level field(s): " + ", ".join(f"field_{n}" for n in range(200))
    assert CATALOGUE.dutch(long_names) is None
    joined = " and ".join(["the subject"] * 2000)
    assert CATALOGUE.dutch(joined) is None


def test_a_relation_required_refusal_naming_every_relation_is_wholly_dutch() -> None:
    from gateway.config import load_catalogue
    from gateway.policy.relations import SubjectTies, relation_rule
    from tests.conftest import DEFAULT_CONFIG, REPO

    purpose = load_catalogue(DEFAULT_CONFIG, REPO / "schemas").get("safety-assessment")
    assert purpose is not None
    rule = relation_rule(purpose)
    assert rule is not None
    refusal = rule(SubjectTies())
    assert refusal is not None
    message = CATALOGUE.dutch(refusal.message)
    how_to_fix = CATALOGUE.dutch(refusal.how_to_fix)
    assert message == (
        "doel 'safety-assessment' veronderstelt dat u deze persoon helpt, en geen relatie van u "
        "met deze persoon laat dat zien; elk van deze zou volstaan: een verwijzing voor deze "
        "persoon die u hebt ontvangen (referral_received); een deelname aan een casusnetwerk "
        "waarvan het huishouden deze persoon bevat (case_member); een door u vastgelegde start "
        "van hulp aan deze persoon (help_started)"
    )
    assert how_to_fix is not None
    assert how_to_fix.startswith("Elk van deze legt de relatie vast. Verstuur het zodra de")
    assert "Vraag het sociaal team dat de casus van deze persoon regisseert" in how_to_fix


def test_a_refusal_because_a_ground_holds_only_on_a_fact_is_wholly_dutch() -> None:
    english = (
        "The ground 'Jeugdwet art. 7.4.0 lid 2' does not apply: it holds for minors only. By the "
        "birth date held, the ground for this subject is 'BW art. 7:457 lid 1 (agreement)'. "
        "purpose 'evaluation-feedback' needs consent, and no active consent covers sending it "
        "from 'zorg-noord' to 'swt-denhelder' about this subject"
    )
    assert CATALOGUE.dutch(english) == (
        "De grondslag 'Jeugdwet art. 7.4.0 lid 2' geldt hier niet: zij geldt alleen voor "
        "minderjarigen. Naar de geboortedatum die de gateway kent, is de grondslag voor deze "
        "persoon 'BW art. 7:457 lid 1 (agreement)'. doel 'evaluation-feedback' vraagt "
        "toestemming, en geen geldige toestemming dekt het versturen van 'zorg-noord' aan "
        "'swt-denhelder' over deze persoon"
    )


def test_a_relation_not_towards_the_recipient_refusal_is_wholly_dutch() -> None:
    from gateway.config import load_catalogue
    from gateway.policy.relations import SubjectTies, relation_towards
    from tests.conftest import DEFAULT_CONFIG, REPO

    purpose = load_catalogue(DEFAULT_CONFIG, REPO / "schemas").get("safety-assessment")
    assert purpose is not None
    refusal = relation_towards(purpose, SubjectTies(), "gi-noordholland")
    assert refusal is not None
    assert CATALOGUE.dutch(refusal.message) == (
        "doel 'safety-assessment' veronderstelt dat u deze persoon helpt namens de ontvanger; "
        "uw relatie met deze persoon is niet met ontvanger 'gi-noordholland'"
    )
    how_to_fix = CATALOGUE.dutch(refusal.how_to_fix)
    assert how_to_fix is not None
    assert how_to_fix.startswith("Verstuur het aan de partner met wie uw relatie bestaat")
