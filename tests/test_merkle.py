"""The disclosure log's Merkle tree against RFC 9162, its published vectors and a naive model."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gateway.log
from gateway.log import merkle
from gateway.log.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    ProofError,
    combine_range,
    consistency_proof,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    node_hash,
    resolve_proof,
    root_from_leaf_hashes,
    subtree_nodes_for_range,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"
RFC9162_VECTORS = VECTORS / "rfc9162"
PUBLISHED_CASE_COUNT = 196

# transparency-dev/merkle testonly/constants.go: the RFC 6962 reference tree.
REFERENCE_LEAVES = [
    bytes.fromhex(""),
    bytes.fromhex("00"),
    bytes.fromhex("10"),
    bytes.fromhex("2021"),
    bytes.fromhex("3031"),
    bytes.fromhex("40414243"),
    bytes.fromhex("5051525354555657"),
    bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
]
REFERENCE_ROOTS = [
    bytes.fromhex(h)
    for h in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]
REFERENCE_NODES = {
    (0, 0): "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    (0, 1): "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    (0, 2): "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    (0, 3): "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    (0, 4): "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    (0, 5): "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    (0, 6): "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    (0, 7): "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    (1, 0): "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    (1, 1): "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    (1, 2): "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    (1, 3): "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    (2, 0): "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    (2, 1): "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    (3, 0): "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
REFERENCE_LEAF_HASHES = [leaf_hash(data) for data in REFERENCE_LEAVES]

MAX_SIZE = 300


# --- an independent model: RFC 9162 section 2.1 written as its recursion ---------------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, exactly as the RFC's recursive definition reads."""
    if not hashes:
        return _sha256(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return _sha256(b"\x01" + naive_mth(hashes[:k]) + naive_mth(hashes[k:]))


def naive_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1."""
    if len(hashes) <= 1:
        return []
    k = _split(len(hashes))
    if m < k:
        return [*naive_path(m, hashes[:k]), naive_mth(hashes[k:])]
    return [*naive_path(m - k, hashes[k:]), naive_mth(hashes[:k])]


def naive_subproof(m: int, hashes: Sequence[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 2.1.4.1."""
    n = len(hashes)
    if m == n:
        return [] if whole else [naive_mth(hashes)]
    k = _split(n)
    if m <= k:
        return [*naive_subproof(m, hashes[:k], whole), naive_mth(hashes[k:])]
    return [*naive_subproof(m - k, hashes[k:], False), naive_mth(hashes[:k])]


def make_leaf_hashes(size: int, salt: int = 0) -> list[bytes]:
    return [leaf_hash(f"entry {salt} {i}".encode()) for i in range(size)]


def stored_nodes(leaf_hashes: Sequence[bytes]) -> dict[tuple[int, int], bytes]:
    """What the sequencer would have stored after appending these leaves."""
    store: dict[tuple[int, int], bytes] = {}
    accumulator = MerkleAccumulator()
    for hashed in leaf_hashes:
        for level, index, node in accumulator.append(hashed):
            assert (level, index) not in store
            store[(level, index)] = node
    return store


def getter(store: dict[tuple[int, int], bytes]) -> Callable[[int, int], bytes]:
    def get_node(level: int, index: int) -> bytes:
        return store[(level, index)]

    return get_node


def flip_bit(proof: Sequence[bytes], element: int, bit: int) -> list[bytes]:
    tampered = list(proof)
    changed = bytearray(tampered[element])
    changed[bit // 8] ^= 1 << (bit % 8)
    tampered[element] = bytes(changed)
    return tampered


# --- the published vectors ---------------------------------------------------------------------


def _vectors_missing() -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the shared vectors must be present in CI, but {VECTORS} is missing")
    pytest.skip(f"shared vectors not found at {VECTORS} (a clone outside the workplace)")


def _vector_cases(kind: str) -> list[Path | None]:
    folder = RFC9162_VECTORS / kind
    if not folder.is_dir():
        return [None]
    return [*sorted(folder.rglob("*.json"))]


def _case_id(path: Path | None) -> str:
    return "vectors-missing" if path is None else str(path.relative_to(RFC9162_VECTORS))


def _load(path: Path | None) -> dict[str, Any]:
    if path is None:
        _vectors_missing()
    assert path is not None
    case: dict[str, Any] = json.loads(path.read_text())
    return case


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(element) for element in case["proof"] or []]


def test_vector_folders_hold_every_published_case() -> None:
    if not RFC9162_VECTORS.is_dir():
        _vectors_missing()
    cases = [
        *RFC9162_VECTORS.glob("inclusion/**/*.json"),
        *RFC9162_VECTORS.glob("consistency/**/*.json"),
    ]
    assert len(cases) == PUBLISHED_CASE_COUNT


@pytest.mark.parametrize("path", _vector_cases("inclusion"), ids=_case_id)
def test_inclusion_vector_verifies_exactly_when_no_error_is_wanted(path: Path | None) -> None:
    case = _load(path)
    args = (
        _b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        _proof(case),
        _b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _vector_cases("consistency"), ids=_case_id)
def test_consistency_vector_verifies_exactly_when_no_error_is_wanted(path: Path | None) -> None:
    case = _load(path)
    args = (case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), _proof(case))
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def _reference_happy_paths(kind: str) -> list[Path | None]:
    return [p for p in _vector_cases(kind) if p is None or p.name == "happy-path.json"]


