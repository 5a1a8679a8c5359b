"""`gateway subjects erase OFFICER_ID --reason CODE`: erase a person's link to the records.

The same act as `POST /v1/audit/subjects/erase` (docs/retention.md), for an operator on a
machine that reaches the gateway's storage, done in the name of the privacy officer who oversees
every organisation. The person's number is read from standard input, never from the command
line, so it stays out of shell histories and process lists.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from gateway.audit.erasure import erase_subject
from gateway.cli._actor import actor_refused
from gateway.errors import GatewayError, StorageUnavailable
from gateway.log.entry import Sender
from gateway.officer.signin import OFFICER_ROLE
from gateway.policy.oversight import oversight_of
from gateway.policy.retention import ERASURE_REASONS
from gateway.runtime import DEFAULT_CONFIG, build_gateway
from gateway.store.base import StorageUnusable
from gateway.subject import parse_subject

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    subjects = subparsers.add_parser("subjects", help="the persons the records are about")
    subjects_sub = subjects.add_subparsers(dest="subjects_command", required=True)
    erase = subjects_sub.add_parser(
        "erase",
        help="erase a person's link to the records for good (the BSN is read from stdin)",
    )
    erase.add_argument(
        "officer_id", metavar="OFFICER_ID", help='the privacy officer that oversees "all"'
    )
    erase.add_argument(
        "--actor", required=True, help="who decided, as the log names them, e.g. j-de-vries"
    )
    erase.add_argument("--reason", required=True, choices=sorted(ERASURE_REASONS))
    erase.add_argument(
        "--identifier-system",
        default=None,
        help="the identifier system of a person without a BSN (stdin then holds its value)",
    )
    erase.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    erase.add_argument("--data", type=Path, default=Path("data"), help="the gateway's data folder")
    erase.add_argument("--storage", default=None, help="sqlite:///PATH or postgresql://...")
    erase.set_defaults(run=_erase)


def _erase(args: argparse.Namespace) -> int:
    if actor_refused(args.actor):
        return 2
    gw = build_gateway(args.config, args.data, args.storage)
    partner = gw.partners.get(args.officer_id)
    if partner is None or partner.kind != OFFICER_ROLE:
        print(f"gateway: {args.officer_id!r} is not a privacy_officer partner", file=sys.stderr)
        return 2
    number = sys.stdin.readline().strip()
    named: object = (
        {"bsn": number}
        if args.identifier_system is None
        else {"identifier": {"system": args.identifier_system, "value": number}}
    )
    officer = Sender(partner.id, args.actor, OFFICER_ROLE)

    async def run() -> int:
        await gw.storage.open()
        try:
            subject = parse_subject(named, gw.catalogue.identifier_systems)
            return await erase_subject(gw, subject, args.reason, officer, oversight_of(partner))
        finally:
            await gw.storage.close()

    try:
        index = asyncio.run(run())
    except (StorageUnavailable, StorageUnusable) as exc:
        print(f"gateway: storage: {exc}", file=sys.stderr)
        return 2
    except GatewayError as refusal:
        # The family never repeats a BSN in its messages.
        print(f"gateway: {refusal.message}. {refusal.how_to_fix}", file=sys.stderr)
        return 1
    print(f"link erased; logged as entry {index} (subject_link_erased, {args.reason})")
    return 0
