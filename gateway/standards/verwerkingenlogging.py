"""VNG Verwerkingenlogging: a disclosure as a `verwerkingsactie` in a partner's own log.

The partner is the controller; its log is its own record of processing, so it names the person
as the sender did: by BSN (`soortObjectId` "BSN"), or for a subject without a BSN by the
declared identifier, with its system URI as `soortObjectId` (a free string of at most 242
characters in the VNG schema; identifier values fit `objectId`'s 40). The gateway keeps no clear
number for this: the caller passes the subject in at the moment of building the request body,
which only ever leaves the gateway sealed or sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.subject import Subject

__all__ = ["ActivityTerms", "verwerkingsactie"]

_OIN_LENGTH = 20


@dataclass(frozen=True, slots=True)
class ActivityTerms:
    """What a purpose says about its processing: register URI, confidentiality, retention."""

    processing_activity: str
    confidentiality: str  # "normaal" | "vertrouwelijk"
    retention_years: int
    title: str


def _oin(identifiers: Mapping[str, str] | None) -> str | None:
    value = None if identifiers is None else identifiers.get("oin")
    return value if value is not None and len(value) == _OIN_LENGTH and value.isdigit() else None


def verwerkingsactie(
    entry: Mapping[str, Any],
    *,
    subject: Subject | None = None,
    bsn: str | None = None,
    terms: ActivityTerms,
    sender_identifiers: Mapping[str, str] | None,
    recipient_identifiers: Mapping[str, str] | None,
    system: str,
) -> dict[str, Any]:
    """The `verwerkingsactie` body to POST for one disclosure entry (`LogEntry.to_json()`).

    The person is `subject` (a BSN or a declared identifier); `bsn=` is the older spelling of
    `subject=Subject("bsn", bsn)`. Exactly one of them is given.
    """
    if (subject is None) == (bsn is None):
        raise ValueError("give the person as subject= or as bsn=, exactly one of them")
    person = subject if subject is not None else Subject("bsn", str(bsn))
    sender = entry.get("sender") or {}
    body: dict[str, Any] = {
        "actieNaam": f"{entry.get('purpose')}: {entry['decision']}"[:242],
        "verwerkingNaam": terms.title[:242],
        "verwerkingsactiviteitId": str(uuid.uuid5(uuid.NAMESPACE_URL, terms.processing_activity)),
        "verwerkingsactiviteitUrl": terms.processing_activity,
        "vertrouwelijkheid": terms.confidentiality,
        "bewaartermijn": f"P{terms.retention_years}Y",
        "systeem": system[:242],
        "tijdstip": entry["time"],
        "verwerkteObjecten": [
            {
                "objecttype": "persoon",
                "soortObjectId": "BSN" if person.system is None else person.system,
                "objectId": person.value,
                "betrokkenheid": "betrokkene",
                "verwerkteSoortenGegevens": [
                    {"soortGegeven": name[:242]} for name in entry.get("fields") or ()
                ],
            }
        ],
    }
    actor = sender.get("actor")
    if isinstance(actor, str) and actor:
        body["gebruiker"] = actor[:40]
    uitvoerder = _oin(sender_identifiers)
    if uitvoerder is not None:
        body["uitvoerder"] = uitvoerder
    afnemer = _oin(recipient_identifiers)
    if afnemer is not None:
        body["soortAfnemerId"] = "OIN"
        body["afnemerId"] = afnemer
    return body
