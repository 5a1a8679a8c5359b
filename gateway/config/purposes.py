"""`purposes.toml`: the purpose catalogue, each purpose with its basis, parties and minimal dataset."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from gateway.config._toml import Table, read_toml
from gateway.config.compiled_schema import SchemaCheck, Undecided, compile_schema
from gateway.config.conditions import PayloadCondition, read_condition
from gateway.config.deadlines import Deadline, HolidayCalendar, load_holidays, read_deadline
from gateway.config.errors import ConfigError
from gateway.config.grounds import Ground, LegalBasis, read_direction_ground, read_ground
from gateway.config.partners import PARTNER_KINDS, SENDING_KINDS
from gateway.config.register import load_register
from gateway.config.urgency import ACKNOWLEDGEMENT, UrgentRule, read_urgent_rule
from gateway.subject import CHECKS, RESERVED_SYSTEMS, SYSTEM_SHAPE, IdentifierSystem

__all__ = [
    "RELATIONS",
    "RELATION_PURPOSES",
    "CaseNetworkVisibility",
    "Catalogue",
    "ExpectedReply",
    "Ground",
    "IdentifierSystem",
    "LegalBasis",
    "PayloadSchema",
    "Purpose",
    "ReplyRule",
    "load_catalogue",
]

PURPOSE_ID = re.compile(r"^[a-z][a-z0-9-]{1,63}$")
# The shape of `act.role` in a client assertion; a role the catalogue names must fit it.
ACTOR_ROLE = re.compile(r"^[a-z_]{2,64}$")
_KNOWN = frozenset(
    {
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
        "expects_reply",
        "reply_to",
        "expected_when_gi_joins",
        "processing_activity",
        "confidentiality",
        "ground",
        "relation",
        "urgent",
        "alternative",
    }
)
_SYSTEM_KEYS = frozenset({"system", "title", "pattern", "check", "purposes"})
# VNG Verwerkingenlogging's `vertrouwelijkheid`; "opgeheven" is a later state, never a start.
CONFIDENTIALITY = frozenset({"normaal", "vertrouwelijk"})
GI_REPORTING = frozenset({"direct", "beschermingstafel"})
_DEADLINE_KEYS = frozenset({"source", "reference", "count"})
# The relations to the subject a purpose may presume of its sender (`relation`, any one will do),
# each with the purposes whose messages establish it (none: the case network does);
# gateway.policy.relations says how.
RELATION_PURPOSES: Mapping[str, tuple[str, ...]] = {
    # a referral the sender received about the subject: the social team's, or a GP's or youth
    # physician's
    "referral_received": ("referral", "medical-referral"),
    "case_member": (),  # the sender is in a case network whose household holds the subject
    "help_started": ("start-stop",),  # the sender's own start (or stop) message about the subject
}
RELATIONS = frozenset(RELATION_PURPOSES)
# Who owes an expected reply: the message's recipient (an answer), or its sender (what it owes
# next: the safety assessment after an evaluation, the safety plan after an unsafe outcome).
OWED_BY = frozenset({"recipient", "sender"})
# A term in hours is a matter of the same or the next day; longer terms are counted in days.
MAX_WITHIN_HOURS = 72


@dataclass(frozen=True, slots=True)
class ExpectedReply:
    """A reply a purpose expects from its recipient, and by when.

    `due_from_payload` names a date field of the asking payload that sets the deadline (e.g. a
    referral's evaluation date; `within_days` applies when it is absent). `per_child` opens one
    expectation per child of the case's household. `carry` names a payload field (codes only) the
    reply is bound to, e.g. the topics an information request asks about. `deadline` names where
    the term comes from and whether `within_days` counts calendar or working days.

    `owed_by` says who owes it: the recipient (an answer, the default) or the sender (what the
    sender owes next). `within_hours`, when set, replaces `within_days` with a term of clock
    hours. `condition`, when set, opens it only for a payload it holds for; with `per_child` and
    a condition on a list of children (`children[].outcome`), only for the children it concerns.
    """

    purpose: str
    within_days: int  # 0 when the term is `within_hours`
    deadline: Deadline
    due_from_payload: str | None = None
    per_child: bool = False
    carry: str | None = None
    owed_by: str = "recipient"
    within_hours: int | None = None
    condition: PayloadCondition | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "purpose": self.purpose,
            "within_days": None if self.within_hours is not None else self.within_days,
            "within_hours": self.within_hours,
            "due_from_payload": self.due_from_payload,
            "per_child": self.per_child,
            "owed_by": self.owed_by,
            "condition": None if self.condition is None else self.condition.to_json(),
            **self.deadline.to_json(),
        }


@dataclass(frozen=True, slots=True)
class ReplyRule:
    """A reply purpose must answer an open request: `in_reply_to` it, within what it asked.

    `items` is the reply's list of answered codes (`answers[].topic`), `allowed_from` the field the
    request carried (`topics`): a reply may answer only what was asked.
    """

    purpose: str
    items: str | None = None  # None: the reply may answer whatever its schema allows
    allowed_from: str | None = None


@dataclass(frozen=True, slots=True)
class PayloadSchema:
    """A purpose's minimal dataset: its JSON Schema, validator and quick check, built once at load.

    `quick_check` is the schema compiled into plain Python checks (`compiled_schema`), or None
    when the schema uses a keyword the compiler leaves to jsonschema.
    """

    document: Mapping[str, Any]
    validator: Draft202012Validator
    quick_check: SchemaCheck | None

    @classmethod
    def compile(cls, document: Mapping[str, Any]) -> PayloadSchema:
        """The validator (formats checked) and the compiled check of one schema document."""
        validator = Draft202012Validator(
            document, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        return cls(document, validator, compile_schema(document, validator.format_checker))

    def surely_valid(self, payload: Any) -> bool:
        """The compiled check's quick yes; "no" and "cannot tell" both leave it to the validator."""
        if self.quick_check is None:
            return False
        try:
            return self.quick_check(payload)
        except Undecided:
            return False


@dataclass(frozen=True, slots=True)
class Purpose:
    """One entry of the catalogue: who may send what to whom, on which basis."""

    id: str
    title: Mapping[str, str]
    description: str
    sender_kinds: frozenset[str]
    sender_roles: frozenset[str]
    recipient_kinds: frozenset[str]
    schema_file: str
    payload_schema: PayloadSchema
    ground: Ground  # the default ground, `[purpose.legal_basis]`
    consent_required: bool
    inbox_retention_days: int
    record_retention_years: int
    break_glass: bool
    expects_reply: tuple[ExpectedReply, ...]
    reply_to: ReplyRule | None
    expected_when_gi_joins: Mapping[str, int]
    processing_activity: str = ""  # URI into the controller's register (AVG art. 30)
    confidentiality: str = "normaal"
    # `[[purpose.ground]]`: directions (sender kind -> recipient kind) with a ground of their own.
    direction_grounds: tuple[Ground, ...] = ()
    # Where the `expected_when_gi_joins` terms come from and how their days are counted.
    gi_join_deadline: Deadline | None = None
    # `relation`: the sender's relations to the subject, any one of which the purpose presumes;
    # empty when it presumes none.
    relation: tuple[str, ...] = ()
    # `urgent`: when a message of this purpose cannot wait, and how soon it must be acknowledged.
    urgent: UrgentRule | None = None
    # `alternative`: a purpose that needs no agreement (the report to Veilig Thuis), which a
    # refusal for want of the client's agreement names as the other way.
    alternative: str | None = None

    @property
    def schema(self) -> Mapping[str, Any]:
        """The minimal dataset's JSON Schema document."""
        return self.payload_schema.document

    @property
    def legal_basis(self) -> LegalBasis:
        """The default ground's type and reference."""
        return self.ground.basis

    def ground_for(self, sender_kind: str, recipient_kind: str) -> Ground:
        """The ground of a message from `sender_kind` to `recipient_kind` when no fact is known.

        A direction with an unconditional `[[purpose.ground]]` of its own takes that one; every
        other direction takes the purpose's default ground. A ground with conditions is skipped
        (no fact shows they hold): gateway.policy.grounds chooses with the facts of an exchange.
        """
        return self.grounds_for(sender_kind, recipient_kind)[-1]

    def grounds_for(self, sender_kind: str, recipient_kind: str) -> tuple[Ground, ...]:
        """The grounds that may apply to a direction, in the order they are tried: the
        direction's grounds with conditions, then its first unconditional one (or the default)."""
        tried: list[Ground] = []
        for ground in self.direction_grounds:
            if ground.covers(sender_kind, recipient_kind):
                tried.append(ground)
                if not ground.conditions.any:
                    return tuple(tried)
        return (*tried, self.ground)

    def gi_join_due(self, reported_via: str, joined_at: datetime) -> datetime:
        """When a certified institution that joined a case at `joined_at` owes this purpose."""
        # The loader gives every purpose with `expected_when_gi_joins` its deadline rule.
        assert self.gi_join_deadline is not None
        return self.gi_join_deadline.due(joined_at, self.expected_when_gi_joins[reported_via])

    def to_json(self) -> dict[str, Any]:
        """The purpose as `GET /v1/purposes` shows it."""
        return {
            "id": self.id,
            "title": dict(self.title),
            "description": self.description,
            "sender_kinds": sorted(self.sender_kinds),
            "sender_roles": sorted(self.sender_roles),
            "recipient_kinds": sorted(self.recipient_kinds),
            "legal_basis": self.ground.to_json(),
            "grounds": [g.to_json() for g in self.direction_grounds],
            "consent_required": self.consent_required,
            "break_glass": self.break_glass,
            "inbox_retention_days": self.inbox_retention_days,
            "record_retention_years": self.record_retention_years,
            "expects_reply": [e.to_json() for e in self.expects_reply],
            "reply_to": None
            if self.reply_to is None
            else {"purpose": self.reply_to.purpose, "answers_only": self.reply_to.allowed_from},
            "expected_when_gi_joins": dict(self.expected_when_gi_joins),
            "expected_when_gi_joins_deadline": None
            if self.gi_join_deadline is None
            else self.gi_join_deadline.to_json(),
            "schema": self.schema_file,
            "processing_activity": self.processing_activity,
            "confidentiality": self.confidentiality,
            "relation": list(self.relation),
            "urgent": None if self.urgent is None else self.urgent.to_json(),
            "alternative": self.alternative,
        }


# -- case network visibility -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseNetworkVisibility:
    """Which kinds of members a case network member of each kind may see (`[case_network_visibility]`).

    Fail closed: a kind the table does not list sees only itself. Every member always sees its own
    membership, whatever the table says.
    """

    visible: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def sees(self, viewer_kind: str, member_kind: str) -> bool:
        """Whether a member of `viewer_kind` may learn that a partner of `member_kind` is involved."""
        return member_kind in self.visible.get(viewer_kind, frozenset())

    def mutual(self, one_kind: str, other_kind: str) -> bool:
        """Whether each may see the other: a case-network send reaches only such members."""
        return self.sees(one_kind, other_kind) and self.sees(other_kind, one_kind)


def _case_network_visibility(path: Path, data: Mapping[str, Any]) -> CaseNetworkVisibility:
    """The `[case_network_visibility]` table: kind = [kinds it sees]; absent means self only."""
    raw = data.get("case_network_visibility", {})
    if not isinstance(raw, dict):
        raise ConfigError(path, "'case_network_visibility' must be a table of kind = [kinds]")
    table = Table(path, "case_network_visibility", raw)
    table.reject_unknown(SENDING_KINDS)
    return CaseNetworkVisibility(
        {kind: frozenset(table.texts(kind, allowed=SENDING_KINDS)) for kind in sorted(raw)}
    )


# -- the catalogue ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Catalogue:
    """All purposes by id, and the identifier systems accepted besides the BSN, by system URI."""

    purposes: Mapping[str, Purpose]
    identifier_systems: Mapping[str, IdentifierSystem] = field(default_factory=dict)
    # `[actor_roles]`: the roles an actor of each partner kind may hold (`act.role`).
    actor_roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    case_network_visibility: CaseNetworkVisibility = field(default_factory=CaseNetworkVisibility)

    def get(self, purpose_id: str) -> Purpose | None:
        return self.purposes.get(purpose_id)

    def roles_of(self, kind: str) -> frozenset[str]:
        """The actor roles a partner of this kind may hold; none for a kind the table omits."""
        return self.actor_roles.get(kind, frozenset())

    def __iter__(self) -> Iterator[Purpose]:
        return iter(self.purposes.values())

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self.purposes)

    @property
    def longest_record_retention_years(self) -> int:
        return max((p.record_retention_years for p in self.purposes.values()), default=0)

    @property
    def shortest_record_retention_years(self) -> int:
        return min((p.record_retention_years for p in self.purposes.values()), default=0)


