"""`gateway migrate`: bring the storage's schema to this version."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from gateway.errors import StorageUnavailable
from gateway.runtime import DEFAULT_CONFIG
from gateway.store import open_storage
from gateway.store.base import StorageUnusable

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    migrate = subparsers.add_parser("migrate", help="bring the storage's schema to this version")
    migrate.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    migrate.add_argument("--data", type=Path, default=Path("data"), help="for the SQLite default")
    migrate.add_argument("--storage", default=None, help="sqlite:///PATH or postgresql://...")
    migrate.set_defaults(run=_migrate)


def _migrate(args: argparse.Namespace) -> int:
    if args.storage is None or args.storage.startswith("sqlite:"):
        args.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    storage = open_storage(args.storage, args.data)

    async def run() -> tuple[int, int]:
        before = await storage.schema_version()
        after = await storage.migrate()
        await storage.close()
        return before, after

    try:
        before, after = asyncio.run(run())
    except (StorageUnavailable, StorageUnusable) as exc:
        print(f"gateway: storage: {exc}", file=sys.stderr)
        return 2
    print(f"schema version {before} -> {after}")
    return 0
