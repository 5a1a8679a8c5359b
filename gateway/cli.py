"""The `gateway` command: serve, demo, and the operator's tools."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gateway.config import ConfigError
from gateway.errors import StorageUnavailable
from gateway.logsetup import configure_logging
from gateway.officer.cli import add_officer_commands, run_officer_command
from gateway.runtime import DEFAULT_CONFIG, build_gateway
from gateway.store.base import StorageUnusable
from gateway.web.context import Gateway

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

    log_cmd = sub.add_parser("log", help="the disclosure log: verifier key and verification")
    log_sub = log_cmd.add_subparsers(dest="log_command", required=True)
    vkey = log_sub.add_parser(
        "verifier-key", help="print the checkpoint verifier key (signed-note form)"
    )
    vkey.add_argument(
        "--config",
        type=Path,
        default=None,
        help="for its keys_dir; its log_origin must be the log's (default: the stored origin)",
    )
    vkey.add_argument("--data", type=Path, required=True)
    vkey.add_argument("--storage", default=None, help="sqlite:///PATH or postgresql://...")
    verify = log_sub.add_parser(
        "verify",
        help="recompute the log and check every checkpoint (local), or check a remote gateway "
        "against a saved checkpoint (--checkpoint with --url)",
    )
    verify.add_argument(
        "--config",
        type=Path,
        default=None,
        help="for its keys_dir; its log_origin must be the log's (default: the stored origin)",
    )
    verify.add_argument("--data", type=Path, help="the gateway's data folder (local check)")
    verify.add_argument("--storage", default=None, help="sqlite:///PATH (local check)")
    verify.add_argument("--checkpoint", type=Path, help="a checkpoint saved earlier (remote check)")
    verify.add_argument("--url", help="the gateway's base URL (remote check)")
    verify.add_argument("--verifier-key", help="the log's verifier key (remote check)")
    verify.add_argument("--partner", help="privacy officer partner id (remote check)")
    verify.add_argument("--jwks", type=Path, help="that partner's private JWKS (remote check)")
    verify.add_argument("--actor", default="auditor", help="actor id to act as (remote check)")
    verify.add_argument(
        "--audience",
        help="token audience (remote check; default: the id the gateway names at /healthz)",
    )
    verify.add_argument(
        "--update", action="store_true", help="save the newer checkpoint to --checkpoint"
    )
    export = log_sub.add_parser(
        "export", help="write the log as LDV records (OTLP/JSON) or FHIR R4 AuditEvents"
    )
    export.add_argument("--format", choices=["ldv", "fhir"], required=True)
    export.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    export.add_argument("--data", type=Path, help="the gateway's data folder")
    export.add_argument("--storage", default=None, help="sqlite:///PATH or postgresql://...")
    export.add_argument("--since", help="only entries at or after this RFC 3339 time")
    export.add_argument("--until", help="only entries before this RFC 3339 time")
    export.add_argument("--out", type=Path, help="write to this file (default: standard output)")

    partners = sub.add_parser("partners", help="partner registry operations")
    partners_sub = partners.add_subparsers(dest="partners_command", required=True)
    reload_cmd = partners_sub.add_parser(
        "reload", help="make the running gateway re-read partners.toml, the JWKS and its keys"
    )
    reload_cmd.add_argument("--data", type=Path, required=True)
    reload_cmd.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="checked first")

    keys = sub.add_parser("keys", help="the gateway's own keys")
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

    init = keys_sub.add_parser(
        "init", help="create every key in a shared keys folder (for many instances; 0600 files)"
    )
    init.add_argument("--keys-dir", type=Path, required=True)

    migrate = sub.add_parser("migrate", help="bring the storage's schema to this version")
    migrate.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    migrate.add_argument("--data", type=Path, default=Path("data"), help="for the SQLite default")
    migrate.add_argument("--storage", default=None, help="sqlite:///PATH or postgresql://...")

    doctor = sub.add_parser("doctor", help="check configuration, keys, storage, clock and log")
    doctor.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    doctor.add_argument("--data", type=Path, required=True)
    doctor.add_argument("--storage", default=None)

    demo = sub.add_parser("demo", help="play a short story with the demo partners over real HTTP")
    demo.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    demo.add_argument("--data", type=Path, default=None, help="default: a new temporary folder")
    add_officer_commands(sub)
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
        if args.command == "log":
            return _log(args)
        if args.command == "partners":
            return _partners_reload(args)
        if args.command == "keys":
            return _keys_init(args) if args.keys_command == "init" else _keys_rotate(args)
        if args.command == "migrate":
            return _migrate(args)
        if args.command == "doctor":
            return _doctor(args)
        if args.command == "officer":
            return run_officer_command(args)
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    except (StorageUnavailable, StorageUnusable) as exc:
        print(f"gateway: storage: {exc}", file=sys.stderr)
        return 2
    return 2


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


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    if args.data is not None:
        code: int = run_demo(args.config, args.data)
        return code
    with tempfile.TemporaryDirectory(prefix="gateway-demo-") as tmp:
        code = run_demo(args.config, Path(tmp))
    return code  # noqa: RET504 - the folder must be removed before returning


def _log(args: argparse.Namespace) -> int:
    from gateway.log import logcli

    if args.log_command == "verifier-key":
        return logcli.print_verifier_key(args.config, args.data, args.storage)
    if args.log_command == "export":
        return logcli.export_log(args)
    if args.checkpoint is not None or args.url is not None:
        return logcli.verify_remote(args)
    if args.data is None and args.storage is None:
        print(
            "gateway: log verify needs --data (or --storage), or --checkpoint with --url",
            file=sys.stderr,
        )
        return 2
    return logcli.verify_local(args.config, args.data, args.storage)


def _partners_reload(args: argparse.Namespace) -> int:
    import os
    import signal

    from gateway.config import load_settings
    from gateway.runtime import load_checked_partners
    from gateway.server import pid_path

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


def _doctor(args: argparse.Namespace) -> int:
    from gateway.doctor import diagnose

    findings = diagnose(args.config, args.data, args.storage)
    for finding in findings:
        print(finding.line())
    problems = sum(1 for f in findings if not f.ok)
    print(f"{problems} problem(s)" if problems else "all checks passed")
    return 1 if problems else 0


def _keys_init(args: argparse.Namespace) -> int:
    from gateway.datadir import DataDir

    folder = DataDir(args.keys_dir, args.keys_dir)
    folder.keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    made = folder.init_keys()
    print(f"keys in {folder.keys}: made {', '.join(made) if made else 'none (all present)'}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    import asyncio

    from gateway.store import open_storage

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


def _keys_rotate(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import UTC, datetime

    from gateway.config import load_settings
    from gateway.datadir import ROTATABLE, DataDir
    from gateway.identity import claim_keys, instance_keys
    from gateway.store import open_storage

    data = DataDir(args.data, load_settings(args.config).keys_dir)
    if not data.keys.is_dir():
        print(f"gateway: {args.data} holds no gateway keys", file=sys.stderr)
        return 2
    names = sorted(ROTATABLE) if args.key == "all" else [args.key]
    storage = open_storage(args.storage, data.path)

    async def rotate() -> None:
        await storage.open()
        try:
            # Only the keys that made this database may be rotated in it: checked before any
            # file moves, so a refusal changes nothing.
            await claim_keys(storage, instance_keys(data), datetime.now(UTC))
            old = instance_keys(data)
            for name in names:
                data.rotate(name)
            new = instance_keys(data)
            await storage.rotate_key_fingerprints(
                [(name, new.current[name]) for name in names],
                [(name, old.current[name]) for name in names],
                new.folder,
                datetime.now(UTC),
            )
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


if __name__ == "__main__":
    sys.exit(main())
