"""Storage: small role protocols (`base`), their SQL written once (`sql/`), two back ends."""

from gateway.store.base import LogFilter, LogRow, Storage, StoredConsent, StoredMessage
from gateway.store.open import open_storage

__all__ = ["LogFilter", "LogRow", "Storage", "StoredConsent", "StoredMessage", "open_storage"]
