"""The minimal dataset: a payload may carry only what its purpose's closed schema allows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError

from gateway.config.purposes import PayloadSchema
from gateway.errors import PayloadNotMinimal, SchemaViolation

__all__ = ["allowed_fields", "check_payload", "disclosed_fields"]

MAX_VIOLATIONS = 50


def _pointer(parts: Iterator[Any] | list[Any]) -> str:
    out = "/payload"
    for part in parts:
        out += "/" + str(part).replace("~", "~0").replace("/", "~1")
    return out


def _extra_paths(error: ValidationError, root: Any, payload: Any) -> list[str]:
    """The paths of fields the schema forbids: unknown properties, or a field ruled out (`false`)."""
    if error.validator is None:
        # A `false` subschema: a field allowed only in another branch (e.g. end_date on a start).
        path = list(error.absolute_path)
        if error.schema_path and error.schema_path[-1] == "properties":
            # jsonschema reports a `false` property schema without the property's name (its path
            # ends at `properties`); the names are those ruled out there that the object holds.
            names = _ruled_out(root, list(error.schema_path), _at(payload, path))
            if names:
                return [_pointer([*path, name]) for name in names]
        return [_pointer(path)]
    if error.validator != "additionalProperties":
        return []
    instance = error.instance
    if not isinstance(instance, dict):
        return []
    allowed = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
    return [
        _pointer([*error.absolute_path, name]) for name in sorted(instance) if name not in allowed
    ]


def _at(document: Any, path: list[Any]) -> Any:
    for part in path:
        try:
            document = document[part]
        except (KeyError, IndexError, TypeError):
            return None
    return document


def _ruled_out(root: Any, schema_path: list[Any], instance: Any) -> list[str]:
    """The properties of `instance` whose subschema at `schema_path` (a `properties`) is `false`."""
    properties = _at(root, schema_path)
    if not isinstance(properties, dict) or not isinstance(instance, dict):
        return []
    return sorted(name for name, sub in properties.items() if sub is False and name in instance)


def check_payload(purpose_id: str, schema: PayloadSchema, payload: Mapping[str, Any]) -> None:
    """Return if the payload is valid and minimal; raise PayloadNotMinimal or SchemaViolation.

    The schema's compiled check gives the quick yes; anything else goes to jsonschema, which
    words the violations. Extra fields are reported first and separately: they are the privacy
    problem. Error messages name paths and rules only, never the offending values (they may be
    personal data).
    """
    if schema.surely_valid(payload):
        return
    errors = sorted(
        schema.validator.iter_errors(payload), key=lambda e: list(map(str, e.absolute_path))
    )
    if not errors:
        return
    extras = [p for e in errors for p in _extra_paths(e, schema.validator.schema, payload)]
    if extras:
        raise PayloadNotMinimal(
            f"the payload carries {len(extras)} field(s) that purpose '{purpose_id}' does not allow",
            "Remove the fields named in 'violations'; send only the purpose's minimal dataset "
            f"(GET /v1/purposes/{purpose_id} shows it).",
            purpose=purpose_id,
            violations=[
                {"path": p, "message": "field not allowed for this purpose"}
                for p in sorted(set(extras))[:MAX_VIOLATIONS]
            ],
        )
    raise SchemaViolation(
        f"the payload does not match the schema of purpose '{purpose_id}'",
        "Correct the fields named in 'violations'; the purpose's schema is at "
        f"GET /v1/purposes/{purpose_id}.",
        purpose=purpose_id,
        violations=[
            {"path": _pointer(list(e.absolute_path)), "message": _describe(e)}
            for e in errors[:MAX_VIOLATIONS]
        ],
    )


def _describe(error: ValidationError) -> str:
    """Say which rule failed without quoting the value."""
    rule = str(error.validator)
    expected = error.validator_value
    if rule == "required" and isinstance(expected, list) and isinstance(error.instance, dict):
        missing = [name for name in expected if name not in error.instance]
        return f"missing required field(s): {', '.join(missing)}"
    if rule in ("enum", "const"):
        return "value is not one of the allowed codes"
    if rule == "type":
        return f"must be of type {expected}"
    if rule in ("maxLength", "minLength", "maxItems", "minItems", "maximum", "minimum"):
        return f"violates {rule} {expected}"
    if rule == "pattern":
        return "does not have the required format"
    return f"fails the schema rule '{rule}'"


def disclosed_fields(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """Names of the fields a payload discloses, as dotted paths with [] for arrays."""
    found: set[str] = set()

    def walk(value: Any, prefix: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                path = f"{prefix}.{key}" if prefix else str(key)
                found.add(path)
                walk(item, path)
        elif isinstance(value, list):
            for item in value:
                walk(item, prefix + "[]")

    walk(payload, "")
    return tuple(sorted(found))


def allowed_fields(schema: Mapping[str, Any]) -> tuple[str, ...]:
    """Every field path a purpose's schema permits, in the same notation as disclosed_fields."""
    found: set[str] = set()

    def walk(node: Any, prefix: str) -> None:
        if not isinstance(node, dict):
            return
        for key, sub in node.get("properties", {}).items():
            path = f"{prefix}.{key}" if prefix else key
            found.add(path)
            walk(sub, path)
        if "items" in node:
            walk(node["items"], prefix + "[]")
        for combinator in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(combinator, []):
                walk(sub, prefix)
        for branch in ("if", "then", "else"):
            walk(node.get(branch), prefix)

    walk(schema, "")
    return tuple(sorted(found))
