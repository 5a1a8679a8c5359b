"""What the use cases read from the running gateway, each as a small read-only protocol.

The composition root (`gateway.container.Gateway`) satisfies every one of them structurally, so
handlers keep passing it; a use case names only the configuration, keys, clock and storage roles
it touches, and this package never imports the container above it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from gateway.config import Catalogue, PartnerRegistry
from gateway.delivery.atrest import AtRestCipher
from gateway.store.base import (
    BirthDateStore,
    CaseStore,
    ConsentStore,
    ExchangeStore,
    ExpectationStore,
    LogStore,
    RelationStore,
    SubjectLinkStore,
)
from gateway.subject import Pseudonymiser

__all__ = [
    "BirthDateContext",
    "BirthDateStorage",
    "CaseContext",
    "CaseStorage",
    "Clocked",
    "ConsentContext",
    "ConsentStorage",
    "ExchangeContext",
    "ExchangeStorage",
    "ExpectationContext",
    "InboxContext",
    "InboxStorage",
    "Settled",
]


class Clocked(Protocol):
    """The gateway's clock, read once per use case."""

    def now(self) -> datetime: ...


class Settled(Clocked, Protocol):
    """The configuration, keys and clock a use case settles a request against."""

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def partners(self) -> PartnerRegistry: ...

    @property
    def pseudonymiser(self) -> Pseudonymiser: ...

    @property
    def cipher(self) -> AtRestCipher: ...


class BirthDateStorage(BirthDateStore, CaseStore, LogStore, SubjectLinkStore, Protocol):
    """A held birth date, the cases that may correct it and the log that records a refusal."""


class ConsentStorage(ConsentStore, BirthDateStorage, Protocol):
    """Consents, with the birth date they settle and the case networks that scope them."""


class CaseStorage(CaseStore, ExpectationStore, SubjectLinkStore, Protocol):
    """Case networks and the expectations joining one opens."""


class ExchangeStorage(ExchangeStore, ConsentStorage, CaseStorage, RelationStore, Protocol):
    """Everything one exchange reads or writes in its one commit, and the facts it decides on."""


class BirthDateContext(Settled, Protocol):
    """What correcting a birth date uses."""

    @property
    def storage(self) -> BirthDateStorage: ...


class ConsentContext(Settled, Protocol):
    """What recording, listing and withdrawing consents use."""

    @property
    def storage(self) -> ConsentStorage: ...


class ExchangeContext(Settled, Protocol):
    """What deciding on and recording an exchange uses."""

    @property
    def storage(self) -> ExchangeStorage: ...


class CaseContext(Settled, Protocol):
    """What opening a case and registering its network use."""

    @property
    def storage(self) -> CaseStorage: ...


class ExpectationContext(Clocked, Protocol):
    """What listing expectations uses."""

    @property
    def storage(self) -> ExpectationStore: ...


class InboxStorage(ExchangeStore, ExpectationStore, Protocol):
    """The inbox, and the receipts of urgent messages its recipient still owes."""


class InboxContext(Clocked, Protocol):
    """What reading and acknowledging an inbox uses."""

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def cipher(self) -> AtRestCipher: ...

    @property
    def storage(self) -> InboxStorage: ...
