"""A purpose's `urgent` rule: which messages cannot wait in an inbox, and how soon they are seen.

A message is urgent when its payload's `when` field holds `equals` (gateway.config.conditions):
a boolean of the purpose's schema that is true (a report's `acute_danger`), or a code in a list
of per-child items (`children[].outcome` = `unsafe` in a safety assessment). An urgent message is marked in its recipient's inbox and comes
first there, its recipient's webhook is poked at once, and it must be acknowledged within
`acknowledge_within_minutes`: sending it opens an expectation of the pseudo-purpose
`ACKNOWLEDGEMENT`, owed by the recipient to the sender, that acknowledging the message closes.
When the term passes unacknowledged the gateway escalates (docs/contract-extensions.md, "Urgent
messages"). Built once here so every later purpose with an urgency flag reuses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.config._toml import Table
from gateway.config.conditions import PayloadCondition, read_condition

__all__ = ["ACKNOWLEDGEMENT", "MAX_ACKNOWLEDGE_MINUTES", "UrgentRule", "read_urgent_rule"]

# The expectation an urgent message opens: not a catalogue purpose (no partner can send one; a
# catalogue purpose may not take this id), closed only by acknowledging the message.
ACKNOWLEDGEMENT = "acknowledgement"
# An urgent message is a matter of minutes or hours; a longer term is an ordinary expectation.
MAX_ACKNOWLEDGE_MINUTES = 24 * 60
_SOURCES = frozenset({"statute", "covenant", "local_agreement"})
_KEYS = frozenset({"when", "equals", "acknowledge_within_minutes", "source", "reference"})


@dataclass(frozen=True, slots=True)
class UrgentRule:
    """When a message of a purpose is urgent, and how soon its recipient must acknowledge it."""

    when: str  # a field of the payload; its value `equals` makes the message urgent
    acknowledge_within_minutes: int
    source: str  # "statute" | "covenant" | "local_agreement"
    reference: str
    equals: str | bool = True

    def applies(self, payload: Mapping[str, Any]) -> bool:
        """Whether a message with this payload is urgent (only the exact value counts)."""
        return PayloadCondition(self.when, self.equals).holds(payload)

    def acknowledge_by(self, sent_at: datetime) -> datetime:
        """The moment an urgent message sent at `sent_at` must be acknowledged by."""
        return sent_at + timedelta(minutes=self.acknowledge_within_minutes)

    def to_json(self) -> dict[str, object]:
        return {
            "when": self.when,
            "equals": self.equals,
            "acknowledge_within_minutes": self.acknowledge_within_minutes,
            "source": self.source,
            "reference": self.reference,
        }


def read_urgent_rule(table: Table, schema: Mapping[str, Any]) -> UrgentRule:
    """The `urgent = {...}` table of a purpose, checked against the purpose's schema."""
    table.reject_unknown(_KEYS)
    condition = read_condition(table, schema)
    minutes = table.integer("acknowledge_within_minutes", minimum=1)
    if minutes > MAX_ACKNOWLEDGE_MINUTES:
        raise table.fail(
            f"'acknowledge_within_minutes' is at most {MAX_ACKNOWLEDGE_MINUTES} (a day); "
            "a longer term is an ordinary expected reply"
        )
    source = table.text("source")
    if source not in _SOURCES:
        raise table.fail(f"'source' must be one of {', '.join(sorted(_SOURCES))}")
    return UrgentRule(
        condition.when, minutes, source, table.text("reference"), equals=condition.equals
    )
