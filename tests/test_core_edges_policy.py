"""The policy core at its edges: the compiled payload check, the decision, the request parse.

Each test names a realistic slip (a `<` for `<=` at a schema limit, a check that passes what is
not an object, a rule skipped for one recipient) that mutation testing (`make mutate`,
docs/mutation-testing.md) showed the suite let through. The compiled check accepts a payload on
its own word, so every case here is held to jsonschema's verdict as well.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gateway.policy.compiled import Undecided, compile_schema

FORMATS = Draft202012Validator.FORMAT_CHECKER

# (schema, instance): boundary cases where a one-character slip flips the verdict.
CASES: list[tuple[dict[str, Any] | bool, Any]] = [
    (True, {"x": 1}),
    (False, {}),
    ({"minLength": 3}, "abc"),
    ({"minLength": 3}, "ab"),
    ({"minLength": 3}, 7),
    ({"maxLength": 3}, "abc"),
    ({"maxLength": 3}, "abcd"),
    ({"maxLength": 3}, ["a", "b", "c", "d"]),
    ({"minItems": 2}, ["a", "b"]),
    ({"minItems": 2}, ["a"]),
    ({"minItems": 2}, "a"),
    ({"maxItems": 2}, ["a", "b"]),
    ({"maxItems": 2}, ["a", "b", "c"]),
    ({"maxItems": 2}, "abc"),
    ({"minimum": 0}, 0),
    ({"minimum": 0}, -1),
    ({"minimum": 0}, -0.5),
    ({"minimum": 0}, "x"),
    ({"minimum": 0}, True),
    ({"maximum": 10}, 10),
    ({"maximum": 10}, 11),
    ({"maximum": 10}, 10.5),
    ({"maximum": 10}, "x"),
    ({"type": "integer"}, 1),
    ({"type": "integer"}, 1.0),
    ({"type": "integer"}, 1.5),
    ({"type": "integer"}, True),
    ({"type": "number"}, 1.5),
    ({"type": "number"}, False),
    ({"type": "number"}, "1"),
    ({"type": "string"}, "s"),
    ({"type": "string"}, 1),
    ({"type": "boolean"}, True),
    ({"type": "boolean"}, 0),
    ({"type": "null"}, None),
    ({"type": "null"}, 0),
    ({"type": "object"}, {}),
    ({"type": "object"}, []),
    ({"type": "array"}, []),
    ({"type": "array"}, {}),
    ({"type": ["string", "null"]}, None),
    ({"type": ["string", "null"]}, "x"),
    ({"type": ["string", "null"]}, 1),
    ({"required": ["a", "b"]}, {"a": 1, "b": 2}),
    ({"required": ["a", "b"]}, {"a": 1}),
    ({"required": ["a"]}, ["a"]),
    ({"properties": {"a": {"type": "string"}}}, {"a": "x"}),
    ({"properties": {"a": {"type": "string"}}}, {"a": 1}),
    ({"properties": {"a": {"type": "string"}}}, {"b": 1}),
    ({"properties": {"a": {"type": "string"}}}, "not an object"),
    ({"properties": {"a": {"type": "string"}, "b": {"type": "string"}}}, {"a": "x", "b": 1}),
    ({"properties": {"a": {}}, "additionalProperties": False}, {"a": 1}),
    ({"properties": {"a": {}}, "additionalProperties": False}, {"a": 1, "b": 2}),
    ({"properties": {"a": {}}, "additionalProperties": False}, "x"),
    ({"properties": {"a": {}}, "additionalProperties": {"type": "string"}}, {"a": 1, "b": "s"}),
    ({"properties": {"a": {}}, "additionalProperties": {"type": "string"}}, {"a": 1, "b": 2}),
    ({"properties": {"a": {}}, "additionalProperties": {"type": "string"}}, [1]),
    ({"additionalProperties": {"type": "string"}}, {"b": "s", "c": 2}),
    ({"pattern": "^[0-9]{4}$"}, "2026"),
    ({"pattern": "^[0-9]{4}$"}, "20261"),
    ({"pattern": "[0-9]"}, "ab1"),
    ({"pattern": "^[0-9]{4}$"}, 2026),
    ({"format": "date"}, "2026-02-28"),
    ({"format": "date"}, "2026-02-30"),
    ({"format": "date"}, 7),
    ({"enum": ["a", "b"]}, "a"),
    ({"enum": ["a", "b"]}, "c"),
    ({"enum": ["1"]}, 1),
    ({"const": "a"}, "a"),
    ({"const": "a"}, "b"),
    ({"const": None}, None),
    ({"const": None}, 0),
    ({"const": True}, True),
    ({"const": True}, 1),
    ({"const": False}, 0),
    ({"uniqueItems": True}, ["a", "b"]),
    ({"uniqueItems": True}, ["a", "a"]),
    ({"uniqueItems": True}, "aa"),
    ({"uniqueItems": False}, ["a", "a"]),
    ({"items": {"type": "string"}}, ["a", "b"]),
    ({"items": {"type": "string"}}, ["a", 1]),
    ({"items": {"type": "string"}}, [1, "a"]),
    ({"items": {"type": "string"}}, "a"),
    ({"not": {"type": "string"}}, "a"),
    ({"not": {"type": "string"}}, 1),
    ({"if": {"const": "a"}, "then": {"minLength": 2}}, "a"),
    ({"if": {"const": "a"}, "else": {"minLength": 2}}, "b"),
    ({"if": {"const": "a"}, "then": {"minLength": 1}, "else": {"minLength": 2}}, "a"),
    ({"if": {"const": "a"}, "then": {"minLength": 2}, "else": {"minLength": 1}}, "b"),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, None),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, 1),
    ({"allOf": [{"type": "string"}, {"minLength": 2}]}, "a"),
    ({"allOf": [{"type": "string"}, {"minLength": 2}]}, "ab"),
    ({"allOf": [{"type": "string"}, {"minLength": 2}]}, 1),
    ({"oneOf": [{"type": "string"}, {"minLength": 2}]}, "ab"),
    ({"oneOf": [{"type": "string"}, {"minLength": 2}]}, "a"),
    ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, 1.5),
    ({"type": "string", "minLength": 2, "maxLength": 3}, "a"),
    ({"type": "string", "minLength": 2, "maxLength": 3}, "abcd"),
    ({"type": "string", "minLength": 2, "maxLength": 3}, "abc"),
    ({"title": "annotated", "description": "d", "type": "string"}, "x"),
    ({"title": "annotated", "description": "d", "type": "string"}, 1),
]


@pytest.mark.parametrize(("schema", "instance"), CASES)
def test_the_compiled_check_agrees_with_jsonschema_at_every_limit(
    schema: dict[str, Any] | bool, instance: Any
):
    check = compile_schema(schema, FORMATS)
    assert check is not None, "this schema should compile"
    assert check(instance) == Draft202012Validator(schema, format_checker=FORMATS).is_valid(
        instance
    )


def test_without_a_format_checker_a_format_is_only_an_annotation():
    check = compile_schema({"format": "date"}, None)
    assert check is not None
    assert check("not a date")


@pytest.mark.parametrize(
    "schema",
    [
        {"patternProperties": {"^a": {}}},
        {"properties": {"a": {}}, "patternProperties": {"^a": {}}, "additionalProperties": False},
        {"prefixItems": [{}], "items": False},
        {"enum": [1, "a"]},
        {"const": 1},
        {"minLength": -1},
        {"minLength": 1.5},
        {"maxItems": "2"},
        {"minimum": "0"},
        {"minimum": True},
        {"type": "date"},
        {"type": 7},
        {"required": "a"},
        {"required": [1]},
        {"pattern": 7},
        {"format": 7},
        {"uniqueItems": 1},
        {"anyOf": []},
        {"oneOf": "x"},
        {"properties": ["a"]},
        {"$ref": "#/x"},
        {"properties": {"a": {"$ref": "#/x"}}},
        {"items": {"$ref": "#/x"}},
        {"not": {"$ref": "#/x"}},
        {"if": {"$ref": "#/x"}},
        {"if": {}, "then": {"$ref": "#/x"}},
        {"additionalProperties": {"$ref": "#/x"}},
        "not a schema",
    ],
)
def test_a_schema_the_compiler_does_not_fully_understand_is_left_to_jsonschema(schema: Any):
    assert compile_schema(schema, FORMATS) is None


def test_unique_items_over_non_strings_is_left_undecided():
    check = compile_schema({"uniqueItems": True}, FORMATS)
    assert check is not None
    with pytest.raises(Undecided):
        check([1, 1.0])