@pytest.mark.parametrize("path", _reference_happy_paths("inclusion"), ids=_case_id)
def test_inclusion_generator_reproduces_the_vectors_proof_on_the_reference_tree(
    path: Path | None,
) -> None:
    case = _load(path)
    index, size = case["leafIdx"], case["treeSize"]
    # The happy paths are built on the reference tree: check that before trusting the proof.
    assert _b64(case["root"]) == REFERENCE_ROOTS[size]
    assert _b64(case["leafHash"]) == REFERENCE_LEAF_HASHES[index]
    leaves = REFERENCE_LEAF_HASHES[:size]
    assert inclusion_proof(index, leaves) == _proof(case)
    from_store = resolve_proof(inclusion_proof_nodes(index, size), getter(stored_nodes(leaves)))
    assert from_store == _proof(case)


@pytest.mark.parametrize("path", _reference_happy_paths("consistency"), ids=_case_id)
def test_consistency_generator_reproduces_the_vectors_proof_on_the_reference_tree(
    path: Path | None,
) -> None:
    case = _load(path)
    first, second = case["size1"], case["size2"]
    assert _b64(case["root1"]) == REFERENCE_ROOTS[first]
    assert _b64(case["root2"]) == REFERENCE_ROOTS[second]
    leaves = REFERENCE_LEAF_HASHES[:second]
    assert consistency_proof(first, second, leaves) == _proof(case)
    nodes = consistency_proof_nodes(first, second)
    assert resolve_proof(nodes, getter(stored_nodes(leaves))) == _proof(case)


# --- known answers -----------------------------------------------------------------------------


def test_leaf_and_node_hashes_use_the_rfc_domain_separation_prefixes() -> None:
    assert leaf_hash(b"abc") == _sha256(b"\x00abc")
    assert node_hash(b"L" * 32, b"R" * 32) == _sha256(b"\x01" + b"L" * 32 + b"R" * 32)
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("size", range(len(REFERENCE_ROOTS)))
def test_reference_tree_roots_match_the_published_roots_at_every_size(size: int) -> None:
    leaves = REFERENCE_LEAF_HASHES[:size]
    assert root_from_leaf_hashes(leaves) == REFERENCE_ROOTS[size]
    assert naive_mth(leaves) == REFERENCE_ROOTS[size]
    accumulator = MerkleAccumulator()
    for hashed in leaves:
        accumulator.append(hashed)
    assert accumulator.root() == REFERENCE_ROOTS[size]


def test_accumulator_reports_the_reference_trees_stored_nodes() -> None:
    store = stored_nodes(REFERENCE_LEAF_HASHES)
    assert {key: value.hex() for key, value in store.items()} == REFERENCE_NODES


def test_accumulator_reports_leaf_then_each_subtree_it_completes() -> None:
    accumulator = MerkleAccumulator()
    reported = [accumulator.append(hashed) for hashed in REFERENCE_LEAF_HASHES[:4]]
    assert [[(level, index) for level, index, _ in nodes] for nodes in reported] == [
        [(0, 0)],
        [(0, 1), (1, 0)],
        [(0, 2)],
        [(0, 3), (1, 1), (2, 0)],
    ]


