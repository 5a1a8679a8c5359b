"""Rules as values: each check answers None or a `Refusal`, and `AllOf` applies them in order.

Modelled on sigstore-python's verification policies (`sigstore/verify/policy.py`): a rule is a
small callable about one thing, and a composition is a value that shows its rules in one list.
An `AllOf` or `AnyOf` cannot be built from no rules at all, so a composition never passes for want
of checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from gateway.errors import Refusal

__all__ = ["AllOf", "AnyOf", "Rule"]

S = TypeVar("S")
S_contra = TypeVar("S_contra", contravariant=True)


class Rule(Protocol[S_contra]):
    """One check: None when the situation passes it, or the refusal that says why it does not."""

    def __call__(self, situation: S_contra, /) -> Refusal | None: ...


@dataclass(frozen=True, slots=True, init=False)
class AllOf(Generic[S]):
    """Every rule, in the order given; the first refusal wins and the rest are not asked."""

    rules: tuple[Rule[S], ...]

    def __init__(self, rules: Sequence[Rule[S]]) -> None:
        # An empty list would pass everything: fail closed when the policy is built.
        if not rules:
            raise ValueError("AllOf needs at least one rule")
        object.__setattr__(self, "rules", tuple(rules))

    def __call__(self, situation: S, /) -> Refusal | None:
        for rule in self.rules:
            refusal = rule(situation)
            if refusal is not None:
                return refusal
        return None


@dataclass(frozen=True, slots=True, init=False)
class AnyOf(Generic[S]):
    """At least one rule, tried in the order given; when none passes, `combine` makes their
    refusals into the one refusal that says so."""

    rules: tuple[Rule[S], ...]
    combine: Callable[[Sequence[Refusal]], Refusal]

    def __init__(
        self, rules: Sequence[Rule[S]], combine: Callable[[Sequence[Refusal]], Refusal]
    ) -> None:
        # An empty list has no rule that could pass: refuse to build it rather than refuse all.
        if not rules:
            raise ValueError("AnyOf needs at least one rule")
        object.__setattr__(self, "rules", tuple(rules))
        object.__setattr__(self, "combine", combine)

    def __call__(self, situation: S, /) -> Refusal | None:
        refusals: list[Refusal] = []
        for rule in self.rules:
            refusal = rule(situation)
            if refusal is None:
                return None
            refusals.append(refusal)
        return self.combine(refusals)