def load_catalogue(config_dir: Path, schemas_dir: Path) -> Catalogue:
    """Read and check `purposes.toml` and compile every purpose's schema once."""
    path = config_dir / "purposes.toml"
    data = read_toml(path)
    unknown = sorted(
        set(data) - {"purpose", "identifier_system", "actor_roles", "case_network_visibility"}
    )
    if unknown:
        raise ConfigError(
            path,
            f"unknown top-level key(s) {', '.join(repr(k) for k in unknown)}; "
            "expected [[purpose]] and [[identifier_system]] tables, an [actor_roles] table "
            "and a [case_network_visibility] table",
        )
    roles = _actor_roles(path, data)
    # Working-day terms skip the holidays of `holidays.toml`; without the file only
    # calendar-day terms can be configured (the loader says so where one counts working days).
    holidays_path = config_dir / "holidays.toml"
    holidays = load_holidays(holidays_path) if holidays_path.exists() else None
    raw = data.get("purpose")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(path, "needs at least one [[purpose]] table")
    purposes: dict[str, Purpose] = {}
    for n, item in enumerate(raw):
        table = Table(path, f"purpose #{n + 1}", item)
        purpose = _purpose(table, schemas_dir, roles, holidays)
        if purpose.id in purposes:
            raise table.fail("duplicate purpose id")
        purposes[purpose.id] = purpose
    for purpose in purposes.values():
        named = [e.purpose for e in purpose.expects_reply]
        if purpose.reply_to is not None:
            named.append(purpose.reply_to.purpose)
        for other in named:
            if other not in purposes:
                raise ConfigError(
                    path, f"names unknown purpose '{other}' as a reply", f"purpose '{purpose.id}'"
                )
        if purpose.alternative is not None:
            _alternative_needs_no_agreement(path, purpose, purposes)
        for relation in purpose.relation:
            establishing = RELATION_PURPOSES[relation]
            if establishing and not any(p in purposes for p in establishing):
                raise ConfigError(
                    path,
                    f"'relation' has '{relation}', which a "
                    f"{' or '.join(repr(p) for p in establishing)} message establishes, "
                    "and the catalogue has no such purpose",
                    f"purpose '{purpose.id}'",
                )
    # The municipality's own register (register.toml) names the activities' URIs where it says.
    register = load_register(config_dir, frozenset(purposes))
    if register is not None and register.activities:
        purposes = {
            pid: replace(p, processing_activity=register.activities.get(pid, p.processing_activity))
            for pid, p in purposes.items()
        }
    return Catalogue(
        purposes,
        _identifier_systems(path, data, frozenset(purposes)),
        actor_roles=roles,
        case_network_visibility=_case_network_visibility(path, data),
    )


