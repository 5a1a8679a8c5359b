"""Who may agree for whom: the representative acting for the subject, as pure rules.

The rules (docs/legal-basis.md, "The client's agreement and who may give it"):

- a minor is under authority (gezag, BW 1:245): parental authority held by one parent
  (``parent_sole_authority``) or by two holders jointly (``parent_joint_authority``, also the
  parent and non-parent of BW 1:253sa/1:253t, which lid 5 treats as joint parental authority),
  or guardianship by a person (``guardian``) or a certified institution (``guardian_gi``);
- under joint authority **each** holder agrees: no Dutch statute was found that lets one holder
  act alone towards third parties, and the statutes speak of "the parents who exercise authority";
- ``custodian`` is the contract's first representative role: a holder of authority whose kind was
  not recorded. It keeps today's meaning (one suffices) so existing bodies keep working;
- a child of 12 to 15 agrees alone where the help proceeds without the holders of authority
  (BW 7:450 lid 2): the professional records the ground (``serious_harm`` or
  ``persistent_wish``) and where the assessment is kept, on the subject's giver;
- an adult (18 or older) agrees, or the mentor or curator the court appointed (BW 1:450, 1:381)
  agrees for them; a mentor or curator never acts for a minor, parental authority and
  guardianship never for an adult (BW 1:233: minors are those under 18).

The age bands themselves are in ``consent.age``; this module says which givers fill them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .model import Giver

__all__ = [
    "ADULT_REPRESENTATIVE_ROLES",
    "JOINT_HOLDERS",
    "MAJORITY_AGE",
    "MINOR_AUTHORITY_ROLES",
    "REPRESENTATIVE_ROLES",
    "ROLE_PHRASES",
    "adult_represented",
    "authority_gap",
    "authority_satisfied",
    "contradiction",
    "describe_missing",
    "subject_decides_alone",
]

MAJORITY_AGE: Final = 18
# Joint authority is held by two (BW 1:245 lid 3: "door de ouders gezamenlijk").
JOINT_HOLDERS: Final = 2

# One of these alone fills the authority a minor's agreement needs.
_SINGLE_HOLDERS: Final = frozenset(
    {"custodian", "parent_sole_authority", "guardian", "guardian_gi"}
)
MINOR_AUTHORITY_ROLES: Final[frozenset[str]] = _SINGLE_HOLDERS | {"parent_joint_authority"}
ADULT_REPRESENTATIVE_ROLES: Final[frozenset[str]] = frozenset({"mentor", "curator"})
REPRESENTATIVE_ROLES: Final[frozenset[str]] = MINOR_AUTHORITY_ROLES | ADULT_REPRESENTATIVE_ROLES

# The kind of authority each recorded role stands for (the legacy custodian's is unknown).
_AUTHORITY_KIND: Final = {
    "parent_sole_authority": "sole",
    "parent_joint_authority": "joint",
    "guardian": "guardianship",
    "guardian_gi": "guardianship",
}

ROLE_PHRASES: Final = {
    "subject": "the subject",
    "custodian": "a custodian (gezagsdrager)",
    "parent_sole_authority": "the parent with sole authority",
    "parent_joint_authority": "a parent with joint authority",
    "guardian": "the guardian (voogd)",
    "guardian_gi": "the certified institution that is guardian (voogd)",
    "mentor": "the mentor",
    "curator": "the curator",
}


def authority_satisfied(givers: Iterable[Giver]) -> bool:
    """Whether the givers include the holder(s) of authority over a minor: one, or both joint."""
    roles = [giver.role for giver in givers]
    if any(role in _SINGLE_HOLDERS for role in roles):
        return True
    return roles.count("parent_joint_authority") >= JOINT_HOLDERS


def authority_gap(givers: Iterable[Giver]) -> str:
    """Words for the holder(s) of authority the givers lack; call when not satisfied."""
    if any(giver.role == "parent_joint_authority" for giver in givers):
        return "the other holder of joint authority (parent_joint_authority)"
    return ROLE_PHRASES["custodian"]


def subject_decides_alone(givers: Iterable[Giver]) -> bool:
    """Whether the subject's giver carries the assessment that a child of 12 to 15 decides alone."""
    return any(g.role == "subject" and g.decides_alone is not None for g in givers)


def adult_represented(givers: Iterable[Giver]) -> bool:
    """Whether a court-appointed representative of an adult (mentor, curator) is among the givers."""
    return any(giver.role in ADULT_REPRESENTATIVE_ROLES for giver in givers)


def describe_missing(missing: Iterable[str], givers: Iterable[Giver]) -> str:
    """The missing requirements (``subject``, ``custodian``) as words, naming who is missing."""
    present = tuple(givers)
    needed = set(missing)
    words = []
    if "subject" in needed:
        words.append(ROLE_PHRASES["subject"])
    if "custodian" in needed:
        words.append(authority_gap(present))
    return " and ".join(words)


def contradiction(givers: Iterable[Giver]) -> str | None:
    """Why these givers cannot all be acting for one person at once, or None when they can.

    One kind of authority over a minor at a time: sole authority, joint authority (at most two
    holders) or guardianship; the legacy ``custodian`` may stand beside any of them (its kind was
    not recorded). A minor's and an adult's representatives never act together.
    """
    roles = [giver.role for giver in givers]
    kinds = {_AUTHORITY_KIND[role] for role in roles if role in _AUTHORITY_KIND}
    if len(kinds) > 1:
        return (
            "lists more than one kind of authority (sole, joint, guardianship); a minor is under "
            "one of them at a time"
        )
    if roles.count("parent_sole_authority") > 1:
        return "lists more than one parent with sole authority"
    if roles.count("parent_joint_authority") > JOINT_HOLDERS:
        return f"lists more than {JOINT_HOLDERS} holders of joint authority"
    minor = any(role in MINOR_AUTHORITY_ROLES for role in roles)
    if minor and any(role in ADULT_REPRESENTATIVE_ROLES for role in roles):
        return "lists a minor's holder of authority together with an adult's mentor or curator"
    return None
