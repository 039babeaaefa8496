"""Reading a lab's Merkle tree from the database: roots and RFC 9162 proofs from the stored
perfect-node hashes (``ledger_leaves`` for level 0, ``ledger_nodes`` above).

A proof needs O(log n) node hashes. ``merkle`` asks for them through a callback; here the
computation runs twice: once with a callback that only records which nodes it wants, then with
those nodes fetched in two queries. No leaf is re-read and nothing is recomputed from leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ballistics.ledger import merkle
from ballistics.ledger.bulk import chunks
from ballistics.ledger.models import LedgerLeaf, LedgerNode

T = TypeVar("T")
_PLACEHOLDER = bytes(32)


class MissingNode(LookupError):
    """A node the tree should hold is not stored (the log was damaged or truncated)."""


class StoredTree:
    """The tree of one lab's log as stored; ``size`` is the log's sealed size."""

    def __init__(self, session: Session, lab_id: int, size: int) -> None:
        self.session, self.lab_id, self.size = session, lab_id, size

    def _fetch(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        keys = set(keys)
        out: dict[tuple[int, int], bytes] = {}
        leaves = sorted(index for level, index in keys if level == 0)
        inner = sorted((level, index) for level, index in keys if level > 0)
        for chunk in chunks(leaves, 500):
            for position, h in self.session.execute(
                    select(LedgerLeaf.position, LedgerLeaf.leaf_hash)
                    .where(LedgerLeaf.lab_id == self.lab_id, LedgerLeaf.position.in_(chunk))):
                out[0, position] = h
        for chunk in chunks(inner, 500):
            for level, index, h in self.session.execute(
                    select(LedgerNode.level, LedgerNode.index, LedgerNode.hash)
                    .where(LedgerNode.lab_id == self.lab_id,
                           tuple_(LedgerNode.level, LedgerNode.index).in_(chunk))):
                out[level, index] = h
        missing = keys - out.keys()
        if missing:
            level, index = min(missing)
            raise MissingNode(f"the log of lab {self.lab_id} lacks node ({level}, {index})")
        return out

    def _run(self, compute: Callable[[merkle.SubtreeHash], T]) -> T:
        wanted: set[tuple[int, int]] = set()

        def record(level: int, index: int) -> bytes:
            wanted.add((level, index))
            return _PLACEHOLDER

        compute(lambda start, end: merkle.range_hash(start, end, record))
        nodes = self._fetch(wanted)
        return compute(lambda start, end: merkle.range_hash(
            start, end, lambda level, index: nodes[level, index]))

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ValueError(f"no tree of size {size} in a log of {self.size} leaves")

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        self._check_size(size)
        if size == 0:
            return merkle.EMPTY_ROOT
        return self._run(lambda subtree: subtree(0, size))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        self._check_size(size)
        return self._run(lambda subtree: merkle.inclusion_proof(index, size, subtree))

    def inclusion_proofs(self, indexes: Iterable[int], size: int) -> dict[int, list[bytes]]:
        """Proofs for several leaves against one tree size, with one round of fetches."""
        self._check_size(size)
        indexes = sorted(set(indexes))
        return self._run(lambda subtree: {i: merkle.inclusion_proof(i, size, subtree)
                                          for i in indexes})

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        self._check_size(new_size)
        if old_size == 0:
            return []
        return self._run(lambda subtree: merkle.consistency_proof(old_size, new_size, subtree))