def _alternative_needs_no_agreement(
    path: Path, purpose: Purpose, purposes: Mapping[str, Purpose]
) -> None:
    """`alternative` names another purpose that every sender of this one may send without the
    client's agreement: a refusal offers it as the other way."""
    where = f"purpose '{purpose.id}'"
    other = purposes.get(purpose.alternative or "")
    if other is None or other.id == purpose.id:
        raise ConfigError(
            path, f"'alternative' names no other purpose: '{purpose.alternative}'", where
        )
    if other.consent_required:
        raise ConfigError(
            path, f"'alternative' names '{other.id}', which needs the client's agreement", where
        )
    missing = sorted(purpose.sender_kinds - other.sender_kinds)
    if missing:
        raise ConfigError(
            path, f"'alternative' names '{other.id}', which '{missing[0]}' may not send", where
        )


def _actor_roles(path: Path, data: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """The `[actor_roles]` table: per partner kind, the actor roles it may hold.

    A kind the table leaves out holds no role, so its partners get no token at all.
    """
    if "actor_roles" not in data:
        raise ConfigError(
            path,
            "missing required table [actor_roles]: the actor roles each partner kind may hold",
        )
    table = Table(path, "actor_roles", data["actor_roles"])
    table.reject_unknown(PARTNER_KINDS)
    roles: dict[str, frozenset[str]] = {}
    for kind in sorted(table.data):
        listed = table.texts(kind)
        for role in listed:
            if not ACTOR_ROLE.fullmatch(role):
                raise table.fail(
                    f"'{kind}' has '{role}'; a role is 2-64 lower-case letters and underscores"
                )
        if len(set(listed)) != len(listed):
            raise table.fail(f"'{kind}' names a role twice")
        roles[kind] = frozenset(listed)
    return roles


def _identifier_systems(
    path: Path, data: Mapping[str, Any], purpose_ids: frozenset[str]
) -> dict[str, IdentifierSystem]:
    """The `[[identifier_system]]` tables: subjects without a BSN the gateway accepts."""
    raw = data.get("identifier_system", [])
    if not isinstance(raw, list):
        raise ConfigError(
            path, "'identifier_system' must be a list of [[identifier_system]] tables"
        )
    systems: dict[str, IdentifierSystem] = {}
    for n, item in enumerate(raw):
        table = Table(path, f"identifier_system #{n + 1}", item)
        declared = _identifier_system(table, purpose_ids)
        if declared.system in systems:
            raise table.fail(f"duplicate identifier system '{declared.system}'")
        systems[declared.system] = declared
    return systems


def _identifier_system(table: Table, purpose_ids: frozenset[str]) -> IdentifierSystem:
    system = table.text("system")
    table.entry = f"identifier_system '{system}'"
    table.reject_unknown(_SYSTEM_KEYS)
    if system.lower() in {s.lower() for s in RESERVED_SYSTEMS}:
        raise table.fail('the BSN is not an identifier system: it has its own form, {"bsn": ...}')
    if not SYSTEM_SHAPE.fullmatch(system):
        raise table.fail(
            "'system' must be an absolute URI (urn:..., https://...) of at most 200 printable "
            "ASCII characters without spaces"
        )
    title = table.table("title")
    assert title is not None
    title.reject_unknown(frozenset({"nl", "en"}))
    titles = {"nl": title.text("nl"), "en": title.text("en")}
    source = table.text("pattern")
    if not (source.startswith("^") and source.endswith("$")):
        raise table.fail("'pattern' must be anchored: start with ^ and end with $")
    try:
        pattern = re.compile(source)
    except re.error as exc:
        raise table.fail(f"'pattern' is not a valid regular expression: {exc}") from None
    check = table.opt_text("check")
    if check is not None and check not in CHECKS:
        raise table.fail(f"'check' has '{check}', expected one of {', '.join(sorted(CHECKS))}")
    purposes = None
    if "purposes" in table.data:
        purposes = frozenset(table.texts("purposes", allowed=purpose_ids))
        if not purposes:
            raise table.fail("'purposes' must not be empty; leave it out to accept every purpose")
    return IdentifierSystem(system, titles, pattern, check, purposes)


def _purpose(
    table: Table,
    schemas_dir: Path,
    roles_by_kind: Mapping[str, frozenset[str]],
    holidays: HolidayCalendar | None,
) -> Purpose:
    purpose_id = table.text("id")
    table.entry = f"purpose '{purpose_id}'"
    table.reject_unknown(_KNOWN)
    if not PURPOSE_ID.match(purpose_id):
        raise table.fail("'id' must be lower-case letters, digits and dashes")
    if purpose_id == ACKNOWLEDGEMENT:
        raise table.fail(f"'{ACKNOWLEDGEMENT}' is reserved for an urgent message's receipt")
    title = table.table("title")
    assert title is not None
    titles = {"nl": title.text("nl"), "en": title.text("en")}
    sender_kinds = frozenset(table.texts("sender_kinds", allowed=SENDING_KINDS))
    recipient_kinds = frozenset(table.texts("recipient_kinds", allowed=SENDING_KINDS))
    sender_roles = frozenset(table.texts("sender_roles"))
    if not sender_kinds or not recipient_kinds or not sender_roles:
        raise table.fail("'sender_kinds', 'sender_roles' and 'recipient_kinds' must not be empty")
    held = frozenset[str]().union(*(roles_by_kind.get(kind, frozenset()) for kind in sender_kinds))
    stray = sorted(sender_roles - held)
    if stray:
        raise table.fail(
            f"'sender_roles' has '{stray[0]}', which none of its sender kinds "
            f"({', '.join(sorted(sender_kinds))}) holds in [actor_roles]"
        )
    for kind in sender_kinds:
        if not sender_roles & roles_by_kind.get(kind, frozenset()):
            raise table.fail(f"no role in 'sender_roles' belongs to sender kind '{kind}'")
    basis_table = table.table("legal_basis")
    assert basis_table is not None
    ground = read_ground(basis_table)
    directions = _direction_grounds(table, sender_kinds, recipient_kinds)
    _conditions_fail_closed(table, ground, directions)
    consent_required = table.flag("consent_required")
    # A "consent" ground requires agreement (grounds.py), so it needs consent_required too.
    needs_agreement = any(g.agreement_required for g in (ground, *directions))
    if consent_required != needs_agreement:
        raise table.fail(
            f"consent_required = {str(consent_required).lower()} contradicts its grounds: "
            "it must be true exactly when a ground of the purpose has agreement_required = true"
        )
    schema_file = table.text("schema")
    schema = _schema(table, schemas_dir / schema_file)
    replies = _expected_replies(table, holidays, schema)
    reply_to = None
    rule = table.table("reply_to", required=False)
    if rule is not None:
        rule.reject_unknown(frozenset({"purpose", "items", "allowed_from"}))
        items, allowed_from = rule.opt_text("items"), rule.opt_text("allowed_from")
        if (items is None) != (allowed_from is None):
            raise rule.fail("'items' and 'allowed_from' go together: name both or neither")
        reply_to = ReplyRule(rule.text("purpose"), items, allowed_from)
    gi_joins: dict[str, int] = {}
    gi_deadline = None
    joins = table.table("expected_when_gi_joins", required=False)
    if joins is not None:
        joins.reject_unknown(GI_REPORTING | _DEADLINE_KEYS)
        gi_joins = {way: joins.integer(way, minimum=1) for way in sorted(GI_REPORTING)}
        gi_deadline = read_deadline(joins, holidays)
    activity = table.text("processing_activity")
    if not activity.startswith(("https://", "http://", "urn:")):
        raise table.fail("'processing_activity' must be a URI into the register of processing")
    confidentiality = table.text("confidentiality")
    if confidentiality not in CONFIDENTIALITY:
        raise table.fail("'confidentiality' must be 'normaal' or 'vertrouwelijk'")
    urgent_table = table.table("urgent", required=False)
    urgent = None if urgent_table is None else read_urgent_rule(urgent_table, schema)
    purpose = Purpose(
        id=purpose_id,
        title=titles,
        description=table.text("description"),
        sender_kinds=sender_kinds,
        sender_roles=sender_roles,
        recipient_kinds=recipient_kinds,
        schema_file=schema_file,
        payload_schema=PayloadSchema.compile(schema),
        ground=ground,
        consent_required=consent_required,
        inbox_retention_days=table.integer("inbox_retention_days", minimum=1),
        record_retention_years=table.integer("record_retention_years", minimum=1),
        break_glass=table.flag("break_glass"),
        expects_reply=replies,
        reply_to=reply_to,
        expected_when_gi_joins=gi_joins,
        processing_activity=activity,
        confidentiality=confidentiality,
        direction_grounds=directions,
        gi_join_deadline=gi_deadline,
        relation=_relation(table),
        urgent=urgent,
        alternative=table.opt_text("alternative"),
    )
    _break_glass_has_its_ground(table, purpose)
    return purpose


def _break_glass_has_its_ground(table: Table, purpose: Purpose) -> None:
    """A break-glass ground only where break-glass is allowed; and where it is allowed on a
    direction whose grounds need agreement, a break-glass ground names what a disclosure without
    agreement then rests on (the agreement ground's articles would be the wrong ones)."""
    if not purpose.break_glass:
        for n, ground in enumerate(purpose.direction_grounds):
            if ground.conditions.break_glass:
                raise table.fail(
                    f"ground[{n}] holds only under break-glass, and the purpose does not allow "
                    "break-glass (break_glass = false)"
                )
        return
    for sender in sorted(purpose.sender_kinds):
        for recipient in sorted(purpose.recipient_kinds):
            grounds = purpose.grounds_for(sender, recipient)
            if any(g.agreement_required for g in grounds) and not any(
                g.conditions.break_glass for g in grounds
            ):
                raise table.fail(
                    f"break_glass = true, and direction {sender} -> {recipient} needs the "
                    "client's agreement: add a [[purpose.ground]] with break_glass = true for it, "
                    "the ground a disclosure without agreement rests on (e.g. AVG art. 6(1)(d))"
                )


def _relation(table: Table) -> tuple[str, ...]:
    """The optional `relation` list: known names, none twice, not empty when given."""
    if "relation" not in table.data:
        return ()
    names = table.texts("relation", allowed=RELATIONS)
    if not names:
        raise table.fail(
            "'relation' must not be empty; leave it out when the purpose presumes no relation"
        )
    if len(set(names)) != len(names):
        raise table.fail("'relation' names a relation twice")
    return tuple(names)


def _conditions_fail_closed(table: Table, default: Ground, directions: tuple[Ground, ...]) -> None:
    """Where a ground's conditions do not hold, the direction falls back to a ground that needs
    the client's agreement: a failed condition never lands on another statutory ground meant
    for other directions (the default's, say)."""
    for n, ground in enumerate(directions):
        if not ground.conditions.any:
            continue
        for sender in sorted(ground.from_kinds):
            for recipient in sorted(ground.to_kinds):
                later = [g for g in directions[n + 1 :] if g.covers(sender, recipient)]
                last = next((g for g in later if not g.conditions.any), default)
                if not last.agreement_required:
                    raise table.fail(
                        f"ground[{n}] holds under conditions, and where they do not hold the "
                        f"direction {sender} -> {recipient} falls back to '{last.reference}', "
                        "which needs no agreement: the fallback must have agreement_required "
                        "= true (fail closed)"
                    )


def _direction_grounds(
    table: Table, sender_kinds: frozenset[str], recipient_kinds: frozenset[str]
) -> tuple[Ground, ...]:
    """The `[[purpose.ground]]` tables; no direction may be named by two of them."""
    raw = table.data.get("ground", [])
    if not isinstance(raw, list):
        raise table.fail("'ground' must be a list of [[purpose.ground]] tables")
    grounds: list[Ground] = []
    for n, item in enumerate(raw):
        sub = Table(table.path, f"{table.entry}.ground[{n}]", item)
        ground = read_direction_ground(sub, sender_kinds, recipient_kinds)
        for earlier in grounds:
            both = sorted(
                f"{a} -> {b}"
                for a in ground.from_kinds & earlier.from_kinds
                for b in ground.to_kinds & earlier.to_kinds
            )
            # Grounds of one direction are tried in order: a later one is reached only when an
            # earlier one's conditions do not hold, so an unconditional one must come last.
            if both and not earlier.conditions.any:
                raise sub.fail(f"direction {both[0]} already has a ground of its own")
            if both and earlier.conditions == ground.conditions:
                raise sub.fail(f"direction {both[0]} already has a ground with the same conditions")
        grounds.append(ground)
    return tuple(grounds)


def _expected_replies(
    table: Table, holidays: HolidayCalendar | None, schema: Mapping[str, Any]
) -> tuple[ExpectedReply, ...]:
    raw = table.data.get("expects_reply")
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        raise table.fail("'expects_reply' must be a table or a list of tables")
    out = []
    for n, item in enumerate(items):
        sub = Table(table.path, f"{table.entry}.expects_reply[{n}]", item)
        sub.reject_unknown(_REPLY_KEYS | _DEADLINE_KEYS)
        out.append(_expected_reply(sub, holidays, schema))
    return tuple(out)


_REPLY_KEYS = frozenset(
    {
        "purpose",
        "within_days",
        "within_hours",
        "due_from_payload",
        "per_child",
        "carry",
        "owed_by",
        "when",
        "equals",
    }
)


def _expected_reply(
    sub: Table, holidays: HolidayCalendar | None, schema: Mapping[str, Any]
) -> ExpectedReply:
    """One `expects_reply` table: a term of days or of hours, and whom it binds."""
    deadline = read_deadline(sub, holidays)
    hours = None
    if "within_hours" in sub.data:
        if "within_days" in sub.data:
            raise sub.fail("give 'within_days' or 'within_hours', not both")
        hours = sub.integer("within_hours", minimum=1)
        if hours > MAX_WITHIN_HOURS:
            raise sub.fail(
                f"'within_hours' is at most {MAX_WITHIN_HOURS}; a longer term is 'within_days'"
            )
        if deadline.count.unit != "calendar":
            raise sub.fail('a term in hours counts clock hours: give count = "calendar"')
    owed_by = sub.text("owed_by", "recipient")
    if owed_by not in OWED_BY:
        raise sub.fail(f"'owed_by' has '{owed_by}', expected 'recipient' or 'sender'")
    if "equals" in sub.data and "when" not in sub.data:
        raise sub.fail("'equals' needs 'when': the payload field it is compared with")
    condition = read_condition(sub, schema) if "when" in sub.data else None
    return ExpectedReply(
        purpose=sub.text("purpose"),
        within_days=0 if hours is not None else sub.integer("within_days", minimum=1),
        deadline=deadline,
        due_from_payload=sub.opt_text("due_from_payload"),
        per_child=sub.flag("per_child", False),
        carry=sub.opt_text("carry"),
        owed_by=owed_by,
        within_hours=hours,
        condition=condition,
    )


def _schema(table: Table, path: Path) -> dict[str, Any]:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise table.fail(f"schema file {path} not found") from None
    except (OSError, ValueError) as exc:
        raise table.fail(f"schema file {path} is not readable JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise table.fail(f"schema file {path} must hold a JSON object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise table.fail(
            f"schema file {path} is not a valid JSON Schema 2020-12: {exc.message}"
        ) from None
    if schema.get("additionalProperties") is not False or schema.get("type") != "object":
        raise table.fail(
            f"schema file {path} must describe a closed object (additionalProperties: false)"
        )
    return schema
