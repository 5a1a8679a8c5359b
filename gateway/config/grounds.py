"""The legal ground of a purpose, per direction: two separate tests, both recorded.

Every disclosure must pass two independent tests (docs/legal-basis.md):

1. AVG lawfulness: a ground under AVG art. 6(1) (`avg_art6`), and where special categories such
   as health are involved an exception under art. 9(2) (`avg_art9`) with the UAVG article that
   implements it (`uavg`);
2. professional secrecy: whether the sender's sector law lets it speak without the client's
   agreement (`sector_law`, `agreement_required`).

A purpose has one default ground (`[purpose.legal_basis]`) and may have grounds of their own for
some directions (`[[purpose.ground]]` with `from` and `to` partner kinds). The loader refuses a
ground that leaves any of these out, so a purpose cannot start without a complete ground.

A direction ground may hold only under conditions on facts the gateway reads per exchange
(`Conditions`): the recipient social team acts for the college, the subject is a minor or an
adult by the birth date held, the recipient certified institution carries out a supervision order
for this child, the sender invokes break-glass (the ground a disclosure without the client's
agreement then rests on). Where they do not hold, the next ground of the direction applies, and in the end
the purpose's default ground, which holds unconditionally (gateway.policy.grounds decides).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gateway.config._toml import Table

__all__ = [
    "MEASURES",
    "SUBJECT_BANDS",
    "Conditions",
    "Ground",
    "LegalBasis",
    "read_direction_ground",
    "read_ground",
]

BASIS_TYPES = frozenset({"statute", "consent"})
AVG_ART6 = frozenset("abcdef")
AVG_ART9 = frozenset("abcdefghij")
_GROUND_KEYS = frozenset(
    {
        "type",
        "reference",
        "avg_art6",
        "special_categories",
        "avg_art9",
        "uavg",
        "sector_law",
        "agreement_required",
        "retention",
    }
)
# `subjects`: the subject's age band by the birth date the gateway holds (18 is the boundary).
SUBJECT_BANDS = frozenset({"minors", "adults"})
# `requires_measure`: the child-protection measure the recipient institution must carry out.
MEASURES = frozenset({"ots"})
_CONDITION_KEYS = frozenset(
    {"recipient_acts_for_college", "subjects", "requires_measure", "break_glass"}
)
# A reference that claims AVG consent as the ground: "art. 6 lid 1 sub a" or "6(1)(a)".
_CLAIMS_CONSENT = re.compile(r"6 lid 1 sub a\b|6\(1\)\(a\)")


@dataclass(frozen=True, slots=True)
class LegalBasis:
    """Why a disclosure is lawful, as answers and log entries name it: its type and reference."""

    type: str  # "consent" | "statute" | "break_glass"
    reference: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "reference": self.reference}


@dataclass(frozen=True, slots=True)
class Conditions:
    """When a direction ground holds; none set means always.

    `recipient_acts_for_college`: the recipient is a social team with `acts_for_college`;
    `subjects`: "minors" or "adults" by the held birth date (none held: neither);
    `requires_measure`: "ots", the recipient institution carries out a supervision order for the
    subject; `break_glass`: the sender invokes break-glass (the conflict of duties: acute danger,
    the client cannot be asked), so the ground is the one a disclosure without agreement rests on.
    """

    recipient_acts_for_college: bool = False
    subjects: str | None = None
    requires_measure: str | None = None
    break_glass: bool = False

    @property
    def any(self) -> bool:
        return (
            self.recipient_acts_for_college
            or self.break_glass
            or bool(self.subjects or self.requires_measure)
        )

    def to_json(self) -> dict[str, object]:
        shown: dict[str, object] = {}
        if self.recipient_acts_for_college:
            shown["recipient_acts_for_college"] = True
        if self.subjects is not None:
            shown["subjects"] = self.subjects
        if self.requires_measure is not None:
            shown["requires_measure"] = self.requires_measure
        if self.break_glass:
            shown["break_glass"] = True
        return shown


NO_CONDITIONS = Conditions()


@dataclass(frozen=True, slots=True)
class Ground:
    """A complete legal ground for a purpose, or for some of its directions.

    `type` and `reference` are what an answer and a log entry show (`basis`); the rest says on
    which AVG articles and which sector-law article the sharing rests, whether professional
    secrecy needs the client's agreement, and where the retention term comes from. Empty
    `from_kinds` and `to_kinds` mark the purpose's default ground.
    """

    type: str  # "statute" | "consent"
    reference: str
    avg_art6: tuple[str, ...]
    avg_art9: tuple[str, ...]
    uavg: str | None
    sector_law: str
    agreement_required: bool
    retention: str
    from_kinds: frozenset[str] = frozenset()
    to_kinds: frozenset[str] = frozenset()
    conditions: Conditions = NO_CONDITIONS

    @property
    def basis(self) -> LegalBasis:
        return LegalBasis(self.type, self.reference)

    @property
    def special_categories(self) -> bool:
        return bool(self.avg_art9)

    def covers(self, sender_kind: str, recipient_kind: str) -> bool:
        """Whether this direction ground applies to a message from one kind to another."""
        return sender_kind in self.from_kinds and recipient_kind in self.to_kinds

    def to_json(self) -> dict[str, object]:
        """The ground as `GET /v1/purposes` shows it: `type` and `reference` first, as always."""
        shown: dict[str, object] = {
            "type": self.type,
            "reference": self.reference,
            "avg_art6": [f"AVG art. 6 lid 1 sub {letter}" for letter in self.avg_art6],
            "special_categories": self.special_categories,
            "avg_art9": [f"AVG art. 9 lid 2 sub {letter}" for letter in self.avg_art9],
            "uavg": self.uavg,
            "sector_law": self.sector_law,
            "agreement_required": self.agreement_required,
            "retention": self.retention,
        }
        if self.from_kinds:
            shown = {"from": sorted(self.from_kinds), "to": sorted(self.to_kinds), **shown}
        shown.update(self.conditions.to_json())
        return shown


def read_ground(table: Table) -> Ground:
    """A purpose's default ground: every field required, and consistent with each other."""
    table.reject_unknown(_GROUND_KEYS)
    return _ground(table, frozenset(), frozenset())


