"""`gateway keys init` and `gateway keys rotate`: the gateway's own keys."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from gateway.clock import SystemClock
from gateway.config import load_settings
from gateway.datadir import ROTATABLE, DataDir
from gateway.identity import rotate_keys
from gateway.runtime import DEFAULT_CONFIG
from gateway.store import open_storage

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    keys = subparsers.add_parser("keys", help="the gateway's own keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser(
        "rotate",
        help="retire the gateway's at-rest, log-signing and access-token keys; new ones "
        "are used after the next start or `gateway partners reload`",
    )
    rotate.add_argument("--data", type=Path, required=True)
    rotate.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="for its keys_dir")
    rotate.add_argument(
        "--storage",
        default=None,
        help="the database whose key fingerprints to update (default: SQLite under --data)",
    )
    rotate.add_argument(
        "--key", choices=["all", "at-rest", "log-signing", "access-token"], default="all"
    )
    rotate.set_defaults(run=_rotate)

    init = keys_sub.add_parser(
        "init", help="create every key in a shared keys folder (for many instances; 0600 files)"
    )
    init.add_argument("--keys-dir", type=Path, required=True)
    init.set_defaults(run=_init)


def _init(args: argparse.Namespace) -> int:
    folder = DataDir(args.keys_dir, args.keys_dir)
    folder.keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    made = folder.init_keys()
    print(f"keys in {folder.keys}: made {', '.join(made) if made else 'none (all present)'}")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    data = DataDir(args.data, load_settings(args.config).keys_dir)
    if not data.keys.is_dir():
        print(f"gateway: {args.data} holds no gateway keys", file=sys.stderr)
        return 2
    names = sorted(ROTATABLE) if args.key == "all" else [args.key]
    storage = open_storage(args.storage, data.path)

    async def rotate() -> None:
        await storage.open()
        try:
            await rotate_keys(storage, data, names, SystemClock())
        finally:
            await storage.close()

    asyncio.run(rotate())
    for name in names:
        print(
            f"rotated {name}: the old key is kept in {data.keys / 'retired'} for reading and verifying"
        )
    print("the database records the new keys' fingerprints; the old ones stay, marked retired")
    print(
        "running gateways use the new keys after `gateway partners reload --data ...` or a restart"
    )
    return 0
