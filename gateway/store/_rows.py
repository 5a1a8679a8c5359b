"""Row shapes both back ends share: column lists, time encoding, and rows into values.

SQLite and PostgreSQL store the same tables with the same columns (the migrations' parity test
checks it), so they read rows back in the same way; only the drivers differ.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from gateway.log.columns import SEARCHABLE_COLUMNS
from gateway.store.base import BreakGlassRecord, Expectation, StoredMessage
from gateway.store.sql.txn import Row

__all__ = [
    "BREAK_GLASS_COLUMNS",
    "EXPECTATION_COLUMNS",
    "MESSAGE_COLUMNS",
    "SESSION_COLUMNS",
    "VERIFY_COLUMNS",
    "break_glass_from_row",
    "day",
    "dt",
    "expectation_from_row",
    "message_from_row",
    "message_values",
    "ms",
]

MESSAGE_COLUMNS = (
    "seq, message_id, recipient, subject, exchange_id, disclosure_id, purpose, sender_partner, "
    "sender_role, case_id, in_reply_to, sent_ms, retain_ms, sealing, body, subject_system"
)
EXPECTATION_COLUMNS = (
    "expectation_id, purpose, origin_purpose, origin_exchange_id, case_id, owed_by, owed_to, "
    "subject, child_ref, opened_ms, due_ms, closed_ms, closed_by, constraints, cancelled_reason"
)
BREAK_GLASS_COLUMNS = "exchange_id, sender, purpose, created_ms, sealed, status, reviewed_by, reviewed_ms, sealed_note"
SESSION_COLUMNS = "session_hash, officer, actor, created_ms, seen_ms, language"
# What the verifier compares with each leaf, read from `log_entries l`.
VERIFY_COLUMNS = ", ".join(f"l.{column}" for column in SEARCHABLE_COLUMNS)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def ms(moment: datetime) -> int:
    """Milliseconds since the epoch: how every time is stored."""
    return int(moment.timestamp() * 1000)


def dt(stored: int) -> datetime:
    return datetime.fromtimestamp(stored / 1000, tz=UTC)


def day(days_since_epoch: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + days_since_epoch)


def message_values(m: StoredMessage) -> tuple[object, ...]:
    """A message's columns as MESSAGE_COLUMNS lists them, without `seq`: what an insert binds."""
    return (
        m.message_id,
        m.recipient,
        m.subject,
        m.exchange_id,
        m.disclosure_id,
        m.purpose,
        m.sender_partner,
        m.sender_role,
        m.case_id,
        m.in_reply_to,
        ms(m.sent_at),
        ms(m.retain_until),
        m.sealing,
        m.body,
        m.subject_system,
    )


def message_from_row(r: Row) -> StoredMessage:
    return StoredMessage(
        seq=r[0],
        message_id=r[1],
        recipient=r[2],
        subject=r[3],
        exchange_id=r[4],
        disclosure_id=r[5],
        purpose=r[6],
        sender_partner=r[7],
        sender_role=r[8],
        case_id=r[9],
        in_reply_to=r[10],
        sent_at=dt(r[11]),
        retain_until=dt(r[12]),
        sealing=r[13],
        body=bytes(r[14]),
        subject_system=r[15],
    )


def expectation_from_row(r: Row) -> Expectation:
    return Expectation(
        expectation_id=r[0],
        purpose=r[1],
        origin_purpose=r[2],
        origin_exchange_id=r[3],
        case_id=r[4],
        owed_by=r[5],
        owed_to=r[6],
        subject=r[7],
        child_ref=r[8],
        opened_at=dt(r[9]),
        due_at=dt(r[10]),
        closed_at=None if r[11] is None else dt(r[11]),
        closed_by=r[12],
        constraints=None if r[13] is None else bytes(r[13]),
        cancelled_reason=r[14],
    )


def break_glass_from_row(r: Row) -> BreakGlassRecord:
    return BreakGlassRecord(
        exchange_id=r[0],
        sender=r[1],
        purpose=r[2],
        created_at=dt(r[3]),
        sealed=bytes(r[4]),
        status=r[5],
        reviewed_by=r[6],
        reviewed_at=None if r[7] is None else dt(r[7]),
        sealed_note=None if r[8] is None else bytes(r[8]),
    )
