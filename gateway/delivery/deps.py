"""What the delivery workers read from the running gateway, each as a small read-only protocol.

The composition root (`gateway.container.Gateway`) satisfies them structurally; this package
names only the configuration, keys, clock and storage roles it touches, and never imports the
container above it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from gateway.config import Catalogue, PartnerRegistry, Settings
from gateway.delivery.atrest import AtRestCipher
from gateway.store.base import ExpectationStore, NotificationStore, OutboxStore

__all__ = ["NotificationContext", "NotificationStorage", "OutboxContext"]


class NotificationStorage(NotificationStore, ExpectationStore, Protocol):
    """Pending notifications, and the expectations whose lapse raises one."""


class NotificationContext(Protocol):
    """What delivering webhook notifications uses."""

    @property
    def storage(self) -> NotificationStorage: ...

    @property
    def partners(self) -> PartnerRegistry: ...

    def now(self) -> datetime: ...


class OutboxContext(Protocol):
    """What carrying the log on to outside logs uses."""

    @property
    def settings(self) -> Settings: ...

    @property
    def storage(self) -> OutboxStore: ...

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def partners(self) -> PartnerRegistry: ...

    @property
    def cipher(self) -> AtRestCipher: ...

    def now(self) -> datetime: ...
