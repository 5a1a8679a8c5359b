"""`gateway register`: the register of processing activities (AVG art. 30), from the catalogue."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gateway.config import ConfigError, load_catalogue, load_partners, load_settings
from gateway.config.register import load_register
from gateway.runtime import DEFAULT_CONFIG
from gateway.standards.avg_register import processing_register, register_markdown

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    register = subparsers.add_parser(
        "register",
        help="print the register of processing activities (AVG art. 30) from the catalogue",
    )
    register.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    register.add_argument("--format", choices=("markdown", "json"), default="markdown")
    register.set_defaults(run=_register)


def _register(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    catalogue = load_catalogue(args.config, settings.schemas_dir)
    register = load_register(args.config, catalogue.ids)
    if register is None:
        raise ConfigError(
            args.config / "register.toml",
            "missing: the register needs the controller and its data protection officer "
            "(see docs/processing-register.md)",
        )
    document = processing_register(catalogue, register, load_partners(args.config))
    if args.format == "json":
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(register_markdown(document))
    return 0
