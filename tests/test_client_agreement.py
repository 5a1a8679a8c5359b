"""The client's agreement as its own record: AVG consent only where a purpose's ground rests on it.

The registry records the client's agreement to share (professional secrecy, docs/legal-basis.md
section 8.1). It is also the AVG art. 6(1)(a) consent only for a purpose whose ground, for some
direction, lists art. 6(1)(a); the shipped catalogue has none.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

from consent import ConsentRecord, Evidence, Giver
from gateway.config.purposes import Catalogue, load_catalogue
from gateway.service.consents import avg_consent_purposes, public

REPO = Path(__file__).resolve().parent.parent
SHIPPED = load_catalogue(REPO / "config", REPO / "schemas")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _record(*purposes: str) -> ConsentRecord:
    return ConsentRecord(
        consent_id="cns-1",
        subject="ab" * 32,
        birth_date=date(1990, 1, 1),
        given_by=(Giver("subject"),),
        purposes=frozenset(purposes),
        senders=frozenset({"swt-noord"}),
        recipients=frozenset({"school-de-es"}),
        valid_from=date(2026, 1, 1),
        valid_until=None,
        evidence=Evidence("written", "dossier 2026-17"),
        recorded_by="swt-noord",
        recorded_at=NOW,
    )


def test_no_shipped_purpose_makes_the_clients_agreement_an_avg_consent() -> None:
    every = _record(*SHIPPED.ids)
    assert avg_consent_purposes(SHIPPED, every) == []
    assert public(every, NOW, "swt-noord", SHIPPED)["avg_consent_purposes"] == []


def test_a_purpose_whose_direction_ground_rests_on_art_6_1_a_is_named_and_no_other() -> None:
    closure = SHIPPED.purposes["closure-notice"]
    grounds = closure.direction_grounds or (closure.ground,)
    resting = dataclasses.replace(grounds[0], avg_art6=("a",))
    if closure.direction_grounds:
        changed = dataclasses.replace(closure, direction_grounds=(resting, *grounds[1:]))
    else:
        changed = dataclasses.replace(closure, ground=resting)
    catalogue = Catalogue(purposes={**SHIPPED.purposes, "closure-notice": changed})
    record = _record("closure-notice", "information-request")
    assert avg_consent_purposes(catalogue, record) == ["closure-notice"]
    assert avg_consent_purposes(catalogue, _record("information-request")) == []
