"""Erasing a subject's link: the officer's act that makes a person unreachable in the records.

The log's entries stay as they are (they are the accountability record, and their leaves and
searchable columns are verified against each other); what goes is the link from the person to
the pseudonym those entries carry, and the person's pre-link pseudonym from the list that lets
records from before links existed be found (docs/retention.md says what that cannot undo).
"""

from __future__ import annotations

from gateway.audit.deps import ErasureContext
from gateway.errors import Forbidden, InvalidRequest, NotFound
from gateway.log.entry import LogEntry, Sender
from gateway.policy.oversight import Oversight
from gateway.policy.retention import ERASURE_REASONS
from gateway.standards.tracecontext import current_trace_json
from gateway.subject import Subject

__all__ = ["erase_subject", "may_erase", "verify_may_erase"]


def may_erase(oversight: Oversight) -> bool:
    """Whether this officer may erase a subject's link: only the one who oversees every
    organisation, since a link leads to the records of all of them."""
    return oversight.sees_all


def verify_may_erase(oversight: Oversight) -> None:
    """Raise Forbidden unless this officer may erase a subject's link (`may_erase`)."""
    if not may_erase(oversight):
        raise Forbidden(
            "only the privacy officer who oversees every organisation may erase a subject's link",
            "The link leads to the records of every organisation; ask the gateway operator's "
            'privacy officer (oversees = "all" in partners.toml).',
        )


async def erase_subject(
    gw: ErasureContext, subject: Subject, reason: object, officer: Sender, oversight: Oversight
) -> int:
    """Erase the subject's link for good, logged with who, when and why (never the person);
    answer the entry's index. Only the officer who oversees every organisation may: a link
    leads to the records of all of them."""
    verify_may_erase(oversight)
    if not isinstance(reason, str) or reason not in ERASURE_REASONS:
        raise InvalidRequest(
            "'reason' must name why the link is erased",
            "Give one of: " + ", ".join(sorted(ERASURE_REASONS)) + ".",
            field="/reason",
        )
    index = await gw.storage.erase_subject_link(
        gw.pseudonymiser.link_key(subject),
        gw.pseudonymiser.pseudonym_of(subject),
        LogEntry(
            time=gw.now(),
            decision="subject_link_erased",
            reason=reason,
            sender=officer,
            trace=current_trace_json(),
            details={"ground": ERASURE_REASONS[reason]},
        ),
    )
    if index is None:
        raise NotFound(
            "the gateway holds no link for this person",
            "Nothing leads from this number to any record: it was never used here, or its link "
            "was erased before.",
        )
    return index
