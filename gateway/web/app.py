"""Build the aiohttp application from loaded configuration and an opened storage."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import structlog
from aiohttp import web

from gateway.container import Gateway
from gateway.delivery.notify import notification_signer, run_dispatcher
from gateway.delivery.outbox import OutboxDispatcher
from gateway.identity import claim_identity, instance_keys
from gateway.metrics import Metrics
from gateway.service.inbox import purge_entry
from gateway.service.retention import RETENTION_BATCH, run_retention
from gateway.web import (
    audit,
    birth_dates,
    cases,
    consents,
    disclosures,
    exchanges,
    expectations,
    inbox,
    meta,
    token,
)
from gateway.web.context import GATEWAY
from gateway.web.limits import IN_FLIGHT, InFlight, shed_load
from gateway.web.metrics import METRICS, measure_requests
from gateway.web.middleware import edge_middleware, error_middleware, trace_middleware

__all__ = ["create_app"]


log = structlog.get_logger("gateway.app")


def create_app(gw: Gateway, *, background: bool = True) -> web.Application:
    """The application: routes, the error middleware, and storage opened for its lifetime."""
    metrics = Metrics()
    in_flight = InFlight(gw.settings.max_in_flight)
    app = web.Application(
        middlewares=[
            measure_requests(metrics),
            trace_middleware,
            error_middleware,
            edge_middleware,
            shed_load(in_flight),
        ],
        client_max_size=gw.settings.max_body_bytes,
    )
    app[GATEWAY] = gw
    app[METRICS] = metrics
    app[IN_FLIGHT] = in_flight
    for module in (
        token,
        exchanges,
        consents,
        birth_dates,
        inbox,
        cases,
        expectations,
        audit,
        disclosures,
        meta,
    ):
        app.add_routes(module.routes)
    # Imported here: the workspace's pages build on gateway.web, which imports this module.
    from gateway.officer import setup_officer_web

    setup_officer_web(app)
    app.cleanup_ctx.append(_storage_lifetime)
    if background:
        app.cleanup_ctx.append(_purger)
        app.cleanup_ctx.append(_retention)
        app.cleanup_ctx.append(_sequencer)
        app.cleanup_ctx.append(_notifier)
        app.cleanup_ctx.append(_outbox)
    return app


async def _outbox(app: web.Application) -> AsyncIterator[None]:
    """Deliver to outside logs (LDV logbook, partners' Verwerkingenlogging) from the outbox."""
    async with aiohttp.ClientSession() as session:
        task = asyncio.create_task(OutboxDispatcher(app[GATEWAY], session, app[METRICS]).run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _notifier(app: web.Application) -> AsyncIterator[None]:
    """Deliver webhook pokes; claims in storage keep workers from sending one twice."""
    gw = app[GATEWAY]
    task = asyncio.create_task(run_dispatcher(gw, notification_signer(gw.data)))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _sequencer(app: web.Application) -> AsyncIterator[None]:
    """Integrate entries and sign checkpoints, in whichever local worker holds the lock."""
    gw = app[GATEWAY]
    lock = gw.storage.sequencer_lock(gw.data.path)
    sequencer = gw.sequencer()
    task = asyncio.create_task(sequencer.run(gw.settings.checkpoint_interval_s, lock))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if await lock.acquire():
        # A clean stop leaves nothing unsigned behind.
        try:
            await sequencer.integrate()
        except Exception:
            log.exception("final_integration_failed")
    await lock.release()


async def _storage_lifetime(app: web.Application) -> AsyncIterator[None]:
    gw = app[GATEWAY]
    await gw.storage.open()
    try:
        # Each worker too: a gateway started without `gateway serve` is held to the same rule.
        await claim_identity(
            gw.storage, gw.settings.log_origin, str(gw.config_dir), instance_keys(gw.data), gw.now()
        )
    except BaseException:
        await gw.storage.close()
        raise
    yield
    await gw.storage.close()


async def _retention(app: web.Application) -> AsyncIterator[None]:
    """Remove records whose retention has passed (docs/retention.md), logging each kind's count."""
    gw = app[GATEWAY]
    # Imported here: the workspace's pages build on gateway.web, which imports this module.
    from gateway.officer.sessions import SESSION_IDLE

    async def loop() -> None:
        while True:
            try:
                removed = await run_retention(
                    gw.storage, gw.catalogue, gw.cipher, gw.now(), SESSION_IDLE
                )
                while any(count >= RETENTION_BATCH for count in removed.values()):
                    removed = await run_retention(
                        gw.storage, gw.catalogue, gw.cipher, gw.now(), SESSION_IDLE
                    )
                if any(removed.values()):
                    log.info("records_removed", **{k: v for k, v in removed.items() if v})
            except Exception:
                log.exception("retention_failed")
            await asyncio.sleep(gw.settings.retention_interval_s)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _purger(app: web.Application) -> AsyncIterator[None]:
    """Purge unacknowledged messages whose retention has passed, logging each purge."""
    gw = app[GATEWAY]

    async def loop() -> None:
        while True:
            try:
                now = gw.now()
                count = await gw.storage.purge_expired(now, purge_entry(now))
                if count:
                    log.info("inbox_purged", count=count)
            except Exception:
                log.exception("purge_failed")
            await asyncio.sleep(gw.settings.purge_interval_s)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
