"""`gateway log verify`: recompute the whole tree from stored entries and check it.

Checks every stored checkpoint's signature and root against the recomputed tree, every stored
leaf hash against the recomputed one, and that indices run without gaps, so that an edit,
deletion, reordering or insertion is reported at the first index where it shows. Then that
every row's searchable columns say what its verified leaf says (gateway/log/columns.py): the
searches and the subject access report select by those columns, which the tree does not cover.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.log.checkpoint import NoteError, NoteVerifier, open_checkpoint
from gateway.log.columns import disagreeing_columns, leaf_columns
from gateway.log.merkle import MerkleAccumulator
from gateway.store.base import TransparencyLog, VerifyRow

__all__ = ["LogTampered", "VerifyReport", "verify_log"]

BATCH = 20_000
# One batch is read while the one before is hashed. More reads in flight only make the storage's
# reader threads fight the hashing for the interpreter lock (measured: 3 ahead ran ~25% slower).
READ_AHEAD = 1


class LogTampered(Exception):
    """The log is not what its checkpoints promise; `index` is the first place it shows."""

    def __init__(self, index: int, problem: str) -> None:
        super().__init__(f"log entry {index}: {problem}")
        self.index = index
        self.problem = problem


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What a successful verification covered."""

    entries: int
    checkpoints: int
    signed_size: int


async def verify_log(
    storage: TransparencyLog, verifiers: Sequence[NoteVerifier], origin: str
) -> VerifyReport:
    """Return a report when everything agrees; raise LogTampered at the first disagreement."""
    checkpoints = await storage.checkpoints()
    for cp in checkpoints:
        try:
            opened = open_checkpoint(cp.note, verifiers, origin=origin)
        except NoteError as exc:
            raise LogTampered(
                cp.size, f"checkpoint at size {cp.size} does not verify: {exc}"
            ) from None
        if opened.size != cp.size or opened.root_hash != cp.root_hash:
            raise LogTampered(
                cp.size, f"checkpoint row at size {cp.size} differs from its signed note"
            )
    by_size = {cp.size: cp.root_hash for cp in checkpoints}
    signed_size = max(by_size, default=0)
    size = await storage.log_size()
    if size < signed_size:
        raise LogTampered(
            size, f"the log holds {size} entries but a checkpoint signed {signed_size}"
        )
    tree = MerkleAccumulator()
    if 0 in by_size and by_size[0] != tree.root():
        raise LogTampered(0, "the checkpoint of the empty log has a wrong root")
    last_good = 0
    # The first row whose columns disagree with its leaf. Reported once the tree is known to be
    # intact: an edited leaf (or tree) is the graver finding, and is reported in its place.
    disagreement: LogTampered | None = None
    # While one batch is hashed, the next one is read (on the storage's reader thread or its
    # connection).
    reads = [
        asyncio.ensure_future(storage.verify_batch(start, min(size, start + BATCH)))
        for start in range(0, min(size, READ_AHEAD * BATCH), BATCH)
    ]
    next_read = READ_AHEAD * BATCH
    try:
        while tree.size < size:
            rows = await reads.pop(0)
            start, end = tree.size, min(size, tree.size + BATCH)
            if next_read < size:
                reads.append(
                    asyncio.ensure_future(
                        storage.verify_batch(next_read, min(size, next_read + BATCH))
                    )
                )
                next_read += BATCH
            if not rows:
                raise LogTampered(start, "entry missing (deleted)")
            hashes, problem = _leaf_hashes(rows, start, signed_size)
            # Roots signed before the first bad row are checked first: they may point earlier.
            last_good = _fold(tree, hashes, by_size, last_good)
            if disagreement is None:
                disagreement = _first_disagreement(rows[: len(hashes)])
            if problem is not None:
                raise problem
            if len(rows) < end - start:
                raise LogTampered(tree.size, "entry missing (deleted or renumbered)")
    finally:
        for pending in reads:
            pending.cancel()
    if disagreement is not None:
        raise disagreement
    return VerifyReport(entries=size, checkpoints=len(checkpoints), signed_size=signed_size)


def _leaf_hashes(
    rows: Sequence[VerifyRow], start: int, signed_size: int
) -> tuple[list[bytes], LogTampered | None]:
    """The leaf hashes of the rows that run on from `start` and match what was signed, and the
    problem with the first row that does not (if any).

    The common case (every index in place, every signed leaf equal to its stored hash) is
    decided by whole-list comparisons; only a batch that fails them is walked row by row, to
    find the first bad index.
    """
    sha256 = hashlib.sha256
    hashes = [sha256(b"\x00" + row[1]).digest() for row in rows]
    count = len(rows)
    bad = count  # offset of the first row out of place
    if [row[0] for row in rows] != list(range(start, start + count)):
        bad = next(offset for offset, row in enumerate(rows) if row[0] != start + offset)
    signed = max(0, min(bad, signed_size - start))
    if [row[2] for row in rows[:signed]] != hashes[:signed]:
        for offset in range(signed):
            expected = rows[offset][2]
            if expected is not None and expected != hashes[offset]:
                return hashes[:offset], LogTampered(
                    start + offset, "entry differs from the leaf that was signed (edited or moved)"
                )
    if bad < count:
        return hashes[:bad], LogTampered(start + bad, "entry missing (deleted or renumbered)")
    return hashes, None


def _first_disagreement(rows: Sequence[VerifyRow]) -> LogTampered | None:
    """The first row whose searchable columns differ from its leaf, naming the columns only:
    their values (a subject's pseudonym, a partner) stay out of the report."""
    # The common case (every row agrees) is one whole-list comparison.
    if [leaf_columns(row[1]) for row in rows] == [row[3:] for row in rows]:
        return None
    for row in rows:
        columns = disagreeing_columns(row[3:], row[1])
        if columns:
            return LogTampered(
                row[0],
                f"column {', '.join(columns)} of its database row disagrees with its signed leaf "
                "(edited in the database: searches and subject access reports would misplace it)",
            )
    return None


def _fold(
    tree: MerkleAccumulator, hashes: list[bytes], by_size: dict[int, bytes], last_good: int
) -> int:
    """Grow the tree by `hashes`, checking the root at every signed size passed on the way."""
    start = tree.size
    sizes = sorted(s for s in by_size if start < s <= start + len(hashes))
    done = 0
    for signed in sizes:
        tree.extend(hashes[done : signed - start])
        done = signed - start
        if by_size[signed] != tree.root():
            raise LogTampered(
                last_good,
                f"recomputed tree at size {signed} disagrees with its signed checkpoint; "
                f"the first altered entry lies in [{last_good}, {signed})",
            )
        last_good = signed
    tree.extend(hashes[done:])
    return last_good
