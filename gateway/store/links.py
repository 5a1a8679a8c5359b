"""From a subject to the pseudonym the gateway's records carry, through its erasable link.

A pseudonym is random (32 bytes, hex, the shape of the HMAC pseudonyms before it), linked to
the subject under `Pseudonymiser.link_key`. Whoever holds the database and the key can follow a
link while it exists; once erased (`SubjectLinkStore.erase_subject_link`) nothing leads from the
person to the records written under it. A subject with records from before links existed keeps
its HMAC pseudonym as its link, until erased. See docs/retention.md.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from gateway.store.base import SubjectLinkStore
from gateway.subject import Pseudonymiser, Subject

__all__ = [
    "UNLINKED",
    "find_pseudonym",
    "logged_subject",
    "pseudonym_for",
    "searchable_pseudonym",
]

# What a search by a person nothing is linked to looks for: a value no record carries (every
# pseudonym is 64 hex digits), so the search finds nothing instead of everything.
UNLINKED = "unlinked"


async def pseudonym_for(
    store: SubjectLinkStore, pseudonymiser: Pseudonymiser, subject: Subject, now: datetime
) -> str:
    """The subject's pseudonym, linking a new one on first use (for what will be written)."""
    return await store.link_subject(
        pseudonymiser.link_key(subject),
        lambda: pseudonymiser.pseudonym_of(subject),
        lambda: secrets.token_hex(32),
        now,
    )


async def find_pseudonym(
    store: SubjectLinkStore, pseudonymiser: Pseudonymiser, subject: Subject
) -> str | None:
    """The subject's pseudonym if one is linked (for searching and reading); None when the
    gateway holds nothing that leads to this person (never seen, or erased)."""
    return await store.linked_pseudonym(
        pseudonymiser.link_key(subject), pseudonymiser.pseudonym_of(subject)
    )


async def searchable_pseudonym(
    store: SubjectLinkStore, pseudonymiser: Pseudonymiser, subject: Subject
) -> str:
    """What to search the records for when a caller names this person: the linked pseudonym,
    else `UNLINKED`, which matches nothing."""
    return await find_pseudonym(store, pseudonymiser, subject) or UNLINKED


def logged_subject(pseudonym: str | None) -> str | None:
    """The subject a look at the records names in its log entry: none for `UNLINKED`."""
    return None if pseudonym == UNLINKED else pseudonym
