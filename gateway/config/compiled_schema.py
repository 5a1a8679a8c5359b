"""A purpose's schema compiled once into plain Python checks: the fast "is it valid?" answer.

jsonschema walks a schema anew for every payload (hundreds of microseconds for a small one);
this turns the keywords the minimal datasets use into nested closures once, so a valid payload
is accepted in a few microseconds. It only ever answers for the keywords it knows, with
jsonschema's own semantics (bool is no integer, 1.0 is one, formats through the validator's
format checker, patterns with `re.search`); a schema using anything else is not compiled, and an
instance it cannot judge exactly raises `Undecided`. Callers treat "not valid" and "undecided"
alike: they ask jsonschema, which stays the authority and words the violations.

It lives beside the catalogue because the catalogue compiles each purpose's schema as it loads
(`PayloadSchema` in `purposes`); the policy only asks the compiled check.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import FormatChecker

__all__ = ["SchemaCheck", "Undecided", "compile_schema"]

SchemaCheck = Callable[[Any], bool]
"""True when an instance is valid against the compiled schema, False when it is not."""


class Undecided(Exception):
    """The compiled check cannot judge this instance exactly; ask jsonschema."""


class _NotCompilable(Exception):
    """The schema uses something this compiler does not reproduce exactly."""


# Keywords that never affect validity (2020-12 annotations and identifiers without references).
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)


def compile_schema(
    schema: Mapping[str, Any] | bool, format_checker: FormatChecker | None
) -> SchemaCheck | None:
    """The schema as one check, or None when it uses a keyword this module does not know."""
    try:
        return _compile(schema, format_checker)
    except _NotCompilable:
        return None


def _compile(schema: Any, formats: FormatChecker | None) -> SchemaCheck:
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict):
        raise _NotCompilable
    checks: list[SchemaCheck] = []
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS or keyword in ("then", "else"):
            continue
        build = _KEYWORDS.get(keyword)
        if build is None:
            raise _NotCompilable
        checks.append(build(value, schema, formats))
    return _all_of(checks)


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


def _all_of(checks: list[SchemaCheck]) -> SchemaCheck:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)

    def check(instance: Any) -> bool:
        for each in frozen:  # noqa: SIM110 - a loop beats all() over a generator here
            if not each(instance):
                return False
        return True

    return check


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPES: dict[str, Callable[[Any], bool]] = {
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "integer": _is_integer,
    "null": lambda v: v is None,
    "number": _is_number,
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
}


def _type(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(n in _TYPES for n in names):
        raise _NotCompilable
    tests = tuple(_TYPES[n] for n in names)
    if len(tests) == 1:
        return tests[0]
    return lambda instance: any(test(instance) for test in tests)


def _properties(
    value: Any, _schema: Mapping[str, Any], formats: FormatChecker | None
) -> SchemaCheck:
    if not isinstance(value, dict):
        raise _NotCompilable
    subs = tuple((name, _compile(sub, formats)) for name, sub in value.items())

    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return True
        for name, sub in subs:  # noqa: SIM110 - as above
            if name in instance and not sub(instance[name]):
                return False
        return True

    return check


def _additional_properties(
    value: Any, schema: Mapping[str, Any], formats: FormatChecker | None
) -> SchemaCheck:
    if "patternProperties" in schema:
        raise _NotCompilable
    known = frozenset(schema.get("properties", {}))
    if value is False:
        return lambda instance: not isinstance(instance, dict) or known.issuperset(instance)
    sub = _compile(value, formats)

    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return True
        for name, item in instance.items():  # noqa: SIM110 - as above
            if name not in known and not sub(item):
                return False
        return True

    return check


def _required(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise _NotCompilable
    names = frozenset(value)
    return lambda instance: not isinstance(instance, dict) or names.issubset(instance)


def _min_length(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    low = _count(value)
    return lambda instance: not isinstance(instance, str) or len(instance) >= low


def _max_length(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    high = _count(value)
    return lambda instance: not isinstance(instance, str) or len(instance) <= high


def _min_items(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    low = _count(value)
    return lambda instance: not isinstance(instance, list) or len(instance) >= low


def _max_items(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    high = _count(value)
    return lambda instance: not isinstance(instance, list) or len(instance) <= high


def _count(value: Any) -> int:
    if not _is_integer(value) or value < 0:
        raise _NotCompilable
    return int(value)


def _bound(value: Any) -> float | int:
    if not _is_number(value):
        raise _NotCompilable
    bound: float | int = value
    return bound


def _minimum(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    low = _bound(value)
    return lambda instance: not _is_number(instance) or not instance < low


def _maximum(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    high = _bound(value)
    return lambda instance: not _is_number(instance) or not instance > high


def _pattern(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    if not isinstance(value, str):
        raise _NotCompilable
    search = re.compile(value).search
    return lambda instance: not isinstance(instance, str) or search(instance) is not None


def _format(value: Any, _schema: Mapping[str, Any], formats: FormatChecker | None) -> SchemaCheck:
    if not isinstance(value, str):
        raise _NotCompilable
    if formats is None:
        return _always  # without a format checker, jsonschema treats formats as annotations
    conforms = formats.conforms
    return lambda instance: conforms(instance, value)


def _enum(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    # jsonschema's equality keeps True apart from 1; for strings it is plain ==, so only
    # enumerations of strings compile.
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _NotCompilable
    allowed = frozenset(value)
    return lambda instance: isinstance(instance, str) and instance in allowed


def _const(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    if isinstance(value, str):
        return lambda instance: isinstance(instance, str) and instance == value
    if value is None or isinstance(value, bool):
        return lambda instance: instance is value
    raise _NotCompilable


def _unique_items(value: Any, _schema: Mapping[str, Any], _f: FormatChecker | None) -> SchemaCheck:
    if value is False:
        return _always
    if value is not True:
        raise _NotCompilable

    def check(instance: Any) -> bool:
        if not isinstance(instance, list):
            return True
        if not all(isinstance(item, str) for item in instance):
            raise Undecided  # equality across JSON types is jsonschema's to judge
        return len(set(instance)) == len(instance)

    return check


def _items(value: Any, schema: Mapping[str, Any], formats: FormatChecker | None) -> SchemaCheck:
    if "prefixItems" in schema:
        raise _NotCompilable
    sub = _compile(value, formats)

    def check(instance: Any) -> bool:
        if not isinstance(instance, list):
            return True
        for item in instance:  # noqa: SIM110 - as above
            if not sub(item):
                return False
        return True

    return check


def _not(value: Any, _schema: Mapping[str, Any], formats: FormatChecker | None) -> SchemaCheck:
    sub = _compile(value, formats)
    return lambda instance: not sub(instance)


def _if(value: Any, schema: Mapping[str, Any], formats: FormatChecker | None) -> SchemaCheck:
    condition = _compile(value, formats)
    then = _compile(schema.get("then", True), formats)
    otherwise = _compile(schema.get("else", True), formats)
    return lambda instance: then(instance) if condition(instance) else otherwise(instance)


def _subschemas(value: Any, formats: FormatChecker | None) -> tuple[SchemaCheck, ...]:
    if not isinstance(value, list) or not value:
        raise _NotCompilable
    return tuple(_compile(sub, formats) for sub in value)


def _any_of(value: Any, _schema: Mapping[str, Any], formats: FormatChecker | None) -> SchemaCheck:
    subs = _subschemas(value, formats)
    return lambda instance: any(sub(instance) for sub in subs)


def _all_of_keyword(
    value: Any, _schema: Mapping[str, Any], formats: FormatChecker | None
) -> SchemaCheck:
    return _all_of(list(_subschemas(value, formats)))


def _one_of(value: Any, _schema: Mapping[str, Any], formats: FormatChecker | None) -> SchemaCheck:
    subs = _subschemas(value, formats)
    return lambda instance: sum(1 for sub in subs if sub(instance)) == 1


_KEYWORDS: dict[str, Callable[[Any, Mapping[str, Any], FormatChecker | None], SchemaCheck]] = {
    "type": _type,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "required": _required,
    "minLength": _min_length,
    "maxLength": _max_length,
    "minItems": _min_items,
    "maxItems": _max_items,
    "minimum": _minimum,
    "maximum": _maximum,
    "pattern": _pattern,
    "format": _format,
    "enum": _enum,
    "const": _const,
    "uniqueItems": _unique_items,
    "items": _items,
    "not": _not,
    "if": _if,
    "anyOf": _any_of,
    "allOf": _all_of_keyword,
    "oneOf": _one_of,
}
