"""The disclosure log's Merkle tree (RFC 9162 section 2.1): hashing, proofs and their checks.

Everything here is pure. The log's storage keeps, for every complete perfect subtree, its
hash keyed by ``(level, index)``: level 0 holds the leaf hashes, and the node at level L,
index i covers leaves ``[i * 2**L, (i + 1) * 2**L)``. The ``*_nodes`` functions say which
of those stored nodes a root or a proof needs, ``combine_range`` folds them the way MTH
does, and ``MerkleAccumulator`` grows the tree one leaf at a time while reporting each new
perfect subtree to store. Proofs thus cost O(log n) stored nodes, never a walk over leaves.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

__all__ = [
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
]

HASH_SIZE = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the root of the empty tree, the hash of the empty string."""

NodeId = tuple[int, int]
"""A stored perfect subtree, as ``(level, index)``."""

StoredNode = tuple[int, int, bytes]
"""A newly completed perfect subtree to store, as ``(level, index, hash)``."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """An inclusion or consistency proof does not prove what it was checked against."""


def leaf_hash(data: bytes) -> bytes:
    """Hash one log entry as a leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two child hashes into their parent: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n > 1): where MTH splits."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves, level by level in O(n)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        # An odd last node moves up unchanged: that is exactly MTH's left-heavy split.
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def subtree_nodes_for_range(start: int, end: int) -> list[NodeId]:
    """The stored perfect subtrees, left to right, whose fold is MTH(D[start:end]).

    The range must be one that RFC 9162's recursion produces: ``start`` a multiple of the
    smallest power of two not below ``end - start``. An empty range needs no nodes.
    """
    if start < 0 or end < start:
        raise ValueError(f"invalid leaf range [{start}, {end})")
    width = end - start
    if width and start % (1 << (width - 1).bit_length()):
        raise ValueError(f"leaf range [{start}, {end}) is not a subtree of any Merkle tree")
    nodes: list[NodeId] = []
    position = start
    # MTH splits off the largest power of two first, so the pieces follow the bits of the
    # width from high to low, each one aligned because start is.
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            nodes.append((level, position >> level))
            position += 1 << level
    return nodes


def combine_range(hashes: Sequence[bytes]) -> bytes:
    """Fold the perfect-subtree hashes of one range (left to right) into its MTH."""
    if not hashes:
        return EMPTY_ROOT
    # MTH nests to the right: the last two pieces join first.
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_proof_nodes(index: int, size: int) -> list[list[NodeId]]:
    """For each element of PATH(index, D[size]) (leaf to root), the stored nodes to fold."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    root_to_leaf: list[list[NodeId]] = []
    low, high = 0, size
    while high - low > 1:
        middle = low + _split_point(high - low)
        if index < middle:
            root_to_leaf.append(subtree_nodes_for_range(middle, high))
            high = middle
        else:
            root_to_leaf.append(subtree_nodes_for_range(low, middle))
            low = middle
    root_to_leaf.reverse()
    return root_to_leaf


def consistency_proof_nodes(first: int, second: int) -> list[list[NodeId]]:
    """For each element of PROOF(first, D[second]) (RFC 9162 2.1.4.1), the nodes to fold.

    Equal sizes need an empty proof; a proof from the empty tree is meaningless (RFC 9162
    only defines it for 0 < first), so ``first`` must be positive.
    """
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    outer_first: list[list[NodeId]] = []
    low, high = 0, second
    # SUBPROOF's flag b: while the descent only goes left, the subtree where the old tree
    # ends is the old tree itself, whose root the verifier already holds.
    whole_old_tree = True
    while first != high:
        middle = low + _split_point(high - low)
        if first <= middle:
            outer_first.append(subtree_nodes_for_range(middle, high))
            high = middle
        else:
            outer_first.append(subtree_nodes_for_range(low, middle))
            low = middle
            whole_old_tree = False
    if not whole_old_tree:
        outer_first.append(subtree_nodes_for_range(low, high))
    outer_first.reverse()
    return outer_first


def resolve_proof(
    elements: Sequence[Sequence[NodeId]], get_node: Callable[[int, int], bytes]
) -> list[bytes]:
    """Turn a proof's node lists into its hashes, reading each stored node once."""
    return [combine_range([get_node(level, index) for level, index in nodes]) for nodes in elements]


def _perfect_levels(leaf_hashes: Sequence[bytes]) -> Callable[[int, int], bytes]:
    """Every perfect subtree of a small in-memory tree, served like the node store."""
    levels = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    def get_node(level: int, index: int) -> bytes:
        return levels[level][index]

    return get_node


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The RFC 9162 inclusion proof for one leaf of a small in-memory tree."""
    nodes = inclusion_proof_nodes(index, len(leaf_hashes))
    return resolve_proof(nodes, _perfect_levels(leaf_hashes))


def consistency_proof(first: int, second: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The RFC 9162 consistency proof between two sizes of a small in-memory tree."""
    if second > len(leaf_hashes):
        raise ValueError(f"size {second} exceeds the {len(leaf_hashes)} leaves given")
    nodes = consistency_proof_nodes(first, second)
    return resolve_proof(nodes, _perfect_levels(leaf_hashes[:second]))


