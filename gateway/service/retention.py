"""A retention run: remove the records whose term has passed, each kind's removal logged."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.config import Catalogue
from gateway.delivery.atrest import AtRestCipher
from gateway.policy.retention import removal_entry, retention_terms
from gateway.service.consents import consent_term
from gateway.store.base import RetentionStore

__all__ = ["RETENTION_BATCH", "run_retention"]

RETENTION_BATCH = 1000


async def run_retention(
    store: RetentionStore,
    catalogue: Catalogue,
    cipher: AtRestCipher,
    now: datetime,
    session_idle: timedelta,
) -> dict[str, int]:
    """Remove what the catalogue's terms say has passed at `now`; the count per kind.

    First gives a batch of consents recorded before their end was stored (schema 9) their term,
    from their sealed record, so they are removed like the others. At most a batch of each kind
    per call; the caller runs it again while a kind was full.
    """
    unknown = await store.consents_without_term(RETENTION_BATCH)
    if unknown:
        await store.set_consent_terms(
            [(c.consent_id, consent_term(cipher, c, catalogue)) for c in unknown]
        )
    terms = retention_terms(catalogue, now, session_idle, batch=RETENTION_BATCH)
    removed = await store.remove_expired_records(terms, removal_entry(now))
    return {**removed, "consent_terms_set": len(unknown)}
