"""Merkle trees as RFC 9162 (Certificate Transparency 2.0), Section 2.1, defines them.

Pure functions over SHA-256 digests: no Flask, no database. Leaves are hashed as
``SHA-256(0x00 || data)`` and interior nodes as ``SHA-256(0x01 || left || right)``; the tree over
``n`` leaves splits at the largest power of two smaller than ``n`` (RFC 9162 §2.1.1), which is
also the tree of RFC 6962 and of every C2SP ``tlog-*`` specification.

Proof *generation* needs only a way to obtain the hash of the subtrees the RFC's recursion
visits: pass a ``SubtreeHash`` callback (``subtree(start, end) -> MTH(D[start:end])``) so a
database-backed log can answer from the node hashes it stored, without loading every leaf.
Every range the recursion asks for is either a perfect subtree or a right-edge subtree whose
``start`` is a multiple of the next power of two at or above its width; ``range_hash`` folds such
a range from perfect-node hashes, so a store only needs ``node(level, index)``.

Proof *verification* follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by
step, with the edge cases the RFC leaves to the caller made explicit (see each function).

``CompactRange`` holds the right edge of the tree (one hash per set bit of the size), so a
sealer appends leaves and obtains the new root in O(log n) without re-reading old leaves; it also
reports each perfect node it completes, which is exactly what a store needs to keep.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
#: MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: ``subtree(start, end)`` returns MTH(D[start:end]) for 0 <= start < end.
SubtreeHash = Callable[[int, int], bytes]
#: ``node(level, index)`` returns the hash of the perfect subtree over
#: leaves [index * 2**level, (index + 1) * 2**level).
NodeHash = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof does not verify, or its parameters are impossible; the message says why."""


def leaf_hash(data: bytes) -> bytes:
    """MTH of a one-leaf tree: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by the RFC's recursive definition: the reference the faster paths are tested
    against."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root_from_leaf_hashes(leaf_hashes[:k]),
                     root_from_leaf_hashes(leaf_hashes[k:]))


def range_hash(start: int, end: int, node: NodeHash) -> bytes:
    """MTH(D[start:end]) for a range the RFC recursion can visit, from perfect-node hashes.

    Such a range is perfect, or it is a right edge: ``start`` is a multiple of the power of two
    at or above ``end - start``. Its hash folds the perfect subtrees of its binary decomposition
    (largest first) from the right, exactly as the recursion would. Any range whose
    decomposition is aligned works (``[0, m)`` for an old tree size, for instance).
    """
    width = end - start
    if width <= 0:
        raise ValueError(f"empty or inverted range [{start}, {end})")
    parts = []
    pos = start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            if pos % (1 << level):
                raise ValueError(f"[{start}, {end}) does not split into aligned perfect subtrees")
            parts.append(node(level, pos >> level))
            pos += 1 << level
    acc = parts[-1]
    for h in reversed(parts[:-1]):
        acc = node_hash(h, acc)
    return acc


def subtree_from_leaves(leaf_hashes: Sequence[bytes]) -> SubtreeHash:
    """A ``SubtreeHash`` over an in-memory list (recomputes; fine for small trees and tests)."""
    return lambda start, end: root_from_leaf_hashes(leaf_hashes[start:end])


# -- proof generation (RFC 9162 §2.1.3.1 and §2.1.4.1) -----------------------------------------


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """PATH(m, D[n]) for leaf ``index`` in the tree of ``size`` leaves, leaf-side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    # Walk down from the root; the sibling found at each split is appended, then reversed so the
    # proof lists the leaf's sibling first, as the RFC's recursion returns it.
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, subtree: SubtreeHash) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true): from the tree of ``old_size`` leaves to the tree
    of ``new_size`` leaves. Empty when the sizes are equal; ``old_size`` must be positive (the
    empty tree is consistent with every tree and needs no proof)."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    proof: list[bytes] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    while m != hi - lo:
        n = hi - lo
        k = _split(n)
        if m <= k:
            proof.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree(lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        proof.append(subtree(lo, hi))
    proof.reverse()
    return proof


# -- proof verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ---------------------------------------


def _check_hashes(what: str, hashes: Iterable[bytes]) -> None:
    for i, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            raise ProofError(f"{what}[{i}] is {len(h)} bytes, a SHA-256 hash is {HASH_SIZE}")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> None:
    """Check that ``leaf`` (a leaf *hash*) is entry ``index`` of the tree of ``size`` leaves with
    root ``root``; raise ``ProofError`` naming why not.

    RFC 9162 §2.1.3.2, steps 1-5. The RFC assumes well-formed hashes; a leaf hash or proof
    element that is not 32 bytes is refused first.
    """
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"the leaf hash is {len(leaf)} bytes, a SHA-256 hash is {HASH_SIZE}")
    _check_hashes("proof", proof)
    # 1. leaf_index >= tree_size fails.
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size} leaves")
    # 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    fn, sn, r = index, size - 1, leaf
    # 4. For each p in inclusion_path:
    for p in proof:
        if sn == 0:  # 4a
            raise ProofError("the proof is longer than the path to the root")
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            while fn and not fn & 1:  # only when LSB(fn) was not set
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    # 5. sn must be 0 and r must equal the root.
    if sn != 0:
        raise ProofError("the proof is shorter than the path to the root")
    if r != root:
        raise ProofError("the proof leads to a different root hash")


