"""`gateway doctor`: print every finding of gateway.doctor; exit 1 when any is a problem."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gateway.doctor import diagnose
from gateway.runtime import DEFAULT_CONFIG

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    doctor = subparsers.add_parser(
        "doctor", help="check configuration, keys, storage, clock and log"
    )
    doctor.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    doctor.add_argument("--data", type=Path, required=True)
    doctor.add_argument("--storage", default=None)
    doctor.set_defaults(run=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    findings = diagnose(args.config, args.data, args.storage)
    for finding in findings:
        print(finding.line())
    problems = sum(1 for f in findings if not f.ok)
    print(f"{problems} problem(s)" if problems else "all checks passed")
    return 1 if problems else 0
