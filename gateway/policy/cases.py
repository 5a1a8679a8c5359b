"""Who may open a case, change its network, and see which of its members: pure rules.

The rules, in the order they are checked (docs/contract-extensions.md, "Case networks"):

1. Only a social team opens a case; it becomes the case's director (its procesregisseur).
2. A non-member learns nothing about a case: every call answers the same `not_found`, whether
   the case exists or not. The one exception is rule 4's self-registration of a certified
   institution, which needs the case id, a measure and a ruling.
3. The director registers and removes the other members; the role `procesregisseur` is the
   director's alone (the partner holding procesregie), and the director is never removed: a
   change that would leave two procesregisseurs or none is `409 procesregie_conflict`
   (gateway.policy.roles, rule 2).
4. A certified institution may register itself, and only as the holder of a child-protection
   measure, citing the court ruling, and only in a case opened under an id the gateway chose
   (`issued_case_id`). Nobody else registers itself. A case migrated from before schema 8 kept
   the id a caller chose (often guessable, such as `case-2026-0042`): only its director adds a
   certified institution to it.
5. A member sees the members whose kind the catalogue's `[case_network_visibility]` lets its
   own kind see, and always itself; a case-network send reaches only the members that see the
   sender and that it sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.config.partners import Partner, PartnerRegistry
from gateway.config.purposes import CaseNetworkVisibility
from gateway.errors import Forbidden, InvalidRequest, NotFound, ProcesregieConflict
from gateway.policy.visibility import knows_of
from gateway.store.base import Case, NetworkMember
from gateway.subject import looks_like_bsn

__all__ = [
    "MEASURE_TYPES",
    "REGIE_KINDS",
    "ROLES",
    "Measure",
    "case_not_found",
    "directs",
    "is_member",
    "issued_case_id",
    "no_procesregisseur",
    "parse_dossier_reference",
    "parse_measure",
    "reachable_members",
    "two_procesregisseurs",
    "verify_may_open",
    "verify_may_register",
    "verify_may_remove",
    "visible_members",
]

# Dossier references and ruling references are caller-chosen text that reaches storage (and,
# for a ruling, the log): a narrow alphabet, and nothing that could carry a BSN (looks_like_bsn:
# a run of 8 or more digits, or nine digits passing the elfproef across single separators).
_DOSSIER_REFERENCE = re.compile(r"[A-Za-z0-9._/-]{1,40}")
_RULING = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._/ -]{0,79}")
# Child-protection measures and juvenile probation, carried out by a certified institution.
MEASURE_TYPES = frozenset(
    {"ots", "voorlopige_ots", "voogdij", "voorlopige_voogdij", "jeugdreclassering"}
)
ROLES = frozenset({"procesregisseur", "casusregisseur", "referrer", "involved"})
# The kinds that may hold procesregie: a social team, and a certified institution holding a
# child-protection measure in the case (gateway.policy.roles, rule 1).
REGIE_KINDS = frozenset({"social_team", "certified_institution"})
# The form of a case id the gateway chose (`POST /v1/cases`): `case_` and 128 random bits in
# lower-case base32. Before schema 8 callers chose case ids; those cases kept them.
_ISSUED_CASE_ID = re.compile(r"case_[a-z2-7]{26}")


@dataclass(frozen=True, slots=True)
class Measure:
    """The child-protection measure a certified institution holds, and the ruling that gave it."""

    type: str
    ruling: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "ruling": self.ruling}


def case_not_found() -> NotFound:
    """The one answer a non-member gets about any case id, existing or not."""
    return NotFound(
        "no case you are a member of has this id",
        "Check the case id; the social team that directs the case can register your "
        "organisation in its network.",
    )


def two_procesregisseurs() -> ProcesregieConflict:
    return ProcesregieConflict(
        "a case has exactly one procesregisseur, and this one has it already",
        "Register the partner as 'involved' or 'casusregisseur'; the holder hands procesregie "
        "over with POST /v1/cases/{case_id}/hand-over.",
    )


def no_procesregisseur() -> ProcesregieConflict:
    return ProcesregieConflict(
        "the partner holding procesregie keeps its role and its place in the network while it "
        "holds it; this would leave the case without a procesregisseur",
        "Hand procesregie over first (POST /v1/cases/{case_id}/hand-over by the partner that "
        "holds it), then change or remove the partner.",
    )


def _no_bsn(value: str, what: str) -> None:
    if looks_like_bsn(value):
        raise InvalidRequest(
            f"{what} may not hold 8 or more digits in a row, nor nine digits that could be a BSN",
            "Use your own reference without any personal number in it.",
        )


def parse_dossier_reference(value: Any) -> str | None:
    """A social team's own dossier reference: 1-40 of A-Z a-z 0-9 . _ / -, never a BSN."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DOSSIER_REFERENCE.fullmatch(value):
        raise InvalidRequest(
            "'dossier_reference' must be 1-40 letters, digits, '.', '_', '/' or '-'",
            'Send your own dossier reference, e.g. "WT-2026/0117", or leave it out.',
        )
    _no_bsn(value, "'dossier_reference'")
    return value


