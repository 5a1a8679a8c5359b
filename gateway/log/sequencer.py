"""The sequencer: integrates durable log entries into the Merkle tree and signs checkpoints.

Entries are appended (and made durable) by whoever handles a request; the sequencer follows
behind, reading what is durable, storing every newly completed perfect subtree hash (so proofs
read O(log n) stored nodes), and signing a checkpoint over the new size. It runs at most once per
deployment at a time: the first worker to take the data folder's lock runs it, the others wait
to take over. After a crash it simply continues from the last checkpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from gateway.log.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from gateway.log.merkle import MerkleAccumulator, leaf_hash, subtree_nodes_for_range
from gateway.store.base import Lock, StoredCheckpoint, TransparencyLog

__all__ = ["Lock", "LogIntegrityError", "Sequencer"]

log = structlog.get_logger("gateway.sequencer")
BATCH = 5000


class LogIntegrityError(RuntimeError):
    """The stored tree does not match the last signed checkpoint: refuse to sign over it."""


@dataclass(slots=True)
class Sequencer:
    """Integrates entries [size, log_size) and signs a checkpoint per integration."""

    storage: TransparencyLog
    signer: Callable[[], NoteSigner]  # read at every signing: the key may rotate while running
    origin: str
    clock: Callable[[], datetime]
    _tree: MerkleAccumulator | None = None

    async def restore(self) -> MerkleAccumulator:
        """Rebuild the in-memory border from stored nodes and check it against the checkpoint."""
        latest = await self.storage.latest_checkpoint()
        size = 0 if latest is None else latest.size
        keys = subtree_nodes_for_range(0, size)
        nodes = await self.storage.tree_nodes(keys)
        missing = [k for k in keys if k not in nodes]
        if missing:
            raise LogIntegrityError(f"stored tree is missing node {missing[0]} of size {size}")
        tree = MerkleAccumulator.from_nodes(size, lambda level, index: nodes[(level, index)])
        if latest is not None and tree.root() != latest.root_hash:
            raise LogIntegrityError(f"stored tree at size {size} disagrees with its checkpoint")
        self._tree = tree
        return tree

    async def integrate(self) -> int:
        """Integrate everything durable now; sign a checkpoint when the tree grew. Returns size."""
        tree = self._tree if self._tree is not None else await self.restore()
        if tree.size == 0 and await self.storage.latest_checkpoint() is None:
            await self._publish(tree, [])
        target = await self.storage.log_size()
        while tree.size < target:
            end = min(target, tree.size + BATCH)
            rows = await self.storage.log_rows(tree.size, end)
            nodes: list[tuple[int, int, bytes]] = []
            for row in rows:
                if row.index != tree.size:
                    raise LogIntegrityError(f"log entry {tree.size} is missing")
                nodes.extend(tree.append(leaf_hash(row.leaf)))
            await self._publish(tree, nodes)
        return tree.size

    async def _publish(self, tree: MerkleAccumulator, nodes: list[tuple[int, int, bytes]]) -> None:
        checkpoint = Checkpoint(self.origin, tree.size, tree.root())
        note = sign_checkpoint(checkpoint, self.signer())
        await self.storage.store_tree(
            nodes, StoredCheckpoint(tree.size, checkpoint.root_hash, note, self.clock())
        )

    async def run(self, interval: float, lock: Lock | None) -> None:
        """Integrate every `interval` seconds whenever this process holds the lock.

        The lock is asked again each round: a process that loses it (its database connection
        died) stops signing, and another takes over within a round or two.
        """
        while True:
            if lock is None or await lock.acquire():
                try:
                    await self.integrate()
                except LogIntegrityError:
                    log.exception("log_integrity_failure")
                    await asyncio.sleep(10)
                    self._tree = None
                except Exception:
                    log.exception("sequencer_failed")
                    self._tree = None
            await asyncio.sleep(interval)
