"""Pick the storage back end from a `--storage` URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gateway.store.base import Storage
from gateway.store.sqlite import SqliteStorage

__all__ = ["open_storage", "split_schema"]


def open_storage(
    url: str | None, data_dir: Path, *, operation_timeout_s: float | None = None
) -> Storage:
    """`sqlite:///path` (default: under the data folder) or `postgresql://...[?schema=name]`.

    The `schema` query parameter (ours, not libpq's) puts every table in that PostgreSQL schema.
    `operation_timeout_s` bounds each PostgreSQL read or write (gateway.toml's storage_timeout_s).
    """
    if url is None:
        return SqliteStorage(data_dir / "gateway.sqlite3")
    if url.startswith("sqlite:///"):
        return SqliteStorage(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        from gateway.store.postgres import PostgresStorage  # only deployments on PostgreSQL load it

        dsn, schema = split_schema(url)
        if operation_timeout_s is None:
            return PostgresStorage(dsn, schema=schema)
        return PostgresStorage(dsn, schema=schema, operation_timeout_s=operation_timeout_s)
    raise ValueError(
        f"unsupported --storage URL scheme {url.split(':', 1)[0]!r}; "
        "use sqlite:///PATH or postgresql://..."
    )


def split_schema(url: str) -> tuple[str, str | None]:
    """Take our `schema=` parameter out of a PostgreSQL URL, leaving the DSN for the driver."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema
