"""Names officers read instead of ids: partners by name, purposes by their title."""

from __future__ import annotations

from gateway.container import Gateway

__all__ = ["partner_name", "purpose_title"]


def partner_name(gw: Gateway, partner_id: str | None, *, nobody: str = "—") -> str:
    """The partner's registered name; an id no longer registered stays as it is."""
    if partner_id is None:
        return nobody
    partner = gw.partners.get(partner_id)
    return partner_id if partner is None else partner.name


def purpose_title(gw: Gateway, purpose_id: str | None, language: str) -> str:
    """The purpose's title in the catalogue, in the page's language."""
    if purpose_id is None:
        return "—"
    purpose = gw.catalogue.get(purpose_id)
    if purpose is None:
        return purpose_id
    return purpose.title.get(language) or purpose.title.get("en") or purpose_id
