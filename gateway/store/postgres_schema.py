"""PostgreSQL's rendering of the one schema definition (`gateway.store.schema`)."""

from gateway.store.schema import POSTGRES_MIGRATIONS, SCHEMA_VERSION

__all__ = ["POSTGRES_MIGRATIONS", "POSTGRES_SCHEMA_VERSION"]

POSTGRES_SCHEMA_VERSION = SCHEMA_VERSION
