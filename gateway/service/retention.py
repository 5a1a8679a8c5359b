"""A retention run: remove the records whose term has passed, each kind's removal logged."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.config import Catalogue
from gateway.policy.retention import removal_entry, retention_terms
from gateway.store.base import RetentionStore

__all__ = ["RETENTION_BATCH", "run_retention"]

RETENTION_BATCH = 1000


async def run_retention(
    store: RetentionStore, catalogue: Catalogue, now: datetime, session_idle: timedelta
) -> dict[str, int]:
    """Remove what the catalogue's terms say has passed at `now`; the count per kind.

    At most a batch of each kind per call; the caller runs it again while anything was removed.
    """
    terms = retention_terms(catalogue, now, session_idle, batch=RETENTION_BATCH)
    return await store.remove_expired_records(terms, removal_entry(now))
