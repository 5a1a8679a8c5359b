"""Reload partners (and the gateway's own rotated keys) without a restart, and log it."""

from __future__ import annotations

from typing import Any

import structlog

from gateway.config import ConfigError, PartnerRegistry
from gateway.container import Gateway
from gateway.log.entry import LogEntry
from gateway.runtime import load_checked_partners, load_own_keys

__all__ = ["reload_partners_and_keys"]

log = structlog.get_logger("gateway.reload")


def _changes(old: PartnerRegistry, new: PartnerRegistry) -> dict[str, Any]:
    """What changed, by partner id and key id (public facts only)."""
    old_ids, new_ids = set(old.partners), set(new.partners)
    old_kids = {(p.id, k.kid) for p in old for k in p.keys.signing}
    new_kids = {(p.id, k.kid) for p in new for k in p.keys.signing}
    return {
        "partners_added": sorted(new_ids - old_ids),
        "partners_removed": sorted(old_ids - new_ids),
        "keys_added": sorted(f"{p}:{k}" for p, k in new_kids - old_kids),
        "keys_removed": sorted(f"{p}:{k}" for p, k in old_kids - new_kids),
    }


async def reload_partners_and_keys(gw: Gateway) -> bool:
    """Swap in a fresh partner registry and key set; on a broken file keep the old and say why.

    Tokens bound to a removed partner or key stop working at once: every request checks the
    token's key against the registry it finds then.
    """
    now = gw.now()
    try:
        partners = load_checked_partners(gw.config_dir, production=gw.settings.production)
        keys = load_own_keys(gw.data, gw.settings)
    except (ConfigError, OSError, ValueError) as exc:
        log.error("partners_reload_failed", problem=str(exc))
        await gw.storage.append_log(
            [
                LogEntry(
                    time=now,
                    decision="partners_reload_failed",
                    reason="config_error",
                    details={"problem": str(exc)[:500]},
                )
            ]
        )
        return False
    changes = _changes(gw.partners, partners)
    gw.partners = partners
    gw.cipher, gw.tokens = keys.cipher, keys.tokens
    gw.log_signer, gw.log_verifiers = keys.signer, keys.verifiers
    await gw.storage.append_log([LogEntry(time=now, decision="partners_reloaded", details=changes)])
    log.info("partners_reloaded", **changes)
    return True
