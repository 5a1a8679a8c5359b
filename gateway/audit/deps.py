"""What the audit functions read from the running gateway, each as a small read-only protocol.

The composition root (`gateway.container.Gateway`) satisfies them structurally; this package
names only the configuration, keys, clock and storage roles it touches, and never imports the
container above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gateway.config import Catalogue, PartnerRegistry, Settings
from gateway.delivery.atrest import AtRestCipher
from gateway.log.checkpoint import NoteVerifier
from gateway.store.base import BreakGlassStore, LogStore, SubjectLinkStore, TransparencyLog
from gateway.subject import Pseudonymiser

__all__ = [
    "AuditContext",
    "AuditLog",
    "Directory",
    "ErasureContext",
    "IntegrityContext",
    "ReviewContext",
]


class Directory(Protocol):
    """The catalogue and the partner registry, to name and filter what the log holds."""

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def partners(self) -> PartnerRegistry: ...


class AuditLog(Protocol):
    """The log and the clock: where a look at the log is itself recorded."""

    @property
    def storage(self) -> LogStore: ...

    def now(self) -> datetime: ...


class AuditContext(Directory, AuditLog, Protocol):
    """What a partner's own page and a subject access report use."""


class ReviewContext(Protocol):
    """What judging a break-glass use uses: its records, the at-rest key and the clock."""

    @property
    def storage(self) -> BreakGlassStore: ...

    @property
    def cipher(self) -> AtRestCipher: ...

    def now(self) -> datetime: ...


class ErasureContext(Protocol):
    """What erasing a subject's link uses: the links, the key that finds one, the clock."""

    @property
    def storage(self) -> SubjectLinkStore: ...

    @property
    def pseudonymiser(self) -> Pseudonymiser: ...

    def now(self) -> datetime: ...


class IntegrityContext(Protocol):
    """What checking the log's integrity uses: its entries and tree, and whose signatures count."""

    @property
    def storage(self) -> TransparencyLog: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def log_verifiers(self) -> Sequence[NoteVerifier]: ...
