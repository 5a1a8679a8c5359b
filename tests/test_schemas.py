"""The minimal datasets: every schema is closed, bounded and coded, and refuses what it must.

The checks walk the schemas and examples generically, so a schema added to `schemas/`
(with its example and its catalogue entry) is covered without touching this file.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
EXAMPLES = SCHEMAS / "examples"
CATALOGUE = ROOT / "config" / "purposes.toml"
ID_PREFIX = "https://schemas.social-domain-gateway.nl/v1/"
SCHEMA_IDS = sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))
ROLES_BY_KIND = {
    "social_team": {"procesregisseur", "wijkteammedewerker"},
    "care_provider": {"casusregisseur", "jeugdhulpverlener"},
    "certified_institution": {"jeugdbeschermer", "gezinsvoogd"},
    "school": {"intern_begeleider", "zorgcoordinator"},
    # issue 19: the partner kinds the seeds name
    "veilig_thuis": {"triagist", "veilig_thuis_medewerker"},
    "general_practitioner": {"huisarts", "poh_jeugd"},
    "youth_health_care": {"jeugdarts", "jeugdverpleegkundige"},
    "work_and_income": {"klantmanager"},
    "compulsory_education": {"leerplichtambtenaar"},
    "child_protection_board": {"raadsonderzoeker"},
}
KINDS = tuple(ROLES_BY_KIND)
# No shipped purpose rests on AVG art. 6(1)(a) consent: "consent" purposes record the client's
# agreement to lift professional secrecy (docs/legal-basis.md), and their references say so.
CLAIMS_AVG_CONSENT = ("6 lid 1 sub a", "6(1)(a)")
# Subschemas under these keywords constrain values described elsewhere; they describe none.
CONSTRAINT_KEYWORDS = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas")
BSN_SHAPED = "111222333"

Path_ = tuple[str | int, ...]


@cache
def _schema(purpose_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / f"{purpose_id}.schema.json").read_text("utf-8"))
    return data


@cache
def _example(purpose_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{purpose_id}.json").read_text("utf-8"))
    return data


def schema(purpose_id: str) -> dict[str, Any]:
    return copy.deepcopy(_schema(purpose_id))


def example(purpose_id: str) -> dict[str, Any]:
    return copy.deepcopy(_example(purpose_id))


def validator(purpose_id: str) -> Draft202012Validator:
    return Draft202012Validator(_schema(purpose_id))


def catalogue() -> list[dict[str, Any]]:
    purposes: list[dict[str, Any]] = tomllib.loads(CATALOGUE.read_text("utf-8"))["purpose"]
    return purposes


def subschemas(
    node: Any, pointer: str = "", describes_value: bool = True
) -> Iterator[tuple[str, Any, bool]]:
    """Every subschema with its JSON pointer, and whether it describes a value or constrains one."""
    yield pointer, node, describes_value
    if not isinstance(node, dict):
        return
    for key, child in node.items():
        here = f"{pointer}/{key}"
        if key in ("properties", "patternProperties", "$defs", "dependentSchemas"):
            inner = describes_value and key != "dependentSchemas"
            for name, sub in child.items():
                yield from subschemas(sub, f"{here}/{name}", inner)
        elif key in ("items", "contains", "additionalProperties", "propertyNames"):
            if isinstance(child, dict | bool):
                yield from subschemas(child, here, describes_value)
        elif key == "prefixItems":
            for n, sub in enumerate(child):
                yield from subschemas(sub, f"{here}/{n}", describes_value)
        elif key in CONSTRAINT_KEYWORDS:
            subs = child if isinstance(child, list) else [child]
            for n, sub in enumerate(subs):
                where = f"{here}/{n}" if isinstance(child, list) else here
                yield from subschemas(sub, where, False)


def looseness(node: Any, describes_value: bool) -> list[str]:
    """What makes one subschema open or unbounded; empty when it is closed and bounded."""
    if node is False or not isinstance(node, dict):
        return [] if node is False or not describes_value else ["a value schema must not be `true`"]
    problems = []
    if "$ref" in node or "$dynamicRef" in node:
        problems.append("uses $ref: keep every schema inline and self-contained")
    coded = "enum" in node or "const" in node
    kind = node.get("type")
    if describes_value and kind is None and not coded:
        problems.append("describes a value but declares no type, enum or const")
    if kind is not None and not isinstance(kind, str):
        problems.append("must declare exactly one type")
    if kind == "object":
        if node.get("additionalProperties") is not False:
            problems.append("object without additionalProperties: false")
        if "patternProperties" in node or "unevaluatedProperties" in node:
            problems.append("object may only list its properties by name")
    if kind == "string" and not coded and "maxLength" not in node:
        problems.append("string without maxLength, enum or const")
    if kind == "array" and ("maxItems" not in node or "items" not in node):
        problems.append("array without maxItems and items")
    if (
        kind in ("integer", "number")
        and not coded
        and not ("minimum" in node and "maximum" in node)
    ):
        problems.append("number without minimum and maximum")
    return problems


def walk(
    node: dict[str, Any], value: Any, path: Path_ = ()
) -> Iterator[tuple[Path_, dict[str, Any], Any]]:
    """Every value of an instance with the subschema that describes it."""
    yield path, node, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from walk(node["properties"][key], child, (*path, key))
    elif isinstance(value, list):
        for n, child in enumerate(value):
            yield from walk(node["items"], child, (*path, n))


def fields(node: dict[str, Any], path: Path_ = ()) -> Iterator[Path_]:
    """Every field a schema declares, with array items at index 0."""
    for name, child in node.get("properties", {}).items():
        yield (*path, name)
        yield from fields(child, (*path, name))
    if isinstance(node.get("items"), dict):
        yield (*path, 0)
        yield from fields(node["items"], (*path, 0))


def at(document: Any, path: Path_) -> Any:
    for step in path:
        document = document[step]
    return document


def replaced(document: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(document)
    parent = at(out, path[:-1])
    parent[path[-1]] = value
    return out


def pointer(path: Path_) -> str:
    return "/" + "/".join(str(step) for step in path)


def mutations(purpose_id: str) -> Iterator[tuple[str, dict[str, Any], str, Path_]]:
    """Broken variants of the example: (label, payload, keyword that must refuse it, where)."""
    base = example(purpose_id)
    for path, node, value in walk(schema(purpose_id), base):
        where = pointer(path)
        if isinstance(value, dict):
            grown = copy.deepcopy(base)
            at(grown, path)["unexpected_field"] = "x"
            yield f"extra field at {where}", grown, "additionalProperties", path
            for name in node.get("required", []):
                shrunk = copy.deepcopy(base)
                del at(shrunk, path)[name]
                yield f"missing {where}/{name}".replace("//", "/"), shrunk, "required", path
        if "enum" in node:
            outside = "not_a_code" if isinstance(value, str) else "not-a-value"
            assert outside not in node["enum"]
            yield f"code outside enum at {where}", replaced(base, path, outside), "enum", path
        if "const" in node:
            other = (not value) if isinstance(value, bool) else f"{value}x"
            yield f"other than const at {where}", replaced(base, path, other), "const", path
        if isinstance(value, str) and "maxLength" in node:
            limit = node["maxLength"]
            longer = value + value[-1] * (limit + 1 - len(value))
            yield (
                f"one char over maxLength at {where}",
                replaced(base, path, longer),
                "maxLength",
                path,
            )
        if isinstance(value, str) and "not" in node:
            yield f"BSN-shaped text at {where}", replaced(base, path, BSN_SHAPED), "not", path
        if isinstance(value, list) and "maxItems" in node:
            longer_list = (value * (node["maxItems"] + 1))[: node["maxItems"] + 1]
            yield (
                f"one item over maxItems at {where}",
                replaced(base, path, longer_list),
                "maxItems",
                path,
            )
        if isinstance(value, list) and node.get("minItems", 0) > 0:
            yield f"empty array at {where}", replaced(base, path, []), "minItems", path
        if isinstance(value, int) and not isinstance(value, bool) and "maximum" in node:
            yield (
                f"above maximum at {where}",
                replaced(base, path, node["maximum"] + 1),
                "maximum",
                path,
            )
            yield (
                f"below minimum at {where}",
                replaced(base, path, node["minimum"] - 1),
                "minimum",
                path,
            )


MUTATIONS = [
    pytest.param(purpose_id, payload, keyword, path, id=f"{purpose_id}: {label}")
    for purpose_id in SCHEMA_IDS
    for label, payload, keyword, path in mutations(purpose_id)
]


def test_every_message_type_of_the_design_has_a_schema() -> None:
    assert set(SCHEMA_IDS) == {
        "referral",
        "start-stop",
        "evaluation-feedback",
        "closure-notice",
        "referrer-status",
        "safety-assessment",
        "waiting-list-status",
        "information-request",
        "information-reply",
        "safety-report",
        # issue 19: the partner kinds the seeds name
        "safety-report-vt",
        "vt-feedback",
        "medical-referral",
        "leerplicht-signal",
        "child-protection-board-information",
        # issue 20: safety that repeats
        "safety-plan",
    }


@pytest.mark.parametrize("purpose_id", SCHEMA_IDS)
def test_schema_is_a_valid_draft_2020_12_schema_with_id_title_and_description(
    purpose_id: str,
) -> None:
    document = schema(purpose_id)
    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == f"{ID_PREFIX}{purpose_id}.schema.json"
    assert document["title"].strip()
    assert document["description"].strip()
    assert document["type"] == "object"


@pytest.mark.parametrize("purpose_id", SCHEMA_IDS)
def test_every_object_is_closed_and_every_string_array_and_number_bounded(purpose_id: str) -> None:
    problems = [
        f"{where or '/'}: {problem}"
        for where, node, describes_value in subschemas(schema(purpose_id))
        for problem in looseness(node, describes_value)
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("node", "describes_value"),
    [
        ({"type": "object", "properties": {}}, True),
        ({"type": "object", "additionalProperties": True, "properties": {}}, True),
        ({"type": "string"}, True),
        ({"type": "array", "items": {"type": "boolean"}}, True),
        ({"type": "integer", "minimum": 0}, True),
        ({"description": "anything goes"}, True),
        ({"type": ["string", "null"], "maxLength": 3}, True),
        ({"$ref": "other.schema.json"}, True),
    ],
)
def test_the_tree_walk_flags_open_or_unbounded_schemas(
    node: dict[str, Any], describes_value: bool
) -> None:
    assert looseness(node, describes_value) != []


def test_the_tree_walk_reaches_objects_nested_inside_arrays() -> None:
    nested = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "list": {"type": "array", "maxItems": 2, "items": {"type": "object", "properties": {}}},
        },
    }
    flagged = [where for where, node, value in subschemas(nested) if looseness(node, value)]
    assert flagged == ["/properties/list/items"]


@pytest.mark.parametrize("purpose_id", SCHEMA_IDS)
def test_example_is_valid_against_its_schema_including_formats(purpose_id: str) -> None:
    strict = Draft202012Validator(
        schema(purpose_id), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    assert [error.message for error in strict.iter_errors(example(purpose_id))] == []


@pytest.mark.parametrize("purpose_id", SCHEMA_IDS)
def test_example_exercises_every_declared_field_so_mutations_cover_it(purpose_id: str) -> None:
    # Any item of an array counts for the array's items (`fields` names them at index 0): a
    # field one item forbids (a not-assessed child has no instrument) is exercised by another.
    seen = {
        tuple(0 if isinstance(step, int) else step for step in path)
        for path, _, _ in walk(schema(purpose_id), example(purpose_id))
    }
    assert {pointer(path) for path in set(fields(schema(purpose_id))) - seen} == set()


@pytest.mark.parametrize(("purpose_id", "payload", "keyword", "path"), MUTATIONS)
def test_mutated_example_is_refused_by_the_rule_it_breaks(
    purpose_id: str, payload: dict[str, Any], keyword: str, path: Path_
) -> None:
    errors = list(validator(purpose_id).iter_errors(payload))
    assert any(e.validator == keyword and tuple(e.absolute_path) == path for e in errors), [
        (e.validator, list(e.absolute_path), e.message) for e in errors
    ]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None, database=None)
@given(data=st.data())
def test_an_extra_key_at_any_object_depth_is_never_valid(data: st.DataObject) -> None:
    purpose_id = data.draw(st.sampled_from(SCHEMA_IDS), label="purpose")
    payload = example(purpose_id)
    objects = [
        (path, node)
        for path, node, value in walk(schema(purpose_id), payload)
        if isinstance(value, dict)
    ]
    path, node = data.draw(st.sampled_from(objects), label="object")
    key = data.draw(
        st.text(min_size=1, max_size=40).filter(lambda k: k not in node["properties"]), label="key"
    )
    at(payload, path)[key] = data.draw(JSON_VALUES, label="value")
    assert not validator(purpose_id).is_valid(payload)


def test_referrer_status_refuses_an_action_description_with_any_other_status() -> None:
    payload = {"status": "help_started", "action_description": "Graag bellen."}
    assert not validator("referrer-status").is_valid(payload)
    assert validator("referrer-status").is_valid({"status": "help_started"})


def test_referrer_status_asking_for_action_requires_its_description() -> None:
    assert not validator("referrer-status").is_valid({"status": "action_expected_from_you"})


def test_stop_requires_end_date_and_end_reason_and_start_allows_neither() -> None:
    stop = example("start-stop")
    for name in ("end_date", "end_reason"):
        assert not validator("start-stop").is_valid({k: v for k, v in stop.items() if k != name})
    start = {k: v for k, v in stop.items() if k not in ("end_date", "end_reason")} | {
        "event": "start"
    }
    assert validator("start-stop").is_valid(start)
    assert not validator("start-stop").is_valid(start | {"end_reason": "31"})


def test_guardian_assigned_date_is_required_when_assigned_and_refused_when_not() -> None:
    assigned = example("waiting-list-status")
    waiting = {k: v for k, v in assigned.items() if k != "guardian_assigned_date"}
    assert not validator("waiting-list-status").is_valid(waiting)
    waiting["guardian_assigned"] = False
    assert validator("waiting-list-status").is_valid(waiting)
    assert not validator("waiting-list-status").is_valid(
        waiting | {"guardian_assigned_date": "2026-10-01"}
    )


def test_evaluation_feedback_needs_advice_as_code_or_text() -> None:
    payload = example("evaluation-feedback")
    del payload["advice"]
    assert validator("evaluation-feedback").is_valid(payload)
    del payload["advice_code"]
    assert not validator("evaluation-feedback").is_valid(payload)


def test_referral_contact_person_needs_a_phone_or_an_email() -> None:
    payload = example("referral")
    payload["contact_person"] = {"name": "Sanne Bakker"}
    assert not validator("referral").is_valid(payload)


def test_safety_assessment_refuses_a_bsn_as_child_reference() -> None:
    payload = example("safety-assessment")
    payload["children"][0]["child_ref"] = "111222333"
    assert not validator("safety-assessment").is_valid(payload)


def test_free_text_carrying_a_bsn_inside_a_sentence_is_refused() -> None:
    payload = example("safety-report") | {
        "description": "Melding over kind met bsn 111222333 gedaan."
    }
    assert not validator("safety-report").is_valid(payload)


def test_impossible_dates_are_refused_when_formats_are_asserted() -> None:
    strict = Draft202012Validator(
        schema("closure-notice"), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    assert not strict.is_valid(example("closure-notice") | {"end_date": "2026-02-30"})


def test_every_purpose_has_a_schema_and_an_example_and_every_schema_a_purpose() -> None:
    ids = [purpose["id"] for purpose in catalogue()]
    assert len(ids) == len(set(ids))
    for purpose in catalogue():
        assert purpose["schema"] == f"{purpose['id']}.schema.json"
        assert (SCHEMAS / purpose["schema"]).is_file()
        assert (EXAMPLES / f"{purpose['id']}.json").is_file()
    assert sorted(ids) == SCHEMA_IDS
    assert sorted(p.stem for p in EXAMPLES.glob("*.json")) == SCHEMA_IDS


@pytest.mark.parametrize("purpose", catalogue(), ids=lambda purpose: str(purpose["id"]))
def test_catalogue_entry_names_parties_basis_and_retention_consistently(
    purpose: dict[str, Any],
) -> None:
    required = {
        "id",
        "title",
        "description",
        "sender_kinds",
        "sender_roles",
        "recipient_kinds",
        "schema",
        "legal_basis",
        "consent_required",
        "inbox_retention_days",
        "record_retention_years",
        "break_glass",
        "processing_activity",
        "confidentiality",
    }
    assert (
        required
        <= purpose.keys()
        <= required
        | {
            "expects_reply",
            "reply_to",
            "expected_when_gi_joins",
            "ground",
            "relation",  # issue 19: the sender's relation to the subject the ground presumes
            "urgent",
            "alternative",  # issue 19: the way without agreement a refusal names
        }
    )
    assert set(purpose["title"]) == {"nl", "en"}
    assert set(purpose["sender_kinds"]) <= set(KINDS)
    assert set(purpose["recipient_kinds"]) <= set(KINDS)
    roles_of_senders = set().union(*(ROLES_BY_KIND[kind] for kind in purpose["sender_kinds"]))
    assert set(purpose["sender_roles"]) <= roles_of_senders
    assert all(
        ROLES_BY_KIND[kind] & set(purpose["sender_roles"]) for kind in purpose["sender_kinds"]
    )
    basis = purpose["legal_basis"]
    assert basis["type"] in ("statute", "consent")
    for ground in [basis, *purpose.get("ground", [])]:
        assert ground["type"] in ("statute", "consent")
        assert not any(claim in ground["reference"] for claim in CLAIMS_AVG_CONSENT)
        assert "a" not in ground["avg_art6"]
        if ground["type"] == "consent":
            assert ground["agreement_required"] is True
            assert purpose["consent_required"] is True
    assert purpose["break_glass"] is (purpose["id"] == "safety-report")
    if "alternative" in purpose:
        assert purpose["alternative"] in {p["id"] for p in catalogue()}
    assert purpose["inbox_retention_days"] >= 1
    assert purpose["record_retention_years"] >= 1
    assert purpose["processing_activity"].startswith("https://")
    assert purpose["confidentiality"] in ("normaal", "vertrouwelijk")


def test_an_expected_reply_can_be_sent_back_by_the_recipients_to_the_senders() -> None:
    by_id = {purpose["id"]: purpose for purpose in catalogue()}
    replies = {
        pid: [r["purpose"] for r in _as_list(p["expects_reply"])]
        for pid, p in by_id.items()
        if "expects_reply" in p
    }
    assert replies == {
        "referral": ["start-stop", "evaluation-feedback", "safety-assessment"],
        "information-request": ["information-reply"],
        "safety-report-vt": ["vt-feedback"],
        # issue 20: what the sender owes next (owed_by = "sender")
        "evaluation-feedback": ["safety-assessment"],
        "safety-assessment": ["safety-plan"],
        "waiting-list-status": ["waiting-list-status"],
    }
    for purpose_id in replies:
        for rule in _as_list(by_id[purpose_id]["expects_reply"]):
            asked, answer = by_id[purpose_id], by_id[rule["purpose"]]
            # The one who owes it sends it to the one it is owed to.
            owes, owed = (
                ("sender_kinds", "recipient_kinds")
                if rule.get("owed_by") == "sender"
                else ("recipient_kinds", "sender_kinds")
            )
            assert set(answer["sender_kinds"]) >= set(asked[owes])
            assert set(answer["recipient_kinds"]) >= set(asked[owed])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