def verify_consistency(old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes,
                       new_root: bytes) -> None:
    """Check that the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``);
    raise ``ProofError`` naming why not.

    RFC 9162 §2.1.4.2 covers 0 < old_size < new_size, steps 1-7. Around it: equal sizes need
    an empty proof and equal roots; an old size of 0 is refused, because the empty tree is
    consistent with every tree and a "proof" from it proves nothing (callers such as a witness
    handle that case themselves); a proof element that is not 32 bytes is refused.
    """
    _check_hashes("proof", proof)
    if old_size < 0 or new_size < old_size:
        raise ProofError(f"size {new_size} cannot extend size {old_size}")
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if old_size == new_size:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if old_root != new_root:
            raise ProofError("equal sizes but different root hashes")
        return
    # 1. An empty consistency_path fails.
    if not proof:
        raise ProofError("the proof is empty")
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. If LSB(fn) is set, right-shift fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = the first value of the path.
    fr = sr = path[0]
    # 6. For each subsequent value c:
    for c in path[1:]:
        if sn == 0:  # 6a
            raise ProofError("the proof is longer than the path to the root")
        if fn & 1 or fn == sn:  # 6b
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:  # only when LSB(fn) was not set
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    # 7. fr == first_hash, sr == second_hash and sn == 0.
    if sn != 0:
        raise ProofError("the proof is shorter than the path to the root")
    if fr != old_root:
        raise ProofError(f"the proof does not lead to the old root hash (size {old_size})")
    if sr != new_root:
        raise ProofError(f"the proof does not lead to the new root hash (size {new_size})")


# -- incremental tree --------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A perfect subtree: leaves [index * 2**level, (index + 1) * 2**level)."""

    level: int
    index: int
    hash: bytes


@dataclass
class CompactRange:
    """The right edge of a tree of ``size`` leaves: the roots of the perfect subtrees of its
    binary decomposition, largest (leftmost) first -- one per set bit of ``size``.

    Appending a leaf merges equal-sized subtrees, as carrying in binary addition does, so a
    sealer keeps O(log n) hashes between runs (store ``size`` and ``hashes``) and never re-reads
    old leaves. ``append`` returns the perfect nodes it completed (the leaf itself included),
    which a store keeps to answer ``NodeHash`` for proofs later.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.hashes) != self.size.bit_count():
            raise ValueError(f"a compact range of size {self.size} holds "
                             f"{self.size.bit_count()} hashes, not {len(self.hashes)}")
        _check_hashes("compact range", self.hashes)

    def append(self, leaf: bytes) -> list[Node]:
        """Add one leaf *hash*; return the perfect nodes this completes, lowest first."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, not {len(leaf)}")
        created = [Node(0, self.size, leaf)]
        acc, level, index = leaf, 0, self.size
        # Each trailing 1-bit of the old size is a subtree of the same height to merge with.
        while self.size >> level & 1:
            acc = node_hash(self.hashes.pop(), acc)
            level += 1
            index >>= 1
            created.append(Node(level, index, acc))
        self.hashes.append(acc)
        self.size += 1
        return created

    def extend(self, leaves: Iterable[bytes]) -> list[Node]:
        created: list[Node] = []
        for leaf in leaves:
            created.extend(self.append(leaf))
        return created

    def root(self) -> bytes:
        """MTH of the whole tree, folding the right edge from the smallest subtree."""
        if not self.hashes:
            return EMPTY_ROOT
        acc = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            acc = node_hash(h, acc)
        return acc

    def copy(self) -> CompactRange:
        return CompactRange(self.size, list(self.hashes))


class MemoryTree:
    """A whole tree in memory: every perfect node kept, proofs answered in O(log n) lookups.

    The model a database-backed log follows (one row per ``Node``); used by tests and by
    anything small enough to hold in memory.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._edge = CompactRange()
        self._nodes: dict[tuple[int, int], bytes] = {}
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        return self._edge.size

    def append(self, leaf: bytes) -> None:
        for node in self._edge.append(leaf):
            self._nodes[node.level, node.index] = node.hash

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def node(self, level: int, index: int) -> bytes:
        return self._nodes[level, index]

    def subtree(self, start: int, end: int) -> bytes:
        return range_hash(start, end, self.node)

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"no tree of size {size} in a log of {self.size} leaves")
        return EMPTY_ROOT if size == 0 else self.subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.subtree)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof(old_size, self.size if new_size is None else new_size,
                                 self.subtree)