def read_direction_ground(
    table: Table, sender_kinds: frozenset[str], recipient_kinds: frozenset[str]
) -> Ground:
    """A `[[purpose.ground]]`: the ground of the directions `from` -> `to` of this purpose."""
    table.reject_unknown(_GROUND_KEYS | _CONDITION_KEYS | {"from", "to"})
    from_kinds = frozenset(table.texts("from", allowed=sender_kinds))
    to_kinds = frozenset(table.texts("to", allowed=recipient_kinds))
    if not from_kinds or not to_kinds:
        raise table.fail("'from' and 'to' must each name at least one partner kind")
    ground = _ground(table, from_kinds, to_kinds)
    conditions = _conditions(table, to_kinds)
    if conditions.break_glass and ground.agreement_required:
        raise table.fail(
            "a ground with break_glass = true is what a disclosure without the client's "
            "agreement rests on (the conflict of duties): agreement_required must be false"
        )
    return replace(ground, conditions=conditions)


def _conditions(table: Table, to_kinds: frozenset[str]) -> Conditions:
    """The optional conditions of a direction ground, each checked against its directions."""
    acts = table.flag("recipient_acts_for_college", False)
    if acts and to_kinds != {"social_team"}:
        raise table.fail(
            "'recipient_acts_for_college' is a condition on a social team: 'to' must be "
            "['social_team'] only"
        )
    subjects = table.opt_text("subjects")
    if subjects is not None and subjects not in SUBJECT_BANDS:
        raise table.fail("'subjects' must be 'minors' or 'adults'")
    measure = table.opt_text("requires_measure")
    if measure is not None:
        if measure not in MEASURES:
            raise table.fail(
                "'requires_measure' must be 'ots' (Jeugdwet art. 7.3.11 lid 4 speaks of the "
                "supervision order only)"
            )
        if to_kinds != {"certified_institution"}:
            raise table.fail(
                "'requires_measure' is a condition on a certified institution: 'to' must be "
                "['certified_institution'] only"
            )
    return Conditions(acts, subjects, measure, table.flag("break_glass", False))


def _ground(table: Table, from_kinds: frozenset[str], to_kinds: frozenset[str]) -> Ground:
    basis_type = table.text("type")
    if basis_type not in BASIS_TYPES:
        raise table.fail("'type' must be 'consent' or 'statute'")
    reference = _filled(table, "reference", "the article or ground answers and log entries name")
    avg_art6 = _letters(table, "avg_art6", AVG_ART6, "the AVG art. 6(1) ground(s), e.g. ['e']")
    special = _flag(table, "special_categories", "whether health or other art. 9 data is involved")
    avg_art9: tuple[str, ...] = ()
    uavg = None
    if special:
        avg_art9 = _letters(table, "avg_art9", AVG_ART9, "the AVG art. 9(2) exception, e.g. ['h']")
        uavg = _filled(table, "uavg", "the UAVG article that implements the art. 9(2) exception")
    elif "avg_art9" in table.data or "uavg" in table.data:
        raise table.fail("'avg_art9' and 'uavg' belong to a ground with special_categories = true")
    sector_law = _filled(
        table, "sector_law", "the sector-law article that allows, obliges or restricts the sharing"
    )
    agreement = _flag(
        table, "agreement_required", "whether professional secrecy needs the client's agreement"
    )
    retention = _filled(table, "retention", "where the retention term comes from")
    if basis_type == "consent" and not agreement:
        raise table.fail(
            "a ground of type 'consent' records the client's agreement: "
            "agreement_required must be true"
        )
    if _CLAIMS_CONSENT.search(reference) and "a" not in avg_art6:
        raise table.fail(
            "'reference' claims AVG art. 6(1)(a) consent, but 'avg_art6' does not list 'a'"
        )
    return Ground(
        basis_type,
        reference,
        avg_art6,
        avg_art9,
        uavg,
        sector_law,
        agreement,
        retention,
        from_kinds,
        to_kinds,
    )


def _filled(table: Table, key: str, meaning: str) -> str:
    if key not in table.data:
        raise table.fail(f"incomplete ground: missing '{key}' ({meaning})")
    value = table.text(key)
    if not value.strip():
        raise table.fail(f"incomplete ground: '{key}' is empty ({meaning})")
    return value


def _flag(table: Table, key: str, meaning: str) -> bool:
    if key not in table.data:
        raise table.fail(f"incomplete ground: missing '{key}' ({meaning})")
    return table.flag(key)


def _letters(table: Table, key: str, allowed: frozenset[str], meaning: str) -> tuple[str, ...]:
    if key not in table.data:
        raise table.fail(f"incomplete ground: missing '{key}' ({meaning})")
    letters = table.texts(key, allowed=allowed)
    if not letters:
        raise table.fail(f"incomplete ground: '{key}' is empty ({meaning})")
    if len(set(letters)) != len(letters):
        raise table.fail(f"'{key}' names a letter twice")
    return letters
