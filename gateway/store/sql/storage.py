"""The storage methods both back ends share: each transaction's SQL and row mapping, once.

`SqlStorage` implements the storage protocols on two abstract runners, `_query` and `_transact`,
which each back end provides with its executor (SQLite's writer thread and readers, PostgreSQL's
pool); a back end overrides only the transactions whose SQL it cannot share (and the hooks
`_claim_indices` and `_claim_seqs`, which hand out log indices and inbox sequence numbers).

Work that several PostgreSQL instances may start at once (purging, pruning, announcing overdue
expectations, leasing) takes its rows with `{skip_locked}`, FOR UPDATE SKIP LOCKED there, so
each row is handled by exactly one instance; SQLite's single writer needs no such clause.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from gateway.log.entry import LogEntry
from gateway.store._rows import BREAK_GLASS_COLUMNS as _BREAK_GLASS_COLUMNS
from gateway.store._rows import EXPECTATION_COLUMNS as _EXPECTATION_COLUMNS
from gateway.store._rows import MESSAGE_COLUMNS as _MESSAGE_COLUMNS
from gateway.store._rows import SESSION_COLUMNS as _SESSION_COLUMNS
from gateway.store._rows import VERIFY_COLUMNS as _VERIFY_COLUMNS
from gateway.store._rows import break_glass_from_row as _break_glass
from gateway.store._rows import day as _day
from gateway.store._rows import dt as _dt
from gateway.store._rows import expectation_from_row as _expectation
from gateway.store._rows import message_from_row as _message
from gateway.store._rows import message_values
from gateway.store._rows import ms as _ms
from gateway.store._search import parties_condition, search_log_query
from gateway.store.base import (
    ActivityCount,
    BreakGlassRecord,
    Case,
    ExchangeEffects,
    Expectation,
    HouseholdChild,
    KeyFingerprint,
    LogFeedBatch,
    LogFilter,
    LogRow,
    NetworkMember,
    OfficerLink,
    OfficerSession,
    OutboxItem,
    PendingNotification,
    RefusalCount,
    StoredCheckpoint,
    StoredConsent,
    StoredMessage,
    VerifyRow,
)
from gateway.store.sql.txn import Row, Txn, count, insert, row, rows, run, run_many

__all__ = ["PURGE_BATCH", "SqlStorage", "blob", "log_values"]

T = TypeVar("T")
PURGE_BATCH = 1000


def _typed(columns: str) -> tuple[tuple[str, str], ...]:
    """`"name type, ..."` as (name, PostgreSQL type) pairs, for `insert`."""
    return tuple((name, kind) for name, kind in (c.split() for c in columns.split(", ")))


_LOG_TYPES = _typed(
    "idx bigint, leaf bytea, time_ms bigint, decision text, purpose text, sender text, "
    "recipient text, subject text, exchange_id text, reason text, break_glass boolean"
)
_INBOX_TYPES = _typed(
    "seq bigint, message_id text, recipient text, subject text, exchange_id text, "
    "disclosure_id text, purpose text, sender_partner text, sender_role text, case_id text, "
    "in_reply_to text, sent_ms bigint, retain_ms bigint, sealing text, body bytea, "
    "subject_system text"
)
_TREE_TYPES = _typed("level integer, idx bigint, hash bytea")
_EXPECTATION_TYPES = _typed(
    "expectation_id text, purpose text, origin_purpose text, origin_exchange_id text, "
    "case_id text, owed_by text, owed_to text, subject text, child_ref text, opened_ms bigint, "
    "due_ms bigint, closed_ms bigint, closed_by text, constraints bytea"
)
_CONSENT = "SELECT consent_id, subject, recorded_by, record FROM consents"
_FINGERPRINTS = (
    "SELECT name, fingerprint, keys_folder, recorded_ms, retired_ms FROM key_fingerprints "
    "ORDER BY recorded_ms, name, fingerprint"
)
_CHECKPOINTS = "SELECT size, root_hash, note, time_ms FROM checkpoints ORDER BY size"

LogValues = tuple[
    bytes, int, str, str | None, str | None, str | None, str | None, str | None, str | None, bool
]


def log_values(entries: Sequence[LogEntry]) -> list[LogValues]:
    """The log_entries columns but the index: made before the write, outside the shared lock
    (the canonical leaf is most of the work of appending)."""
    return [
        (
            entry.canonical(),
            _ms(entry.time),
            entry.decision,
            entry.purpose,
            None if entry.sender is None else entry.sender.partner,
            entry.recipient,
            entry.subject,
            entry.exchange_id,
            entry.reason,
            entry.break_glass,
        )
        for entry in entries
    ]


def blob(value: object) -> bytes:
    """Bytes of a BLOB column, also when someone rewrote it as TEXT (tampering must not crash)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8")


