"""The transparency log's core at its edges: Merkle proofs, checkpoints, entries, verification.

Each test names a realistic slip that mutation testing (`make mutate`,
docs/mutation-testing.md) showed the suite let through: a proof checked against the wrong side,
a size off by one, a one-bit change in a leaf that verification does not see.
"""

from __future__ import annotations

import pytest

from gateway.log.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(f"entry {n}".encode()) for n in range(13)]


def _flip(data: bytes, bit: int = 0) -> bytes:
    return bytes([data[0] ^ (1 << bit), *data[1:]])


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 13])
def test_verification_catches_a_one_bit_change_in_any_leaf_of_any_tree(size: int):
    hashes = LEAVES[:size]
    root = root_from_leaf_hashes(hashes)
    for index in range(size):
        proof = inclusion_proof(index, hashes)
        verify_inclusion(hashes[index], index, size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(_flip(hashes[index]), index, size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(hashes[index], index, size, proof, _flip(root, 7))
        for position in range(len(proof)):
            bent = [*proof[:position], _flip(proof[position]), *proof[position + 1 :]]
            with pytest.raises(ProofError):
                verify_inclusion(hashes[index], index, size, bent, root)


@pytest.mark.parametrize(
    ("first", "second"), [(1, 2), (1, 13), (2, 3), (3, 7), (4, 8), (6, 13), (8, 13), (12, 13)]
)
def test_a_consistency_proof_fails_when_either_root_has_one_bit_changed(first: int, second: int):
    old, new = root_from_leaf_hashes(LEAVES[:first]), root_from_leaf_hashes(LEAVES[:second])
    proof = consistency_proof(first, second, LEAVES[:second])
    verify_consistency(first, second, old, new, proof)
    with pytest.raises(ProofError):
        verify_consistency(first, second, _flip(old), new, proof)
    with pytest.raises(ProofError):
        verify_consistency(first, second, old, _flip(new), proof)
    for position in range(len(proof)):
        bent = [*proof[:position], _flip(proof[position]), *proof[position + 1 :]]
        with pytest.raises(ProofError):
            verify_consistency(first, second, old, new, bent)
