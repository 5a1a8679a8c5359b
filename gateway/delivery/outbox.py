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
import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import jwt
import structlog

from gateway.config import Partner
from gateway.config.outbox import Logbook
from gateway.log.entry import LogEntry
from gateway.standards.export import ldv_for_rows
from gateway.standards.ldv import otlp_json, otlp_request
from gateway.standards.verwerkingenlogging import ActivityTerms, verwerkingsactie
from gateway.store.base import OutboxItem, OutboxRow
from gateway.subject import Subject
from gateway.web.context import Gateway
from gateway.web.metrics import Metrics

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


def vng_destination(partner_id: str) -> str:
    return _VNG + partner_id


def _aad(destination: str, disclosure_id: str) -> bytes:
    return f"outbox:{destination}:{disclosure_id}".encode()


def vng_outbox_items(
    gw: Gateway, entries: Sequence[LogEntry], subject: dict[str, Any]
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
            partner = gw.partners.get(partner_id)
            if partner is None or partner.verwerkingenlogging is None:
                continue
            if plaintext is None:
                plaintext = json.dumps(subject, separators=(",", ":")).encode()
            destination = vng_destination(partner_id)
            sealed = gw.cipher.seal(plaintext, _aad(destination, entry.disclosure_id))
            items.append(OutboxItem(destination, position, sealed))
    return items


def _subject(plaintext: bytes) -> Subject:
    """The subject as sealed by `vng_outbox_items` (the API's own form: bsn or identifier)."""
    given = json.loads(plaintext)
    if "bsn" in given:
        return Subject("bsn", given["bsn"])
    identifier = given["identifier"]
    return Subject("identifier", identifier["value"], identifier["system"])


class OutboxDispatcher:
    """Delivers what waits in the outbox; several workers or instances may run one each."""

    def __init__(self, gw: Gateway, session: aiohttp.ClientSession, metrics: Metrics) -> None:
        self._gw = gw
        self._session = session
        self._metrics = metrics
        self._swept_at: datetime | None = None

    async def run_once(self) -> int:
        """One round over every destination; return how many deliveries were accepted."""
        gw = self._gw
        now = gw.now()
        accepted = 0
        if gw.settings.logbook is not None:
            accepted += await self._ldv(gw.settings.logbook, now)
        for partner in gw.partners:
            if partner.verwerkingenlogging is not None:
                accepted += await self._vng(partner, now)
        if self._swept_at is None or now - self._swept_at >= timedelta(seconds=_ORPHAN_SWEEP_S):
            self._swept_at = now
            await self._observe_backlog()
        return accepted

    async def run(self) -> None:
        """Deliver for as long as the gateway runs; storage trouble waits for the next round."""
        while True:
            try:
                while await self.run_once():
                    pass  # a full batch went out: more may wait
            except Exception:
                log.exception("outbox_round_failed")
            await asyncio.sleep(self._gw.settings.outbox.interval_s)

    # -- Logboek Dataverwerkingen ---------------------------------------------------------------
    async def _ldv(self, logbook: Logbook, now: datetime) -> int:
        gw = self._gw
        policy = gw.settings.outbox
        batch = await gw.storage.claim_log_feed(
            LDV_DESTINATION, now, lease_s=policy.lease_s, limit=policy.batch
        )
        if not batch.rows:
            return 0
        records = ldv_for_rows(batch.rows, gw.catalogue, gw.partners, gw.settings.id)
        ok = True
        if records:
            request = otlp_request(records, service_name=gw.settings.id)
            if logbook.encoding == "json":
                body = json.dumps(otlp_json(request), separators=(",", ":")).encode()
                content_type = "application/json"
            else:
                body = request.SerializeToString()
                content_type = "application/x-protobuf"
            ok = await self._post(
                LDV_DESTINATION, logbook.url, body, content_type, {}, logbook.timeout_s
            )
        start, end = batch.rows[0].index, batch.rows[-1].index + 1
        if ok:
            await gw.storage.advance_log_feed(LDV_DESTINATION, start, end)
            self._count(LDV_DESTINATION, "accepted", len(records))
            return len(batch.rows)
        wait = policy.backoff(batch.attempts + 1)
        await gw.storage.retry_log_feed(LDV_DESTINATION, now + timedelta(seconds=wait))
        return 0

    # -- VNG Verwerkingenlogging ----------------------------------------------------------------
    async def _vng(self, partner: Partner, now: datetime) -> int:
        gw = self._gw
        target = partner.verwerkingenlogging
        assert target is not None
        policy = gw.settings.outbox
        destination = vng_destination(partner.id)
        rows = await gw.storage.claim_outbox(
            destination, now, lease_s=policy.lease_s, limit=policy.batch
        )
        accepted: list[int] = []
        failed: list[OutboxRow] = []
        headers = self._vng_headers(partner, now)
        for row in rows:
            if failed:  # the receiver is in trouble: the rest waits with the failed one
                failed.append(row)
                continue
            body = self._verwerkingsactie(partner, destination, row)
            if body is None:
                accepted.append(row.seq)  # nothing the partner's log would take: not retried
                continue
            data = json.dumps(body, separators=(",", ":")).encode()
            if await self._post(
                destination, target.url, data, "application/json", headers, target.timeout_s
            ):
                accepted.append(row.seq)
            else:
                failed.append(row)
        if accepted:
            await gw.storage.finish_outbox(accepted)
            self._count(destination, "accepted", len(accepted))
        if failed:
            wait = policy.backoff(max(r.attempts for r in failed) + 1)
            await gw.storage.retry_outbox([r.seq for r in failed], now + timedelta(seconds=wait))
        return len(accepted) if len(rows) == policy.batch and not failed else 0

    def _verwerkingsactie(
        self, partner: Partner, destination: str, row: OutboxRow
    ) -> dict[str, Any] | None:
        gw = self._gw
        entry = LogEntry.from_canonical(row.leaf).to_json()
        purpose = gw.catalogue.get(entry.get("purpose") or "")
        disclosure_id = entry.get("disclosure_id")
        if purpose is None or not isinstance(disclosure_id, str):
            log.warning("outbox_row_unusable", destination=destination, index=row.index)
            return None
        subject = _subject(gw.cipher.open(row.sealed, _aad(destination, disclosure_id)))
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

    def _vng_headers(self, partner: Partner, now: datetime) -> dict[str, str]:
        target = partner.verwerkingenlogging
        assert target is not None
        secret = target.secret()
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
    ) -> bool:
        try:
            async with self._session.post(
                url,
                data=body,
                headers={"Content-Type": content_type, **headers},
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                allow_redirects=False,
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return True
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("outbox_delivery_failed", destination=destination, error=type(exc).__name__)
            self._count(destination, "failed", 1)
            return False
        # The status only: a receiver's error text may quote what it was sent.
        log.warning("outbox_delivery_refused", destination=destination, status=status)
        self._count(destination, "failed", 1)
        return False

    def _count(self, destination: str, outcome: str, n: int) -> None:
        if n:
            self._metrics.outbox_deliveries.labels(destination, outcome).inc(n)

    async def _observe_backlog(self) -> None:
        """Publish the backlog; drop rows for partners whose Verwerkingenlogging was removed."""
        backlog = await self._gw.storage.outbox_backlog()
        for destination, count in backlog.items():
            self._metrics.outbox_backlog.labels(destination).set(count)
            if not destination.startswith(_VNG) or not count:
                continue
            partner = self._gw.partners.get(destination[len(_VNG) :])
            if partner is None or partner.verwerkingenlogging is None:
                await self._drop(destination)

    async def _drop(self, destination: str) -> None:
        dropped = 0
        while rows := await self._gw.storage.claim_outbox(
            destination, self._gw.now(), lease_s=60, limit=500
        ):
            await self._gw.storage.finish_outbox([r.seq for r in rows])
            dropped += len(rows)
        if dropped:
            log.warning("outbox_destination_removed", destination=destination, dropped=dropped)
            self._metrics.outbox_backlog.labels(destination).set(0)