def test_empty_accumulator_has_the_empty_root() -> None:
    accumulator = MerkleAccumulator()
    assert accumulator.size == 0
    assert accumulator.border == ()
    assert accumulator.root() == EMPTY_ROOT
    assert MerkleAccumulator.from_nodes(0, getter({})).root() == EMPTY_ROOT


# --- the node-list functions -------------------------------------------------------------------


def test_range_of_a_ragged_right_border_splits_into_decreasing_perfect_subtrees() -> None:
    assert subtree_nodes_for_range(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert subtree_nodes_for_range(8, 15) == [(2, 2), (1, 6), (0, 14)]
    assert subtree_nodes_for_range(6, 7) == [(0, 6)]
    assert subtree_nodes_for_range(5, 5) == []


@pytest.mark.parametrize(("start", "end"), [(-1, 3), (4, 2), (3, 5), (2, 5), (4, 9)])
def test_range_that_no_merkle_recursion_produces_is_refused(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="range"):
        subtree_nodes_for_range(start, end)


def test_combining_no_hashes_gives_the_empty_root() -> None:
    assert combine_range([]) == EMPTY_ROOT


def test_inclusion_nodes_for_a_leaf_outside_the_tree_are_refused() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof_nodes(5, 5)
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof_nodes(-1, 5)


@pytest.mark.parametrize(("first", "second"), [(0, 4), (5, 4), (-1, 3)])
def test_consistency_nodes_outside_zero_less_than_first_at_most_second_are_refused(
    first: int, second: int
) -> None:
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof_nodes(first, second)


def test_consistency_between_equal_sizes_needs_no_nodes() -> None:
    assert consistency_proof_nodes(7, 7) == []


def test_consistency_proof_for_more_leaves_than_given_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        consistency_proof(1, 9, REFERENCE_LEAF_HASHES)


def test_accumulator_refuses_a_leaf_hash_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleAccumulator().append(b"short")


def test_restoring_from_a_corrupt_stored_node_is_refused() -> None:
    store = stored_nodes(REFERENCE_LEAF_HASHES[:3])
    store[(0, 2)] = b"truncated"
    with pytest.raises(ValueError, match="stored node"):
        MerkleAccumulator.from_nodes(3, getter(store))


# --- verification edge cases -------------------------------------------------------------------


def _reference_inclusion(index: int, size: int) -> tuple[bytes, list[bytes], bytes]:
    leaves = REFERENCE_LEAF_HASHES[:size]
    return leaves[index], inclusion_proof(index, leaves), REFERENCE_ROOTS[size]


def test_inclusion_of_an_index_at_or_beyond_the_size_fails() -> None:
    leaf, proof, root = _reference_inclusion(2, 3)
    with pytest.raises(ProofError, match="not in a tree"):
        verify_inclusion(leaf, 3, 3, proof, root)
    with pytest.raises(ProofError, match="negative"):
        verify_inclusion(leaf, -1, 3, proof, root)


def test_inclusion_with_hashes_of_the_wrong_length_fails() -> None:
    leaf, proof, root = _reference_inclusion(2, 5)
    with pytest.raises(ProofError, match="leaf hash"):
        verify_inclusion(leaf[:31], 2, 5, proof, root)
    with pytest.raises(ProofError, match="proof element 1"):
        verify_inclusion(leaf, 2, 5, [proof[0], proof[1] + b"\x00", *proof[2:]], root)


def test_inclusion_proof_with_garbage_appended_or_prepended_fails() -> None:
    leaf, proof, root = _reference_inclusion(5, 8)
    with pytest.raises(ProofError, match="longer"):
        verify_inclusion(leaf, 5, 8, [*proof, bytes(32)], root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, 5, 8, [bytes(32), *proof], root)
    with pytest.raises(ProofError, match="shorter"):
        verify_inclusion(leaf, 5, 8, proof[:-1], root)


def test_consistency_from_the_empty_tree_fails_even_when_the_new_tree_is_empty() -> None:
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 3, EMPTY_ROOT, REFERENCE_ROOTS[3], [])


def test_consistency_from_a_larger_to_a_smaller_tree_fails() -> None:
    with pytest.raises(ProofError, match="larger"):
        verify_consistency(4, 3, REFERENCE_ROOTS[4], REFERENCE_ROOTS[3], [])


