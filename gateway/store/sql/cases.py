"""Cases, networks, households, expectations and notifications in SQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gateway.log.entry import LogEntry
from gateway.store._rows import EXPECTATION_COLUMNS as _EXPECTATION_COLUMNS
from gateway.store._rows import dt as _dt
from gateway.store._rows import expectation_from_row as _expectation
from gateway.store._rows import ms as _ms
from gateway.store.base import (
    Case,
    CaseClosure,
    CaseEvent,
    Expectation,
    HouseholdChild,
    NetworkMember,
    PendingNotification,
)
from gateway.store.sql.runner import SqlRunner, log_values, touch_cases, typed
from gateway.store.sql.txn import Txn, count, insert, row, rows, run, run_many

__all__ = ["CaseSql", "open_expectations", "poke"]

_EXPECTATION_TYPES = typed(
    "expectation_id text, purpose text, origin_purpose text, origin_exchange_id text, "
    "case_id text, owed_by text, owed_to text, subject text, child_ref text, opened_ms bigint, "
    "due_ms bigint, closed_ms bigint, closed_by text, constraints bytea"
)


class CaseSql(SqlRunner):
    """Cases, their networks and households, expectations and the notifications they cause."""

    # -- cases, their networks and households ----------------------------------------------------
    async def case_network(self, case_id: str) -> list[NetworkMember]:
        def txn() -> Txn[list[NetworkMember]]:
            found = yield from rows(
                "SELECT case_id, partner_id, role, contact, registered_by, registered_ms, "
                "care_column, measure "
                "FROM case_network WHERE case_id = ? ORDER BY registered_ms, partner_id",
                case_id,
            )
            return [
                NetworkMember(r[0], r[1], r[2], r[3], r[4], _dt(r[5]), r[6], r[7]) for r in found
            ]

        return await self._query(txn, quick=True)

    async def open_case(self, case: Case, director: NetworkMember, entry: LogEntry) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "INSERT INTO cases (case_id, regisseur, dossier_reference, opened_ms, state, "
                "opened_by, opened_on, opened_on_exchange, last_activity_ms, regisseur_actor) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                case.case_id,
                case.director,
                case.dossier_reference,
                _ms(case.opened_at),
                case.state,
                case.opened_by,
                case.opened_on,
                case.opened_on_exchange,
                _ms(case.opened_at),
                case.director_actor,
            )
            yield from _upsert_member(director)
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    async def get_case(self, case_id: str) -> Case | None:
        def txn() -> Txn[Case | None]:
            r = yield from row(
                "SELECT case_id, regisseur, dossier_reference, opened_ms, state, opened_by, "
                "opened_on, opened_on_exchange, regisseur_actor FROM cases WHERE case_id = ?",
                case_id,
            )
            if r is None:
                return None
            return Case(r[0], r[1], r[2], _dt(r[3]), r[4], r[5], r[6], r[7], r[8])

        return await self._query(txn, quick=True)

    async def register_involvement(self, member: NetworkMember, entry: LogEntry) -> bool | None:
        values = log_values([entry])

        def txn() -> Txn[bool | None]:
            yield from touch_cases(values)
            if member.care_column is not None:
                # One casusregisseur per column, also for two registrations at once: the case's
                # row, locked, serialises them; the column is read after the lock.
                yield from row("SELECT 1 FROM cases WHERE case_id = ?{for_update}", member.case_id)
                taken = yield from row(
                    "SELECT 1 FROM case_network WHERE case_id = ? AND care_column = ? "
                    "AND partner_id <> ?",
                    member.case_id,
                    member.care_column,
                    member.partner_id,
                )
                if taken is not None:
                    return None
            created = yield from _upsert_member(member)
            yield from self._append(values, cases_touched=True)
            return created

        return await self._transact(txn)

    async def remove_involvement(self, case_id: str, partner_id: str, entry: LogEntry) -> bool:
        values = log_values([entry])

        def txn() -> Txn[bool]:
            yield from touch_cases(values)
            # Never the partner holding procesregie, even one a concurrent hand-over just made
            # so: the case's row, locked, says who holds it (hand_over takes the same lock).
            held = yield from row(
                "SELECT regisseur FROM cases WHERE case_id = ?{for_update}", case_id
            )
            if held is not None and held[0] == partner_id:
                return False
            gone = yield from count(
                "DELETE FROM case_network WHERE case_id = ? AND partner_id = ?",
                case_id,
                partner_id,
            )
            if gone:
                # The children it directed are directed by the procesregisseur again.
                yield from run(
                    "UPDATE household SET directed_by = NULL WHERE case_id = ? AND directed_by = ?",
                    case_id,
                    partner_id,
                )
                yield from self._append(values, cases_touched=True)
            return bool(gone)

        return await self._transact(txn)

    async def register_child(self, child: HouseholdChild, entry: LogEntry) -> bool:
        values = log_values([entry])

        def txn() -> Txn[bool]:
            yield from touch_cases(values)
            created = yield from _insert_else_update(
                "INSERT INTO household (case_id, child_ref, subject, registered_by, "
                "registered_ms) VALUES (?, ?, ?, ?, ?)",
                (
                    child.case_id,
                    child.child_ref,
                    child.subject,
                    child.registered_by,
                    _ms(child.registered_at),
                ),
                "UPDATE household SET subject = ? WHERE case_id = ? AND child_ref = ?",
                (child.subject, child.case_id, child.child_ref),
            )
            yield from self._append(values, cases_touched=True)
            return created

        return await self._transact(txn)

    async def household(self, case_id: str) -> list[HouseholdChild]:
        def txn() -> Txn[list[HouseholdChild]]:
            found = yield from rows(
                "SELECT case_id, child_ref, subject, registered_by, registered_ms, directed_by "
                "FROM household WHERE case_id = ? ORDER BY registered_ms, child_ref",
                case_id,
            )
            return [HouseholdChild(r[0], r[1], r[2], r[3], _dt(r[4]), r[5]) for r in found]

        return await self._query(txn, quick=True)

    # -- roles: procesregie, and who directs the help for a child ---------------------------------
    async def hand_over(
        self, case_id: str, holder: str, to: NetworkMember, actor: str | None, entry: LogEntry
    ) -> int | None:
        values = log_values([entry])

        def txn() -> Txn[int | None]:
            # The case's row, locked first, serialises this with a concurrent hand-over, closure
            # or removal of a member (remove_involvement takes the same lock); the membership is
            # read after the lock, so a removal committed meanwhile is seen.
            held = yield from row(
                "SELECT regisseur, state FROM cases WHERE case_id = ?{for_update}", case_id
            )
            if held is None or held[0] != holder or held[1] != "active":
                return None
            member = yield from row(
                "SELECT 1 FROM case_network WHERE case_id = ? AND partner_id = ?",
                case_id,
                to.partner_id,
            )
            if member is None:
                return None
            yield from run(
                "UPDATE cases SET regisseur = ?, regisseur_actor = ? WHERE case_id = ?",
                to.partner_id,
                actor,
                case_id,
            )
            if to.partner_id != holder:
                yield from run(
                    "UPDATE case_network SET role = 'involved', care_column = NULL "
                    "WHERE case_id = ? AND partner_id = ?",
                    case_id,
                    holder,
                )
                yield from run(
                    "UPDATE case_network SET role = 'procesregisseur', care_column = NULL "
                    "WHERE case_id = ? AND partner_id = ?",
                    case_id,
                    to.partner_id,
                )
            [index] = yield from self._append(values)
            return index

        return await self._transact(txn)

    async def direct_child(
        self, case_id: str, child_ref: str, directed_by: str | None, entry: LogEntry
    ) -> int | None:
        values = log_values([entry])

        def txn() -> Txn[int | None]:
            changed = yield from count(
                "UPDATE household SET directed_by = ? WHERE case_id = ? AND child_ref = ?",
                directed_by,
                case_id,
                child_ref,
            )
            if not changed:
                return None
            [index] = yield from self._append(values)
            return index

        return await self._transact(txn)

    async def referral_sender(self, exchange_id: str, recipient: str) -> str | None:
        def txn() -> Txn[str | None]:
            # By the recipient's index: the exchanges disclosed to one partner, not the whole log.
            r = yield from row(
                "SELECT sender FROM log_entries WHERE recipient = ? AND exchange_id = ? "
                "AND decision || '' = 'disclosed' LIMIT 1",
                recipient,
                exchange_id,
            )
            return None if r is None else str(r[0])

        return await self._query(txn, quick=True)

    # -- a case's life: closed and reopened ---------------------------------------------------------
    async def case_events(self, case_id: str) -> list[CaseEvent]:
        def txn() -> Txn[list[CaseEvent]]:
            found = yield from rows(
                "SELECT case_id, event, reason, by_partner, at_ms FROM case_events "
                "WHERE case_id = ? ORDER BY event_no",
                case_id,
            )
            return [CaseEvent(r[0], r[1], r[2], r[3], _dt(r[4])) for r in found]

        return await self._query(txn, quick=True)

    async def close_case(
        self,
        event: CaseEvent,
        entry: Callable[[Sequence[Expectation]], LogEntry],
    ) -> CaseClosure | None:
        def txn() -> Txn[CaseClosure | None]:
            # The state change comes first: it locks the case's row, so two closures of one case
            # are serialised and the second finds it closed already.
            if not (yield from _set_state(event.case_id, "active", "closed")):
                return None
            found = yield from rows(
                "UPDATE expectations SET closed_ms = ?, cancelled_reason = ? "
                "WHERE case_id = ? AND closed_ms IS NULL "
                f"RETURNING {_EXPECTATION_COLUMNS}",
                _ms(event.at),
                event.reason,
                event.case_id,
            )
            cancelled = sorted(map(_expectation, found), key=lambda e: (e.due_at, e.expectation_id))
            yield from _add_event(event)
            index = yield from self._append_one(entry(cancelled))
            return CaseClosure(index, tuple(cancelled))

        return await self._transact(txn)

    async def reopen_case(self, event: CaseEvent, entry: LogEntry) -> int | None:
        def txn() -> Txn[int | None]:
            if not (yield from _set_state(event.case_id, "closed", "active")):
                return None
            yield from _add_event(event)
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    # -- expectations and notifications ----------------------------------------------------------
    async def add_expectations(self, expectations: Sequence[Expectation]) -> None:
        await self._transact(lambda: open_expectations(expectations))

    async def open_expectations(
        self, *, owed_by: str, owed_to: str | None = None, purpose: str | None = None
    ) -> list[Expectation]:
        sql = f"SELECT {_EXPECTATION_COLUMNS} FROM expectations WHERE owed_by = ? AND closed_ms IS NULL"
        args: list[Any] = [owed_by]
        if owed_to is not None:
            sql += " AND owed_to = ?"
            args.append(owed_to)
        if purpose is not None:
            sql += " AND purpose = ?"
            args.append(purpose)
        sql += " ORDER BY due_ms, expectation_id"

        def txn() -> Txn[list[Expectation]]:
            return [_expectation(r) for r in (yield from rows(sql, *args))]

        return await self._query(txn)

    async def expectations_for(
        self, partner: str, *, open_only: bool, limit: int
    ) -> list[Expectation]:
        only_open = " AND closed_ms IS NULL" if open_only else ""

        def txn() -> Txn[list[Expectation]]:
            found = yield from rows(
                f"SELECT {_EXPECTATION_COLUMNS} FROM expectations "
                f"WHERE (owed_by = ? OR owed_to = ?){only_open} "
                "ORDER BY due_ms, expectation_id LIMIT ?",
                partner,
                partner,
                limit,
            )
            return [_expectation(r) for r in found]

        return await self._query(txn)

    async def mark_newly_overdue(
        self,
        now: datetime,
        limit: int,
        escalate: Callable[[Expectation], LogEntry | None] | None = None,
    ) -> list[Expectation]:
        def txn() -> Txn[list[Expectation]]:
            # SKIP LOCKED: instances checking at the same moment announce each expectation once.
            found = yield from rows(
                "UPDATE expectations SET overdue_notified_ms = ? WHERE expectation_id IN "
                "(SELECT expectation_id FROM expectations WHERE closed_ms IS NULL "
                "AND overdue_notified_ms IS NULL AND due_ms < ? ORDER BY due_ms LIMIT ?"
                f"{{skip_locked}}) RETURNING {_EXPECTATION_COLUMNS}",
                _ms(now),
                _ms(now),
                limit,
            )
            due = sorted(map(_expectation, found), key=lambda e: (e.due_at, e.expectation_id))
            parties = {p for e in due for p in (e.owed_by, e.owed_to)}
            yield from poke(sorted(parties), "expectation_overdue", now)
            made = [(e, escalate(e)) for e in due] if escalate is not None else []
            escalated = [(e, entry) for e, entry in made if entry is not None]
            if escalated:
                yield from self._append(log_values([entry for _, entry in escalated]))
                yield from poke(
                    sorted({e.owed_by for e, _ in escalated}), "urgent_message", now, at_once=True
                )
            return due

        return await self._transact(txn)

    async def claim_notifications(
        self, now: datetime, *, lease_s: float, limit: int
    ) -> list[PendingNotification]:
        def txn() -> Txn[list[PendingNotification]]:
            # SKIP LOCKED: instances claiming at the same moment never take the same poke.
            due = yield from rows(
                "SELECT partner, kind, created_ms, attempts FROM notifications WHERE next_ms <= ? "
                "ORDER BY next_ms, partner, kind LIMIT ?{skip_locked}",
                _ms(now),
                limit,
            )
            lease = _ms(now) + int(lease_s * 1000)
            yield from run_many(
                "UPDATE notifications SET next_ms = ? WHERE partner = ? AND kind = ?",
                [(lease, r[0], r[1]) for r in due],
            )
            return [PendingNotification(r[0], r[1], _dt(r[2]), r[3]) for r in due]

        return await self._transact(txn)

    async def finish_notification(self, partner: str, kind: str, created_at: datetime) -> None:
        await self._transact(
            lambda: run(
                "DELETE FROM notifications WHERE partner = ? AND kind = ? AND created_ms <= ?",
                partner,
                kind,
                _ms(created_at),
            )
        )

    async def retry_notification(
        self, partner: str, kind: str, *, next_at: datetime, attempts: int
    ) -> None:
        await self._transact(
            lambda: run(
                "UPDATE notifications SET next_ms = ?, attempts = ? WHERE partner = ? AND kind = ?",
                _ms(next_at),
                attempts,
                partner,
                kind,
            )
        )


def open_expectations(expectations: Sequence[Expectation]) -> Txn[None]:
    values = [
        (
            e.expectation_id,
            e.purpose,
            e.origin_purpose,
            e.origin_exchange_id,
            e.case_id,
            e.owed_by,
            e.owed_to,
            e.subject,
            e.child_ref,
            _ms(e.opened_at),
            _ms(e.due_at),
            None if e.closed_at is None else _ms(e.closed_at),
            e.closed_by,
            e.constraints,
        )
        for e in expectations
    ]
    yield from insert("expectations", _EXPECTATION_TYPES, values)


def poke(partners: Sequence[str], kind: str, now: datetime, *, at_once: bool = False) -> Txn[None]:
    """Queue one pending poke per partner and kind: a burst of messages is one notification.

    `at_once` (urgent messages) also brings a poke already waiting for a later attempt (a retry's
    backoff, a re-announcement) forward to now, so a new urgent message never waits behind it.
    """
    sooner = (
        ", next_ms = CASE WHEN excluded.next_ms < notifications.next_ms "
        "THEN excluded.next_ms ELSE notifications.next_ms END"
        if at_once
        else ""
    )
    # Callers pass partners sorted, so concurrent pokers lock the rows in one order.
    for partner in partners:
        yield from run(
            "INSERT INTO notifications (partner, kind, created_ms, next_ms, attempts) "
            "VALUES (?, ?, ?, ?, 0) ON CONFLICT (partner, kind) DO UPDATE SET "
            f"created_ms = excluded.created_ms{sooner}",
            partner,
            kind,
            _ms(now),
            _ms(now),
        )


def _set_state(case_id: str, was: str, becomes: str) -> Txn[bool]:
    """Move the case from state `was` to `becomes`; False (nothing changed) when not in `was`."""
    changed = yield from count(
        "UPDATE cases SET state = ? WHERE case_id = ? AND state = ?", becomes, case_id, was
    )
    return changed > 0


def _add_event(event: CaseEvent) -> Txn[None]:
    """Record the event as the case's next one (callers hold the case's row, see _set_state)."""
    last = yield from row("SELECT MAX(event_no) FROM case_events WHERE case_id = ?", event.case_id)
    number = 1 if last is None or last[0] is None else int(last[0]) + 1
    yield from run(
        "INSERT INTO case_events (case_id, event_no, event, reason, by_partner, at_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        event.case_id,
        number,
        event.event,
        event.reason,
        event.by_partner,
        _ms(event.at),
    )


def _upsert_member(member: NetworkMember) -> Txn[bool]:
    """Insert or update a member; True when it was new."""
    return (
        yield from _insert_else_update(
            "INSERT INTO case_network (case_id, partner_id, role, contact, registered_by, "
            "registered_ms, care_column, measure) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                member.case_id,
                member.partner_id,
                member.role,
                member.contact,
                member.registered_by,
                _ms(member.registered_at),
                member.care_column,
                member.measure,
            ),
            # A re-registration without a measure keeps the one the member holds.
            "UPDATE case_network SET role = ?, contact = ?, care_column = ?, "
            "measure = COALESCE(?, measure) WHERE case_id = ? AND partner_id = ?",
            (
                member.role,
                member.contact,
                member.care_column,
                member.measure,
                member.case_id,
                member.partner_id,
            ),
        )
    )


def _insert_else_update(
    insert_sql: str,
    insert_args: Sequence[object],
    update_sql: str,
    update_args: Sequence[object],
) -> Txn[bool]:
    """Insert a row, or update it where it is held already; True when it was new.

    Insert first: if another instance inserts the same row concurrently, this waits for it
    and then updates, so exactly one of them reports "new".
    """
    inserted = yield from row(f"{insert_sql} ON CONFLICT DO NOTHING RETURNING TRUE", *insert_args)
    if inserted is not None:
        return True
    yield from run(update_sql, *update_args)
    return False
