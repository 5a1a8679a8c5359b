"""The `gateway` command: serve, demo, and the operator's tools."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gateway.config import ConfigError
from gateway.logsetup import configure_logging
from gateway.runtime import DEFAULT_CONFIG, build_gateway

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway",
        description="Social-domain exchange gateway: lawful, minimal, logged sharing.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="configuration folder")
    serve.add_argument(
        "--data", type=Path, required=True, help="folder for everything the gateway writes"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--storage", default=None, help="sqlite:///PATH (default: under --data)")

    demo = sub.add_parser("demo", help="play a short story with the demo partners over real HTTP")
    demo.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    demo.add_argument("--data", type=Path, default=None, help="default: a new temporary folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The demo prints its own story; only warnings from the server would disturb it.
    configure_logging(level=logging.WARNING if args.command == "demo" else logging.INFO)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "demo":
            return _demo(args)
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    return 2


def _serve(args: argparse.Namespace) -> int:
    from gateway.server import bind, serve

    if args.workers < 1:
        print("gateway: --workers must be at least 1", file=sys.stderr)
        return 2
    # Validate everything once before binding, so a broken config stops with one clear message.
    build_gateway(args.config, args.data, args.storage)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"gateway: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    return serve(lambda: build_gateway(args.config, args.data, args.storage), sock, args.workers)


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    if args.data is not None:
        code: int = run_demo(args.config, args.data)
        return code
    with tempfile.TemporaryDirectory(prefix="gateway-demo-") as tmp:
        code = run_demo(args.config, Path(tmp))
    return code  # noqa: RET504 - the folder must be removed before returning


if __name__ == "__main__":
    sys.exit(main())
