"""`partners.toml`: the organisations that may use the gateway, with their keys."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.auth.jwks import JwksError, PartnerKeys, parse_jwks
from gateway.config._toml import Table, read_toml
from gateway.config.errors import ConfigError
from gateway.config.outbox import VerwerkingenloggingTarget, read_verwerkingenlogging

__all__ = ["PARTNER_KINDS", "SENDING_KINDS", "Partner", "PartnerRegistry", "load_partners"]

PARTNER_KINDS = frozenset(
    {"social_team", "care_provider", "certified_institution", "school", "privacy_officer"}
)
SENDING_KINDS = PARTNER_KINDS - {"privacy_officer"}
PARTNER_ID = re.compile(r"^[a-z0-9-]{2,64}$")
_IDENTIFIERS = {
    "agb": re.compile(r"^\d{8}$"),
    "oin": re.compile(r"^\d{20}$"),
    "kvk": re.compile(r"^\d{8}$"),
    "brin": re.compile(r"^[0-9A-Z]{4}([0-9A-Z]{2})?$"),
}
_KNOWN = frozenset(
    {"id", "name", "kind", "jwks", "demo", "webhook", "verwerkingenlogging", *_IDENTIFIERS}
)
_WEBHOOK = re.compile(r"^https?://[^\s/?#]+(/[^\s#]*)?$")


@dataclass(frozen=True, slots=True)
class Partner:
    """A registered organisation: who it is, what kind, and the keys it signs and receives with."""

    id: str
    name: str
    kind: str
    keys: PartnerKeys
    identifiers: Mapping[str, str]
    jwks_path: Path
    demo: bool
    webhook: str | None = None  # where "you have new messages" pokes go (no personal data)
    # the partner's own VNG Verwerkingenlogging API: disclosures concerning it are posted there
    verwerkingenlogging: VerwerkingenloggingTarget | None = None


@dataclass(frozen=True, slots=True)
class PartnerRegistry:
    """All partners by id; the one place the gateway asks "who is this"."""

    partners: Mapping[str, Partner]

    def get(self, partner_id: str) -> Partner | None:
        return self.partners.get(partner_id)

    def keys_for(self, partner_id: str) -> PartnerKeys | None:
        partner = self.partners.get(partner_id)
        return None if partner is None else partner.keys

    def __iter__(self) -> Iterator[Partner]:
        return iter(self.partners.values())

    def __len__(self) -> int:
        return len(self.partners)

    @property
    def uses_demo_keys(self) -> bool:
        return any(p.demo for p in self.partners.values())


def load_partners(config_dir: Path) -> PartnerRegistry:
    """Read `partners.toml` and each partner's JWKS; every problem names file and entry."""
    path = config_dir / "partners.toml"
    data = read_toml(path)
    raw = data.get("partner")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(path, "needs at least one [[partner]] table")
    partners: dict[str, Partner] = {}
    for n, item in enumerate(raw):
        table = Table(path, f"partner #{n + 1}", item)
        partner_id = table.text("id")
        table.entry = f"partner '{partner_id}'"
        table.reject_unknown(_KNOWN)
        if not PARTNER_ID.match(partner_id):
            raise table.fail("'id' must match [a-z0-9-]{2,64}")
        if partner_id in partners:
            raise table.fail("duplicate partner id")
        kind = table.text("kind")
        if kind not in PARTNER_KINDS:
            raise table.fail(f"'kind' must be one of {', '.join(sorted(PARTNER_KINDS))}")
        identifiers: dict[str, str] = {}
        for name, pattern in _IDENTIFIERS.items():
            value = table.opt_text(name)
            if value is not None:
                if not pattern.match(value):
                    raise table.fail(f"'{name}' has the wrong format")
                identifiers[name] = value
        jwks_path = (config_dir / table.text("jwks")).resolve()
        webhook = table.opt_text("webhook")
        if webhook is not None and not _WEBHOOK.match(webhook):
            raise table.fail("'webhook' must be an http(s) URL")
        partners[partner_id] = Partner(
            id=partner_id,
            name=table.text("name"),
            kind=kind,
            keys=_load_jwks(jwks_path, table),
            identifiers=identifiers,
            jwks_path=jwks_path,
            demo=table.flag("demo", False),
            webhook=webhook,
            verwerkingenlogging=read_verwerkingenlogging(table),
        )
    return PartnerRegistry(partners)


def _load_jwks(path: Path, table: Table) -> PartnerKeys:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise table.fail(f"JWKS file {path} not found") from None
    except (OSError, ValueError) as exc:
        raise table.fail(f"JWKS file {path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise table.fail(f"JWKS file {path} must hold a JSON object")
    try:
        return parse_jwks(data, source=str(path))
    except JwksError as exc:
        raise table.fail(str(exc)) from None
