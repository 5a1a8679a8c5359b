"""The durable outbox: disclosure-log entries delivered to outside logs until they are accepted.

Two kinds of destination, both retried with capped exponential backoff and never in the way
of an exchange (delivery runs in the background, from storage):

- `ldv`: the configured Logboek Dataverwerkingen endpoint gets every log entry as LDV records
  (OTLP/HTTP trace export, protobuf or JSON). The log itself is the queue: a cursor per
  destination, moved only after the endpoint accepted a batch, so no entry can be missed and
  nothing is written per exchange.
- `vng:<partner>`: a partner's own VNG Verwerkingenlogging API gets a `verwerkingsactie` for
  each disclosure concerning it. That record names the person by BSN, which the log does not
  hold, so the exchange queues a row holding the subject sealed at rest, in the same
  transaction as its log entry; the row (and the sealed value) is deleted once accepted.

Delivery is at least once: a crash between a receiver's "accepted" and the cursor or row
update sends that batch again. LDV records carry stable span ids, so a receiver can tell.
"""

from __future__ import annotations

import asyncio
import enum
import json
import uuid
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import jwt
import structlog
from cryptography.exceptions import InvalidTag

from gateway.config import Partner, PartnerRegistry
from gateway.config.outbox import Logbook
from gateway.delivery.atrest import AtRestCipher
from gateway.delivery.deps import OutboxContext
from gateway.log.entry import LogEntry
from gateway.metrics import Metrics
from gateway.standards.export import ldv_for_rows
from gateway.standards.ldv import otlp_json, otlp_request
from gateway.standards.verwerkingenlogging import ActivityTerms, verwerkingsactie
from gateway.store.base import OutboxItem, OutboxRow
from gateway.subject import Subject

__all__ = [
    "LDV_DESTINATION",
    "OutboxDispatcher",
    "vng_destination",
    "vng_outbox_items",
]

log = structlog.get_logger("gateway.outbox")
LDV_DESTINATION = "ldv"
_VNG = "vng:"
_ORPHAN_SWEEP_S = 60.0
_LEASE_SHARE = 0.8  # a claim's deliveries, at their time-outs, take at most this much of a lease


def vng_destination(partner_id: str) -> str:
    """The outbox destination of a partner's own Verwerkingenlogging API."""
    return _VNG + partner_id


def _aad(destination: str, disclosure_id: str) -> bytes:
    return f"outbox:{destination}:{disclosure_id}".encode()


def vng_outbox_items(
    partners: PartnerRegistry,
    cipher: AtRestCipher,
    entries: Sequence[LogEntry],
    subject: dict[str, Any],
) -> list[OutboxItem]:
    """Rows for the disclosures of one exchange that partners with a Verwerkingenlogging want.

    `subject` is the subject as the sender gave it; it is sealed at rest, bound to the row's
    destination and disclosure, and leaves the gateway only inside the outgoing request.
    """
    items: list[OutboxItem] = []
    plaintext: bytes | None = None
    for position, entry in enumerate(entries):
        if entry.decision != "disclosed" or entry.disclosure_id is None:
            continue
        concerned = {entry.recipient, None if entry.sender is None else entry.sender.partner}
        for partner_id in sorted(p for p in concerned if p is not None):
            partner = partners.get(partner_id)
            if partner is None or partner.verwerkingenlogging is None:
                continue
            if plaintext is None:
                plaintext = json.dumps(subject, separators=(",", ":")).encode()
            destination = vng_destination(partner_id)
            sealed = cipher.seal(plaintext, _aad(destination, entry.disclosure_id))
            items.append(OutboxItem(destination, position, sealed))
    return items


class Outcome(enum.Enum):
    """What a receiver made of one delivery."""

    ACCEPTED = "accepted"
    REFUSED = "refused"  # a 4xx about this item: the next ones may still go
    UNAVAILABLE = "unavailable"  # down, timing out, overloaded (5xx, 408, 429): stop for now


_TRY_AGAIN_LATER = frozenset({408, 425, 429})


