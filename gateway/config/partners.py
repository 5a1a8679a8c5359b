"""`partners.toml`: the organisations that may use the gateway, with their keys."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from gateway.auth.jwks import JwksError, PartnerKeys, parse_jwks
from gateway.config._toml import Table, read_toml
from gateway.config.errors import ConfigError
from gateway.config.outbox import VerwerkingenloggingTarget, read_verwerkingenlogging

__all__ = [
    "PARTNER_KINDS",
    "SENDING_KINDS",
    "CollegeMandate",
    "Partner",
    "PartnerRegistry",
    "load_partners",
]

PARTNER_KINDS = frozenset(
    {
        "social_team",
        "care_provider",
        "certified_institution",
        "school",
        "privacy_officer",
        # Issue 19, the partners the seeds name (docs/contract-extensions.md, "Partner kinds"):
        "veilig_thuis",
        "general_practitioner",
        "youth_health_care",
        "work_and_income",
        "compulsory_education",
        "child_protection_board",
    }
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
    {
        "id",
        "name",
        "kind",
        "jwks",
        "demo",
        "webhook",
        "verwerkingenlogging",
        "oversees",
        "acts_for_college",
        *_IDENTIFIERS,
    }
)
MAX_OVERSEEN = 100  # partners one officer's `oversees` may list
_WEBHOOK = re.compile(r"^https?://[^\s/?#]+(/[^\s#]*)?$")


@dataclass(frozen=True, slots=True)
class CollegeMandate:
    """The evidence that a social team acts for the college (B&W): its mandate or assignment.

    Jeugdwet art. 7.4.0 lid 2 obliges providers towards the college; a social team is the college
    only where the college mandated or assigned it (docs/legal-basis.md section 4.1).
    """

    mandate: str  # the mandaatbesluit or assignment, as the municipality names it
    since: date

    def to_json(self) -> dict[str, str]:
        return {"mandate": self.mandate, "since": self.since.isoformat()}


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
    # A privacy officer's organisations (partner ids), or "all" for the operator's own officer;
    # None for every other kind. gateway.policy.oversight turns it into what the officer sees.
    oversees: frozenset[str] | Literal["all"] | None = None
    # A social team's mandate or assignment to act for the college; None: it does not.
    acts_for_college: CollegeMandate | None = None


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
    oversees: dict[str, tuple[Table, tuple[str, ...]]] = {}
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
        served = _oversees(table, kind)
        if isinstance(served, tuple):
            oversees[partner_id] = (table, served)
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
            oversees=frozenset(served) if isinstance(served, tuple) else served,
            acts_for_college=_acts_for_college(table, kind),
        )
    for table, served in oversees.values():
        for served_id in served:
            other = partners.get(served_id)
            if other is None:
                raise table.fail(f"'oversees' names '{served_id}', which is no partner here")
            if other.kind == "privacy_officer":
                raise table.fail(
                    f"'oversees' names '{served_id}', a privacy_officer: an officer oversees "
                    "organisations, not other officers"
                )
    return PartnerRegistry(partners)


_MANDATE_HOW = (
    'acts_for_college = { mandate = "Mandaatbesluit jeugdhulp gemeente X 2025", '
    "since = 2025-01-01 }"
)


def _acts_for_college(table: Table, kind: str) -> CollegeMandate | None:
    """A social team's `acts_for_college`: the mandate (or assignment) and the date it runs from.

    Absent means the team does not act for the college. Refused on other kinds, and as a bare
    `true`: the mandate is the evidence, so it must be named.
    """
    if "acts_for_college" not in table.data:
        return None
    if kind != "social_team":
        raise table.fail("'acts_for_college' is only for partners of kind social_team")
    raw = table.data["acts_for_college"]
    if not isinstance(raw, Mapping):
        raise table.fail(
            f"'acts_for_college' must name the mandate as evidence, e.g. {_MANDATE_HOW}"
        )
    sub = Table(table.path, f"{table.entry}.acts_for_college", raw)
    sub.reject_unknown(frozenset({"mandate", "since"}))
    if "mandate" not in sub.data or "since" not in sub.data:
        raise sub.fail(f"needs 'mandate' and 'since', e.g. {_MANDATE_HOW}")
    mandate = sub.text("mandate")
    if not mandate.strip():
        raise sub.fail("'mandate' is empty: name the mandaatbesluit or assignment")
    since = sub.data["since"]
    if not isinstance(since, date) or isinstance(since, datetime):
        raise sub.fail("'since' must be a date (YYYY-MM-DD, unquoted)")
    return CollegeMandate(mandate, since)


_OVERSEES_HOW = (
    'name the partners it serves, e.g. oversees = ["swt-denhelder", "zorg-noord"], '
    'or oversees = "all" for the gateway operator\'s own officer'
)


def _oversees(table: Table, kind: str) -> tuple[str, ...] | Literal["all"] | None:
    """A privacy officer's `oversees`: "all" or the ids it serves (checked against the other
    partners once all are read). Required of officers, refused of every other kind: an officer
    without it would see either everything or nothing by accident."""
    if kind != "privacy_officer":
        if "oversees" in table.data:
            raise table.fail("'oversees' is only for partners of kind privacy_officer")
        return None
    if "oversees" not in table.data:
        raise table.fail(f"a privacy_officer needs 'oversees': {_OVERSEES_HOW}")
    value = table.data["oversees"]
    if value == "all":
        return "all"
    if not isinstance(value, list):
        raise table.fail(f"'oversees' must be \"all\" or a list of partner ids: {_OVERSEES_HOW}")
    served = table.texts("oversees")
    if not served:
        raise table.fail(f"'oversees' is empty: {_OVERSEES_HOW}")
    if len(set(served)) != len(served):
        raise table.fail("'oversees' names a partner more than once")
    if len(served) > MAX_OVERSEEN:
        # Each overseen partner is two index walks of an officer's every search.
        raise table.fail(
            f"'oversees' names {len(served)} partners, more than {MAX_OVERSEEN}; an officer "
            'for this many is the operator\'s own: oversees = "all"'
        )
    return served


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
