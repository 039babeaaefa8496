"""Properties of the Merkle code on many trees: exhaustive for small sizes, seeded random beyond.

Every generated inclusion and consistency proof verifies against the RFC's recursive root, and
any single flipped bit (in the proof, the leaf, either root) or any wrong index or size fails.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from ballistics.ledger import merkle

SMALL = 33  # every (index, size) and (old, new) pair up to this size: ~1,100 of each


def _leaves(n: int, salt: str = "") -> list[bytes]:
    return [merkle.leaf_hash(hashlib.sha256(f"{salt}{i}".encode()).digest()) for i in range(n)]


def _flip(value: bytes, bit: int) -> bytes:
    b = bytearray(value)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


LEAVES = _leaves(SMALL)
TREE = merkle.MemoryTree(LEAVES)
ROOTS = [merkle.root_from_leaf_hashes(LEAVES[:n]) for n in range(SMALL + 1)]


def test_incremental_roots_equal_the_recursive_definition():
    edge = merkle.CompactRange()
    for n, leaf in enumerate(LEAVES, start=1):
        edge.append(leaf)
        assert edge.root() == ROOTS[n]
        assert len(edge.hashes) == n.bit_count()
    assert [TREE.root(n) for n in range(SMALL + 1)] == ROOTS


def _ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), written as the RFC's recursion."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*_ref_path(m, leaves[:k]), merkle.root_from_leaf_hashes(leaves[k:])]
    return [*_ref_path(m - k, leaves[k:]), merkle.root_from_leaf_hashes(leaves[:k])]


def _ref_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b), written as the RFC's recursion."""
    n = len(leaves)
    if m == n:
        return [] if b else [merkle.root_from_leaf_hashes(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*_ref_subproof(m, leaves[:k], b), merkle.root_from_leaf_hashes(leaves[k:])]
    return [*_ref_subproof(m - k, leaves[k:], False), merkle.root_from_leaf_hashes(leaves[:k])]


def test_generated_proofs_equal_the_rfc_recursion():
    for n in range(1, SMALL + 1):
        for m in range(n):
            assert TREE.inclusion_proof(m, n) == _ref_path(m, LEAVES[:n])
        for m in range(1, n + 1):
            assert TREE.consistency_proof(m, n) == _ref_subproof(m, LEAVES[:n], True)


def test_every_inclusion_proof_verifies_and_rejects_the_wrong_position():
    for size in range(1, SMALL + 1):
        for index in range(size):
            proof = TREE.inclusion_proof(index, size)
            merkle.verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])
            assert len(proof) <= (size - 1).bit_length()
            other = (index + 1) % size
            if other != index:
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion(LEAVES[index], other, size, proof, ROOTS[size])
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion(LEAVES[other], index, size, proof, ROOTS[size])


def test_every_consistency_proof_verifies_and_rejects_other_sizes():
    for new in range(1, SMALL + 1):
        for old in range(1, new + 1):
            proof = TREE.consistency_proof(old, new)
            merkle.verify_consistency(old, new, proof, ROOTS[old], ROOTS[new])
            if old < new:
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(old, new, proof, ROOTS[old - 1] if old > 1
                                              else ROOTS[2], ROOTS[new])
                if old + 1 < new:
                    with pytest.raises(merkle.ProofError):
                        merkle.verify_consistency(old + 1, new, proof, ROOTS[old + 1],
                                                  ROOTS[new])


def test_any_flipped_bit_fails_inclusion():
    rng = random.Random(9162)
    for size in (1, 2, 3, 5, 8, 13, 21, 32, 33):
        index = rng.randrange(size)
        proof = TREE.inclusion_proof(index, size)
        leaf, root = LEAVES[index], ROOTS[size]
        for bit in range(256):
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(_flip(leaf, bit), index, size, proof, root)
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(leaf, index, size, proof, _flip(root, bit))
            for k in range(len(proof)):
                bad = list(proof)
                bad[k] = _flip(bad[k], bit)
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion(leaf, index, size, bad, root)


