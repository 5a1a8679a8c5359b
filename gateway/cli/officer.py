"""`gateway officer sign-in-link OFFICER_ID`: the operator hands a privacy officer a one-time link.

There is no password: the operator runs this on a machine that reaches the gateway's storage,
and gives the printed link (or its code) to the officer, who has 15 minutes to use it once.
Only partners of kind `privacy_officer` get one; issuing it is logged.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from gateway.cli._actor import actor_refused
from gateway.errors import StorageUnavailable
from gateway.log.entry import LogEntry, format_time
from gateway.officer.sessions import LINK_LIFETIME, new_sign_in_link
from gateway.officer.signin import OFFICER_ROLE
from gateway.runtime import DEFAULT_CONFIG, build_gateway
from gateway.store.base import StorageUnusable

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    officer = subparsers.add_parser("officer", help="the privacy officer's workspace")
    officer_sub = officer.add_subparsers(dest="officer_command", required=True)
    link = officer_sub.add_parser(
        "sign-in-link",
        help="print a one-time sign-in link (valid 15 minutes) for a privacy officer",
    )
    link.add_argument("officer_id", metavar="OFFICER_ID", help="a partner of kind privacy_officer")
    link.add_argument(
        "--actor",
        default=None,
        help="who will sign in, as the log names them, e.g. j-de-vries (default: OFFICER_ID)",
    )
    link.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    link.add_argument("--data", type=Path, default=Path("data"), help="the gateway's data folder")
    link.add_argument("--storage", default=None, help="sqlite:///PATH or postgresql://...")
    link.add_argument(
        "--url", default=None, help="base URL officers open (default: public_url of gateway.toml)"
    )
    link.set_defaults(run=_sign_in_link)


def _sign_in_link(args: argparse.Namespace) -> int:
    actor = args.actor or args.officer_id
    if actor_refused(actor):
        return 2
    gw = build_gateway(args.config, args.data, args.storage)
    partner = gw.partners.get(args.officer_id)
    if partner is None:
        print(f"gateway: no partner {args.officer_id!r} in partners.toml", file=sys.stderr)
        return 2
    if partner.kind != OFFICER_ROLE:
        print(
            f"gateway: {args.officer_id} is a {partner.kind}, not a privacy_officer; "
            "sign-in links are only for privacy officers",
            file=sys.stderr,
        )
        return 2
    now = gw.now()
    token, link = new_sign_in_link(partner.id, actor, now)
    entry = LogEntry(
        time=now,
        decision="officer_link_issued",
        reason="operator_cli",
        recipient=partner.id,
        details={"actor": actor, "expires_at": format_time(link.expires_at)},
    )

    async def store() -> None:
        await gw.storage.open()
        try:
            await gw.storage.add_officer_link(link, entry, now)
        finally:
            await gw.storage.close()

    try:
        asyncio.run(store())
    except (StorageUnavailable, StorageUnusable) as exc:
        print(f"gateway: storage: {exc}", file=sys.stderr)
        return 2
    base = (args.url or gw.settings.public_url).rstrip("/")
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    print(f"{base}/officer/sign-in?token={token}")
    print(
        f"one-time sign-in link for {actor} ({partner.name}); works once, for {minutes} "
        f"minutes (until {format_time(link.expires_at)}). The code is the part after token=.",
        file=sys.stderr,
    )
    served = partner.oversees
    whom = "every organisation" if served == "all" else ", ".join(sorted(served or ()))
    print(f"{partner.id} oversees: {whom or 'nothing (oversees is missing)'}", file=sys.stderr)
    return 0