class MerkleAccumulator:
    """The log's growing tree, kept as its O(log n) right border of perfect subtrees."""

    __slots__ = ("_border", "_size")

    def __init__(self) -> None:
        self._size = 0
        # One hash per set bit of size, largest subtree first.
        self._border: list[bytes] = []

    @classmethod
    def from_nodes(cls, size: int, get_node: Callable[[int, int], bytes]) -> MerkleAccumulator:
        """Restore the accumulator of a tree of ``size`` leaves from its stored nodes."""
        if size < 0:
            raise ValueError(f"tree size {size} is negative")
        accumulator = cls()
        for level, index in subtree_nodes_for_range(0, size):
            stored = get_node(level, index)
            if len(stored) != HASH_SIZE:
                raise ValueError(f"stored node ({level}, {index}) is not a {HASH_SIZE}-byte hash")
            accumulator._border.append(stored)
        accumulator._size = size
        return accumulator

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    @property
    def border(self) -> tuple[StoredNode, ...]:
        """The perfect subtrees that make up the tree now, left to right."""
        ids = subtree_nodes_for_range(0, self._size)
        return tuple(
            (level, index, hashed) for (level, index), hashed in zip(ids, self._border, strict=True)
        )

    def append(self, leaf: bytes) -> list[StoredNode]:
        """Add one leaf hash; return every perfect subtree it completes, the leaf first."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf)}")
        level, index, hashed = 0, self._size, leaf
        completed: list[StoredNode] = [(level, index, hashed)]
        # Each set low bit of the old size is a same-sized left sibling waiting on the border.
        while self._size >> level & 1:
            hashed = node_hash(self._border.pop(), hashed)
            level += 1
            index >>= 1
            completed.append((level, index, hashed))
        self._border.append(hashed)
        self._size += 1
        return completed

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Add many leaf hashes without reporting subtrees: how a verifier recomputes quickly.

        The same fold as `append`, written as one tight loop; the tree is unchanged when any
        leaf has the wrong size.
        """
        for leaf in leaves:
            if len(leaf) != HASH_SIZE:
                raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf)}")
        border, size, sha256 = self._border, self._size, hashlib.sha256
        for hashed in leaves:
            height = 0
            while size >> height & 1:
                hashed = sha256(_NODE_PREFIX + border.pop() + hashed).digest()
                height += 1
            border.append(hashed)
            size += 1
        self._size = size

    def root(self) -> bytes:
        """MTH of all leaves appended so far."""
        return combine_range(self._border)


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} has {len(value)} bytes, not {HASH_SIZE}")


def _check_roots_equal(computed: bytes, expected: bytes, what: str) -> None:
    if not hmac.compare_digest(computed, expected):
        raise ProofError(f"the proof does not lead to the {what}")


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    RFC 9162 section 2.1.3.2; raises ProofError, including for an index outside the tree,
    a proof of the wrong length or hashes of the wrong size.
    """
    if index < 0 or size < 0:
        raise ProofError(f"negative leaf index {index} or tree size {size}")
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_hash(leaf_hash, "the leaf hash")
    for position, element in enumerate(proof):
        _check_hash(element, f"proof element {position}")
    fn, sn = index, size - 1
    result = leaf_hash
    for element in proof:
        if sn == 0:
            raise ProofError("the proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            result = node_hash(element, result)
            # On the right border a subtree may have no right sibling: climb past those levels.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the path to the root")
    _check_roots_equal(result, root, "expected root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``second`` leaves extends the tree of ``first`` leaves.

    RFC 9162 section 2.1.4.2; raises ProofError. Equal sizes need equal roots and an empty
    proof; ``first`` must be positive, since a proof from the empty tree proves nothing.
    """
    if first < 0 or second < 0:
        raise ProofError(f"negative tree size {first} or {second}")
    if first > second:
        raise ProofError(f"the first tree ({first}) is larger than the second ({second})")
    if first == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if first == second:
        if proof:
            raise ProofError("trees of equal size need an empty consistency proof")
        _check_roots_equal(first_root, second_root, "same root for the same size")
        return
    if not proof:
        raise ProofError("a consistency proof between different sizes cannot be empty")
    for position, element in enumerate(proof):
        _check_hash(element, f"proof element {position}")
    path = list(proof)
    if first & (first - 1) == 0:
        # The old tree is itself a perfect subtree of the new one, so the proof leaves it out.
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_result = second_result = path[0]
    for element in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            first_result = node_hash(element, first_result)
            second_result = node_hash(element, second_result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            second_result = node_hash(second_result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the path to the root")
    _check_roots_equal(first_result, first_root, "first root")
    _check_roots_equal(second_result, second_root, "second root")
