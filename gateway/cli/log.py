"""`gateway log ...`: print the verifier key, verify the log locally or remotely, export it."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from gateway.client.http import GatewayClientError
from gateway.client.remote_log import check_remote_consistency
from gateway.config import load_settings
from gateway.datadir import DataDir
from gateway.identity import log_origin, verifier_keys
from gateway.log.checkpoint import NoteError, parse_verifier_key
from gateway.log.merkle import ProofError
from gateway.log.verify import LogTampered, verify_log
from gateway.runtime import DEFAULT_CONFIG
from gateway.store import open_storage
from gateway.store.base import LogRow, Storage

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    log_cmd = subparsers.add_parser("log", help="the disclosure log: verifier key and verification")
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
    vkey.set_defaults(run=_verifier_key)
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
    verify.set_defaults(run=_verify)
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
    export.set_defaults(run=_export)


def _verify(args: argparse.Namespace) -> int:
    if args.checkpoint is not None or args.url is not None:
        return _verify_remote(args)
    if args.data is None and args.storage is None:
        print(
            "gateway: log verify needs --data (or --storage), or --checkpoint with --url",
            file=sys.stderr,
        )
        return 2
    return _verify_local(args.config, args.data, args.storage)


def _keys_folder(config: Path | None, data: Path) -> DataDir:
    """The data folder with the keys folder that --config (or GATEWAY_KEYS_DIR) names; by
    default the one under --data."""
    return DataDir(data, load_settings(config or DEFAULT_CONFIG).keys_dir)


def _without_signing_key(folder: DataDir) -> bool:
    """Say so and answer True when the data folder holds no log signing key to verify with.

    Reading the key would otherwise create a new one, against which no checkpoint verifies.
    """
    if (folder.keys / "log-signing.key").exists():
        return False
    print(
        f"gateway: no log signing key in {folder.keys} (start the gateway once, or give the "
        "--data folder of the gateway whose log this is)",
        file=sys.stderr,
    )
    return True


async def _origin(storage: Storage, config: Path | None) -> str:
    """The log's own origin; a --config naming another one is refused."""
    configured = load_settings(config or DEFAULT_CONFIG).log_origin
    return await log_origin(storage, configured, None if config is None else str(config))


def _verifier_key(args: argparse.Namespace) -> int:
    config: Path | None = args.config
    folder = _keys_folder(config, args.data)
    if _without_signing_key(folder):
        return 2
    if args.storage is None and not folder.sqlite_path.exists():
        # No database to read the origin from (and none to be created by looking).
        origin = load_settings(config or DEFAULT_CONFIG).log_origin
    else:
        storage = open_storage(args.storage, args.data)

        async def stored() -> str:
            await storage.open()
            try:
                return await _origin(storage, config)
            finally:
                await storage.close()

        origin = asyncio.run(stored())
    print(verifier_keys(folder, origin)[0])
    return 0


def _verify_local(config: Path | None, data: Path | None, storage_url: str | None) -> int:
    """Recompute and check; exit 0 when intact, 1 at the first tampered index."""
    if data is None:
        # The verifier key then has to come from somewhere: only --data holds it.
        print(
            "gateway: log verify needs --data, which holds the log's verifier key", file=sys.stderr
        )
        return 2
    folder = _keys_folder(config, data)
    if _without_signing_key(folder):
        return 2
    storage = open_storage(storage_url, data)

    async def run() -> int:
        await storage.open()
        try:
            origin = await _origin(storage, config)
            verifiers = [parse_verifier_key(v) for v in verifier_keys(folder, origin)]
            report = await verify_log(storage, verifiers, origin)
        except LogTampered as exc:
            print(f"log verification FAILED at index {exc.index}: {exc.problem}")
            return 1
        finally:
            await storage.close()
        print(
            f"log verified: {report.entries} entries, {report.checkpoints} checkpoints, "
            f"signed up to size {report.signed_size} (origin {origin})"
        )
        return 0

    return asyncio.run(run())


def _verify_remote(args: argparse.Namespace) -> int:
    """Check a remote gateway's log is consistent with a checkpoint saved earlier."""
    missing = [
        flag
        for flag, value in (
            ("--checkpoint", args.checkpoint),
            ("--url", args.url),
            ("--verifier-key", args.verifier_key),
            ("--partner", args.partner),
            ("--jwks", args.jwks),
        )
        if value is None
    ]
    if missing:
        print(f"gateway: a remote check also needs {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        verifier = parse_verifier_key(args.verifier_key)
        saved = args.checkpoint.read_text(encoding="utf-8")
        keys = json.loads(args.jwks.read_text(encoding="utf-8"))
        result = asyncio.run(
            check_remote_consistency(
                saved,
                url=args.url,
                verifier=verifier,
                partner_id=args.partner,
                private_jwks=keys,
                actor_id=args.actor,
                audience=args.audience,
            )
        )
    except (NoteError, ProofError) as exc:
        print(f"remote log verification FAILED: {exc}")
        return 1
    except (GatewayClientError, OSError, ValueError) as exc:
        print(f"gateway: could not check the remote log: {exc}", file=sys.stderr)
        return 2
    print(
        f"consistent: the log at {args.url} (size {result.current.size}) extends the saved "
        f"checkpoint (size {result.saved.size})"
    )
    if args.update:
        with tempfile.NamedTemporaryFile("w", dir=args.checkpoint.parent, delete=False) as tmp:
            tmp.write(result.current_note)
        Path(tmp.name).replace(args.checkpoint)
    return 0


def _export(args: argparse.Namespace) -> int:
    """Write the log as LDV records (OTLP/JSON) or FHIR AuditEvents (a Bundle) to a file."""
    from gateway.config import load_catalogue, load_partners
    from gateway.log.entry import parse_time
    from gateway.standards.export import fhir_bundle, ldv_export

    if args.data is None and args.storage is None:
        print("gateway: log export needs --data or --storage", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    try:
        since = None if args.since is None else parse_time(args.since)
        until = None if args.until is None else parse_time(args.until)
    except ValueError as exc:
        print(f"gateway: --since/--until must be RFC 3339 times: {exc}", file=sys.stderr)
        return 2
    storage = open_storage(args.storage, args.data)

    async def rows() -> list[LogRow]:
        await storage.open()
        try:
            return await storage.log_rows(0, await storage.log_size())
        finally:
            await storage.close()

    selected = [
        row
        for row in asyncio.run(rows())
        if (since is None or row.entry.time >= since) and (until is None or row.entry.time < until)
    ]
    if args.format == "ldv":
        catalogue = load_catalogue(args.config, settings.schemas_dir)
        document = ldv_export(selected, catalogue, load_partners(args.config), settings.id)
    else:
        document = fhir_bundle(selected, settings.id)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0
