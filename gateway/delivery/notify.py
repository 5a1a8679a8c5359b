"""Webhook notifications: a small signed poke, no personal data; the inbox stays the truth.

A partner with `webhook` in partners.toml gets `{"event": "new_messages", "count": N}` when
messages wait for it, and `{"event": "expectation_overdue", "count": N}` when a reply it owes or
is owed passes its deadline. An urgent message (a purpose's `urgent` rule) pokes its recipient at
once with `{"event": "urgent_message", "urgent": true, "count": N, "overdue": M}`; while an urgent
message stays unacknowledged past its term, that poke is repeated every `RENOTIFY_S` seconds, and
the lapse itself is escalated once: an `urgent_escalated` log entry, in the same transaction that
announces it (`escalation_entry`). Each is signed with the gateway's notification key (Ed25519; public
keys at `GET /v1/notifications/keys`): header `Gateway-Signature: t=<unix ms>,kid=<id>,ed25519=<sig>`
over `<t>.<body>`. Failures are retried with exponential backoff from a durable queue with at
most one pending poke per partner and kind, so the queue is bounded by the number of partners.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.config.urgency import ACKNOWLEDGEMENT
from gateway.datadir import DataDir
from gateway.delivery.deps import NotificationContext
from gateway.log.entry import LogEntry, Sender, format_time
from gateway.store.base import Expectation, PendingNotification

__all__ = [
    "NotificationSigner",
    "dispatch_once",
    "escalation_entry",
    "notification_signer",
    "run_dispatcher",
]

log = structlog.get_logger("gateway.notify")
MAX_ATTEMPTS = 20
MAX_BACKOFF_S = 3600.0
URGENT = "urgent_message"
# How often an urgent message past its acknowledgement term is announced again.
RENOTIFY_S = 300.0


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class NotificationSigner:
    """Signs webhook bodies; partners verify with the public JWKS the gateway serves."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.kid = "notify-" + hashlib.sha256(raw).hexdigest()[:16]
        self.jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(raw),
            "use": "sig",
            "alg": "EdDSA",
            "kid": self.kid,
        }

    def header(self, body: bytes, now: datetime) -> str:
        stamp = str(int(now.timestamp() * 1000))
        signature = self._key.sign(stamp.encode() + b"." + body)
        return f"t={stamp},kid={self.kid},ed25519={_b64url(signature)}"


def notification_signer(data: DataDir) -> NotificationSigner:
    """The key webhook notifications are signed with (kept in the data folder)."""
    return NotificationSigner(
        Ed25519PrivateKey.from_private_bytes(data.secret("notification-signing"))
    )


def backoff(attempts: int) -> float:
    """1 s, 2 s, 4 s, ... up to an hour."""
    return float(min(MAX_BACKOFF_S, 2 ** max(0, attempts - 1)))


def escalation_entry(now: datetime) -> Callable[[Expectation], LogEntry | None]:
    """The `urgent_escalated` entry of an urgent message's lapsed receipt; None for others."""

    def make(expectation: Expectation) -> LogEntry | None:
        if expectation.purpose != ACKNOWLEDGEMENT:
            return None
        return LogEntry(
            time=now,
            decision="urgent_escalated",
            reason="not_acknowledged_in_time",
            exchange_id=expectation.origin_exchange_id,
            purpose=expectation.origin_purpose,
            sender=Sender(expectation.owed_to, None, None),
            recipient=expectation.owed_by,
            subject=expectation.subject,
            case_id=expectation.case_id,
            details={
                "expectation_id": expectation.expectation_id,
                "acknowledge_by": format_time(expectation.due_at),
            },
        )

    return make


async def _urgent_waiting(gw: NotificationContext, partner: str, now: datetime) -> tuple[int, int]:
    """How many urgent messages the partner has not acknowledged, and how many of them late."""
    owed = await gw.storage.open_expectations(owed_by=partner, purpose=ACKNOWLEDGEMENT)
    return len(owed), sum(1 for e in owed if e.due_at < now)


async def _body(
    gw: NotificationContext, pending: PendingNotification, now: datetime
) -> dict[str, Any]:
    if pending.kind == URGENT:
        waiting, overdue = await _urgent_waiting(gw, pending.partner, now)
        return {
            "event": URGENT,
            "partner": pending.partner,
            "urgent": True,
            "count": waiting,
            "overdue": overdue,
            "time": format_time(now),
        }
    if pending.kind == "new_messages":
        count = await gw.storage.inbox_count(pending.partner)
    else:
        owed = await gw.storage.expectations_for(pending.partner, open_only=True, limit=1000)
        count = sum(1 for e in owed if e.due_at < now)
    return {
        "event": pending.kind,
        "partner": pending.partner,
        "count": count,
        "time": format_time(now),
    }


async def dispatch_once(
    gw: NotificationContext, session: aiohttp.ClientSession, signer: NotificationSigner
) -> int:
    """Announce overdue expectations and deliver what is due; return how many were delivered."""
    now = gw.now()
    await gw.storage.mark_newly_overdue(now, 200, escalation_entry(now))
    delivered = 0
    for pending in await gw.storage.claim_notifications(now, lease_s=30, limit=50):
        partner = gw.partners.get(pending.partner)
        if partner is None or partner.webhook is None:
            await gw.storage.finish_notification(pending.partner, pending.kind, pending.created_at)
            continue
        body = json.dumps(await _body(gw, pending, now), separators=(",", ":")).encode()
        try:
            async with session.post(
                partner.webhook,
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "Gateway-Signature": signer.header(body, now),
                },
                timeout=aiohttp.ClientTimeout(total=5),
                allow_redirects=False,
            ) as response:
                ok = 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            delivered += 1
            if pending.kind == URGENT and (await _urgent_waiting(gw, pending.partner, now))[1]:
                # Still unacknowledged past its term: announce it again until it is seen.
                await gw.storage.retry_notification(
                    pending.partner,
                    pending.kind,
                    next_at=now + timedelta(seconds=RENOTIFY_S),
                    attempts=0,
                )
                continue
            await gw.storage.finish_notification(pending.partner, pending.kind, pending.created_at)
            continue
        attempts = pending.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            log.warning("notification_dropped", partner=pending.partner, kind=pending.kind)
            await gw.storage.finish_notification(pending.partner, pending.kind, pending.created_at)
        else:
            await gw.storage.retry_notification(
                pending.partner,
                pending.kind,
                next_at=now + timedelta(seconds=backoff(attempts)),
                attempts=attempts,
            )
    return delivered


async def run_dispatcher(
    gw: NotificationContext, signer: NotificationSigner, interval: float = 1.0
) -> None:
    """Deliver notifications for as long as the gateway runs."""
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                await dispatch_once(gw, session, signer)
            except Exception:
                log.exception("notification_dispatch_failed")
            await asyncio.sleep(interval)
