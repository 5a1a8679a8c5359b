"""The compiled schema check agrees with jsonschema, so its quick yes can stand in for it.

`check_payload` accepts a payload on the compiled check's word alone; these tests hold that word
to jsonschema's on every shipped minimal dataset (hypothesis mutations of each example: fields
replaced by arbitrary JSON, removed, added, strings at their limits) and on the type and format
corners where Python and JSON Schema disagree.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from gateway.config import load_catalogue
from gateway.config.compiled_schema import Undecided, compile_schema
from gateway.config.purposes import PayloadSchema
from gateway.errors import PayloadNotMinimal, SchemaViolation
from gateway.policy.minimal import check_payload

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_IDS = sorted(
    p.name.removesuffix(".schema.json") for p in (ROOT / "schemas").glob("*.schema.json")
)
FORMATS = Draft202012Validator.FORMAT_CHECKER


def _load(purpose_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = json.loads((ROOT / "schemas" / f"{purpose_id}.schema.json").read_text("utf-8"))
    example = json.loads((ROOT / "schemas" / "examples" / f"{purpose_id}.json").read_text("utf-8"))
    return schema, example


def _strings_in(node: Any) -> set[str]:
    """Every string a schema or example mentions: codes, dates, names, patterns' neighbours."""
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        return {s for k, v in node.items() for s in (_strings_in(k) | _strings_in(v))}
    if isinstance(node, list):
        return {s for v in node for s in _strings_in(v)}
    return set()


SPECIAL_STRINGS = [
    "",
    "x",
    "123456789",
    "tel 123456789 ok",
    "1234567890",
    "2027-02-30",
    "2027-04-30",
    "2027-4-30",
    "not-an-email",
    "a@example.org",
    "06-12345678",
    "G1",
    "a" * 33,
    "b" * 81,
    "c" * 201,
    "d" * 501,
    "é" * 10,
]
SPECIAL_NUMBERS: list[Any] = [0, 1, -1, 1.0, 2.5, 520, 521, 1e9, True, False, None]

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(SPECIAL_STRINGS),
    st.sampled_from(SPECIAL_NUMBERS),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


def _mutate(example: dict[str, Any], path: tuple[Any, ...], how: str, value: Any) -> Any:
    doc = copy.deepcopy(example)
    if not path:
        return value if how == "replace" else doc
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif how == "add" and isinstance(parent[last], dict):
        parent[last]["unexpected_field"] = value
    elif how == "add" and isinstance(parent[last], list):
        parent[last].append(value)
    return doc


def _agree(schema: dict[str, Any], instance: Any) -> None:
    check = compile_schema(schema, FORMATS)
    assert check is not None
    expected = Draft202012Validator(schema, format_checker=FORMATS).is_valid(instance)
    try:
        answer = check(instance)
    except Undecided:
        return
    assert answer == expected, json.dumps(instance, ensure_ascii=False, default=str)


@pytest.mark.parametrize("purpose_id", SCHEMA_IDS)
def test_every_shipped_schema_compiles_and_accepts_its_example(purpose_id: str) -> None:
    schema, example = _load(purpose_id)
    check = compile_schema(schema, FORMATS)
    assert check is not None
    assert check(example) is True


def test_loading_the_catalogue_compiles_each_purposes_schema_and_its_quick_check() -> None:
    catalogue = load_catalogue(ROOT / "config", ROOT / "schemas")
    for purpose in catalogue:
        _, example = _load(purpose.id)
        compiled = purpose.payload_schema
        assert compiled.document is purpose.schema
        assert compiled.validator.schema is purpose.schema
        assert compiled.quick_check is not None, purpose.id
        assert compiled.quick_check(example) is True
        assert compiled.surely_valid(example) is True
        assert compiled.surely_valid({**example, "unexpected_field": 1}) is False


def test_a_schema_without_a_quick_check_is_never_surely_valid_and_jsonschema_decides() -> None:
    compiled = PayloadSchema.compile({"type": "object", "patternProperties": {"^a": {}}})
    assert compiled.quick_check is None
    assert compiled.surely_valid({"ab": 1}) is False
    check_payload("p", compiled, {"ab": 1})


def test_a_quick_check_that_cannot_tell_is_no_quick_yes() -> None:
    compiled = PayloadSchema.compile({"type": "object", "properties": {"l": {"uniqueItems": True}}})
    assert compiled.quick_check is not None
    assert compiled.surely_valid({"l": [1, True]}) is False
    check_payload("p", compiled, {"l": [1, True]})


