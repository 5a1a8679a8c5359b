"""A relation to the subject, where the purpose's ground presumes one: pure rules over facts.

Evaluation feedback, start and stop messages and safety assessments rest on grounds that presume
the sender helps this person (Jeugdwet art. 7.4.0 lid 2: the provider informs the college about
the help *it* gives; art. 7.3.11 lid 4: information the institution needs about a child the
sender is involved with). A purpose says which relations would show that (`relation` in
purposes.toml, any one will do); the service reads the facts that could establish them from the
store (`SubjectTies`), and `relation_rule` decides on those facts alone.

The relations, with the purpose whose message establishes each (`RELATION_PURPOSES`):

- `referral_received`  a referral (the social team's `referral`, or a GP's or youth physician's
                       `medical-referral`) disclosed to the sender about this subject, or one the
                       sender received that asked it about this subject (a safety assessment owed
                       for a brother or sister in the referred household);
- `case_member`        the sender is a member of the network of a case whose household holds
                       this subject;
- `help_started`       the sender's own start-stop message about this subject was disclosed (the
                       gateway keeps no payload values, so a start and a stop count alike: both
                       say the sender delivers or delivered help).

Subjects are compared by pseudonym, which is derived from the identifier system and the value
together: a relation to a person under one system never counts for a subject named under another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from gateway.config import Purpose
from gateway.config.purposes import RELATION_PURPOSES, RELATIONS
from gateway.errors import Refusal, RelationRequired
from gateway.policy.rules import AnyOf, Rule

__all__ = [
    "NO_TIES",
    "RELATION_RULES",
    "Relation",
    "SubjectTies",
    "Tie",
    "relation_rule",
    "relation_towards",
]

TieKind = Literal["received", "sent", "case_household"]


@dataclass(frozen=True, slots=True)
class Tie:
    """One fact the store can look up about a sender and a subject.

    `received`: a message of one of `purposes` about the subject reached the sender (or asked it
    about the subject); `sent`: the sender's own message of one of `purposes` about the subject
    was disclosed; `case_household`: the sender is in the network of a case whose household
    holds the subject.
    """

    kind: TieKind
    purposes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubjectTies:
    """The facts found that tie the sender to the subject, as read from the store: per fact, the
    partners it ties the sender to (a relation holds towards them, not towards everyone).

    `referral_received` is towards the partners that sent the referral (or are owed what it
    asked); `case_member` towards the members of the case networks whose household holds the
    subject; `help_started` towards the partners the sender's own start-stop was disclosed to.
    A fact with no partner is no fact.
    """

    towards: Mapping[Tie, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kept = {tie: frozenset(ids) for tie, ids in self.towards.items() if ids}
        object.__setattr__(self, "towards", MappingProxyType(kept))

    @property
    def found(self) -> frozenset[Tie]:
        """The facts that hold towards someone."""
        return frozenset(self.towards)


NO_TIES: Final = SubjectTies()
"""No fact read: no relation holds (what a decision assumes unless the service read the facts)."""


@dataclass(frozen=True, slots=True)
class Relation:
    """A relation a purpose may presume: the fact that establishes it and what to tell a sender."""

    name: str
    tie: Tie
    description: str
    how_to_establish: str

    def __call__(self, ties: SubjectTies, /) -> Refusal | None:
        if self.tie in ties.found:
            return None
        return Refusal(
            RelationRequired,
            f"no {self.description} ({self.name})",
            self.how_to_establish,
            {"missing_relation": [self.name]},
        )


def _relation(name: str, kind: TieKind, description: str, how_to_establish: str) -> Relation:
    return Relation(name, Tie(kind, RELATION_PURPOSES[name]), description, how_to_establish)


RELATION_RULES: Final[Mapping[str, Relation]] = {
    r.name: r
    for r in (
        _relation(
            "referral_received",
            "received",
            "referral received by you for this subject",
            "Send it once the social team's referral about this person has reached you "
            "(a referral of a brother or sister counts for the children of the household it "
            "names).",
        ),
        _relation(
            "case_member",
            "case_household",
            "membership of a case network whose household holds this subject",
            "Ask the social team that directs the person's case to register your organisation "
            "in the case network (PUT /v1/cases/{case_id}/network/{partner_id}) and the child "
            "in the case's household (PUT /v1/cases/{case_id}/household).",
        ),
        _relation(
            "help_started",
            "sent",
            "start of help recorded by you for this subject",
            "Send your start message (purpose 'start-stop') for this person first; that "
            "message itself needs a referral received or a case membership.",
        ),
    )
}
"""Every relation a purpose may presume, by name; the catalogue's loader knows the same names."""

# The loader and the rules must name the same relations, or a purpose could presume a relation
# nothing decides: refuse to start rather than pass it.
if frozenset(RELATION_RULES) != RELATIONS:  # pragma: no cover - a programming error
    raise RuntimeError("gateway.policy.relations and the catalogue name different relations")


def relation_rule(purpose: Purpose) -> Rule[SubjectTies] | None:
    """The purpose's relation check (any one of its relations), or None when it presumes none.

    When no relation holds, the one refusal names every relation that would have done and how
    to establish each.
    """
    if not purpose.relation:
        return None

    def none_holds(refusals: Sequence[Refusal]) -> Refusal:
        names = [name for r in refusals for name in r.extra["missing_relation"]]
        wanted = "; ".join(f"a {RELATION_RULES[n].description} ({n})" for n in names)
        return Refusal(
            RelationRequired,
            f"purpose '{purpose.id}' presumes that you help this person, and no relation of "
            f"yours to this subject shows it; any one of these would: {wanted}",
            "Any one of these establishes it. "
            + " ".join(RELATION_RULES[n].how_to_establish for n in names),
            {"purpose": purpose.id, "missing_relation": names},
        )

    return AnyOf([RELATION_RULES[name] for name in purpose.relation], none_holds)


def relation_towards(purpose: Purpose, ties: SubjectTies, recipient: str) -> Refusal | None:
    """Where the purpose presumes a relation, one of its relations holds towards `recipient`.

    Decided per recipient after `relation_rule` found that some relation holds: a provider
    referred by one social team does not thereby help the person on behalf of every other
    team or certified institution. The refusal names the relations the purpose accepts but
    not the partners they are towards.
    """
    if not purpose.relation:
        return None
    for name in purpose.relation:
        if recipient in ties.towards.get(RELATION_RULES[name].tie, frozenset()):
            return None
    return Refusal(
        RelationRequired,
        f"purpose '{purpose.id}' presumes that you help this person on behalf of the "
        f"recipient; your relation to this subject is not towards recipient '{recipient}'",
        "Send it to the partner your relation is towards: the partner that referred the "
        "person to you, a member of the person's case network, or the partner your start "
        "message went to; or establish a relation towards this recipient first.",
        {"purpose": purpose.id, "recipient": recipient, "missing_relation": list(purpose.relation)},
    )
