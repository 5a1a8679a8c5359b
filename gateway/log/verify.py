"""`gateway log verify`: recompute the whole tree from stored entries and check it.

Checks every stored checkpoint's signature and root against the recomputed tree, every stored
leaf hash against the recomputed one, and that indices run without gaps, so that an edit,
deletion, reordering or insertion is reported at the first index where it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.log.checkpoint import NoteError, NoteVerifier, open_checkpoint
from gateway.log.merkle import MerkleAccumulator, leaf_hash
from gateway.store.base import Storage

__all__ = ["LogTampered", "VerifyReport", "verify_log"]

BATCH = 20_000


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
    storage: Storage, verifiers: Sequence[NoteVerifier], origin: str
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
    while tree.size < size:
        rows = await storage.log_rows(tree.size, min(size, tree.size + BATCH))
        stored = await storage.tree_nodes([(0, r.index) for r in rows if r.index < signed_size])
        if not rows:
            raise LogTampered(tree.size, "entry missing (deleted)")
        for row in rows:
            if row.index != tree.size:
                raise LogTampered(tree.size, "entry missing (deleted or renumbered)")
            hashed = leaf_hash(row.leaf)
            expected = stored.get((0, row.index))
            if row.index < signed_size and expected is not None and expected != hashed:
                raise LogTampered(
                    row.index, "entry differs from the leaf that was signed (edited or moved)"
                )
            tree.append(hashed)
            root = by_size.get(tree.size)
            if root is not None:
                if root != tree.root():
                    raise LogTampered(
                        last_good,
                        f"recomputed tree at size {tree.size} disagrees with its signed checkpoint; "
                        f"the first altered entry lies in [{last_good}, {tree.size})",
                    )
                last_good = tree.size
    return VerifyReport(entries=size, checkpoints=len(checkpoints), signed_size=signed_size)