def test_consistency_between_equal_sizes_needs_equal_roots_and_no_proof() -> None:
    verify_consistency(5, 5, REFERENCE_ROOTS[5], REFERENCE_ROOTS[5], [])
    with pytest.raises(ProofError, match="empty consistency proof"):
        verify_consistency(5, 5, REFERENCE_ROOTS[5], REFERENCE_ROOTS[5], [REFERENCE_ROOTS[5]])
    with pytest.raises(ProofError, match="same root"):
        verify_consistency(5, 5, REFERENCE_ROOTS[5], REFERENCE_ROOTS[6], [])


def test_consistency_between_different_sizes_with_an_empty_proof_fails() -> None:
    with pytest.raises(ProofError, match="cannot be empty"):
        verify_consistency(3, 8, REFERENCE_ROOTS[3], REFERENCE_ROOTS[8], [])


def test_consistency_proof_with_garbage_appended_or_prepended_fails() -> None:
    proof = consistency_proof(3, 7, REFERENCE_LEAF_HASHES)
    verify_consistency(3, 7, REFERENCE_ROOTS[3], REFERENCE_ROOTS[7], proof)
    with pytest.raises(ProofError, match="longer"):
        verify_consistency(3, 7, REFERENCE_ROOTS[3], REFERENCE_ROOTS[7], [*proof, bytes(32)])
    with pytest.raises(ProofError):
        verify_consistency(3, 7, REFERENCE_ROOTS[3], REFERENCE_ROOTS[7], [bytes(32), *proof])
    with pytest.raises(ProofError, match="shorter"):
        verify_consistency(3, 7, REFERENCE_ROOTS[3], REFERENCE_ROOTS[7], proof[:-1])


# --- properties --------------------------------------------------------------------------------


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[int, int, int]:
    size = draw(st.integers(min_value=1, max_value=MAX_SIZE))
    index = draw(st.integers(min_value=0, max_value=size - 1))
    salt = draw(st.integers(min_value=0, max_value=3))
    return size, index, salt


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int, int]:
    second = draw(st.integers(min_value=1, max_value=MAX_SIZE))
    first = draw(st.integers(min_value=1, max_value=second))
    salt = draw(st.integers(min_value=0, max_value=3))
    return first, second, salt


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@PROPERTY_SETTINGS
@given(tree_and_index())
def test_every_inclusion_proof_from_store_and_memory_is_the_rfc_path_and_verifies(
    case: tuple[int, int, int],
) -> None:
    size, index, salt = case
    leaves = make_leaf_hashes(size, salt)
    root = naive_mth(leaves)
    nodes = inclusion_proof_nodes(index, size)
    # Proofs stay logarithmic: at most one ragged element, the rest single perfect subtrees.
    assert sum(len(element) for element in nodes) <= 2 * size.bit_length()
    from_store = resolve_proof(nodes, getter(stored_nodes(leaves)))
    from_memory = inclusion_proof(index, leaves)
    assert from_store == from_memory == naive_path(index, leaves)
    verify_inclusion(leaves[index], index, size, from_store, root)


@PROPERTY_SETTINGS
@given(two_sizes())
def test_every_consistency_proof_from_store_and_memory_is_the_rfc_subproof_and_verifies(
    case: tuple[int, int, int],
) -> None:
    first, second, salt = case
    leaves = make_leaf_hashes(second, salt)
    nodes = consistency_proof_nodes(first, second)
    assert sum(len(element) for element in nodes) <= 2 * second.bit_length() + 1
    from_store = resolve_proof(nodes, getter(stored_nodes(leaves)))
    from_memory = consistency_proof(first, second, leaves)
    expected = naive_subproof(first, leaves, True)
    assert from_store == from_memory == expected
    verify_consistency(first, second, naive_mth(leaves[:first]), naive_mth(leaves), from_store)


@PROPERTY_SETTINGS
@given(tree_and_index(), st.data())
def test_any_change_to_an_inclusion_proof_or_its_claims_fails_verification(
    case: tuple[int, int, int], data: st.DataObject
) -> None:
    size, index, salt = case
    leaves = make_leaf_hashes(size, salt)
    root = naive_mth(leaves)
    proof = inclusion_proof(index, leaves)
    if proof:
        element = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, flip_bit(proof, element, bit), root)
        dropped = data.draw(st.integers(0, len(proof) - 1), label="dropped")
        with pytest.raises(ProofError):
            verify_inclusion(
                leaves[index], index, size, proof[:dropped] + proof[dropped + 1 :], root
            )
    extra = data.draw(st.binary(min_size=32, max_size=32), label="extra")
    at = data.draw(st.integers(0, len(proof)), label="inserted at")
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, size, [*proof[:at], extra, *proof[at:]], root)
    other_index = data.draw(st.integers(0, size), label="other index")
    if other_index != index:
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], other_index, size, proof, root)
    other_size = data.draw(st.integers(index + 1, MAX_SIZE + 1), label="other size")
    if other_size != size:
        # A claim about another size is checked against that size's root, as a checkpoint gives.
        other_root = naive_mth(make_leaf_hashes(other_size, salt))
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, other_size, proof, other_root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"not in the log"), index, size, proof, root)


