"""Stage-1 search: rank a whole database by signature similarity.

Similarity is the rotation-consistent ``max_t sum_k Re(exp(i k t) <q_k, x_k>)`` of
:mod:`~ballistics.imaging.signature` (since cmc-2.0.0). The whole database is scanned for its
cheap upper bound ``sum_k |<q_k, x_k>|`` (the 1.x similarity); the ``max(shortlist * k, 1024)``
best rows by that bound are re-scored exactly. A row outside that shortlist could in principle
beat the k-th (its bound is no guarantee the other way); on real scans a mate's bound is high
too (Weller queries among 100,000 signatures: every mate found, see docs/imaging.md). Proving
exactness instead (re-scoring until no bound left out exceeds the k-th exact value) re-scored
65,536 rows per query on random vectors: 600 ms at 100,000 rows.

The index stores the signatures split by angular frequency: one contiguous
``(n, 2 * SIG_RINGS)`` matrix per k (real and imaginary parts of the ring coefficients), so the
scan is ``SIG_FREQS`` skinny matrix products ``X_k @ Q_k`` with two columns each (``Re`` and
``Im`` of ``<q_k, x_k>``), computed chunk by chunk while the rows are in cache.
``compressed=True`` stores int8 codes with a per-row scale plus one residual bit per value
(the sign of the rounding error; 292 bytes per signature instead of 1024). The int8 codes are
scanned (converted to float32 chunk by chunk); the re-scored rows are decoded with their
residual bit, which halves the quantisation error.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from ballistics.imaging.errors import ImagingError
from ballistics.imaging.signature import (
    SIG_FREQS,
    SIG_RINGS,
    SIGNATURE_LENGTH,
    rotation_similarity,
)

#: Column order of the stored matrix: block k = [Re F_k (rings), Im F_k (rings)].
_HALF = SIGNATURE_LENGTH // 2
_PERM = np.concatenate([
    np.r_[k * SIG_RINGS:(k + 1) * SIG_RINGS, _HALF + k * SIG_RINGS:_HALF + (k + 1) * SIG_RINGS]
    for k in range(SIG_FREQS)
])
_W = 2 * SIG_RINGS


def _query_blocks(q: np.ndarray) -> np.ndarray:
    """``(SIG_FREQS, 2 SIG_RINGS, 2)``: ``X_k @ Q[k]`` gives ``Re, Im <q_k, x_k>``."""
    q = np.asarray(q, dtype=np.float32).ravel()
    qr = q[:_HALF].reshape(SIG_FREQS, SIG_RINGS)
    qi = q[_HALF:].reshape(SIG_FREQS, SIG_RINGS)
    out = np.zeros((SIG_FREQS, _W, 2), np.float32)
    # <q, x> = sum conj(q) x: Re = qr.xr + qi.xi ; Im = qr.xi - qi.xr
    out[:, :SIG_RINGS, 0], out[:, SIG_RINGS:, 0] = qr, qi
    out[:, :SIG_RINGS, 1], out[:, SIG_RINGS:, 1] = -qi, qr
    return out


class SignatureIndex:
    """Exact (float32) or compressed (int8) in-memory index of signatures.

    Parameters
    ----------
    compressed : bool
        Store int8 codes (scale per row, one residual bit per value) instead of float32.
    chunk : int
        Rows scanned per block (bounds temporary memory; a block stays in cache).
    shortlist : int
        ``search(q, k)`` re-scores the ``max(shortlist * k, 1024)`` best rows by the upper
        bound exactly (with ``compressed``, decoded with their residual bits).
    """

    def __init__(self, *, compressed: bool = False, chunk: int = 8192,
                 shortlist: int = 16) -> None:
        self.compressed = compressed
        self.chunk = chunk
        self.shortlist = shortlist
        self._ids: list[Hashable] = []
        self._pending: list[np.ndarray] = []
        self._pending_scale: list[np.ndarray] = []
        self._pending_bits: list[np.ndarray] = []
        self._blocks: list[np.ndarray] = []  # SIG_FREQS matrices (n, 2 SIG_RINGS)
        self._scale = np.zeros(0, np.float32)
        self._bits = np.zeros((0, SIGNATURE_LENGTH // 8), np.uint8)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Sequence[Hashable], vectors: np.ndarray) -> None:
        """Add signatures (``len(ids) x SIGNATURE_LENGTH``)."""
        v = np.asarray(vectors, dtype=np.float32)
        if v.ndim == 1:
            v = v[None, :]
        if v.ndim != 2 or v.shape[1] != SIGNATURE_LENGTH or len(ids) != v.shape[0]:
            raise ImagingError(
                f"need {len(ids)} vectors of length {SIGNATURE_LENGTH}, got shape {v.shape}"
            )
        if not np.isfinite(v).all():
            raise ImagingError("signatures must be finite")
        v = v[:, _PERM]
        if self.compressed:
            scale = np.abs(v).max(axis=1) / 127.0 + 1e-12
            u = v / scale[:, None]
            code = np.round(u)
            self._pending.append(code.astype(np.int8))
            self._pending_scale.append(scale.astype(np.float32))
            self._pending_bits.append(np.packbits(u > code, axis=1))
        else:
            self._pending.append(v)
        self._ids.extend(ids)

    def _matrices(self) -> list[np.ndarray]:
        if self._pending:
            parts = self._pending
            new = np.concatenate(parts) if len(parts) > 1 else parts[0]
            blocks = [np.ascontiguousarray(new[:, k * _W:(k + 1) * _W])
                      for k in range(SIG_FREQS)]
            self._blocks = ([np.concatenate([old, b]) for old, b in zip(self._blocks, blocks,
                                                                        strict=True)]
                            if self._blocks else blocks)
            if self.compressed:
                self._scale = np.concatenate([self._scale, *self._pending_scale])
                self._bits = np.concatenate([self._bits, *self._pending_bits])
            self._pending, self._pending_scale, self._pending_bits = [], [], []
        return self._blocks

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored vectors (and scales)."""
        return int(sum(b.nbytes for b in self._matrices()) + self._scale.nbytes
                   + (self._bits.nbytes if self.compressed else 0))

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        """Upper bound ``sum_k |<q_k, x_k>|`` of the similarity to every stored signature.

        In insertion order; with ``compressed`` the int8-pass values (without residual bits).
        """
        q = _query_blocks(vector)
        blocks = self._matrices()
        n = len(self)
        out = np.empty(n, dtype=np.float32)
        c = min(self.chunk, n)
        buf = np.empty((c, _W), np.float32) if self.compressed else None
        prod = np.empty((SIG_FREQS, c, 2), np.float32)
        for s in range(0, n, self.chunk):
            e = min(s + self.chunk, n)
            p = prod[:, :e - s]
            for k in range(SIG_FREQS):
                x = blocks[k][s:e]
                if buf is not None:
                    x = buf[:e - s]
                    np.copyto(x, blocks[k][s:e], casting="unsafe")
                np.matmul(x, q[k], out=p[k])
            np.square(p, out=p)
            mag = np.sqrt(p[..., 0] + p[..., 1])
            acc = mag.sum(axis=0)
            if self.compressed:
                acc *= self._scale[s:e]
            out[s:e] = acc
        return out

    def _decoded(self, rows: np.ndarray) -> np.ndarray:
        """Stored rows as float32 blocks ``(m, SIG_FREQS, 2 SIG_RINGS)`` (residual bit used)."""
        blocks = self._matrices()
        dec = np.stack([b[rows] for b in blocks], axis=1).astype(np.float32, copy=False)
        if self.compressed:
            bits = np.unpackbits(self._bits[rows], axis=1)[:, :SIGNATURE_LENGTH]
            dec += np.where(bits, 0.25, -0.25).reshape(dec.shape).astype(np.float32)
            dec *= self._scale[rows][:, None, None]
        return dec

    def rescore(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact (rotation-consistent) similarities of ``vector`` to the stored ``rows``."""
        q = _query_blocks(vector)
        p = np.matmul(self._decoded(rows).transpose(1, 0, 2), q)  # (SIG_FREQS, m, 2)
        return rotation_similarity(np.concatenate([p[..., 0].T, p[..., 1].T], axis=1))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[Hashable, float]]:
        """The ``k`` most similar ``(id, similarity)``, best first."""
        if len(self) == 0 or k <= 0:
            return []
        bound = self.similarities(vector)
        n = bound.size
        k = min(k, n)
        m = min(n, max(self.shortlist * k, 1024))
        rows = np.argpartition(-bound, m - 1)[:m] if m < n else np.arange(n)
        exact = self.rescore(vector, rows)
        top = np.argpartition(-exact, k - 1)[:k]
        top = top[np.argsort(-exact[top], kind="stable")]
        return [(self._ids[rows[i]], float(exact[i])) for i in top]


# -- the same scan over stored blocks (memory-mapped segments, see segments.py) ---------------
#
# ``blocks`` is a ``(SIG_FREQS, n, 2 SIG_RINGS)`` array (one matrix per harmonic, the layout
# SignatureIndex builds). Scanning a set of row ranges for the bound, keeping the best
# ``shortlist_size(k, n)`` rows by it and re-scoring those exactly gives what
# ``SignatureIndex.search`` gives over the same rows, also when the rows are split into shards:
# each shard returns its own best rows by the bound with their exact values, and
# :func:`merge_shortlists` keeps the global best by the bound, then the top k by the exact value.


def shortlist_size(k: int, shortlist: int = 16) -> int:
    """Rows re-scored exactly for a top ``k`` (as ``SignatureIndex.search``)."""
    return max(shortlist * k, 1024)


def block_bounds(blocks: np.ndarray, vector: np.ndarray, start: int, stop: int,
                 chunk: int = 8192) -> np.ndarray:
    """Upper bounds ``sum_k |<q_k, x_k>|`` of rows ``start:stop`` (chunked; no copy)."""
    q = _query_blocks(vector)
    n = stop - start
    out = np.empty(n, dtype=np.float32)
    if n <= 0:
        return out
    c = min(chunk, n)
    prod = np.empty((SIG_FREQS, c, 2), np.float32)
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        p = prod[:, :e - s]
        for k in range(SIG_FREQS):
            np.matmul(blocks[k, start + s:start + e], q[k], out=p[k])
        np.square(p, out=p)
        mag = np.sqrt(p[..., 0] + p[..., 1])
        out[s:e] = mag.sum(axis=0)
    return out


def block_rescore(blocks: np.ndarray, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Exact (rotation-consistent) similarities of ``vector`` to the stored ``rows``."""
    q = _query_blocks(vector)
    dec = np.stack([blocks[k][rows] for k in range(SIG_FREQS)], axis=1)
    p = np.matmul(dec.transpose(1, 0, 2), q)
    return rotation_similarity(np.concatenate([p[..., 0].T, p[..., 1].T], axis=1))


def merge_shortlists(parts: Sequence[tuple[Hashable, float, float]], k: int,
                     shortlist: int = 16) -> list[tuple[Hashable, float]]:
    """The top ``k`` ``(id, exact)`` from shards' ``(id, bound, exact)`` shortlists.

    Keeps the ``shortlist_size(k)`` best by the bound over all parts (each shard sent at least
    its own that many), then ranks those by the exact value, best first. Duplicate ids (a row
    stored twice) count once.
    """
    seen: dict[Hashable, tuple[float, float]] = {}
    for rid, bound, exact in parts:
        seen.setdefault(rid, (float(bound), float(exact)))
    if not seen or k <= 0:
        return []
    ids = list(seen)
    bound = np.array([seen[i][0] for i in ids], np.float32)
    exact = np.array([seen[i][1] for i in ids], np.float32)
    n = len(ids)
    k = min(k, n)
    m = min(n, shortlist_size(k, shortlist))
    rows = np.argpartition(-bound, m - 1)[:m] if m < n else np.arange(n)
    ex = exact[rows]
    top = np.argpartition(-ex, k - 1)[:k]
    top = top[np.argsort(-ex[top], kind="stable")]
    return [(ids[rows[i]], float(ex[i])) for i in top]
