"""Pick the storage back end from a `--storage` URL."""

from __future__ import annotations

from pathlib import Path

from gateway.store.base import Storage
from gateway.store.sqlite import SqliteStorage

__all__ = ["open_storage"]


def open_storage(url: str | None, data_dir: Path) -> Storage:
    """`sqlite:///path` (default: under the data folder) or, later, `postgresql://...`."""
    if url is None:
        return SqliteStorage(data_dir / "gateway.sqlite3")
    if url.startswith("sqlite:///"):
        return SqliteStorage(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        raise ValueError("PostgreSQL storage is not available in this version; use sqlite:///PATH")
    raise ValueError(
        f"unsupported --storage URL scheme in {url.split(':', 1)[0]!r}; use sqlite:///PATH"
    )
