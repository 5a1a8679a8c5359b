"""`gateway partners reload`: check partners.toml, then ask the running gateway to re-read it."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

from gateway.config import load_settings
from gateway.runtime import DEFAULT_CONFIG, load_checked_partners
from gateway.server import pid_path

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    partners = subparsers.add_parser("partners", help="partner registry operations")
    partners_sub = partners.add_subparsers(dest="partners_command", required=True)
    reload_cmd = partners_sub.add_parser(
        "reload", help="make the running gateway re-read partners.toml, the JWKS and its keys"
    )
    reload_cmd.add_argument("--data", type=Path, required=True)
    reload_cmd.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="checked first")
    reload_cmd.set_defaults(run=_reload)


def _reload(args: argparse.Namespace) -> int:
    # A broken file is reported here, not only in the server log.
    load_checked_partners(args.config, production=load_settings(args.config).production)
    pid_file = pid_path(args.data)
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        print(f"gateway: no running gateway found for {args.data} ({pid_file})", file=sys.stderr)
        return 1
    print(f"asked the gateway (pid {pid}) to reload its partners and keys")
    return 0
