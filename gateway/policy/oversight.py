"""Which log entries a privacy officer may see: those of the organisations it serves.

An officer (a partner of kind `privacy_officer`) is bound in `partners.toml` to the partners it
oversees (`oversees = ["swt-denhelder", ...]`), or to all of them (`oversees = "all"`, the
gateway operator's own officer). It sees an entry when an overseen organisation is the entry's
sender or its recipient (a consent's recorder is its entry's sender), and its own acts (its
looks at the log, its sign-in links and sessions, its break-glass reviews). Entries that name no
organisation it oversees, among them those that name no organisation at all (a refused token
of an unknown client, a reload of the partners, a failed start), only the operator's officer sees.

`may_see` is the one decision; the storage search applies the same rule in SQL
(`LogFilter.parties`), so pages stay full and counts count only what may be seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config import Partner
from gateway.log.entry import LogEntry

__all__ = ["OVERSEES_ALL", "Oversight", "oversight_of"]

OVERSEES_ALL = "all"


@dataclass(frozen=True, slots=True)
class Oversight:
    """One privacy officer's view of the log: the organisations it serves, or all of them."""

    officer: str  # the officer's own partner id
    organisations: frozenset[str] | None  # None: every entry (the gateway operator's officer)

    @property
    def sees_all(self) -> bool:
        return self.organisations is None

    @property
    def parties(self) -> frozenset[str] | None:
        """The partner ids of which an entry must name one as sender or recipient to be shown:
        the organisations served and the officer itself. None: no restriction."""
        if self.organisations is None:
            return None
        return self.organisations | {self.officer}

    def may_see_parties(self, sender: str | None, recipient: str | None) -> bool:
        """Whether an entry with this sender and recipient (partner ids) may be shown."""
        parties = self.parties
        if parties is None:
            return True
        return (sender is not None and sender in parties) or (
            recipient is not None and recipient in parties
        )

    def may_see(self, entry: LogEntry) -> bool:
        """Whether this officer may see this log entry (search, page, leaf, proof, report)."""
        sender = None if entry.sender is None else entry.sender.partner
        return self.may_see_parties(sender, entry.recipient)


def oversight_of(partner: Partner) -> Oversight:
    """The view of the log `partner` has; a partner that oversees nothing sees only its own
    acts (fail closed: never everything by default)."""
    if partner.kind == "privacy_officer" and partner.oversees == OVERSEES_ALL:
        return Oversight(partner.id, None)
    if partner.kind == "privacy_officer" and isinstance(partner.oversees, frozenset):
        return Oversight(partner.id, partner.oversees)
    return Oversight(partner.id, frozenset())