@PROPERTY_SETTINGS
@given(two_sizes(), st.data())
def test_any_change_to_a_consistency_proof_or_its_claims_fails_verification(
    case: tuple[int, int, int], data: st.DataObject
) -> None:
    first, second, salt = case
    assume(first < second)
    leaves = make_leaf_hashes(second + 1, salt)
    roots = {size: naive_mth(leaves[:size]) for size in range(1, second + 2)}
    proof = consistency_proof(first, second, leaves)
    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 255), label="bit")
    with pytest.raises(ProofError):
        verify_consistency(
            first, second, roots[first], roots[second], flip_bit(proof, element, bit)
        )
    dropped = data.draw(st.integers(0, len(proof) - 1), label="dropped")
    with pytest.raises(ProofError):
        verify_consistency(
            first, second, roots[first], roots[second], proof[:dropped] + proof[dropped + 1 :]
        )
    extra = data.draw(st.binary(min_size=32, max_size=32), label="extra")
    at = data.draw(st.integers(0, len(proof)), label="inserted at")
    with pytest.raises(ProofError):
        verify_consistency(
            first, second, roots[first], roots[second], [*proof[:at], extra, *proof[at:]]
        )
    other_first = data.draw(st.integers(1, second), label="other first")
    if other_first != first:
        with pytest.raises(ProofError):
            verify_consistency(other_first, second, roots[other_first], roots[second], proof)
    other_second = data.draw(st.integers(first + 1, second + 1), label="other second")
    if other_second != second:
        with pytest.raises(ProofError):
            verify_consistency(first, other_second, roots[first], roots[other_second], proof)
    with pytest.raises(ProofError):
        verify_consistency(first, second, roots[second], roots[first], proof)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_SIZE), st.integers(min_value=0, max_value=3))
def test_accumulator_root_matches_the_naive_root_at_every_size_and_survives_a_restore(
    size: int, salt: int
) -> None:
    leaves = make_leaf_hashes(size, salt)
    accumulator = MerkleAccumulator()
    store: dict[tuple[int, int], bytes] = {}
    for count, hashed in enumerate(leaves, start=1):
        for level, index, node in accumulator.append(hashed):
            # Every reported node is the MTH of exactly the leaves it covers.
            assert node == naive_mth(leaves[index << level : (index + 1) << level])
            store[(level, index)] = node
        assert accumulator.size == count
        assert accumulator.root() == naive_mth(leaves[:count])
        restored = MerkleAccumulator.from_nodes(count, getter(store))
        assert restored.border == accumulator.border
        assert restored.root() == accumulator.root()
    # Each leaf completes itself, and each inner node is completed once: 2n - popcount(n).
    assert len(store) == 2 * size - size.bit_count()
    restored = MerkleAccumulator.from_nodes(size // 2, getter(store))
    for hashed in leaves[size // 2 :]:
        restored.append(hashed)
    assert restored.border == accumulator.border


def test_public_surface_of_the_merkle_module_is_pinned_and_re_exported() -> None:
    assert set(merkle.__all__) == {
        "EMPTY_ROOT",
        "HASH_SIZE",
        "MerkleAccumulator",
        "NodeId",
        "ProofError",
        "StoredNode",
        "combine_range",
        "consistency_proof",
        "consistency_proof_nodes",
        "inclusion_proof",
        "inclusion_proof_nodes",
        "leaf_hash",
        "node_hash",
        "resolve_proof",
        "root_from_leaf_hashes",
        "subtree_nodes_for_range",
        "verify_consistency",
        "verify_inclusion",
    }
    assert set(merkle.__all__) <= set(gateway.log.__all__)
    assert issubclass(ProofError, ValueError)
