"""Build the aiohttp application from loaded configuration and an opened storage."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from gateway.delivery.notify import notification_signer, run_dispatcher
from gateway.log.sequencer import Lock, SequencerLock
from gateway.web import audit, cases, consents, exchanges, expectations, inbox, meta, token
from gateway.web.context import GATEWAY, Gateway
from gateway.web.middleware import error_middleware

__all__ = ["create_app"]


log = structlog.get_logger("gateway.app")


def create_app(gw: Gateway, *, background: bool = True) -> web.Application:
    """The application: routes, the error middleware, and storage opened for its lifetime."""
    app = web.Application(
        middlewares=[error_middleware],
        client_max_size=gw.settings.max_body_bytes,
    )
    app[GATEWAY] = gw
    for module in (token, exchanges, consents, inbox, cases, expectations, audit, meta):
        app.add_routes(module.routes)
    app.cleanup_ctx.append(_storage_lifetime)
    if background:
        app.cleanup_ctx.append(_purger)
        app.cleanup_ctx.append(_sequencer)
        app.cleanup_ctx.append(_notifier)
    return app


async def _notifier(app: web.Application) -> AsyncIterator[None]:
    """Deliver webhook pokes; claims in storage keep workers from sending one twice."""
    gw = app[GATEWAY]
    task = asyncio.create_task(run_dispatcher(gw, notification_signer(gw)))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _sequencer(app: web.Application) -> AsyncIterator[None]:
    """Integrate entries and sign checkpoints, in whichever local worker holds the lock."""
    gw = app[GATEWAY]
    lock = sequencer_lock(gw)
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


def sequencer_lock(gw: Gateway) -> Lock:
    """A file lock among local workers on SQLite; an advisory lock among instances on PostgreSQL."""
    from gateway.store.postgres import PostgresSequencerLock, PostgresStorage

    if isinstance(gw.storage, PostgresStorage):
        return PostgresSequencerLock(gw.storage.dsn, schema=gw.storage.schema)
    return SequencerLock(gw.data.path / "sequencer.lock")


async def _storage_lifetime(app: web.Application) -> AsyncIterator[None]:
    storage = app[GATEWAY].storage
    await storage.open()
    yield
    await storage.close()


async def _purger(app: web.Application) -> AsyncIterator[None]:
    """Purge unacknowledged messages whose retention has passed, logging each purge."""
    gw = app[GATEWAY]

    async def loop() -> None:
        while True:
            try:
                now = gw.now()
                count = await gw.storage.purge_expired(now, inbox.purge_entry(now))
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