def _among(parties: frozenset[str] | None, columns: tuple[str, ...]) -> tuple[str, list[Any]]:
    return parties_condition(parties, columns)


def _consent(r: Row) -> StoredConsent:
    return StoredConsent(r[0], r[1], r[2], bytes(r[3]))


def _checkpoint(r: Row) -> StoredCheckpoint:
    return StoredCheckpoint(r[0], bytes(r[1]), r[2], _dt(r[3]))


def _fingerprint(r: Row) -> KeyFingerprint:
    return KeyFingerprint(r[0], r[1], r[2], _dt(r[3]), None if r[4] is None else _dt(r[4]))


def _log_row(r: Row) -> LogRow:
    return LogRow(r[0], blob(r[1]))


class SqlStorage:
    """Storage written once in SQL; subclasses provide the executor."""

    # -- what each back end provides -------------------------------------------------------------
    async def _query(self, txn: Callable[[], Txn[T]], *, quick: bool = False) -> T:
        """Run a read-only transaction. `quick`: a lookup an index answers in a few page reads
        (the exchange path's), which SQLite runs on the calling thread."""
        raise NotImplementedError

    async def _transact(self, txn: Callable[[], Txn[T]]) -> T:
        """Run a transaction that writes; returns after its commit is durable."""
        raise NotImplementedError

    def _claim_indices(self, n: int) -> Txn[int]:
        """The first of `n` consecutive log indices for this transaction's entries: the log's
        size, where one writer at a time appends (SQLite)."""
        r = yield from row("{log_size}")
        assert r is not None  # an aggregate answers one row
        return int(r[0])

    def _claim_seqs(self, n: int) -> Txn[int | None]:
        """The first of `n` inbox sequence numbers; None: the database numbers them (SQLite's
        AUTOINCREMENT)."""
        yield from ()
        return None

    @staticmethod
    def search_sql(flt: LogFilter, *, after: int | None, limit: int) -> tuple[str, list[Any]]:
        """The statement search_log runs, with its arguments (PostgreSQL plans by statistics)."""
        return search_log_query(flt, after=after, limit=limit)

    # -- the log ---------------------------------------------------------------------------------
    def _append(self, values: Sequence[LogValues]) -> Txn[list[int]]:
        if not values:
            return []
        start = yield from self._claim_indices(len(values))
        yield from insert(
            "log_entries",
            _LOG_TYPES,
            [(start + offset, *value) for offset, value in enumerate(values)],
        )
        return list(range(start, start + len(values)))

    def _append_one(self, entry: LogEntry) -> Txn[int]:
        return (yield from self._append(log_values([entry])))[0]

    async def append_log(self, entries: Sequence[LogEntry]) -> list[int]:
        values = log_values(entries)
        return await self._transact(lambda: self._append(values))

    async def log_size(self) -> int:
        def txn() -> Txn[int]:
            r = yield from row("{log_size}")
            return 0 if r is None else int(r[0])

        return await self._query(txn)

    async def log_rows(self, start: int, end: int) -> list[LogRow]:
        def txn() -> Txn[list[LogRow]]:
            found = yield from rows(
                "SELECT idx, leaf FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                start,
                end,
            )
            return [_log_row(r) for r in found]

        return await self._query(txn)

    async def search_log(self, flt: LogFilter, *, after: int | None, limit: int) -> list[LogRow]:
        sql, args = self.search_sql(flt, after=after, limit=limit)

        def txn() -> Txn[list[LogRow]]:
            return [_log_row(r) for r in (yield from rows(sql, *args))]

        return await self._query(txn)

    async def log_activity(
        self, since: datetime, until: datetime, *, parties: frozenset[str] | None = None
    ) -> list[ActivityCount]:
        among, among_args = _among(parties, ("sender", "recipient"))

        def txn() -> Txn[list[ActivityCount]]:
            found = yield from rows(
                "SELECT time_ms / 86400000 AS day, decision, purpose, sender, break_glass, "
                f"COUNT(*) FROM log_entries WHERE time_ms >= ? AND time_ms < ?{among} "
                "GROUP BY day, decision, purpose, sender, break_glass "
                "ORDER BY day, decision, purpose, sender, break_glass",
                _ms(since),
                _ms(until),
                *among_args,
            )
            return [
                ActivityCount(_day(r[0]), r[1], r[2], r[3], bool(r[4]), int(r[5])) for r in found
            ]

        return await self._query(txn)

    async def refusal_counts(
        self, since: datetime, until: datetime, *, parties: frozenset[str] | None = None
    ) -> list[RefusalCount]:
        among, among_args = _among(parties, ("sender", "recipient"))

        def txn() -> Txn[list[RefusalCount]]:
            found = yield from rows(
                "SELECT sender, reason, purpose, recipient, COUNT(*) FROM log_entries "
                f"WHERE decision = 'refused' AND time_ms >= ? AND time_ms < ?{among} "
                "GROUP BY sender, reason, purpose, recipient "
                "ORDER BY COUNT(*) DESC, sender, reason, purpose, recipient",
                _ms(since),
                _ms(until),
                *among_args,
            )
            return [RefusalCount(r[0], r[1], r[2], r[3], int(r[4])) for r in found]

        return await self._query(txn)

    # -- the log's identity ----------------------------------------------------------------------
    async def log_origin(self) -> str | None:
        def txn() -> Txn[str | None]:
            r = yield from row("SELECT value FROM meta WHERE key = 'log_origin'")
            return None if r is None else str(r[0])

        return await self._query(txn)

    async def claim_log_origin(self, origin: str) -> str:
        def txn() -> Txn[str]:
            yield from run(
                "INSERT INTO meta (key, value) VALUES ('log_origin', ?) ON CONFLICT DO NOTHING",
                origin,
            )
            r = yield from row("SELECT value FROM meta WHERE key = 'log_origin'")
            assert r is not None  # inserted just now, or there before
            return str(r[0])

        return await self._transact(txn)

    async def claim_key_fingerprints(
        self, fingerprints: Sequence[tuple[str, str]], keys_folder: str, now: datetime
    ) -> list[KeyFingerprint]:
        def txn() -> Txn[list[KeyFingerprint]]:
            # Instances starting together on an empty database: the first to lock records.
            yield from run("LOCK TABLE key_fingerprints IN EXCLUSIVE MODE", only="postgresql")
            yield from run_many(
                "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms) "
                "SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS {int64}) "
                "WHERE NOT EXISTS (SELECT 1 FROM key_fingerprints "
                "WHERE name = CAST(? AS TEXT) AND retired_ms IS NULL)",
                [(name, fp, keys_folder, _ms(now), name) for name, fp in fingerprints],
            )
            return [_fingerprint(r) for r in (yield from rows(_FINGERPRINTS))]

        return await self._transact(txn)

    async def rotate_key_fingerprints(
        self,
        current: Sequence[tuple[str, str]],
        retired: Sequence[tuple[str, str]],
        keys_folder: str,
        now: datetime,
    ) -> None:
        def txn() -> Txn[None]:
            yield from run("LOCK TABLE key_fingerprints IN EXCLUSIVE MODE", only="postgresql")
            yield from run_many(
                "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms, "
                "retired_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(name, fp, keys_folder, _ms(now), _ms(now)) for name, fp in retired],
            )
            for name, fp in current:
                yield from run(
                    "UPDATE key_fingerprints SET retired_ms = ? "
                    "WHERE name = ? AND retired_ms IS NULL AND fingerprint <> ?",
                    _ms(now),
                    name,
                    fp,
                )
                yield from run(
                    "INSERT INTO key_fingerprints (name, fingerprint, keys_folder, recorded_ms) "
                    "VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (name, fingerprint) DO UPDATE SET retired_ms = NULL",
                    name,
                    fp,
                    keys_folder,
                    _ms(now),
                )

        await self._transact(txn)

    # -- consents and birth dates ----------------------------------------------------------------
    async def add_consent(self, consent: StoredConsent, entry: LogEntry) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "INSERT INTO consents (consent_id, subject, recorded_by, record) VALUES (?, ?, ?, ?)",
                consent.consent_id,
                consent.subject,
                consent.recorded_by,
                consent.sealed_record,
            )
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    async def replace_consent(self, consent: StoredConsent, entry: LogEntry) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "UPDATE consents SET record = ? WHERE consent_id = ?",
                consent.sealed_record,
                consent.consent_id,
            )
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    async def consents_for_subject(self, subject: str) -> list[StoredConsent]:
        def txn() -> Txn[list[StoredConsent]]:
            return [
                _consent(r) for r in (yield from rows(f"{_CONSENT} WHERE subject = ?", subject))
            ]

        return await self._query(txn, quick=True)

    async def get_consent(self, consent_id: str) -> StoredConsent | None:
        def txn() -> Txn[StoredConsent | None]:
            r = yield from row(f"{_CONSENT} WHERE consent_id = ?", consent_id)
            return None if r is None else _consent(r)

        return await self._query(txn, quick=True)

    async def held_birth_date(self, subject: str) -> bytes | None:
        def txn() -> Txn[bytes | None]:
            r = yield from row("SELECT sealed FROM subject_birth_dates WHERE subject = ?", subject)
            return None if r is None else bytes(r[0])

        return await self._query(txn, quick=True)

    async def claim_birth_date(self, subject: str, sealed: bytes) -> bytes:
        def txn() -> Txn[bytes]:
            # The no-op update makes RETURNING answer the row held when the insert conflicts.
            r = yield from row(
                "INSERT INTO subject_birth_dates (subject, sealed) VALUES (?, ?) "
                "ON CONFLICT (subject) DO UPDATE SET sealed = subject_birth_dates.sealed "
                "RETURNING sealed",
                subject,
                sealed,
            )
            assert r is not None  # an upsert always answers its row
            return bytes(r[0])

        return await self._transact(txn)

    async def correct_birth_date(self, subject: str, sealed: bytes, entry: LogEntry) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "INSERT INTO subject_birth_dates (subject, sealed) VALUES (?, ?) "
                "ON CONFLICT (subject) DO UPDATE SET sealed = excluded.sealed",
                subject,
                sealed,
            )
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    # -- cases, their networks and households ----------------------------------------------------
    async def case_network(self, case_id: str) -> list[NetworkMember]:
        def txn() -> Txn[list[NetworkMember]]:
            found = yield from rows(
                "SELECT case_id, partner_id, role, contact, registered_by, registered_ms "
                "FROM case_network WHERE case_id = ? ORDER BY registered_ms, partner_id",
                case_id,
            )
            return [NetworkMember(r[0], r[1], r[2], r[3], r[4], _dt(r[5])) for r in found]

        return await self._query(txn, quick=True)

    async def open_case(self, case: Case, director: NetworkMember, entry: LogEntry) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "INSERT INTO cases (case_id, regisseur, dossier_reference, opened_ms) "
                "VALUES (?, ?, ?, ?)",
                case.case_id,
                case.director,
                case.dossier_reference,
                _ms(case.opened_at),
            )
            yield from _upsert_member(director)
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    async def get_case(self, case_id: str) -> Case | None:
        def txn() -> Txn[Case | None]:
            r = yield from row(
                "SELECT case_id, regisseur, dossier_reference, opened_ms FROM cases "
                "WHERE case_id = ?",
                case_id,
            )
            return None if r is None else Case(r[0], r[1], r[2], _dt(r[3]))

        return await self._query(txn, quick=True)

    async def register_involvement(self, member: NetworkMember, entry: LogEntry) -> bool:
        def txn() -> Txn[bool]:
            created = yield from _upsert_member(member)
            yield from self._append_one(entry)
            return created

        return await self._transact(txn)

    async def remove_involvement(self, case_id: str, partner_id: str, entry: LogEntry) -> bool:
        def txn() -> Txn[bool]:
            gone = yield from count(
                "DELETE FROM case_network WHERE case_id = ? AND partner_id = ?",
                case_id,
                partner_id,
            )
            if gone:
                yield from self._append_one(entry)
            return bool(gone)

        return await self._transact(txn)

    async def register_child(self, child: HouseholdChild) -> bool:
        def txn() -> Txn[bool]:
            inserted = yield from row(
                "INSERT INTO household (case_id, child_ref, subject, registered_by, registered_ms) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING TRUE",
                child.case_id,
                child.child_ref,
                child.subject,
                child.registered_by,
                _ms(child.registered_at),
            )
            if inserted is not None:
                return True
            yield from run(
                "UPDATE household SET subject = ? WHERE case_id = ? AND child_ref = ?",
                child.subject,
                child.case_id,
                child.child_ref,
            )
            return False

        return await self._transact(txn)

    async def household(self, case_id: str) -> list[HouseholdChild]:
        def txn() -> Txn[list[HouseholdChild]]:
            found = yield from rows(
                "SELECT case_id, child_ref, subject, registered_by, registered_ms FROM household "
                "WHERE case_id = ? ORDER BY registered_ms, child_ref",
                case_id,
            )
            return [HouseholdChild(r[0], r[1], r[2], r[3], _dt(r[4])) for r in found]

        return await self._query(txn, quick=True)

    # -- expectations and notifications ----------------------------------------------------------
    async def add_expectations(self, expectations: Sequence[Expectation]) -> None:
        await self._transact(lambda: _open_expectations(expectations))

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

    async def mark_newly_overdue(self, now: datetime, limit: int) -> list[Expectation]:
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
            yield from _poke(sorted(parties), "expectation_overdue", now)
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
            # PostgreSQL's lock order: the inbox counter first, the log's counter last.
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
                yield from _poke(recipients, "new_messages", messages[0].sent_at)
            if effects is not None:
                # Closed at the exchange's own time when the caller names none.
                yield from _apply_effects(effects, effects.closed_at or entries[0].time)
            indices = yield from self._append(values)
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
        self, recipient: str, *, limit: int, now: datetime, until: datetime
    ) -> list[StoredMessage]:
        def txn() -> Txn[list[StoredMessage]]:
            # SKIP LOCKED: a concurrent lease on another instance passes over the rows this one
            # is taking instead of waiting for them, so no message goes to both.
            found = yield from rows(
                "UPDATE inbox SET leased_until_ms = ? WHERE seq IN ("
                "SELECT seq FROM inbox WHERE recipient = ? AND "
                "(leased_until_ms IS NULL OR leased_until_ms <= ?) "
                f"ORDER BY seq LIMIT ?{{skip_locked}}) RETURNING {_MESSAGE_COLUMNS}",
                _ms(until),
                recipient,
                _ms(now),
                limit,
            )
            return sorted(map(_message, found), key=lambda m: m.seq)

        return await self._transact(txn)

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
            return (yield from self._append_one(make_entry(_message(r))))

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
            return LogFeedBatch(tuple(map(_log_row, found)), int(cursor[1]))

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
        among, among_args = _among(senders, ("sender",))
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
        among, among_args = _among(senders, ("sender",))

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

    # -- privacy officers' sign-in ---------------------------------------------------------------
    async def add_officer_link(self, link: OfficerLink, entry: LogEntry, now: datetime) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "DELETE FROM officer_links WHERE link_hash IN (SELECT link_hash FROM "
                "officer_links WHERE expires_ms < ?{skip_locked})",
                _ms(now),
            )
            yield from run(
                "INSERT INTO officer_links (link_hash, officer, actor, expires_ms) "
                "VALUES (?, ?, ?, ?)",
                link.link_hash,
                link.officer,
                link.actor,
                _ms(link.expires_at),
            )
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    async def take_officer_link(self, link_hash: str, now: datetime) -> OfficerLink | None:
        def txn() -> Txn[OfficerLink | None]:
            # Of two takers of one link, the second finds nothing to delete (SQLite: the writer
            # runs one at a time; PostgreSQL: it waits on the row lock): it signs in once.
            r = yield from row(
                "DELETE FROM officer_links WHERE link_hash = ? "
                "RETURNING link_hash, officer, actor, expires_ms",
                link_hash,
            )
            if r is None or r[3] <= _ms(now):
                return None
            return OfficerLink(r[0], r[1], r[2], _dt(r[3]))

        return await self._transact(txn)

    async def start_officer_session(
        self, session: OfficerSession, entry: LogEntry, idle_before: datetime
    ) -> int:
        def txn() -> Txn[int]:
            yield from run(
                "DELETE FROM officer_sessions WHERE session_hash IN (SELECT session_hash FROM "
                "officer_sessions WHERE seen_ms < ?{skip_locked})",
                _ms(idle_before),
            )
            yield from run(
                f"INSERT INTO officer_sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                session.session_hash,
                session.officer,
                session.actor,
                _ms(session.created_at),
                _ms(session.seen_at),
                session.language,
            )
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    async def officer_session(self, session_hash: str) -> OfficerSession | None:
        def txn() -> Txn[OfficerSession | None]:
            r = yield from row(
                f"SELECT {_SESSION_COLUMNS} FROM officer_sessions WHERE session_hash = ?",
                session_hash,
            )
            if r is None:
                return None
            return OfficerSession(r[0], r[1], r[2], _dt(r[3]), _dt(r[4]), r[5])

        return await self._query(txn)

    async def touch_officer_session(
        self, session_hash: str, seen_at: datetime, language: str
    ) -> None:
        await self._transact(
            lambda: run(
                "UPDATE officer_sessions SET seen_ms = {greatest}(seen_ms, ?), language = ? "
                "WHERE session_hash = ?",
                _ms(seen_at),
                language,
                session_hash,
            )
        )

    async def end_officer_session(self, session_hash: str, entry: LogEntry) -> int | None:
        def txn() -> Txn[int | None]:
            gone = yield from count(
                "DELETE FROM officer_sessions WHERE session_hash = ?", session_hash
            )
            if gone != 1:
                return None
            return (yield from self._append_one(entry))

        return await self._transact(txn)

    # -- the tree (sequencer) and verification ---------------------------------------------------
    async def store_tree(
        self,
        nodes: Sequence[tuple[int, int, bytes]],
        checkpoint: StoredCheckpoint | None,
    ) -> None:
        def txn() -> Txn[None]:
            yield from insert("tree_nodes", _TREE_TYPES, nodes, "ON CONFLICT DO NOTHING")
            if checkpoint is not None:
                yield from run(
                    "INSERT INTO checkpoints (size, root_hash, note, time_ms) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    checkpoint.size,
                    checkpoint.root_hash,
                    checkpoint.note,
                    _ms(checkpoint.time),
                )

        await self._transact(txn)

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        def txn() -> Txn[StoredCheckpoint | None]:
            r = yield from row(f"{_CHECKPOINTS} DESC LIMIT 1")
            return None if r is None else _checkpoint(r)

        return await self._query(txn, quick=True)

    async def checkpoints(self) -> list[StoredCheckpoint]:
        def txn() -> Txn[list[StoredCheckpoint]]:
            return [_checkpoint(r) for r in (yield from rows(_CHECKPOINTS))]

        return await self._query(txn)

    async def verify_batch(self, start: int, end: int) -> list[VerifyRow]:
        def txn() -> Txn[list[VerifyRow]]:
            # CAST: a leaf or hash someone rewrote as TEXT (SQLite) still comes back as bytes.
            found = yield from rows(
                "SELECT l.idx, CAST(l.leaf AS {bytes}), CAST(t.hash AS {bytes}), "
                f"{_VERIFY_COLUMNS} FROM log_entries l "
                "LEFT JOIN tree_nodes t ON t.level = 0 AND t.idx = l.idx "
                "WHERE l.idx >= ? AND l.idx < ? ORDER BY l.idx",
                start,
                end,
            )
            return [tuple(r) for r in found]

        return await self._query(txn)


