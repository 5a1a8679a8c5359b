"""`register.toml`: the controller behind the gateway, for its register of processing activities.

AVG art. 30 lid 1 asks the controller to record, per processing activity, its name and contact
details and those of its data protection officer, the purposes, the categories of data subjects,
personal data and recipients, transfers, erasure terms and the security measures. The catalogue
holds most of it; this file holds what only the municipality knows: who the controller and its
officer are, and (optionally) the URIs of the activities in its own register, which replace the
shipped example URIs in `purposes.toml` for log entries, LDV records and the register alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config._toml import Table, read_toml

__all__ = ["Contact", "RegisterSettings", "load_register"]

_URI = re.compile(r"^(https?://[^\s/?#]+(/[^\s]*)?|urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+)$")
MAX_TEXT = 300


@dataclass(frozen=True, slots=True)
class Contact:
    """A name and how to reach it (an address, e-mail or telephone number, as text)."""

    name: str
    contact: str


@dataclass(frozen=True, slots=True)
class RegisterSettings:
    """The controller, its data protection officer, and the municipality's activity URIs."""

    controller: Contact
    dpo: Contact
    # purpose id -> URI of its processing activity in the controller's own register
    activities: Mapping[str, str] = field(default_factory=dict)


def _contact(table: Table) -> Contact:
    table.reject_unknown(frozenset({"name", "contact"}))
    values = []
    for key in ("name", "contact"):
        value = table.text(key)
        if not value.strip() or len(value) > MAX_TEXT:
            raise table.fail(f"'{key}' must be 1 to {MAX_TEXT} characters")
        values.append(value)
    return Contact(values[0], values[1])


def _required(root: Table, key: str) -> Table:
    table = root.table(key)
    if table is None:  # `table` raises for a missing required table; this satisfies the types
        raise root.fail(f"missing required table '{key}'")
    return table


def load_register(config_dir: Path, purpose_ids: frozenset[str]) -> RegisterSettings | None:
    """`register.toml` beside `purposes.toml`, or None when the folder has none."""
    path = config_dir / "register.toml"
    if not path.exists():
        return None
    root = Table(path, "register.toml", read_toml(path))
    root.reject_unknown(frozenset({"controller", "dpo", "processing_activity"}))
    controller, dpo = _required(root, "controller"), _required(root, "dpo")
    activities: dict[str, str] = {}
    given = root.table("processing_activity", required=False)
    if given is not None:
        for purpose_id in sorted(given.data):
            if purpose_id not in purpose_ids:
                raise given.fail(f"names unknown purpose '{purpose_id}'")
            uri = given.text(purpose_id)
            if not _URI.fullmatch(uri) or len(uri) > MAX_TEXT:
                raise given.fail(
                    f"'{purpose_id}' must be an https://, http:// or urn: URI of at most "
                    f"{MAX_TEXT} characters"
                )
            activities[purpose_id] = uri
    return RegisterSettings(_contact(controller), _contact(dpo), activities)
