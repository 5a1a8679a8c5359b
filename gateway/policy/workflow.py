"""Replies the domain expects, as pure functions: which an exchange opens, closes, or must answer.

The inspections found omissions, not only leaks: feedback that never came, a GI case nobody
heard of, one child of three assessed. So a purpose may expect replies (`expects_reply` in the
catalogue); sending it opens an expectation per recipient (or per child of the household), and
a matching reply closes it. An open expectation past its deadline is overdue, for both sides to
see at `GET /v1/expectations`.

Some replies are owed by the sender itself, and only sometimes (`owed_by = "sender"`, `when`):
evaluation feedback makes the provider owe a new safety assessment of every child, an `unsafe`
outcome makes the assessor owe a safety plan for that child within hours, and a waiting-list
status saying the child still waits makes the certified institution owe the next one.

An expectation is bound to its subject as well as to its case: a reply closes only what is owed
about the same person (the same pseudonym), so a message about one child never closes what is
owed about a brother or sister in the same case. Only an expectation about no one in particular
(a certified institution joining a case owes a report on the case) is closed by the case alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from gateway.clock import DUTCH_TIME
from gateway.config import ExpectedReply, Purpose
from gateway.config.deadlines import CALENDAR_DAYS, DayCount
from gateway.config.urgency import ACKNOWLEDGEMENT
from gateway.errors import InvalidRequest, PayloadNotMinimal
from gateway.store.base import ExchangeEffects, Expectation, HouseholdChild

__all__ = ["check_reply", "codes_at", "due_date", "plan_effects"]


def codes_at(payload: Mapping[str, Any], path: str) -> list[str]:
    """The values at a simple path like `topics` or `answers[].topic` (string codes only)."""
    values: list[Any] = [payload]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part.removesuffix("[]")
        nxt: list[Any] = []
        for value in values:
            item = value.get(key) if isinstance(value, Mapping) else None
            if many and isinstance(item, list):
                nxt.extend(item)
            elif item is not None and not many:
                nxt.append(item)
        values = nxt
    flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
    return [v for v in flat if isinstance(v, str)]


def due_date(
    payload: Mapping[str, Any],
    field: str | None,
    within_days: int,
    now: datetime,
    count: DayCount = CALENDAR_DAYS,
) -> datetime:
    """The deadline: the end of the payload's date in Dutch time, else now + within_days.

    `count` says whether `within_days` are calendar days or working days (the catalogue's
    `count` for the expected reply); a date from the payload is taken as it is.
    """
    raw = payload.get(field) if field else None
    if isinstance(raw, str):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            day = None
        if day is not None:
            return datetime.combine(day, time(23, 59, 59), tzinfo=DUTCH_TIME)
    return count.after(now, within_days)


def plan_effects(
    *,
    purpose: Purpose,
    exchange_id: str,
    sender: str,
    recipients: Sequence[str],
    case_id: str | None,
    subject: str,
    payload: Mapping[str, Any],
    in_reply_to: str | None,
    owed_by_sender: Sequence[Expectation],
    household: Sequence[HouseholdChild],
    now: datetime,
    seal: Callable[[bytes, str], bytes],
    new_id: Callable[[], str],
) -> ExchangeEffects:
    """The expectations this disclosed exchange closes and the ones it opens."""
    child_refs = set(codes_at(payload, "children[].child_ref"))
    closes = tuple(
        e.expectation_id
        for e in owed_by_sender
        if e.purpose == purpose.id
        and e.owed_to in recipients
        and (
            (in_reply_to is not None and e.origin_exchange_id == in_reply_to)
            or (case_id is not None and e.case_id == case_id)
        )
        and _about(e, subject)
        and (e.child_ref is None or e.child_ref in child_refs)
    )
    opens: list[Expectation] = []
    for expected in purpose.expects_reply:
        if expected.condition is not None and not expected.condition.holds(payload):
            continue
        due = _due(expected, payload, now)
        carried = None
        if expected.carry is not None:
            carried = json.dumps({expected.carry: codes_at(payload, expected.carry)}).encode()
        for recipient in recipients:
            owed_by, owed_to = (
                (sender, recipient) if expected.owed_by == "sender" else (recipient, sender)
            )
            for person, child_ref in _targets(expected, subject, payload, household):
                expectation_id = new_id()
                opens.append(
                    Expectation(
                        expectation_id=expectation_id,
                        purpose=expected.purpose,
                        origin_purpose=purpose.id,
                        origin_exchange_id=exchange_id,
                        case_id=case_id,
                        owed_by=owed_by,
                        owed_to=owed_to,
                        subject=person,
                        child_ref=child_ref,
                        opened_at=now,
                        due_at=due,
                        constraints=None if carried is None else seal(carried, expectation_id),
                    )
                )
    opens.extend(
        _acknowledgements(
            purpose, exchange_id, sender, recipients, case_id, subject, payload, now, new_id
        )
    )
    return ExchangeEffects(open=tuple(opens), close=closes, closed_by=exchange_id, closed_at=now)


def _due(expected: ExpectedReply, payload: Mapping[str, Any], now: datetime) -> datetime:
    """The deadline of one expected reply: so many clock hours, else as `due_date` says."""
    if expected.within_hours is not None:
        return now + timedelta(hours=expected.within_hours)
    return due_date(
        payload, expected.due_from_payload, expected.within_days, now, expected.deadline.count
    )


def _targets(
    expected: ExpectedReply,
    subject: str,
    payload: Mapping[str, Any],
    household: Sequence[HouseholdChild],
) -> list[tuple[str, str | None]]:
    """The persons (pseudonym, child_ref) one expected reply is owed about.

    Per child: every child of the household, or, when a condition on the payload's per-child
    items opened it, the children it holds for (by their household pseudonym; a child the
    household does not hold is owed about the message's subject under its child_ref). Without
    a registered household, at least the message's subject is expected.
    """
    if not expected.per_child:
        return [(subject, None)]
    if expected.condition is not None and expected.condition.per_item:
        known = {c.child_ref: c.subject for c in household}
        refs = dict.fromkeys(expected.condition.child_refs(payload))
        return [(known.get(ref, subject), ref) for ref in refs]
    return [(c.subject, c.child_ref) for c in household] or [(subject, None)]


def _acknowledgements(
    purpose: Purpose,
    exchange_id: str,
    sender: str,
    recipients: Sequence[str],
    case_id: str | None,
    subject: str,
    payload: Mapping[str, Any],
    now: datetime,
    new_id: Callable[[], str],
) -> list[Expectation]:
    """An urgent message's receipt, owed by each recipient within the purpose's short term.

    Only acknowledging the message closes it (never a reply exchange: no catalogue purpose is
    called `ACKNOWLEDGEMENT`); when it lapses the gateway escalates.
    """
    rule = purpose.urgent
    if rule is None or not rule.applies(payload):
        return []
    return [
        Expectation(
            expectation_id=new_id(),
            purpose=ACKNOWLEDGEMENT,
            origin_purpose=purpose.id,
            origin_exchange_id=exchange_id,
            case_id=case_id,
            owed_by=recipient,
            owed_to=sender,
            subject=subject,
            child_ref=None,
            opened_at=now,
            due_at=rule.acknowledge_by(now),
        )
        for recipient in recipients
    ]


def _about(expectation: Expectation, subject: str) -> bool:
    """Whether a message about `subject` (a pseudonym) may close this expectation."""
    return expectation.subject is None or expectation.subject == subject


def check_reply(
    purpose: Purpose,
    *,
    subject: str,
    in_reply_to: str | None,
    recipients: Sequence[str],
    request: Expectation | None,
    asked: Mapping[str, Any] | None,
    payload: Mapping[str, Any] | None,
) -> None:
    """A reply purpose answers an open request to its requester, and only what it asked."""
    rule = purpose.reply_to
    if rule is None:
        return
    if in_reply_to is None:
        raise InvalidRequest(
            f"purpose '{purpose.id}' answers a '{rule.purpose}': name it in 'in_reply_to'",
            f"Set in_reply_to to the exchange id of the {rule.purpose} you answer "
            "(GET /v1/expectations lists what is asked of you).",
            purpose=purpose.id,
        )
    if request is None:
        raise InvalidRequest(
            f"there is no open {rule.purpose} {in_reply_to} for you to answer",
            "Answer an open request of yours (GET /v1/expectations?status=open); a request is "
            "answered once.",
            purpose=purpose.id,
        )
    if not _about(request, subject):
        raise InvalidRequest(
            f"the {rule.purpose} {in_reply_to} asked about another person than this {purpose.id}",
            f"Answer a {rule.purpose} with a message about the person it asked about; a "
            "message about someone else is not its answer.",
            purpose=purpose.id,
        )
    if list(recipients) != [request.owed_to]:
        raise InvalidRequest(
            f"a {purpose.id} goes back to the partner that asked: '{request.owed_to}'",
            f"Send it to '{request.owed_to}' only.",
            purpose=purpose.id,
        )
    if payload is None or asked is None or rule.items is None or rule.allowed_from is None:
        return
    allowed = set(asked.get(rule.allowed_from, []))
    items = rule.items.split("[]")[0]
    extra = [
        f"/payload/{items}/{n}"
        for n, code in enumerate(codes_at(payload, rule.items))
        if code not in allowed
    ]
    if extra:
        raise PayloadNotMinimal(
            f"the reply answers {len(extra)} topic(s) the {rule.purpose} did not ask about",
            f"Answer only the topics asked: {', '.join(sorted(allowed))}.",
            purpose=purpose.id,
            violations=[{"path": p, "message": "topic not asked in the request"} for p in extra],
        )
