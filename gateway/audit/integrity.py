"""Is the log intact? The latest checkpoint checked, and one entry proven included in it.

The workspace does not trust storage's copy of the root: it opens the signed note with the
gateway's log verifier keys, folds the stored tree nodes to a root itself, and proves an entry
from the hash of its stored bytes, so an edited leaf or node shows as "not verified".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.audit.deps import IntegrityContext
from gateway.audit.proofs import proof_hashes
from gateway.errors import NotFound
from gateway.log.checkpoint import Checkpoint, NoteError, NoteVerifier, open_checkpoint
from gateway.log.merkle import (
    NodeId,
    ProofError,
    combine_range,
    inclusion_proof_nodes,
    leaf_hash,
    subtree_nodes_for_range,
    verify_inclusion,
)
from gateway.store.base import LogRow, StoredCheckpoint

__all__ = [
    "EntryProof",
    "IntegrityProblem",
    "IntegrityStatus",
    "log_integrity",
    "prove_entry",
    "verify_tree_head",
]


class IntegrityProblem(Exception):
    """The log failed a check; `key` names the problem among the workspace's texts."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _open(latest: StoredCheckpoint, verifiers: Sequence[NoteVerifier], origin: str) -> Checkpoint:
    try:
        checkpoint = open_checkpoint(latest.note, verifiers, origin=origin)
    except NoteError:
        raise IntegrityProblem("integrity.bad_signature") from None
    if checkpoint.size != latest.size or checkpoint.root_hash != latest.root_hash:
        # The note is what was signed; columns beside it that disagree were edited.
        raise IntegrityProblem("integrity.bad_root")
    return checkpoint


def verify_tree_head(
    latest: StoredCheckpoint,
    verifiers: Sequence[NoteVerifier],
    origin: str,
    nodes: Mapping[NodeId, bytes],
) -> Checkpoint:
    """The signed checkpoint, if its signature verifies and the stored nodes fold to its root.

    `nodes` are the stored perfect subtrees `subtree_nodes_for_range(0, size)` names.
    Raises IntegrityProblem otherwise.
    """
    checkpoint = _open(latest, verifiers, origin)
    keys = subtree_nodes_for_range(0, checkpoint.size)
    if any(key not in nodes for key in keys):
        raise IntegrityProblem("integrity.missing_nodes")
    if combine_range([nodes[key] for key in keys]) != checkpoint.root_hash:
        raise IntegrityProblem("integrity.bad_root")
    return checkpoint


@dataclass(frozen=True, slots=True)
class IntegrityStatus:
    """The log's state for the top of the overview."""

    latest: StoredCheckpoint | None
    log_size: int
    problem: str | None  # a text key; None when verified (or when there is no checkpoint)

    @property
    def verified(self) -> bool:
        return self.latest is not None and self.problem is None

    @property
    def pending(self) -> int:
        """Entries logged but not yet covered by the latest checkpoint."""
        return max(0, self.log_size - (0 if self.latest is None else self.latest.size))


async def log_integrity(gw: IntegrityContext) -> IntegrityStatus:
    """Check the latest checkpoint's signature and its root against the stored tree."""
    latest = await gw.storage.latest_checkpoint()
    size = await gw.storage.log_size()
    if latest is None:
        return IntegrityStatus(None, size, None)
    nodes = await gw.storage.tree_nodes(subtree_nodes_for_range(0, latest.size))
    try:
        verify_tree_head(latest, gw.log_verifiers, gw.settings.log_origin, nodes)
    except IntegrityProblem as problem:
        return IntegrityStatus(latest, size, problem.key)
    return IntegrityStatus(latest, size, None)


@dataclass(frozen=True, slots=True)
class EntryProof:
    """An entry's inclusion proof against the latest signed checkpoint, and its outcome."""

    status: str  # verified | failed | pending (not yet covered by a checkpoint)
    leaf_hash: bytes
    checkpoint: Checkpoint | None = None
    hashes: tuple[bytes, ...] = ()
    problem: str | None = None  # a text key, when failed


async def prove_entry(gw: IntegrityContext, row: LogRow) -> EntryProof:
    """Prove `row` included in the latest signed checkpoint, from the hash of its stored bytes."""
    leaf = leaf_hash(row.leaf)
    latest = await gw.storage.latest_checkpoint()
    if latest is None or row.index >= latest.size:
        return EntryProof("pending", leaf)
    try:
        checkpoint = _open(latest, gw.log_verifiers, gw.settings.log_origin)
    except IntegrityProblem as problem:
        return EntryProof("failed", leaf, problem=problem.key)
    try:
        hashes = await proof_hashes(gw.storage, inclusion_proof_nodes(row.index, checkpoint.size))
    except NotFound:
        return EntryProof("failed", leaf, checkpoint, problem="integrity.missing_nodes")
    try:
        verify_inclusion(leaf, row.index, checkpoint.size, hashes, checkpoint.root_hash)
    except ProofError:
        return EntryProof("failed", leaf, checkpoint, tuple(hashes), "entry.proof_mismatch")
    return EntryProof("verified", leaf, checkpoint, tuple(hashes))