def parse_measure(value: Any) -> Measure | None:
    """`{"type": <measure>, "ruling": <court ruling reference>}`, or None when absent."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"type", "ruling"}:
        raise InvalidRequest("'measure' must be an object with 'type' and 'ruling'")
    kind, ruling = value["type"], value["ruling"]
    if not isinstance(kind, str) or kind not in MEASURE_TYPES:
        raise InvalidRequest(f"'measure.type' must be one of {', '.join(sorted(MEASURE_TYPES))}")
    if not isinstance(ruling, str) or not _RULING.fullmatch(ruling):
        raise InvalidRequest(
            "'measure.ruling' must be the court ruling's reference (ECLI or case number): 1-80 "
            "letters, digits, spaces, ':', '.', '_', '/' or '-'",
            'For example "ECLI:NL:RBNHO:2026:1234" or "C/15/345678 / JE RK 26-123".',
        )
    _no_bsn(ruling, "'measure.ruling'")
    return Measure(kind, ruling)


def verify_may_open(caller: Partner) -> None:
    if caller.kind != "social_team":
        raise Forbidden(
            "only a social team opens a case",
            "Ask the social team that directs the help for this family to open the case and "
            "register your organisation in its network.",
        )


def directs(case: Case | None, partner: Partner) -> bool:
    """Whether `partner` directs the case: the partner the case records as its director, the one
    holding procesregie (a social team, or a certified institution it was handed to).

    The one test of "directs this case" for every rule (network, household, consents, birth
    dates). A member's role is not it: a database from before schema 8 may hold a second member
    in the role `procesregisseur`, registered when any social team could name itself so.
    """
    return case is not None and partner.kind in REGIE_KINDS and case.director == partner.id


def issued_case_id(case_id: str) -> bool:
    """Whether the id has the form of one the gateway chose, so that it cannot be guessed.

    A case migrated from before schema 8 whose caller-chosen id happens to have this form counts
    as issued (docs/threat-model.md, residual of rule 4).
    """
    return _ISSUED_CASE_ID.fullmatch(case_id) is not None


def _member(members: Sequence[NetworkMember], partner_id: str) -> NetworkMember | None:
    return next((m for m in members if m.partner_id == partner_id), None)


def is_member(members: Sequence[NetworkMember], partner_id: str) -> bool:
    """Whether the partner is in the case's network: the test every call on a case starts with."""
    return _member(members, partner_id) is not None


def verify_may_register(
    case: Case | None,
    members: Sequence[NetworkMember],
    *,
    caller: Partner,
    target: Partner,
    role: str,
    measure: Measure | None,
) -> None:
    """Return when `caller` may register `target` in the case with `role`; raise otherwise."""
    if case is None:
        raise case_not_found()
    caller_is_member = is_member(members, caller.id)
    if target.id == caller.id and caller.id != case.director:
        # Rule 4: the only self-registration there is.
        if (
            caller.kind != "certified_institution"
            or measure is None
            or not issued_case_id(case.case_id)
        ):
            # A legacy case's id may be guessed: a measure opens none of them, and the answer
            # is the one for a case that does not exist, so a probe learns nothing.
            if not caller_is_member:
                raise case_not_found()
            raise Forbidden(
                "only a certified institution registers itself in a case network, as the holder "
                "of a child-protection measure, and only in a case opened with POST /v1/cases",
                "Ask the social team that directs the case to register your organisation.",
            )
        if role != "involved":
            # A referrer is told where the case stands (referrer-status): an institution naming
            # itself referrer would take the family's status updates from the one who referred.
            raise Forbidden(
                "a certified institution registers itself as 'involved' only",
                "Register with role 'involved'; the social team that directs the case registers "
                "the referrer.",
            )
        return
    if not caller_is_member:
        raise case_not_found()
    if not directs(case, caller):
        raise Forbidden(
            "only the social team that directs the case registers others in its network",
            "Ask the case's procesregisseur to register the partner.",
        )
    if role == "procesregisseur" and target.id != case.director:
        raise two_procesregisseurs()
    if target.id == case.director and role != "procesregisseur":
        raise no_procesregisseur()
    if measure is not None and target.kind != "certified_institution":
        raise InvalidRequest("'measure' applies to a certified institution only")


def verify_may_remove(
    case: Case | None, members: Sequence[NetworkMember], *, caller: Partner, target_id: str
) -> None:
    """Return when `caller` may remove `target_id` from the case's network; raise otherwise."""
    if case is None or not is_member(members, caller.id):
        raise case_not_found()
    if not directs(case, caller):
        raise Forbidden(
            "only the social team that directs the case removes members from its network",
            "Ask the case's procesregisseur to end the registration.",
        )
    if target_id == case.director:
        raise no_procesregisseur()
    if not is_member(members, target_id):
        raise NotFound(
            f"partner '{target_id}' is not a member of this case network",
            "GET /v1/cases/{case_id}/network lists the members.",
        )


def visible_members(
    members: Iterable[NetworkMember],
    *,
    viewer: Partner,
    partners: PartnerRegistry,
    visibility: CaseNetworkVisibility,
) -> list[NetworkMember]:
    """The members `viewer` may know of: those of kinds its kind sees, and itself."""
    known = knows_of(viewer, partners, visibility)
    return [member for member in members if known(member.partner_id)]


def reachable_members(
    members: Iterable[NetworkMember],
    *,
    sender: Partner,
    partners: PartnerRegistry,
    visibility: CaseNetworkVisibility,
) -> list[str]:
    """The members a case-network send reaches: each sees the sender and the sender sees it."""
    out = []
    for member in members:
        partner = partners.get(member.partner_id)
        if (
            partner is not None
            and partner.id != sender.id
            and visibility.mutual(sender.kind, partner.kind)
        ):
            out.append(partner.id)
    return out
