"""`gateway-client`: a partner's command line for the gateway (and key generation)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.client.keygen import generate_partner_jwks
from gateway.clock import SystemClock

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway-client", description="A partner's client for the social-domain gateway."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    keygen = sub.add_parser(
        "keygen", help="make a new key pair: a private JWKS to keep, a public one to give"
    )
    keygen.add_argument("partner_id")
    keygen.add_argument("--out", type=Path, default=Path("."), help="folder to write both files to")
    keygen.add_argument(
        "--signing", default="Ed25519", choices=["Ed25519", "P-256", "RSA-2048", "RSA-3072"]
    )
    keygen.add_argument(
        "--no-encryption", action="store_true", help="no X25519 key for sealed delivery"
    )

    def connection(p: argparse.ArgumentParser) -> None:
        p.add_argument("--url", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080"))
        _required_unless_set(p, "--partner", "GATEWAY_PARTNER")
        _required_unless_set(p, "--jwks", "GATEWAY_JWKS", type=Path)
        p.add_argument("--actor", default=os.environ.get("GATEWAY_ACTOR", "cli"))
        _required_unless_set(p, "--role", "GATEWAY_ROLE")
        p.add_argument(
            "--audience", default=os.environ.get("GATEWAY_AUDIENCE"), help="default: URL/v1/token"
        )
        p.add_argument(
            "--language",
            choices=("nl", "en"),
            default=os.environ.get("GATEWAY_LANGUAGE"),
            help="language of refusals and explanations (Accept-Language); default: the "
            "gateway's, Dutch",
        )

    for name, text in (("send", "send a message"), ("check", "may I share? (changes nothing)")):
        p = sub.add_parser(name, help=text)
        connection(p)
        p.add_argument("--purpose", required=True)
        p.add_argument(
            "--to", required=True, action="append", help="recipient partner id (repeatable)"
        )
        p.add_argument("--bsn", required=True)
        p.add_argument("--case-id")
        p.add_argument("--in-reply-to")
        p.add_argument(
            "--payload", type=Path, required=name == "send", help="JSON file with the payload"
        )
    inbox = sub.add_parser("inbox", help="pull (and optionally acknowledge) messages")
    connection(inbox)
    inbox.add_argument("--ack", action="store_true", help="acknowledge each message shown")
    inbox.add_argument("--limit", type=int, default=50)
    token = sub.add_parser("token", help="print an access token")
    connection(token)
    return parser


def _required_unless_set(
    parser: argparse.ArgumentParser, flag: str, variable: str, **options: Any
) -> None:
    """A flag that must be given unless the environment variable gives its value."""
    parser.add_argument(
        flag, default=os.environ.get(variable), required=variable not in os.environ, **options
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "keygen":
        return _keygen(args)
    try:
        return asyncio.run(_call(args))
    except GatewayClientError as error:
        print(f"refused: {error.status} {error.code}: {error.message}", file=sys.stderr)
        if error.how_to_fix:
            print(f"how to fix: {error.how_to_fix}", file=sys.stderr)
        return 1


def _keygen(args: argparse.Namespace) -> int:
    private, public = generate_partner_jwks(
        args.partner_id,
        now=SystemClock().now(),
        signing=args.signing,
        with_encryption=not args.no_encryption,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    private_path = args.out / f"{args.partner_id}.private.jwks.json"
    public_path = args.out / f"{args.partner_id}.jwks.json"
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(private, fh, indent=2)
        fh.write("\n")
    public_path.write_text(json.dumps(public, indent=2) + "\n")
    print(f"private JWKS (keep it secret): {private_path}")
    print(f"public JWKS (give it to the gateway's operator): {public_path}")
    return 0


async def _call(args: argparse.Namespace) -> int:
    keys = json.loads(args.jwks.read_text(encoding="utf-8"))
    async with PartnerClient(
        args.url,
        partner_id=args.partner,
        private_jwks=keys,
        actor_id=args.actor,
        actor_role=args.role,
        audience=args.audience,
        language=args.language,
    ) as client:
        if args.command == "token":
            print(await client.token())
            return 0
        if args.command in ("send", "check"):
            extra: dict[str, Any] = {}
            if args.case_id:
                extra["case_id"] = args.case_id
            if args.in_reply_to:
                extra["in_reply_to"] = args.in_reply_to
            payload = None if args.payload is None else json.loads(args.payload.read_text("utf-8"))
            to: str | list[str] = args.to[0] if len(args.to) == 1 else args.to
            if args.command == "send":
                assert payload is not None  # --payload is required for send
                result = await client.send(args.purpose, to, args.bsn, payload, **extra)
            else:
                result = await client.check(args.purpose, to, args.bsn, payload, **extra)
            print(json.dumps(result, indent=2, ensure_ascii=False))
            return 0 if args.command == "send" or result.get("allowed") else 1
        page = await client.inbox(limit=args.limit)
        for message in page["messages"]:
            print(json.dumps(message, indent=2, ensure_ascii=False))
            if args.ack:
                await client.ack(message["id"])
        return 0