def _open_expectations(expectations: Sequence[Expectation]) -> Txn[None]:
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


def _apply_effects(effects: ExchangeEffects, closed_at: datetime) -> Txn[None]:
    """An exchange's side effects: expectations opened and closed, a break-glass record."""
    yield from _open_expectations(effects.open)
    if effects.close:
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


def _poke(partners: Sequence[str], kind: str, now: datetime) -> Txn[None]:
    """Queue one pending poke per partner and kind: a burst of messages is one notification."""
    # Callers pass partners sorted, so concurrent pokers lock the rows in one order.
    for partner in partners:
        yield from run(
            "INSERT INTO notifications (partner, kind, created_ms, next_ms, attempts) "
            "VALUES (?, ?, ?, ?, 0) ON CONFLICT (partner, kind) DO UPDATE SET "
            "created_ms = excluded.created_ms",
            partner,
            kind,
            _ms(now),
            _ms(now),
        )


def _upsert_member(member: NetworkMember) -> Txn[bool]:
    """Insert or update a member; True when it was new.

    Insert first: if another instance inserts the same member concurrently, this waits for it
    and then updates, so exactly one of them reports "new".
    """
    inserted = yield from row(
        "INSERT INTO case_network (case_id, partner_id, role, contact, registered_by, "
        "registered_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING TRUE",
        member.case_id,
        member.partner_id,
        member.role,
        member.contact,
        member.registered_by,
        _ms(member.registered_at),
    )
    if inserted is not None:
        return True
    yield from run(
        "UPDATE case_network SET role = ?, contact = ? WHERE case_id = ? AND partner_id = ?",
        member.role,
        member.contact,
        member.case_id,
        member.partner_id,
    )
    return False
