"""The `gateway` command: serve, demo, and the operator's tools, one module per command group."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from gateway.cli import (
    demo,
    doctor,
    keys,
    log,
    migrate,
    officer,
    partners,
    register,
    serve,
    subjects,
)
from gateway.config import ConfigError
from gateway.errors import StorageUnavailable
from gateway.logsetup import configure_logging
from gateway.store.base import StorageUnusable

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway",
        description="Social-domain exchange gateway: lawful, minimal, logged sharing.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    # In the order `gateway --help` lists them.
    for group in (serve, log, partners, keys, migrate, doctor, demo, officer, register, subjects):
        group.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The demo prints its own story; only warnings from the server would disturb it.
    configure_logging(level=logging.WARNING if args.command == "demo" else logging.INFO)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    except (StorageUnavailable, StorageUnusable) as exc:
        print(f"gateway: storage: {exc}", file=sys.stderr)
        return 2
