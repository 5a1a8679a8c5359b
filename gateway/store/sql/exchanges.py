"""Exchanges, the inbox, the outbox towards outside logs and break-glass reviews in SQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gateway.config.urgency import ACKNOWLEDGEMENT
from gateway.log.entry import LogEntry
from gateway.store._rows import BREAK_GLASS_COLUMNS as _BREAK_GLASS_COLUMNS
from gateway.store._rows import MESSAGE_COLUMNS as _MESSAGE_COLUMNS
from gateway.store._rows import break_glass_from_row as _break_glass
from gateway.store._rows import message_from_row as _message
from gateway.store._rows import message_values
from gateway.store._rows import ms as _ms
from gateway.store._search import parties_condition
from gateway.store.base import (
    BreakGlassRecord,
    ExchangeEffects,
    Expectation,
    LogFeedBatch,
    OutboxItem,
    StoredMessage,
)
from gateway.store.sql.cases import open_expectations, poke
from gateway.store.sql.runner import SqlRunner, log_row, log_values, touch_cases, typed
from gateway.store.sql.txn import Txn, count, insert, row, rows, run, run_many

__all__ = ["PURGE_BATCH", "ExchangeSql"]

PURGE_BATCH = 1000

_INBOX_TYPES = typed(
    "seq bigint, message_id text, recipient text, subject text, exchange_id text, "
    "disclosure_id text, purpose text, sender_partner text, sender_role text, case_id text, "
    "in_reply_to text, sent_ms bigint, retain_ms bigint, sealing text, body bytea, "
    "subject_system text"
)


# The inbox rows whose recipient still owes the receipt of an urgent message: what makes a
# message urgent is its open `ACKNOWLEDGEMENT` expectation, so no inbox column is needed.
_URGENT = (
    "AND exchange_id IN (SELECT origin_exchange_id FROM expectations "
    "WHERE owed_by = ? AND purpose = ? AND closed_ms IS NULL) "
)


def _is_receipt(expectation: Expectation) -> bool:
    return expectation.purpose == ACKNOWLEDGEMENT


class ExchangeSql(SqlRunner):
    """Exchanges, the inbox they fill, the outbox towards outside logs, break-glass reviews."""

    # -- exchanges and the inbox -----------------------------------------------------------------
    async def record_exchange(
        self,
        entries: Sequence[LogEntry],
        messages: Sequence[StoredMessage],
        effects: ExchangeEffects | None = None,
        outbox: Sequence[OutboxItem] = (),
    ) -> list[int]:
        # Rows are made here, on the event loop, so the writer holds the lock only to insert.
        values = log_values(entries)
        inbox = [message_values(m) for m in messages]

        def txn() -> Txn[list[int]]:
            # PostgreSQL's lock order: the cases the exchange names, the inbox counter, the log's
            # counter last. The case first: the expectations it opens for the case must not be
            # written while a retention run removes the case (the run skips a locked case).
            yield from touch_cases(values)
            if messages:
                # Sequence numbers from a counter row held until commit, so inbox order is
                # commit order: a reader's `after` cursor never skips a message committed late.
                first = yield from self._claim_seqs(len(messages))
                if first is None:
                    yield from insert("inbox", _INBOX_TYPES[1:], inbox)
                else:
                    numbered = [(first + i, *m) for i, m in enumerate(inbox)]
                    yield from insert("inbox", _INBOX_TYPES, numbered)
                recipients = sorted({m.recipient for m in messages})
                yield from poke(recipients, "new_messages", messages[0].sent_at)
                urgent = sorted(
                    {e.owed_by for e in (effects.open if effects else ()) if _is_receipt(e)}
                )
                yield from poke(urgent, "urgent_message", messages[0].sent_at, at_once=True)
            if effects is not None:
                yield from _apply_effects(effects, entries[0].time if entries else None)
            indices = yield from self._append(values, cases_touched=True)
            if outbox:
                now_ms = _ms(entries[0].time)
                yield from run_many(
                    "INSERT INTO outbox (destination, log_idx, sealed, next_ms) VALUES (?, ?, ?, ?)",
                    [
                        (item.destination, indices[item.entry_position], item.sealed, now_ms)
                        for item in outbox
                    ],
                )
            return indices

        return await self._transact(txn)

    async def inbox_page(self, recipient: str, *, after: int, limit: int) -> list[StoredMessage]:
        def txn() -> Txn[list[StoredMessage]]:
            found = yield from rows(
                f"SELECT {_MESSAGE_COLUMNS} FROM inbox WHERE recipient = ? AND seq > ? "
                "ORDER BY seq LIMIT ?",
                recipient,
                after,
                limit,
            )
            return [_message(r) for r in found]

        return await self._query(txn)

    async def inbox_count(self, recipient: str) -> int:
        def txn() -> Txn[int]:
            r = yield from row("SELECT COUNT(*) FROM inbox WHERE recipient = ?", recipient)
            return 0 if r is None else int(r[0])

        return await self._query(txn)

    async def lease_inbox(
        self,
        recipient: str,
        *,
        limit: int,
        now: datetime,
        until: datetime,
        urgent_first: bool = False,
    ) -> list[StoredMessage]:
        def take(urgent_only: bool, n: int) -> Txn[list[StoredMessage]]:
            # SKIP LOCKED: a concurrent lease on another instance passes over the rows this one
            # is taking instead of waiting for them, so no message goes to both.
            found = yield from rows(
                "UPDATE inbox SET leased_until_ms = ? WHERE seq IN ("
                "SELECT seq FROM inbox WHERE recipient = ? AND "
                "(leased_until_ms IS NULL OR leased_until_ms <= ?) "
                f"{_URGENT if urgent_only else ''}"
                f"ORDER BY seq LIMIT ?{{skip_locked}}) RETURNING {_MESSAGE_COLUMNS}",
                _ms(until),
                recipient,
                _ms(now),
                *((recipient, ACKNOWLEDGEMENT) if urgent_only else ()),
                n,
            )
            return sorted(map(_message, found), key=lambda m: m.seq)

        def txn() -> Txn[list[StoredMessage]]:
            # Urgent messages first, so an acute report never waits behind a backlog.
            urgent = (yield from take(True, limit)) if urgent_first else []
            rest = (yield from take(False, limit - len(urgent))) if len(urgent) < limit else []
            return urgent + rest

        return await self._transact(txn)

    async def urgent_inbox(self, recipient: str, *, limit: int) -> list[StoredMessage]:
        def txn() -> Txn[list[StoredMessage]]:
            found = yield from rows(
                f"SELECT {_MESSAGE_COLUMNS} FROM inbox WHERE recipient = ? {_URGENT}"
                "ORDER BY seq LIMIT ?",
                recipient,
                recipient,
                ACKNOWLEDGEMENT,
                limit,
            )
            return [_message(r) for r in found]

        return await self._query(txn)

    async def ack_message(
        self, recipient: str, message_id: str, make_entry: Callable[[StoredMessage], LogEntry]
    ) -> int | None:
        def txn() -> Txn[int | None]:
            # Of two concurrent acks the second waits on the row lock, then finds nothing to
            # delete: exactly one receipt is logged.
            r = yield from row(
                "DELETE FROM inbox WHERE message_id = ? AND recipient = ? "
                f"RETURNING {_MESSAGE_COLUMNS}",
                message_id,
                recipient,
            )
            if r is None:
                return None
            message = _message(r)
            entry = make_entry(message)
            # An urgent message's receipt is owed until it is acknowledged: this closes it.
            yield from run(
                "UPDATE expectations SET closed_ms = ?, closed_by = ? "
                "WHERE origin_exchange_id = ? AND owed_by = ? AND purpose = ? "
                "AND closed_ms IS NULL",
                _ms(entry.time),
                message.message_id,
                message.exchange_id,
                recipient,
                ACKNOWLEDGEMENT,
            )
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    async def purge_expired(
        self, now: datetime, make_entry: Callable[[StoredMessage], LogEntry]
    ) -> int:
        def txn() -> Txn[int]:
            # SKIP LOCKED: a message another instance is purging (or a recipient is acking) is
            # left to that transaction, so no message is ever purged and logged twice.
            found = yield from rows(
                "DELETE FROM inbox WHERE seq IN (SELECT seq FROM inbox WHERE retain_ms <= ? "
                f"ORDER BY seq LIMIT ?{{skip_locked}}) RETURNING {_MESSAGE_COLUMNS}",
                _ms(now),
                PURGE_BATCH,
            )
            messages = sorted(map(_message, found), key=lambda m: m.seq)
            # A purged urgent message can no longer be acknowledged: its receipt ends with it
            # (its lapse was escalated long before), so it is not announced again forever.
            yield from run_many(
                "UPDATE expectations SET closed_ms = ?, closed_by = ? "
                "WHERE origin_exchange_id = ? AND owed_by = ? AND purpose = ? "
                "AND closed_ms IS NULL",
                [
                    (
                        _ms(now),
                        f"purged:{m.message_id}",
                        m.exchange_id,
                        m.recipient,
                        ACKNOWLEDGEMENT,
                    )
                    for m in messages
                ],
            )
            yield from self._append(log_values([make_entry(m) for m in messages]))
            return len(messages)

        return await self._transact(txn)

    # -- the outbox towards outside logs ---------------------------------------------------------
    async def claim_log_feed(
        self, destination: str, now: datetime, *, lease_s: float, limit: int
    ) -> LogFeedBatch:
        def txn() -> Txn[LogFeedBatch]:
            yield from run(
                "INSERT INTO outbox_cursors (destination, next_idx) VALUES (?, 0) "
                "ON CONFLICT (destination) DO NOTHING",
                destination,
            )
            cursor = yield from row(
                "SELECT next_idx, attempts FROM outbox_cursors "
                "WHERE destination = ? AND next_ms <= ? AND lease_ms <= ?{skip_locked}",
                destination,
                _ms(now),
                _ms(now),
            )
            if cursor is None:
                return LogFeedBatch((), 0)
            # Entries take their index under a lock held until commit, so what is visible here
            # is a gap-free prefix of the log: the cursor never passes an uncommitted entry.
            found = yield from rows(
                "SELECT idx, leaf FROM log_entries WHERE idx >= ? ORDER BY idx LIMIT ?",
                cursor[0],
                limit,
            )
            if found:
                yield from run(
                    "UPDATE outbox_cursors SET lease_ms = ? WHERE destination = ?",
                    _ms(now) + int(lease_s * 1000),
                    destination,
                )
            return LogFeedBatch(tuple(map(log_row, found)), int(cursor[1]))

        return await self._transact(txn)

    async def advance_log_feed(self, destination: str, start: int, end: int) -> bool:
        def txn() -> Txn[bool]:
            moved = yield from count(
                "UPDATE outbox_cursors SET next_idx = ?, attempts = 0, next_ms = 0, lease_ms = 0 "
                "WHERE destination = ? AND next_idx = ?",
                end,
                destination,
                start,
            )
            return moved == 1

        return await self._transact(txn)

    async def retry_log_feed(self, destination: str, next_at: datetime) -> None:
        await self._transact(
            lambda: run(
                "UPDATE outbox_cursors SET attempts = attempts + 1, next_ms = ?, lease_ms = 0 "
                "WHERE destination = ?",
                _ms(next_at),
                destination,
            )
        )

    async def drop_outbox(self, destination: str) -> int:
        return await self._transact(
            lambda: count("DELETE FROM outbox WHERE destination = ?", destination)
        )

    async def outbox_backlog(self) -> dict[str, int]:
        def txn() -> Txn[dict[str, int]]:
            head = yield from row("{log_size}")
            size = 0 if head is None else int(head[0])
            cursors = yield from rows("SELECT destination, next_idx FROM outbox_cursors")
            backlog = {r[0]: size - int(r[1]) for r in cursors}
            queued = yield from rows(
                "SELECT destination, COUNT(*) FROM outbox GROUP BY destination"
            )
            for r in queued:
                backlog[r[0]] = backlog.get(r[0], 0) + int(r[1])
            return backlog

        return await self._query(txn)

    # -- break-glass reviews ---------------------------------------------------------------------
    async def break_glass_records(
        self, *, status: str | None, limit: int, senders: frozenset[str] | None = None
    ) -> list[BreakGlassRecord]:
        sql = f"SELECT {_BREAK_GLASS_COLUMNS} FROM break_glass WHERE 1 = 1"
        args: list[Any] = []
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        among, among_args = parties_condition(senders, ("sender",))
        sql += f"{among} ORDER BY created_ms, exchange_id LIMIT ?"
        args += [*among_args, limit]

        def txn() -> Txn[list[BreakGlassRecord]]:
            return [_break_glass(r) for r in (yield from rows(sql, *args))]

        return await self._query(txn)

    async def review_break_glass(
        self,
        exchange_id: str,
        *,
        status: str,
        by: str,
        at: datetime,
        sealed_note: bytes,
        entry: LogEntry,
        senders: frozenset[str] | None = None,
    ) -> int | None:
        among, among_args = parties_condition(senders, ("sender",))

        def txn() -> Txn[int | None]:
            changed = yield from count(
                "UPDATE break_glass SET status = ?, reviewed_by = ?, reviewed_ms = ?, "
                f"sealed_note = ? WHERE exchange_id = ?{among}",
                status,
                by,
                _ms(at),
                sealed_note,
                exchange_id,
                *among_args,
            )
            if changed != 1:
                return None
            return (yield from self._append_one(entry))

        return await self._transact(txn)


def _apply_effects(effects: ExchangeEffects, exchanged_at: datetime | None) -> Txn[None]:
    """An exchange's side effects: expectations opened and closed, a break-glass record.
    Expectations close at `effects.closed_at`, else at the exchange's own time (its first
    entry's): the storage reads no clock."""
    yield from open_expectations(effects.open)
    if effects.close:
        closed_at = effects.closed_at or exchanged_at
        if closed_at is None:
            raise ValueError("closing expectations needs closed_at or an entry to take it from")
        # Lock in id order, so two exchanges closing overlapping sets cannot deadlock; of two
        # replies closing one expectation, the first to commit closes it and the other finds
        # it closed (the row is re-checked after the wait).
        ids = sorted(set(effects.close))
        yield from run(
            "UPDATE expectations SET closed_ms = ?, closed_by = ? WHERE expectation_id IN "
            "(SELECT expectation_id FROM expectations WHERE expectation_id IN "
            f"({', '.join('?' for _ in ids)}) AND closed_ms IS NULL "
            "ORDER BY expectation_id{for_update}) AND closed_ms IS NULL",
            _ms(closed_at),
            effects.closed_by,
            *ids,
        )
    bg = effects.break_glass
    if bg is not None:
        yield from run(
            f"INSERT INTO break_glass ({_BREAK_GLASS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            bg.exchange_id,
            bg.sender,
            bg.purpose,
            _ms(bg.created_at),
            bg.sealed,
            bg.status,
            bg.reviewed_by,
            None if bg.reviewed_at is None else _ms(bg.reviewed_at),
            bg.sealed_note,
        )