@pytest.mark.parametrize("purpose_id", SCHEMA_IDS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_check_agrees_with_jsonschema_on_mutated_examples(
    purpose_id: str, data: st.DataObject
) -> None:
    schema, example = _load(purpose_id)
    path = data.draw(st.sampled_from(_paths(example)))
    how = data.draw(st.sampled_from(["replace", "delete", "add"]))
    known = sorted(_strings_in(schema) | _strings_in(example))
    chosen = [*SPECIAL_STRINGS, *SPECIAL_NUMBERS, *known]
    value = data.draw(st.one_of(json_values, st.sampled_from(chosen)))
    _agree(schema, _mutate(example, path, how, value))


def _string_paths(node: Any) -> list[tuple[Any, ...]]:
    found = []
    for path in _paths(node):
        value = node
        for step in path:
            value = value[step]
        if isinstance(value, str):
            found.append(path)
    return found


date_like = st.builds(
    lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
    st.integers(1990, 2040),
    st.integers(0, 13),
    st.integers(0, 32),
)


@pytest.mark.parametrize("purpose_id", SCHEMA_IDS)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_check_agrees_with_jsonschema_on_edited_strings(
    purpose_id: str, data: st.DataObject
) -> None:
    schema, example = _load(purpose_id)
    paths = _string_paths(example)
    if not paths:
        return
    path = data.draw(st.sampled_from(paths))
    old = example
    for step in path:
        old = old[step]
    new = data.draw(
        st.one_of(
            date_like,
            st.integers(0, 600).map(lambda n: (old * (n // max(len(old), 1) + 1))[:n]),
            st.from_regex(r"[a-z ]{0,5}[0-9]{8,10}[a-z ]{0,5}", fullmatch=True),
            st.builds(lambda a, b: a + "@" + b, st.text(max_size=8), st.text(max_size=8)),
            st.text(max_size=20).map(lambda extra: old + extra),
        )
    )
    _agree(schema, _mutate(example, path, "replace", new))


@pytest.mark.parametrize(
    ("schema", "instance", "valid"),
    [
        ({"type": "integer"}, 1.0, True),
        ({"type": "integer"}, True, False),
        ({"type": "number"}, False, False),
        ({"type": ["string", "null"]}, None, True),
        ({"enum": ["a", "b"]}, "a", True),
        ({"const": True}, 1, False),
        ({"const": None}, 0, False),
        ({"minimum": 0}, "not a number", True),
        ({"maximum": 5}, True, True),
        ({"format": "date"}, "2027-02-30", False),
        ({"format": "date"}, 20270228, True),
        ({"pattern": "^a"}, 5, True),
        ({"additionalProperties": False, "properties": {"a": {}}}, {"a": 1, "b": 2}, False),
        ({"additionalProperties": {"type": "string"}}, {"b": "x"}, True),
        ({"items": False}, [], True),
        ({"items": False}, [1], False),
        ({"not": {"required": ["a"]}}, {"a": 1}, False),
        ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"a": 1}, False),
        ({"if": {"required": ["a"]}, "else": {"required": ["b"]}}, {}, False),
        ({"then": {"required": ["b"]}}, {}, True),
        ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1, False),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "s", True),
        ({"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}, {"c": 1}, False),
        ({"additionalProperties": {"type": "string"}}, {"b": 1}, False),
        ({"allOf": [{"type": "integer"}, {"minimum": 3}]}, 2, False),
        ({"uniqueItems": True}, ["a", "a"], False),
    ],
)
def test_compiled_check_keeps_json_schema_semantics_where_python_differs(
    schema: dict[str, Any], instance: Any, valid: bool
) -> None:
    check = compile_schema(schema, FORMATS)
    assert check is not None
    assert check(instance) is valid
    assert Draft202012Validator(schema, format_checker=FORMATS).is_valid(instance) is valid


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/x", "$defs": {"x": {}}},
        {"patternProperties": {"^a": {}}, "additionalProperties": False},
        {"enum": [1, "a"]},
        {"const": {"a": 1}},
        {"prefixItems": [{}], "items": False},
        {"dependentRequired": {"a": ["b"]}},
        {"x-custom": 1},
    ],
)
def test_schema_with_keywords_beyond_the_compiler_is_left_to_jsonschema(
    schema: dict[str, Any],
) -> None:
    assert compile_schema(schema, FORMATS) is None


def test_unique_items_over_mixed_json_types_is_left_to_jsonschema() -> None:
    check = compile_schema({"uniqueItems": True}, FORMATS)
    assert check is not None
    with pytest.raises(Undecided):
        check([1, True])


def test_check_payload_still_names_the_extra_field_when_the_quick_check_says_no() -> None:
    schema, example = _load("evaluation-feedback")
    validator = PayloadSchema.compile(schema)
    check_payload("evaluation-feedback", validator, example)
    with pytest.raises(PayloadNotMinimal) as refused:
        check_payload("evaluation-feedback", validator, {**example, "diagnosis": "x"})
    assert refused.value.extra["violations"][0]["path"] == "/payload/diagnosis"
    with pytest.raises(SchemaViolation):
        check_payload("evaluation-feedback", validator, {**example, "safety_concern": "no"})