class OutboxDispatcher:
    """Delivers what waits in the outbox; several workers or instances may run one each.

    Each claim is sized so that its deliveries, one after another at their time-out, finish
    within the lease: a worker that is alive never has its claim taken over and sent twice.
    """

    def __init__(self, gw: OutboxContext, session: aiohttp.ClientSession, metrics: Metrics) -> None:
        self._gw = gw
        self._session = session
        self._metrics = metrics
        self._swept_at: datetime | None = None

    async def run_once(self) -> int:
        """One round over every destination; return how many deliveries were accepted.

        A destination in trouble (storage or a bug) is logged and skipped; the others go on.
        """
        gw = self._gw
        accepted = 0
        if gw.settings.logbook is not None:
            accepted += await self._guarded(LDV_DESTINATION, self._ldv(gw.settings.logbook))
        for partner in gw.partners:
            if partner.verwerkingenlogging is not None:
                accepted += await self._guarded(vng_destination(partner.id), self._vng(partner))
        now = gw.now()
        if self._swept_at is None or now - self._swept_at >= timedelta(seconds=_ORPHAN_SWEEP_S):
            self._swept_at = now
            await self._guarded("backlog", self._observe_backlog())
        return accepted

    async def run(self) -> None:
        """Deliver for as long as the gateway runs."""
        while True:
            if not await self.run_once():  # after a full claim, more may wait: go on at once
                await asyncio.sleep(self._gw.settings.outbox.interval_s)

    async def _guarded(self, destination: str, work: Awaitable[int]) -> int:
        try:
            return await work
        except Exception:
            log.exception("outbox_destination_failed", destination=destination)
            return 0

    def _timeout(self, configured: float) -> float:
        """A delivery's time-out, never more than most of a lease."""
        return min(configured, _LEASE_SHARE * self._gw.settings.outbox.lease_s)

    def _retry_at(self, attempts: int) -> datetime:
        """When to try again after `attempts` failures, counted from now (after the attempt)."""
        return self._gw.now() + timedelta(seconds=self._gw.settings.outbox.backoff(attempts))

    # -- Logboek Dataverwerkingen ---------------------------------------------------------------
    async def _ldv(self, logbook: Logbook) -> int:
        gw = self._gw
        policy = gw.settings.outbox
        batch = await gw.storage.claim_log_feed(
            LDV_DESTINATION, gw.now(), lease_s=policy.lease_s, limit=policy.batch
        )
        if not batch.rows:
            return 0
        records = ldv_for_rows(batch.rows, gw.catalogue, gw.partners, gw.settings.id)
        outcome = Outcome.ACCEPTED
        if records:
            request = otlp_request(records, service_name=gw.settings.id)
            if logbook.encoding == "json":
                body = json.dumps(otlp_json(request), separators=(",", ":")).encode()
                content_type = "application/json"
            else:
                body = request.SerializeToString()
                content_type = "application/x-protobuf"
            outcome = await self._post(
                LDV_DESTINATION,
                logbook.url,
                body,
                content_type,
                {},
                self._timeout(logbook.timeout_s),
            )
        if outcome is not Outcome.ACCEPTED:
            # The log's order is kept: a refused batch is retried (and shows in the backlog).
            await gw.storage.retry_log_feed(LDV_DESTINATION, self._retry_at(batch.attempts + 1))
            return 0
        start, end = batch.rows[0].index, batch.rows[-1].index + 1
        if not await gw.storage.advance_log_feed(LDV_DESTINATION, start, end):
            log.warning("outbox_feed_moved_meanwhile", destination=LDV_DESTINATION)
            return 0
        self._count(LDV_DESTINATION, "accepted", len(records))
        return len(batch.rows)

    # -- VNG Verwerkingenlogging ----------------------------------------------------------------
    async def _vng(self, partner: Partner) -> int:
        gw = self._gw
        target = partner.verwerkingenlogging
        assert target is not None
        policy = gw.settings.outbox
        destination = vng_destination(partner.id)
        timeout = self._timeout(target.timeout_s)
        fits = max(1, int(_LEASE_SHARE * policy.lease_s // timeout))
        limit = min(policy.batch, fits)
        rows = await gw.storage.claim_outbox(
            destination, gw.now(), lease_s=policy.lease_s, limit=limit
        )
        accepted = 0
        for n, row in enumerate(rows):
            try:
                body = self._verwerkingsactie(destination, row)
            except (ValueError, KeyError, TypeError, InvalidTag):
                # Unreadable (a pruned at-rest key, a damaged row): kept, retried, and loud.
                log.error("outbox_row_unreadable", destination=destination, index=row.index)
                await gw.storage.retry_outbox([row.seq], self._retry_at(row.attempts + 1))
                continue
            if body is None:
                await gw.storage.finish_outbox([row.seq])
                self._count(destination, "dropped", 1)
                continue
            data = json.dumps(body, separators=(",", ":")).encode()
            headers = self._vng_headers(partner)
            outcome = await self._post(
                destination, target.url, data, "application/json", headers, timeout
            )
            if outcome is Outcome.ACCEPTED:
                # Finished at once, so a failure later in the claim never sends this one again.
                await gw.storage.finish_outbox([row.seq])
                self._count(destination, "accepted", 1)
                accepted += 1
            elif outcome is Outcome.REFUSED:
                await gw.storage.retry_outbox([row.seq], self._retry_at(row.attempts + 1))
            else:  # the receiver is in trouble: this row and the rest wait together
                waiting = rows[n:]
                attempts = max(r.attempts for r in waiting) + 1
                await gw.storage.retry_outbox([r.seq for r in waiting], self._retry_at(attempts))
                return 0
        return accepted if len(rows) == limit else 0

    def _verwerkingsactie(self, destination: str, row: OutboxRow) -> dict[str, Any] | None:
        """The request body for a row; None (logged) when its purpose left the catalogue."""
        gw = self._gw
        entry = LogEntry.from_canonical(row.leaf).to_json()
        purpose = gw.catalogue.get(entry.get("purpose") or "")
        disclosure_id = entry.get("disclosure_id")
        if purpose is None or not isinstance(disclosure_id, str):
            log.error("outbox_row_dropped", destination=destination, index=row.index)
            return None
        opened = gw.cipher.open(row.sealed, _aad(destination, disclosure_id))
        subject = Subject.from_json(json.loads(opened))
        sender = gw.partners.get((entry.get("sender") or {}).get("partner") or "")
        recipient = gw.partners.get(entry.get("recipient") or "")
        body = verwerkingsactie(
            entry,
            subject=subject,
            terms=ActivityTerms(
                processing_activity=purpose.processing_activity,
                confidentiality=purpose.confidentiality,
                retention_years=purpose.record_retention_years,
                title=purpose.title.get("nl") or purpose.id,
            ),
            sender_identifiers=None if sender is None else sender.identifiers,
            recipient_identifiers=None if recipient is None else recipient.identifiers,
            system=gw.settings.id,
        )
        exchange_id = entry.get("exchange_id")
        if isinstance(exchange_id, str):
            # One processing (the exchange) across the partners' logs: a stable verwerkingId.
            body["verwerkingId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, gw.settings.id + exchange_id))
        return body

    def _vng_headers(self, partner: Partner) -> dict[str, str]:
        target = partner.verwerkingenlogging
        assert target is not None
        now = self._gw.now()
        secret = target.secret
        if target.client_id is None or secret is None:
            return {}
        # JWT-Claims as the VNG APIs take them: HS256 over the client id, issued now.
        token = jwt.encode(
            {
                "iss": target.client_id,
                "iat": int(now.timestamp()),
                "client_id": target.client_id,
                "user_id": self._gw.settings.id,
                "user_representation": self._gw.settings.id,
            },
            secret,
            algorithm="HS256",
        )
        return {"Authorization": f"Bearer {token}"}

    # -- shared ---------------------------------------------------------------------------------
    async def _post(
        self,
        destination: str,
        url: str,
        body: bytes,
        content_type: str,
        headers: dict[str, str],
        timeout_s: float,
    ) -> Outcome:
        try:
            async with self._session.post(
                url,
                data=body,
                headers={"Content-Type": content_type, **headers},
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                allow_redirects=False,
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("outbox_delivery_failed", destination=destination, error=type(exc).__name__)
            self._count(destination, "failed", 1)
            return Outcome.UNAVAILABLE
        if 200 <= status < 300:
            return Outcome.ACCEPTED
        # The status only: a receiver's error text may quote what it was sent.
        log.warning("outbox_delivery_refused", destination=destination, status=status)
        self._count(destination, "failed", 1)
        if 400 <= status < 500 and status not in _TRY_AGAIN_LATER:
            return Outcome.REFUSED
        return Outcome.UNAVAILABLE

    def _count(self, destination: str, outcome: str, n: int) -> None:
        if n:
            self._metrics.outbox_deliveries.labels(destination, outcome).inc(n)

    async def _observe_backlog(self) -> int:
        """Publish the backlog; drop rows for partners whose Verwerkingenlogging was removed."""
        backlog = await self._gw.storage.outbox_backlog()
        for destination, count in backlog.items():
            self._metrics.outbox_backlog.labels(destination).set(count)
            if not destination.startswith(_VNG) or not count:
                continue
            partner = self._gw.partners.get(destination[len(_VNG) :])
            if partner is None or partner.verwerkingenlogging is None:
                await self._drop(destination)
        return 0

    async def _drop(self, destination: str) -> None:
        dropped = await self._gw.storage.drop_outbox(destination)
        if dropped:
            log.warning("outbox_destination_removed", destination=destination, dropped=dropped)
            self._count(destination, "dropped", dropped)
        self._metrics.outbox_backlog.labels(destination).set(0)
