"""The composition root: the running gateway's configuration, stores, keys and clock, built once.

Every layer takes what it needs from here; the web layer hands it around under `GATEWAY`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from gateway.auth.tokens import AccessTokenIssuer
from gateway.clock import Clock
from gateway.config import Catalogue, PartnerRegistry, Settings
from gateway.datadir import DataDir
from gateway.delivery.atrest import AtRestCipher
from gateway.limits import FailedAssertions, Rate, RateLimiter
from gateway.log.checkpoint import NoteSigner, NoteVerifier
from gateway.log.sequencer import Sequencer
from gateway.store.base import Storage
from gateway.subject import Pseudonymiser

__all__ = ["Gateway"]


@dataclass(slots=True)
class Gateway:
    """The running gateway's configuration and services (partners may be reloaded)."""

    settings: Settings
    catalogue: Catalogue
    partners: PartnerRegistry
    storage: Storage
    pseudonymiser: Pseudonymiser
    cipher: AtRestCipher
    tokens: AccessTokenIssuer
    clock: Clock
    data: DataDir
    log_signer: NoteSigner
    log_verifiers: tuple[NoteVerifier, ...]
    config_dir: Path
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter({}, Rate(1e9, 10**9)))
    failed_assertions: FailedAssertions = field(default_factory=FailedAssertions)

    def now(self) -> datetime:
        return self.clock.now()

    def sequencer(self) -> Sequencer:
        return Sequencer(
            self.storage, lambda: self.log_signer, self.settings.log_origin, self.clock.now
        )
