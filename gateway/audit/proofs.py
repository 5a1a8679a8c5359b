"""RFC 9162 proofs from the stored tree: inclusion of an entry, consistency of two sizes."""

from __future__ import annotations

import base64
from typing import Any

from gateway.audit.search import shown_to_partner, visible_row
from gateway.config import Catalogue, PartnerRegistry
from gateway.errors import InvalidRequest, NotFound
from gateway.log.merkle import consistency_proof_nodes, inclusion_proof_nodes, resolve_proof
from gateway.policy.decision import Caller
from gateway.policy.oversight import Oversight
from gateway.store.base import TransparencyLog, TreeStore

__all__ = ["consistency_proof", "disclosure_proof", "inclusion_proof", "proof_hashes"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def _integrated_size(store: TreeStore) -> int:
    latest = await store.latest_checkpoint()
    return 0 if latest is None else latest.size


async def proof_hashes(store: TreeStore, elements: list[list[tuple[int, int]]]) -> list[bytes]:
    """The hashes of a proof whose stored nodes `*_proof_nodes` named; NotFound if missing."""
    keys = [key for element in elements for key in element]
    found = await store.tree_nodes(keys)
    if len(found) != len(set(keys)):
        raise NotFound("the tree is not integrated that far yet", "Retry in a second.")
    return resolve_proof(elements, lambda level, index: found[(level, index)])


async def inclusion_proof(
    log: TransparencyLog, index: int, size: int, oversight: Oversight
) -> dict[str, Any]:
    """An entry's inclusion proof; for an entry the officer may not see, the entry's 404."""
    integrated = await _integrated_size(log)
    if size > integrated:
        raise InvalidRequest(
            f"tree_size {size} is larger than the latest checkpoint ({integrated})",
            "Ask for a tree size no larger than the size in GET /v1/audit/checkpoint.",
        )
    if index >= size:
        raise InvalidRequest("index must be smaller than tree_size")
    # The leaf hash would let an officer test guesses at another organisation's entry.
    await visible_row(log, index, oversight)
    hashes = await proof_hashes(log, inclusion_proof_nodes(index, size))
    leaf_hash = (await log.tree_nodes([(0, index)]))[(0, index)]
    return {
        "index": index,
        "tree_size": size,
        "leaf_hash": _b64(leaf_hash),
        "hashes": [_b64(h) for h in hashes],
    }


async def consistency_proof(store: TreeStore, first: int, second: int) -> dict[str, Any]:
    """PROOF(first, D[second]) of RFC 9162 between two sizes the log has signed up to."""
    integrated = await _integrated_size(store)
    if second > integrated:
        raise InvalidRequest(
            f"second {second} is larger than the latest checkpoint ({integrated})",
            "Ask for sizes no larger than the size in GET /v1/audit/checkpoint.",
        )
    if first == 0:
        # RFC 9162 2.1.4.1 defines PROOF(m, D[n]) only for 0 < m: a proof from the empty tree
        # would prove nothing, so there is none to give.
        raise InvalidRequest(
            "first must be at least 1: RFC 9162 defines no consistency proof from the empty tree",
            "Ask for 0 < first <= second; every tree trivially extends the empty one.",
        )
    if first > second:
        raise InvalidRequest("first must not be larger than second")
    # Equal sizes: the proof is empty and the roots must be equal (what verifiers such as
    # RFC 9162 2.1.4.2 implementations and Go's tlog expect); otherwise PROOF(first, D[second]).
    elements = [] if first == second else consistency_proof_nodes(first, second)
    hashes = await proof_hashes(store, elements)
    return {"first": first, "second": second, "hashes": [_b64(h) for h in hashes]}


async def disclosure_proof(
    log: TransparencyLog,
    catalogue: Catalogue,
    partners: PartnerRegistry,
    caller: Caller,
    index: int,
) -> dict[str, Any]:
    """A partner's own entry: its leaf, inclusion proof and the checkpoint it verifies against."""
    rows = await log.log_rows(index, index + 1)
    entry = rows[0].entry if rows else None
    if entry is None or not shown_to_partner(catalogue, partners, caller, entry):
        # Not yours and not there look the same: the log's other entries are not your business.
        raise NotFound("no log entry of yours has that index")
    latest = await log.latest_checkpoint()
    if latest is None or latest.size <= index:
        raise NotFound("that entry is not covered by a signed checkpoint yet", "Retry in a second.")
    hashes = await proof_hashes(log, inclusion_proof_nodes(index, latest.size))
    return {
        "index": index,
        "tree_size": latest.size,
        "leaf": base64.b64encode(rows[0].leaf).decode(),
        "hashes": [base64.b64encode(h).decode() for h in hashes],
        "checkpoint": latest.note,
    }
