"""Fill a gateway's SQLite database fast and directly: log entries with tree and checkpoints,
and consent records, so the scale curves can start from millions of rows in minutes.

The rows are the real thing, not look-alikes: the first log entry (and one consent) is written
through the storage's own `append_log` (or the consent API), and every further row is a copy of
that row with its identifiers, subject and time replaced, the leaf bytes included. Since those
values have fixed widths and are ASCII, a copy is exactly what the gateway would have written
for that entry in canonical form. The Merkle tree is grown with the sequencer's own
`MerkleAccumulator`, every completed subtree hash is stored, and a checkpoint is signed every
`checkpoint_every` entries with the gateway's log key, as the sequencer does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.errors import InvalidSubject
from gateway.log.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from gateway.log.entry import LogEntry, Sender, format_time
from gateway.log.merkle import MerkleAccumulator, leaf_hash
from gateway.store.sqlite import SqliteStorage
from gateway.subject import validate_bsn

__all__ = ["LogFill", "bench_subject", "fill_consents", "fill_log", "sample_bsns"]

_BATCH = 50_000
_PER_SECOND = 100  # entries that share one timestamp: 10 million span about 28 hours


def sample_bsns(count: int, start: int = 900_000_000) -> list[str]:
    """Nine-digit numbers from `start` up that pass the elfproef (the 9999... test range)."""
    found: list[str] = []
    number = start
    while len(found) < count:
        with contextlib.suppress(InvalidSubject):
            found.append(validate_bsn(f"{number:09d}"))
        number += 1
    return found


def bench_subject(n: int) -> str:
    """The n-th synthetic subject pseudonym (64 hex digits, like the real ones)."""
    return hashlib.sha256(b"bench-subject:%d" % n).hexdigest()


def _exchange(n: int) -> str:
    return f"ex_{n:022d}"


def _disclosure(n: int) -> str:
    return f"dis_{n:022d}"


def _message(n: int) -> str:
    return f"msg_{n:022d}"


@dataclass(frozen=True, slots=True)
class LogFill:
    """What fill_log wrote: the size, the subject pool and the signed checkpoints."""

    size: int
    subjects: int
    checkpoints: int
    seconds: float

    def subject_of(self, index: int) -> str:
        return bench_subject(_subject_number(index, self.subjects))


def _subject_number(index: int, pool: int) -> int:
    # A fixed scatter of entries over subjects, so each subject's entries spread over the log.
    return (index * 2_654_435_761) % pool


def _template_entry(moment: datetime, subject: str) -> LogEntry:
    return LogEntry(
        time=moment,
        decision="disclosed",
        reason="statute",
        exchange_id=_exchange(0),
        disclosure_id=_disclosure(0),
        purpose="evaluation-feedback",
        legal_basis={"type": "statute", "reference": "Jeugdwet art. 7.4.0 lid 2"},
        sender=Sender("zorg-noord", "bench-casusregisseur", "casusregisseur"),
        recipient="swt-denhelder",
        subject=subject,
        fields=(
            "advice",
            "advice_code",
            "expected_duration_weeks",
            "goals",
            "goals[].goal_id",
            "goals[].result",
            "safety_concern",
        ),
        payload_sha256=hashlib.sha256(b"bench payload").hexdigest(),
        details={"message_id": _message(0)},
    )


def _row_of(
    conn: sqlite3.Connection, table: str, where: str, args: Sequence[Any]
) -> dict[str, Any]:
    cursor = conn.execute(f"SELECT * FROM {table} WHERE {where}", args)  # noqa: S608 - our names
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"no template row in {table}")
    return {d[0]: value for d, value in zip(cursor.description, row, strict=True)}


def _fast_connection(database: Path) -> sqlite3.Connection:
    """A connection for bulk loading: no journal, no fsync, a large page cache.

    Only this process touches the database while it is filled; it goes back to WAL after.
    """
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1048576")
    return conn


def _restore_wal(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()


async def _append_template(database: Path, entry: LogEntry) -> None:
    storage = SqliteStorage(database)
    await storage.open()
    try:
        # Only the writer connection may be open afterwards: the bulk load needs the file alone.
        if await storage.append_log([entry]) != [0]:
            raise RuntimeError(f"{database} already held log entries")
    finally:
        await storage.close()


def fill_log(
    database: Path,
    *,
    count: int,
    signer: NoteSigner,
    origin: str,
    checkpoint_every: int = 5000,
    entries_per_subject: int = 20,
    progress: Callable[[int], None] | None = None,
) -> LogFill:
    """Write `count` disclosure entries, their tree and signed checkpoints into an empty log."""
    import time

    started = time.monotonic()
    pool = max(1, count // entries_per_subject)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=count // _PER_SECOND + 1)
    template = _template_entry(base, bench_subject(_subject_number(0, pool)))
    asyncio.run(_append_template(database, template))
    conn = _fast_connection(database)
    try:
        row = _row_of(conn, "log_entries", "idx = 0", ())
        leaf0: bytes = bytes(row["leaf"])
        subject0 = template.subject
        assert subject0 is not None
        leaf_parts = _split_leaf(leaf0, format_time(base), subject0)
        make_row = _row_maker(row, subject0)
        insert = (
            f"INSERT INTO log_entries ({', '.join(row)}) "  # noqa: S608 - columns read back
            f"VALUES ({', '.join('?' for _ in row)})"
        )
        # Building the secondary indexes once at the end is much faster than growing them row by
        # row; they are made from the schema's own statements, so they are the same indexes.
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
            "tbl_name = 'log_entries' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        tree = MerkleAccumulator()
        nodes: list[tuple[int, int, bytes]] = list(tree.append(leaf_hash(leaf0)))
        checkpoints: list[tuple[int, bytes, str, int]] = []
        rows: list[tuple[Any, ...]] = []
        base_ms = int(base.timestamp() * 1000)
        stamp, stamp_ms = format_time(base).encode(), base_ms
        subjects = [bench_subject(n).encode() for n in range(pool)]
        for index in range(1, count):
            if index % _PER_SECOND == 0:
                second = index // _PER_SECOND
                stamp = format_time(base + timedelta(seconds=second)).encode()
                stamp_ms = base_ms + second * 1000
            subject = subjects[_subject_number(index, pool)]
            number = b"%022d" % index
            leaf = leaf_parts.join(stamp, number, subject)
            rows.append(make_row(index, leaf, stamp_ms, number.decode(), subject.decode()))
            nodes.extend(tree.append(leaf_hash(leaf)))
            if tree.size % checkpoint_every == 0 or tree.size == count:
                root = tree.root()
                note = sign_checkpoint(Checkpoint(origin, tree.size, root), signer)
                checkpoints.append((tree.size, root, note, stamp_ms))
            if len(rows) >= _BATCH or index == count - 1:
                _flush(conn, insert, rows, nodes, checkpoints)
                rows, nodes, checkpoints = [], [], []
                if progress is not None:
                    progress(index + 1)
        if count == 1:
            note = sign_checkpoint(Checkpoint(origin, 1, tree.root()), signer)
            _flush(conn, insert, [], nodes, [(1, tree.root(), note, base_ms)])
        for _, sql in indexes:
            conn.execute(sql)
        total_checkpoints = conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
    finally:
        _restore_wal(conn)
    return LogFill(count, pool, int(total_checkpoints), time.monotonic() - started)


@dataclass(frozen=True, slots=True)
class _LeafParts:
    """The template leaf cut around the values each entry changes, to be joined per entry."""

    pieces: tuple[bytes, ...]
    order: tuple[str, ...]  # which value goes into each gap: time, number or subject

    def join(self, stamp: bytes, number: bytes, subject: bytes) -> bytes:
        values = {"time": stamp, "number": number, "subject": subject}
        out = [self.pieces[0]]
        for gap, piece in zip(self.order, self.pieces[1:], strict=True):
            out.append(values[gap])
            out.append(piece)
        return b"".join(out)


def _split_leaf(leaf: bytes, time_text: str, subject: str) -> _LeafParts:
    # The identifiers end in the zero-padded entry number; each is cut right after its prefix.
    marks = {
        time_text.encode(): "time",
        subject.encode(): "subject",
        _exchange(0).removeprefix("ex_").encode(): "number",
    }
    found: list[tuple[int, int, str]] = []
    for mark, name in marks.items():
        position = leaf.find(mark)
        while position >= 0:
            found.append((position, len(mark), name))
            position = leaf.find(mark, position + len(mark))
    found.sort()
    pieces, order, cursor = [], [], 0
    for position, length, name in found:
        pieces.append(leaf[cursor:position])
        order.append(name)
        cursor = position + length
    pieces.append(leaf[cursor:])
    numbers = sum(1 for name in order if name == "number")
    if numbers != 3 or order.count("time") != 1 or order.count("subject") != 1:
        raise RuntimeError("the template leaf does not have the expected shape")
    return _LeafParts(tuple(pieces), tuple(order))


def _row_maker(
    row: dict[str, Any], subject0: str
) -> Callable[[int, bytes, int, str, str], tuple[Any, ...]]:
    """Build a row like the template's, with this entry's index, leaf, time, ids and subject."""
    names = list(row)
    base = list(row.values())
    slots: list[tuple[int, str]] = []
    for position, (name, value) in enumerate(row.items()):
        if name in ("idx", "leaf", "time_ms"):
            slots.append((position, name))
        elif value == subject0:
            slots.append((position, "subject"))
        elif value in (_exchange(0), _disclosure(0), _message(0)):
            slots.append((position, value.split("_", 1)[0]))
    if {"idx", "leaf", "time_ms"} - {n for _, n in slots}:
        raise RuntimeError(f"log_entries lacks idx, leaf or time_ms: {names}")

    def make(index: int, leaf: bytes, stamp_ms: int, number: str, subject: str) -> tuple[Any, ...]:
        values = {
            "idx": index,
            "leaf": leaf,
            "time_ms": stamp_ms,
            "subject": subject,
            "ex": "ex_" + number,
            "dis": "dis_" + number,
            "msg": "msg_" + number,
        }
        out = base.copy()
        for position, name in slots:
            out[position] = values[name]
        return tuple(out)

    return make


def _flush(
    conn: sqlite3.Connection,
    insert: str,
    rows: list[tuple[Any, ...]],
    nodes: list[tuple[int, int, bytes]],
    checkpoints: list[tuple[int, bytes, str, int]],
) -> None:
    conn.execute("BEGIN")
    conn.executemany(insert, rows)
    nodes.sort()
    conn.executemany("INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
    conn.executemany(
        "INSERT INTO checkpoints (size, root_hash, note, time_ms) VALUES (?, ?, ?, ?)",
        checkpoints,
    )
    conn.execute("COMMIT")


def fill_consents(database: Path, *, template_id: str, count: int) -> int:
    """Add `count` copies of one stored consent, each for its own synthetic subject.

    The copies keep the template's sealed record (they are never opened): what they add is what
    matters for a lookup, rows and index entries for a million other people.
    """
    conn = _fast_connection(database)
    try:
        row = _row_of(conn, "consents", "consent_id = ?", (template_id,))
        columns = list(row)
        prefix = template_id.split("_", 1)[0]
        subject0 = row["subject"]
        insert = (
            f"INSERT INTO consents ({', '.join(columns)}) "  # noqa: S608 - columns read back
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        batch: list[tuple[Any, ...]] = []
        for n in range(count):
            fresh = {template_id: f"{prefix}_{n:022d}", subject0: bench_subject(10_000_000 + n)}
            batch.append(
                tuple(fresh[v] if isinstance(v, str) and v in fresh else v for v in row.values())
            )
            if len(batch) >= _BATCH or n == count - 1:
                conn.execute("BEGIN")
                conn.executemany(insert, batch)
                conn.execute("COMMIT")
                batch = []
    finally:
        _restore_wal(conn)
    return count
