"""`gateway demo`: play the demo story, on a temporary data folder unless one is given."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from gateway.runtime import DEFAULT_CONFIG

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo", help="play a short story with the demo partners over real HTTP"
    )
    demo.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    demo.add_argument("--data", type=Path, default=None, help="default: a new temporary folder")
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    if args.data is not None:
        code: int = run_demo(args.config, args.data)
        return code
    with tempfile.TemporaryDirectory(prefix="gateway-demo-") as tmp:
        code = run_demo(args.config, Path(tmp))
    return code  # noqa: RET504 - the folder must be removed before returning