def test_any_flipped_bit_fails_consistency():
    for old, new in ((1, 2), (2, 3), (3, 7), (4, 8), (5, 33), (16, 17), (31, 32)):
        proof = TREE.consistency_proof(old, new)
        r1, r2 = ROOTS[old], ROOTS[new]
        for bit in range(256):
            with pytest.raises(merkle.ProofError):
                merkle.verify_consistency(old, new, proof, _flip(r1, bit), r2)
            with pytest.raises(merkle.ProofError):
                merkle.verify_consistency(old, new, proof, r1, _flip(r2, bit))
            for k in range(len(proof)):
                bad = list(proof)
                bad[k] = _flip(bad[k], bit)
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(old, new, bad, r1, r2)


def test_truncated_or_padded_proofs_fail():
    for old, new in ((3, 7), (6, 13), (1, 33)):
        proof = TREE.consistency_proof(old, new)
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, new, proof[:-1], ROOTS[old], ROOTS[new])
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, new, [*proof, proof[-1]], ROOTS[old], ROOTS[new])
    proof = TREE.inclusion_proof(5, 13)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(LEAVES[5], 5, 13, proof[:-1], ROOTS[13])
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(LEAVES[5], 5, 13, [*proof, ROOTS[13]], ROOTS[13])


def test_a_rewritten_history_is_not_an_extension():
    # The tamper case the ledger exists for: change one old leaf and recompute everything.
    rewritten = list(LEAVES)
    rewritten[4] = merkle.leaf_hash(b"altered custody event")
    forged = merkle.MemoryTree(rewritten)
    for old in (5, 8, 20):
        proof = forged.consistency_proof(old, SMALL)
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, SMALL, proof, ROOTS[old], forged.root())
    # Before the altered leaf the histories agree, so a checkpoint of size 4 is still extended.
    merkle.verify_consistency(4, SMALL, forged.consistency_proof(4, SMALL), ROOTS[4],
                              forged.root())


def test_random_large_trees_through_callbacks():
    rng = random.Random(6962)
    for n in (1000, 1023, 1024, 1025, 4097):
        leaves = _leaves(n, salt=f"{n}/")
        tree = merkle.MemoryTree(leaves)
        assert tree.root() == merkle.root_from_leaf_hashes(leaves)
        calls: list[tuple[int, int]] = []

        def subtree(start, end, tree=tree, calls=calls):
            calls.append((start, end))
            return tree.subtree(start, end)

        for _ in range(20):
            size = rng.randint(1, n)
            index = rng.randrange(size)
            proof = merkle.inclusion_proof(index, size, subtree)
            merkle.verify_inclusion(leaves[index], index, size, proof, tree.root(size))
            old = rng.randint(1, size)
            proof = merkle.consistency_proof(old, size, subtree)
            merkle.verify_consistency(old, size, proof, tree.root(old), tree.root(size))
        # A proof asks the store for O(log n) subtrees, never for the leaves one by one.
        assert max(e - s for s, e in calls) > 1
        assert len(calls) <= 40 * (n.bit_length() + 1)


def test_compact_range_resumes_from_stored_state():
    edge = merkle.CompactRange()
    edge.extend(LEAVES[:11])
    stored = (edge.size, list(edge.hashes))
    resumed = merkle.CompactRange(*stored)
    resumed.extend(LEAVES[11:])
    assert resumed.root() == ROOTS[SMALL]
    with pytest.raises(ValueError, match="holds"):
        merkle.CompactRange(11, stored[1][:-1])


def test_parameters_out_of_range_are_refused():
    with pytest.raises(ValueError):
        TREE.inclusion_proof(5, 5)
    with pytest.raises(ValueError):
        TREE.consistency_proof(0, 5)
    with pytest.raises(ValueError):
        TREE.consistency_proof(6, 5)
    with pytest.raises(ValueError):
        TREE.root(SMALL + 1)
    with pytest.raises(ValueError, match="aligned"):
        merkle.range_hash(1, 3, TREE.node)
    with pytest.raises(merkle.ProofError, match="bytes"):
        merkle.verify_inclusion(b"short", 0, 1, [], ROOTS[1])
