"""`gateway serve`: check the configuration and storage once, then run the gateway."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gateway.container import Gateway
from gateway.errors import StorageUnavailable
from gateway.runtime import DEFAULT_CONFIG, build_gateway
from gateway.store.base import StorageUnusable

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="configuration folder")
    serve.add_argument(
        "--data", type=Path, required=True, help="folder for everything the gateway writes"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--metrics-host",
        help="serve /metrics on this address instead of metrics_listen's (gateway.toml)",
    )
    serve.add_argument(
        "--metrics-port",
        type=int,
        help="serve /metrics on this port instead of metrics_listen's (0: any free port)",
    )
    serve.add_argument("--storage", default=None, help="sqlite:///PATH (default: under --data)")
    serve.add_argument("--tls-cert", type=Path, help="serve HTTPS: certificate chain (PEM)")
    serve.add_argument("--tls-key", type=Path, help="serve HTTPS: private key (PEM, mode 0600)")
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    from gateway.memory import tune_malloc
    from gateway.server import bind, serve

    # Before the storage check below starts threads: their arenas would outlive the setting.
    tune_malloc()

    if args.workers < 1:
        print("gateway: --workers must be at least 1", file=sys.stderr)
        return 2
    if (args.tls_cert is None) != (args.tls_key is None):
        print("gateway: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    tls = None
    if args.tls_cert is not None:
        from gateway.tls import load_tls

        tls = load_tls(args.tls_cert, args.tls_key)
    # Validate everything once before binding, so a broken config stops with one clear message.
    checked = build_gateway(args.config, args.data, args.storage)
    problem = _check_storage(checked)
    if problem is not None:
        print(f"gateway: storage: {problem}", file=sys.stderr)
        return 2
    metrics_at = _metrics_address(checked.settings.metrics_listen, args)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"gateway: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    metrics_sock = None
    if metrics_at is not None:
        try:
            metrics_sock = bind(*metrics_at)
        except OSError as exc:
            print(
                f"gateway: cannot serve metrics on {metrics_at[0]}:{metrics_at[1]}: "
                f"{exc.strerror} (metrics_listen in gateway.toml, or --metrics-port)",
                file=sys.stderr,
            )
            return 2
    return serve(
        lambda: build_gateway(args.config, args.data, args.storage),
        sock,
        args.workers,
        args.data,
        tls,
        metrics_sock,
    )


def _metrics_address(
    configured: tuple[str, int] | None, args: argparse.Namespace
) -> tuple[str, int] | None:
    """Where `/metrics` listens: gateway.toml's `metrics_listen`, with the flags' overrides."""
    if configured is None and args.metrics_host is None and args.metrics_port is None:
        return None
    host, port = configured or ("127.0.0.1", 9464)
    return (
        args.metrics_host if args.metrics_host is not None else host,
        args.metrics_port if args.metrics_port is not None else port,
    )


def _check_storage(gw: Gateway) -> str | None:
    """Open and close storage once before serving: a wrong schema or an unusable file stops here.

    Storage that cannot be reached yet (a database that starts after the gateway, as containers
    and hosts do when they boot together) is tried again, with growing pauses, for up to
    gateway.toml's `storage_wait_s`; storage that can never work (a wrong schema version, a file
    that is no database, a path that cannot be made) stops at once.
    """
    import asyncio
    import time

    from gateway.identity import claim_identity, instance_keys

    async def run() -> None:
        await gw.storage.open()
        try:
            # The log's origin and the keys that made the database: recorded at the first start,
            # and any other instance refuses to start on it (gateway/identity.py).
            await claim_identity(
                gw.storage,
                gw.settings.log_origin,
                str(gw.config_dir),
                instance_keys(gw.data),
                gw.now(),
            )
        finally:
            await gw.storage.close()

    give_up = time.monotonic() + gw.settings.storage_wait_s
    pause = 0.25
    while True:
        try:
            asyncio.run(run())
        except KeyboardInterrupt:
            return "interrupted while waiting for storage"
        except StorageUnusable as exc:
            return str(exc)
        except StorageUnavailable as exc:
            left = give_up - time.monotonic()
            if left <= 0:
                return f"{exc} (gave up after storage_wait_s = {gw.settings.storage_wait_s:g} s)"
            print(
                f"gateway: storage not reachable yet ({exc}); trying again for up to {left:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            try:
                time.sleep(min(pause, left))
            except KeyboardInterrupt:
                return "interrupted while waiting for storage"
            pause = min(pause * 2, 5.0)
            continue
        return None
