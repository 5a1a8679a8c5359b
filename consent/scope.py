"""Who may record a consent for which exchanges: the recording scope, as a pure rule.

A consent is a legal basis for its senders, so recording one is creating a legal basis. Two ways
are open (CONTRACT.md "Consent"):

- for itself: the recording partner is the consent's only sender (``from``), and its kind may send
  every purpose the consent names (the purpose's ``sender_kinds``);
- for a case it directs: the social team the case records as its director records the family's
  agreement for exchanges between that case's members, about a child registered in the case's
  household; every sender and every recipient named is a member, recipients are named by partner
  id (a partner kind, ``kind:school``, would reach partners outside the case), every purpose is
  one a named sender's kind may send, and every sender's kind may send one of the purposes.

Anything else raises ConsentScopeNotAllowed. Messages point at fields by JSON Pointer and never
echo a partner id, and a refusal in the case way reads the same whether the case does not exist
or the recorder does not direct it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from gateway.errors import ConsentScopeNotAllowed

__all__ = ["CaseScope", "RecordingScope", "verify_recording_scope"]

_DIRECTOR_KIND = "social_team"


@dataclass(frozen=True, slots=True)
class CaseScope:
    """What the recording rule needs of a case: who directs it, its members, its household.

    ``directors`` are the members that direct the case by ``gateway.policy.cases.directs`` (the
    case's recorded director, never a member's role); it is empty when the case has none, or does
    not exist at all: both are refused alike. ``household`` holds the subject pseudonyms of the
    children registered in the case's household.
    """

    directors: frozenset[str]
    members: frozenset[str]
    household: frozenset[str]


@dataclass(frozen=True, slots=True)
class RecordingScope:
    """A consent's scope as recorded: purposes, senders (in ``from`` order) and recipients."""

    purposes: tuple[str, ...]
    senders: tuple[str, ...]
    recipients: tuple[str, ...]


def verify_recording_scope(
    scope: RecordingScope,
    *,
    recorder: str,
    recorder_kind: str,
    kind_of: Callable[[str], str | None],
    sender_kinds: Mapping[str, Collection[str]],
    case: CaseScope | None,
    subject: str,
) -> None:
    """Return if ``recorder`` may record a consent of this scope; else raise ConsentScopeNotAllowed.

    ``kind_of`` gives a registered partner's kind (None for an unknown id); ``sender_kinds`` maps
    each purpose to the partner kinds that may send it. ``case`` is given when the recorder
    records as the director of a case (the body's ``case_id``), None otherwise; ``subject`` is
    the consent's subject pseudonym, which a case consent must find in the case's household.
    """
    if case is None:
        _verify_own(scope, recorder, recorder_kind, sender_kinds)
        _verify_recipients_exist(scope, kind_of)
    else:
        _verify_for_case(scope, recorder, recorder_kind, kind_of, sender_kinds, case)
        if subject not in case.household:
            # A case is no legal basis for a child of another family.
            raise ConsentScopeNotAllowed(
                "Field /subject names a child that is not registered in the household of the "
                "case named in /case_id: consent recorded for a case covers the case's children "
                "only.",
                "Register the child in the case first (PUT /v1/cases/{case_id}/household), then "
                "record the consent for the case.",
                field="/subject",
            )


def _verify_own(
    scope: RecordingScope,
    recorder: str,
    recorder_kind: str,
    sender_kinds: Mapping[str, Collection[str]],
) -> None:
    for index, sender in enumerate(scope.senders):
        if sender != recorder:
            raise ConsentScopeNotAllowed(
                f"Field /from/{index} names another partner: a partner records consent only for "
                "exchanges it sends itself.",
                "Leave /from out (it means your own organisation), or, as the social team that "
                "directs the case, give /case_id to record the family's agreement for exchanges "
                "between the case's members.",
                field=f"/from/{index}",
            )
    _verify_purposes(scope, {recorder: recorder_kind}, sender_kinds)


def _verify_recipients_exist(scope: RecordingScope, kind_of: Callable[[str], str | None]) -> None:
    # A recipient is a registered partner or a partner kind: anything else is the caller's own
    # text (a BSN, a name) that would enter the registry and the log as a "partner".
    for index, party in enumerate(scope.recipients):
        # parse_consent_request has checked a `kind:` entry against the kinds that exist.
        if not party.startswith("kind:") and kind_of(party) in (None, "privacy_officer"):
            raise ConsentScopeNotAllowed(
                f"Field /to/{index} names no registered partner or partner kind.",
                "Name recipients by their partner ids (GET /v1/partners) or as kind:<kind>.",
                field=f"/to/{index}",
            )


def _verify_for_case(
    scope: RecordingScope,
    recorder: str,
    recorder_kind: str,
    kind_of: Callable[[str], str | None],
    sender_kinds: Mapping[str, Collection[str]],
    case: CaseScope,
) -> None:
    if recorder_kind != _DIRECTOR_KIND or recorder not in case.directors:
        # The same words whether the case exists or not: no case's existence is given away.
        raise ConsentScopeNotAllowed(
            "Only the social team that directs the case named in /case_id (its procesregisseur) "
            "may record consent for exchanges between the case's members.",
            "Record consent only for exchanges your organisation sends itself (leave /case_id "
            "out), or ask the case's procesregisseur to record it.",
            field="/case_id",
        )
    for pointer, parties in (("/from", scope.senders), ("/to", scope.recipients)):
        for index, party in enumerate(parties):
            if party.startswith("kind:"):
                raise ConsentScopeNotAllowed(
                    f"Field {pointer}/{index} names a partner kind: consent recorded for a case "
                    "covers the case's members only.",
                    "Name each recipient by its partner id; a kind would reach partners outside "
                    "the case.",
                    field=f"{pointer}/{index}",
                )
            if party not in case.members:
                raise ConsentScopeNotAllowed(
                    f"Field {pointer}/{index} names a partner that is not a member of the case.",
                    "Name only members of the case (GET /v1/cases/{case_id}/network), or register "
                    "the partner in the case first.",
                    field=f"{pointer}/{index}",
                )
    kinds: dict[str, str | None] = {sender: kind_of(sender) for sender in scope.senders}
    _verify_purposes(scope, kinds, sender_kinds)


def _verify_purposes(
    scope: RecordingScope,
    kinds: Mapping[str, str | None],
    sender_kinds: Mapping[str, Collection[str]],
) -> None:
    # A sender-purpose pair no kind may send is never used (the decision refuses the sender
    # first), so a consent may cover both directions of an exchange at once; but every purpose
    # must be one a named sender may send, and every sender must be able to send one of them.
    for index, purpose in enumerate(scope.purposes):
        allowed = sender_kinds.get(purpose, ())
        if not any(kind is not None and kind in allowed for kind in kinds.values()):
            raise ConsentScopeNotAllowed(
                f"Field /purposes/{index} names a purpose that no sender of the consent may send.",
                "Name only purposes the senders may send (GET /v1/purposes lists each purpose's "
                "sender kinds).",
                field=f"/purposes/{index}",
            )
    for index, sender in enumerate(scope.senders):
        kind = kinds.get(sender)
        if not any(kind is not None and kind in sender_kinds.get(p, ()) for p in scope.purposes):
            raise ConsentScopeNotAllowed(
                f"Field /from/{index} names a partner whose kind may send none of the purposes.",
                "Name as senders only partners that may send one of the purposes.",
                field=f"/from/{index}",
            )
