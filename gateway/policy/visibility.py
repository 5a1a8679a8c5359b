"""Whom a partner may know to be involved: `[case_network_visibility]` for ids and kinds alike.

One rule for every place that names parties to a partner: the members of a case network it is
shown, and the parties of a consent (its listing, FHIR form and the reasons of a refusal), so a
school learns from none of them that a care provider or a certified institution is involved.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.config.partners import Partner, PartnerRegistry
from gateway.config.purposes import CaseNetworkVisibility

__all__ = ["knows_of"]


def knows_of(
    viewer: Partner, partners: PartnerRegistry, visibility: CaseNetworkVisibility
) -> Callable[[str], bool]:
    """Whether `viewer` may know of a party: a partner id or a `kind:<kind>` entry.

    Itself always; another partner or a kind when `visibility` lets the viewer's kind see that
    kind. An id that names no registered partner is unknown, so hidden (fail closed).
    """

    def known(party: str) -> bool:
        if party == viewer.id:
            return True
        if party.startswith("kind:"):
            kind: str | None = party.removeprefix("kind:")
        else:
            partner = partners.get(party)
            kind = None if partner is None else partner.kind
        return kind is not None and visibility.sees(viewer.kind, kind)

    return known
