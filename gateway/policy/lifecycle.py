"""A case's life, as pure rules: how it opens, who closes and reopens it, what a closed case refuses.

The states and their transitions (docs/workflows.md, "A case's life"):

1. `POST /v1/cases` opens a case, `active` at once; the opening records who opened it and on
   what occasion (a code from OPENED_ON, and the referral's exchange id where there was one).
2. Only the partner that directs the case (`directs`) closes it, with a code from
   CLOSE_REASONS; closing a closed case is `409 case_closed`.
3. Only the director reopens a closed case, with a code from REOPEN_REASONS; reopening an
   active case is `409 case_not_closed`.
4. While a case is closed nothing is added to it: no network member, no household child, and
   no exchange names it (as its `case_id` or by a send to its network) but a closure notice, or
   a `referrer-status` telling the original referrer that the case closed or was transferred
   (`409 case_closed`, reopen it first).

A non-member learns nothing of any of this: its every call on a case is the case's `404`,
checked before these rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.config.partners import Partner
from gateway.errors import CaseClosed, CaseCloseNotAllowed, CaseNotClosed, InvalidRequest
from gateway.policy.cases import directs
from gateway.store.base import Case
from gateway.subject import looks_like_bsn

__all__ = [
    "CLOSE_REASONS",
    "CLOSURE_NOTICE",
    "OPENED_ON",
    "REFERRER_STATUS",
    "REOPEN_REASONS",
    "parse_close_reason",
    "parse_opened_on",
    "parse_reopen_reason",
    "verify_active",
    "verify_may_close",
    "verify_may_name",
    "verify_may_reopen",
]

# What a case was opened on: a signal from a partner, a referral through the gateway, a report
# (such as one handed on by Veilig Thuis), or the family's own request for help.
OPENED_ON = frozenset({"signal", "referral", "report", "own_request"})
# Why help ended. Codes only: the reason is shown to the members and logged, so it holds no text.
CLOSE_REASONS = frozenset(
    {
        "goals_reached",  # the plan's goals are reached
        "no_help_needed",  # on closer look no help from the network is needed
        "care_refused",  # the family declines the help
        "moved",  # the family moved out of the municipality
        "transferred",  # the direction passed to another organisation outside the network
        "other",
    }
)
# Why a closed case is taken up again.
REOPEN_REASONS = frozenset(
    {
        "new_signal",  # a new signal or report about the family
        "relapse",  # the problems came back
        "closed_in_error",  # the closure was a mistake
        "other",
    }
)
# The one purpose a closed case's network may still be sent: that the case closed.
CLOSURE_NOTICE = "closure-notice"
# The original referrer is told, by status code only, that the case closed (or moved on).
REFERRER_STATUS = "referrer-status"
_CLOSED_STATUSES = frozenset({"closed", "transferred"})
# An exchange id as the gateway issues them (`gateway.ids.new_id`): a prefix and random text.
_EXCHANGE_ID = re.compile(r"ex_[A-Za-z0-9_-]{8,64}")


def _reason(value: Any, allowed: frozenset[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidRequest(
            f"'reason' must be one of {', '.join(sorted(allowed))}",
            "Give the reason as one of the codes; free text is not kept.",
        )
    return value


def parse_opened_on(opened_on: Any, exchange_id: Any) -> tuple[str | None, str | None]:
    """The occasion a case is opened on and the referral's exchange id, both optional."""
    if opened_on is None:
        if exchange_id is not None:
            raise InvalidRequest(
                "'opened_on_exchange' needs 'opened_on'",
                'Say what the case was opened on, e.g. "opened_on": "referral".',
            )
        return None, None
    if not isinstance(opened_on, str) or opened_on not in OPENED_ON:
        raise InvalidRequest(
            f"'opened_on' must be one of {', '.join(sorted(OPENED_ON))}",
            "Give what the case was opened on as one of the codes.",
        )
    if exchange_id is not None and (
        not isinstance(exchange_id, str)
        or not _EXCHANGE_ID.fullmatch(exchange_id)
        or looks_like_bsn(exchange_id)
    ):
        raise InvalidRequest(
            "'opened_on_exchange' must be an exchange id the gateway gave, such as ex_...",
            "Send the exchange_id of the referral or signal as the gateway answered it, or "
            "leave it out.",
        )
    return opened_on, exchange_id


def parse_close_reason(value: Any) -> str:
    return _reason(value, CLOSE_REASONS)


def parse_reopen_reason(value: Any) -> str:
    return _reason(value, REOPEN_REASONS)


def _reopen_first() -> CaseClosed:
    return CaseClosed(
        "the case is closed",
        "Reopen it first (POST /v1/cases/{case_id}/reopen by the case's procesregisseur), "
        "or open a new case.",
    )


def verify_active(case: Case) -> None:
    """Return when the case is active; a closed case takes nothing new (rule 4)."""
    if case.state != "active":
        raise _reopen_first()


def verify_may_name(case: Case, purpose: str, payload: Mapping[str, Any] | None) -> None:
    """Return when an exchange of `purpose` may name the case now (rule 4); raise otherwise.

    A closed case is named only by what tells of its end: a closure notice, or a referrer
    status saying the case closed or was transferred.
    """
    if case.state == "active" or purpose == CLOSURE_NOTICE:
        return
    if (
        purpose == REFERRER_STATUS
        and payload is not None
        and payload.get("status") in _CLOSED_STATUSES
    ):
        return
    raise _reopen_first()


def verify_may_close(case: Case, caller: Partner) -> None:
    """Return when `caller` (a member) may close the case now (rule 2); raise otherwise."""
    if not directs(case, caller):
        raise CaseCloseNotAllowed(
            "only the partner that directs the case closes it",
            "Ask the case's procesregisseur to close the case.",
        )
    if case.state == "closed":
        raise CaseClosed(
            "the case is closed already",
            "Nothing to do; reopen it (POST /v1/cases/{case_id}/reopen) if help starts again.",
        )


def verify_may_reopen(case: Case, caller: Partner) -> None:
    """Return when `caller` (a member) may reopen the case now (rule 3); raise otherwise."""
    if not directs(case, caller):
        raise CaseCloseNotAllowed(
            "only the partner that directs the case reopens it",
            "Ask the case's procesregisseur to reopen the case.",
        )
    if case.state != "closed":
        raise CaseNotClosed(
            "the case is not closed",
            "Only a closed case is reopened; GET /v1/cases/{case_id} shows its state.",
        )
