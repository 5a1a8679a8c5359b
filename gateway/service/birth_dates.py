"""One birth date per subject: held sealed, set once, corrected only as a logged act.

The gateway holds one birth date per subject pseudonym, sealed with the at-rest key like consent
records. The first consent that gives a birth date sets it; a consent whose birth date contradicts
it is refused (`birth_date_mismatch`); the age rules are evaluated against it. Correcting it is
open to the social team that directs a case (its procesregisseur) whose household holds the
child, with a reason from a closed list; the log entry names the act, the reason and the case,
never a date.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from gateway.delivery.atrest import AtRestCipher
from gateway.errors import Forbidden
from gateway.log.entry import LogEntry, Sender
from gateway.policy.cases import directs
from gateway.policy.decision import Caller
from gateway.service.deps import BirthDateContext
from gateway.standards.tracecontext import current_trace_json
from gateway.store.base import BirthDateStore, CaseStore
from gateway.store.links import pseudonym_for
from gateway.subject import Subject

__all__ = [
    "CORRECTION_REASONS",
    "claim_birth_date",
    "correct_birth_date",
    "held_birth_date",
]

# Why a held birth date may be corrected: the codes enter the log, free text never does.
CORRECTION_REASONS: Final = frozenset(
    {
        "recording_error",  # the date was mistyped when a consent was recorded
        "verified_in_brp",  # the Basisregistratie Personen shows another date
        "verified_by_document",  # an identity document shows another date
    }
)


def _aad(subject: str) -> bytes:
    # Binds the ciphertext to its row: a sealed date moved to another subject does not open.
    return b"birth-date:" + subject.encode()


def _seal(cipher: AtRestCipher, subject: str, birth_date: date) -> bytes:
    return cipher.seal(birth_date.isoformat().encode(), _aad(subject))


def _open(cipher: AtRestCipher, subject: str, sealed: bytes) -> date:
    return date.fromisoformat(cipher.open(sealed, _aad(subject)).decode())


async def held_birth_date(store: BirthDateStore, cipher: AtRestCipher, subject: str) -> date | None:
    """The birth date the gateway holds for the subject behind this pseudonym, or None."""
    sealed = await store.held_birth_date(subject)
    return None if sealed is None else _open(cipher, subject, sealed)


async def claim_birth_date(
    store: BirthDateStore, cipher: AtRestCipher, subject: str, birth_date: date, now: datetime
) -> date:
    """Hold ``birth_date`` for the subject unless a date is held already; answer the held date."""
    held = await store.claim_birth_date(subject, _seal(cipher, subject, birth_date), now)
    return _open(cipher, subject, held)


async def correct_birth_date(
    gw: BirthDateContext,
    caller: Caller,
    named: Subject,
    birth_date: date,
    case_id: str,
    reason: str,
) -> int:
    """The social team that directs a case of the child corrects the birth date held for it.

    Answers the correction's log index; a caller that may not correct it gets one logged
    `forbidden`, whether the case exists, has another director or lacks this child.
    """
    now = gw.now()
    subject = await pseudonym_for(gw.storage, gw.pseudonymiser, named, now)
    entry = LogEntry(
        time=now,
        decision="birth_date_corrected",
        reason=reason,
        sender=Sender(caller.partner.id, caller.actor_id, caller.actor_role),
        subject=subject,
        subject_system=named.system,
        case_id=case_id,
        trace=current_trace_json(),
    )
    if not await _directs_a_case_of(gw.storage, caller, case_id, subject):
        # Logged without the case id (it may name no case at all) and without any date.
        await gw.storage.append_log(
            [
                LogEntry(
                    time=now,
                    decision="refused",
                    reason="forbidden",
                    sender=entry.sender,
                    subject=subject,
                    subject_system=named.system,
                    trace=entry.trace,
                    details={"act": "birth_date_correction"},
                )
            ]
        )
        raise Forbidden(
            "only the social team that directs a case whose household holds this child may "
            "correct the child's birth date",
            "Correct it as the case's procesregisseur, with the child registered in the case's "
            "household (PUT /v1/cases/{case_id}/household).",
        )
    return await gw.storage.correct_birth_date(
        subject, _seal(gw.cipher, subject, birth_date), entry
    )


async def _directs_a_case_of(store: CaseStore, caller: Caller, case_id: str, subject: str) -> bool:
    if not directs(await store.get_case(case_id), caller.partner):
        return False
    return any(child.subject == subject for child in await store.household(case_id))
