"""A condition on a message's payload: when a rule of its purpose applies (`when`, `equals`).

Used by a purpose's `urgent` rule and by an `expects_reply` that is owed only sometimes (a
safety plan only after an `unsafe` outcome, the next waiting-list status only while the child
still waits). `when` names a field of the purpose's schema, either at the top (`acute_danger`)
or in the items of a list (`children[].outcome`); `equals` is the value that makes the
condition hold: `true` or `false` for a boolean field, a code of the field's enum otherwise.
Both are checked against the schema at start-up, so a rule can never wait on a field that no
valid payload has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.config._toml import Table

__all__ = ["PayloadCondition", "read_condition"]

# The item field that names a child in a list of per-child items (`children[].child_ref`).
CHILD_REF = "child_ref"


@dataclass(frozen=True, slots=True)
class PayloadCondition:
    """A payload field and the value that makes the condition hold."""

    when: str  # "field" or "list[].field"
    equals: str | bool = True

    @property
    def _parts(self) -> tuple[str | None, str]:
        """The list holding the field (None for a top-level field) and the field itself."""
        if "[]." in self.when:
            items, field = self.when.split("[].", 1)
            return items, field
        return None, self.when

    @property
    def per_item(self) -> bool:
        """Whether the field is one of a list's items (`children[].outcome`)."""
        return self._parts[0] is not None

    def _matches(self, value: Any) -> bool:
        # Only the exact value counts: 1 is no `true`, "unsafe " no "unsafe".
        if isinstance(self.equals, bool):
            return value is self.equals
        return isinstance(value, str) and value == self.equals

    def matching_items(self, payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The list items whose field has the value (empty for a top-level field)."""
        items, field = self._parts
        listed = payload.get(items) if items is not None else None
        if not isinstance(listed, list):
            return []
        return [i for i in listed if isinstance(i, Mapping) and self._matches(i.get(field))]

    def holds(self, payload: Mapping[str, Any]) -> bool:
        """Whether the payload has the value at the field (any item, for a field of a list)."""
        items, field = self._parts
        if items is None:
            return self._matches(payload.get(field))
        return bool(self.matching_items(payload))

    def child_refs(self, payload: Mapping[str, Any]) -> tuple[str, ...]:
        """The `child_ref`s of the items the condition holds for: the children it concerns."""
        refs = (item.get(CHILD_REF) for item in self.matching_items(payload))
        return tuple(r for r in refs if isinstance(r, str))

    def to_json(self) -> dict[str, object]:
        return {"when": self.when, "equals": self.equals}


def read_condition(table: Table, schema: Mapping[str, Any]) -> PayloadCondition:
    """`when` (required) and `equals` (optional, default true) of a table, checked on the schema."""
    when = table.text("when")
    equals: Any = table.data.get("equals", True)
    if not isinstance(equals, str | bool):
        raise table.fail("'equals' must be true, false or a code")
    field = _field(schema, when)
    if isinstance(equals, bool):
        if not isinstance(field, Mapping) or field.get("type") != "boolean":
            raise table.fail(
                f"'when' names '{when}', which is no boolean field of the purpose's schema"
            )
    elif not isinstance(field, Mapping) or equals not in field.get("enum", ()):
        raise table.fail(
            f"'equals' has '{equals}', which is no code of a field '{when}' of the purpose's schema"
        )
    return PayloadCondition(when, equals)


def _field(schema: Mapping[str, Any], when: str) -> Any:
    """The subschema of the field `when` names, or None when the schema has no such field."""
    node: Any = schema
    steps = when.split("[].", 1)
    for n, step in enumerate(steps):
        properties = node.get("properties") if isinstance(node, Mapping) else None
        node = properties.get(step) if isinstance(properties, Mapping) else None
        if n < len(steps) - 1:
            if not isinstance(node, Mapping) or node.get("type") != "array":
                return None
            node = node.get("items")
    return node
