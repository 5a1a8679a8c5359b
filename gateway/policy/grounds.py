"""Which ground holds for one recipient: a direction's grounds tried in order, on facts.

A purpose's direction (sender kind -> recipient kind) may have grounds that hold only under
conditions (`Conditions` in gateway.config.grounds): the recipient social team acts for the
college (Jeugdwet art. 7.4.0 lid 2 is a duty towards the college), the subject is a minor or an
adult (Jeugdwet or Wmo 2015), the recipient institution carries out a supervision order for the
child (Jeugdwet art. 7.3.11 lid 4), the sender invokes break-glass (the conflict of duties: a
ground such as AVG art. 6(1)(d) that a disclosure without agreement rests on). The grounds of the direction are tried in the catalogue's
order; the first whose conditions hold applies, and the purpose's default ground (or the
direction's unconditional ground) applies when none does. Every ground passed over is named with
the condition that failed, so a refusal can say why the statutory ground did not hold.

The facts are read by the service once per exchange (`GroundFacts`); without them no condition
holds, so a ground with conditions never applies by default (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

from gateway.config import Partner, Purpose
from gateway.config.grounds import Ground

__all__ = ["NO_FACTS", "ChosenGround", "GroundFacts", "PassedOver", "choose_ground", "is_minor"]

ADULT_AGE: Final = 18


@dataclass(frozen=True, slots=True)
class GroundFacts:
    """What the conditions of grounds look at, read once per exchange.

    `birth_date`: the birth date the gateway holds for the subject (None: none held);
    `measure_holders`: the certified institutions (partner ids) that carry out a
    child-protection measure for the subject, as the case networks whose household holds the
    subject record them.
    """

    birth_date: date | None = None
    measure_holders: frozenset[str] = field(default_factory=frozenset)


NO_FACTS: Final = GroundFacts()


@dataclass(frozen=True, slots=True)
class PassedOver:
    """A ground of the direction that did not hold, and the condition that failed."""

    ground: Ground
    # "recipient_acts_for_college" | "subjects" | "requires_measure" | "break_glass"
    condition: str
    why: str


@dataclass(frozen=True, slots=True)
class ChosenGround:
    """The ground that applies, and the grounds tried before it that did not hold."""

    ground: Ground
    passed_over: tuple[PassedOver, ...] = ()

    @property
    def statutory_passed_over(self) -> tuple[PassedOver, ...]:
        """The grounds passed over that would have needed no agreement: what a refusal for want
        of agreement explains (a passed-over agreement row changes nothing for the sender)."""
        return tuple(p for p in self.passed_over if not p.ground.agreement_required)

    def explanation(self) -> str:
        """Why the earlier grounds did not hold, one sentence each, and which ground applies
        when it holds under conditions; empty when the direction has only one ground."""
        said = [
            f"The ground '{p.ground.reference}' does not apply: {p.why}."
            for p in self.statutory_passed_over
        ]
        conditions = self.ground.conditions
        if conditions.subjects is not None:
            said.append(
                f"By the birth date held, the ground for this subject is '{self.ground.reference}'."
            )
        return " ".join(said)


def is_minor(birth_date: date, today: date) -> bool:
    """Under 18 on `today` (a person born on 29 February turns 18 on 1 March)."""
    try:
        eighteenth = birth_date.replace(year=birth_date.year + ADULT_AGE)
    except ValueError:  # 29 February, and the 18th year is no leap year
        eighteenth = date(birth_date.year + ADULT_AGE, 3, 1)
    return today < eighteenth


def choose_ground(
    purpose: Purpose,
    sender_kind: str,
    recipient: Partner,
    facts: GroundFacts,
    today: date,
    *,
    break_glass: bool = False,
) -> ChosenGround:
    """The first ground of the direction whose conditions hold on `facts` (`today`: the Dutch
    date the ages and the mandate are judged on; `break_glass`: the request invokes it)."""
    passed: list[PassedOver] = []
    for ground in purpose.grounds_for(sender_kind, recipient.kind):
        failed = _first_unmet(ground, recipient, facts, today, break_glass=break_glass)
        if failed is None:
            return ChosenGround(ground, tuple(passed))
        passed.append(failed)
    raise AssertionError("the last ground of a direction has no conditions")  # pragma: no cover


def _first_unmet(
    ground: Ground, recipient: Partner, facts: GroundFacts, today: date, *, break_glass: bool
) -> PassedOver | None:
    conditions = ground.conditions
    if conditions.break_glass and not break_glass:
        return PassedOver(
            ground,
            "break_glass",
            "it holds only with break-glass, in acute danger where the client cannot be asked "
            "or asking would endanger the person",
        )
    if conditions.recipient_acts_for_college:
        mandate = recipient.acts_for_college
        if mandate is None:
            return PassedOver(
                ground,
                "recipient_acts_for_college",
                f"recipient '{recipient.id}' does not act for the college (no mandate or "
                "assignment is recorded for it), and the duty runs towards the college",
            )
        if mandate.since > today:
            return PassedOver(
                ground,
                "recipient_acts_for_college",
                f"the mandate of recipient '{recipient.id}' to act for the college runs only "
                f"from {mandate.since.isoformat()}",
            )
    if conditions.subjects is not None:
        if facts.birth_date is None:
            return PassedOver(
                ground,
                "subjects",
                f"it holds for {conditions.subjects} only, and the gateway holds no birth date "
                "for this subject (record one with the client's consent)",
            )
        if is_minor(facts.birth_date, today) != (conditions.subjects == "minors"):
            # Which band the subject is in is not said here; the ground that applies names it.
            return PassedOver(ground, "subjects", f"it holds for {conditions.subjects} only")
    if conditions.requires_measure is not None and recipient.id not in facts.measure_holders:
        return PassedOver(
            ground,
            "requires_measure",
            f"recipient '{recipient.id}' is not recorded as carrying out a supervision order "
            "(OTS) for this child: it is not in the network of a case whose household holds "
            "the child",
        )
    return None
