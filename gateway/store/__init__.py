"""Storage: one narrow interface (`Storage`), implemented for SQLite (and later PostgreSQL)."""

from gateway.store.base import LogFilter, LogRow, Storage, StoredConsent, StoredMessage
from gateway.store.open import open_storage

__all__ = ["LogFilter", "LogRow", "Storage", "StoredConsent", "StoredMessage", "open_storage"]
