"""RFC 9162 §2.1 Merkle trees: hashes, streaming roots, proofs and their verification.

Leaves are entry bytes (FORMAT.md §2). Interior nodes of *perfect* subtrees are
addressed as ``(level, index)``: the subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``. Proof generation first lists the
perfect nodes it needs, so storage can fetch them in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

from ledger.core.errors import VerificationError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"  # RFC 9162 §2.1.1
NODE_PREFIX = b"\x01"  # RFC 9162 §2.1.1
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = SHA-256()

Node = tuple[int, int]  # (level, index) of a perfect subtree
NodeLookup = Callable[[Sequence[Node]], Mapping[Node, bytes]]


class ProofError(VerificationError):
    """A Merkle proof is malformed or does not lead to the expected root."""


def hash_leaf(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (recursive definition; for tests and small trees)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = _split(len(leaf_hashes))
    return hash_children(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


class CompactRange:
    """The roots of the perfect subtrees covering leaves ``[0, size)``: O(log n) memory.

    Appending a leaf merges equal-sized subtrees, yielding each completed interior
    node so that it can be stored.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ProofError(f"compact range of size {size} needs {bin(size).count('1')} hashes")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Add a leaf hash; return the perfect nodes (level >= 0) it completes."""
        completed: list[tuple[Node, bytes]] = [((0, self.size), leaf)]
        node, index, level = leaf, self.size, 0
        while index & 1:
            node = hash_children(self.hashes.pop(), node)
            index >>= 1
            level += 1
            completed.append(((level, index), node))
        self.hashes.append(node)
        self.size += 1
        return completed

    def push(self, leaf: bytes) -> None:
        """Add a leaf hash without reporting the nodes it completes."""
        node, index = leaf, self.size
        while index & 1:
            node = hash_children(self.hashes.pop(), node)
            index >>= 1
        self.hashes.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        node = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            node = hash_children(left, node)
        return node


def range_nodes(start: int, end: int) -> list[Node]:
    """Perfect subtrees covering ``[start, end)``, left to right (start aligned as in RFC 9162)."""
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start % (1 << level):
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its perfect subtrees, left to right."""
    node = hashes[-1]
    for left in reversed(hashes[:-1]):
        node = hash_children(left, node)
    return node


def _path_ranges(index: int, start: int, end: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1 PATH: the ranges whose MTHs form the inclusion proof."""
    ranges: list[tuple[int, int]] = []
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def _subproof_ranges(m: int, start: int, end: int, complete: bool) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1 SUBPROOF: the ranges whose MTHs form a consistency proof."""
    ranges: list[tuple[int, int]] = []
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = _split(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            complete = False
    ranges.reverse()
    return ranges


def _resolve(ranges: list[tuple[int, int]], lookup: NodeLookup) -> list[bytes]:
    per_range = [range_nodes(a, b) for a, b in ranges]
    fetched = lookup(sorted({n for nodes in per_range for n in nodes}))
    try:
        return [fold([fetched[n] for n in nodes]) for nodes in per_range]
    except KeyError as e:
        raise ProofError(f"tree node {e.args[0]} is not stored") from None


def inclusion_proof(index: int, size: int, lookup: NodeLookup) -> list[bytes]:
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    return _resolve(_path_ranges(index, 0, size), lookup)


def consistency_proof(m: int, n: int, lookup: NodeLookup) -> list[bytes]:
    if not 0 < m <= n:
        raise ProofError(f"no consistency proof from size {m} to size {n}")
    if m == n:
        return []
    return _resolve(_subproof_ranges(m, 0, n, True), lookup)


def root_from(size: int, lookup: NodeLookup) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    return fold(compact_hashes(size, lookup))


def compact_hashes(size: int, lookup: NodeLookup) -> list[bytes]:
    """The stored perfect subtrees covering ``[0, size)``, left to right."""
    nodes = range_nodes(0, size)
    fetched = lookup(nodes)
    try:
        return [fetched[n] for n in nodes]
    except KeyError as e:
        raise ProofError(f"tree node {e.args[0]} is not stored") from None


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what}: expected {HASH_SIZE} bytes, got {len(value)}")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root an inclusion proof leads to."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "proof hash")
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hash_children(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    _check_hash(root, "root")
    got = root_from_inclusion(index, size, leaf, proof)
    if got != root:
        raise ProofError(f"inclusion proof leads to root {got.hex()}, expected {root.hex()}")


def verify_consistency(m: int, n: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2: fail unless the tree of size ``m`` is a prefix of size ``n``."""
    _check_hash(root1, "first root")
    _check_hash(root2, "second root")
    if m > n:
        raise ProofError(f"size {m} is larger than size {n}")
    if m == n:
        if proof:
            raise ProofError("consistency proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError("equal sizes with different roots")
        return
    if m == 0:
        if proof:
            raise ProofError("consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    for p in proof:
        _check_hash(p, "proof hash")
    path = list(proof)
    if m & (m - 1) == 0:  # m is a power of two: root1 is the first node
        path.insert(0, root1)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = hash_children(c, fr), hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = hash_children(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError(f"consistency proof gives first root {fr.hex()}, expected {root1.hex()}")
    if sr != root2:
        raise ProofError(f"consistency proof gives second root {sr.hex()}, expected {root2.hex()}")
