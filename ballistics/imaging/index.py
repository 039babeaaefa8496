"""Stage-1 search: rank a whole database by signature similarity.

Similarity is the rotation-invariant ``sum_k |<q_k, x_k>|`` of
:mod:`~ballistics.imaging.signature`, computed for all rows as one matrix product with
``2 * SIG_FREQS`` columns (BLAS), so a query costs about one pass over the stored matrix.
``compressed=True`` stores int8 codes with a per-row scale (260 bytes per signature instead of
1024) and scans them in chunks.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from ballistics.imaging.errors import ImagingError
from ballistics.imaging.signature import SIGNATURE_LENGTH, query_matrix, similarity_from_products


class SignatureIndex:
    """Exact (float32) or compressed (int8) in-memory index of signatures.

    Parameters
    ----------
    compressed : bool
        Store int8 codes (scale per row) instead of float32.
    chunk : int
        Rows scanned per block (bounds temporary memory).
    """

    def __init__(self, *, compressed: bool = False, chunk: int = 65536) -> None:
        self.compressed = compressed
        self.chunk = chunk
        self._ids: list[Hashable] = []
        self._blocks: list[np.ndarray] = []
        self._scales: list[np.ndarray] = []
        self._data: np.ndarray | None = None
        self._scale: np.ndarray | None = None

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
        if self.compressed:
            scale = np.abs(v).max(axis=1) / 127.0 + 1e-12
            self._blocks.append(np.round(v / scale[:, None]).astype(np.int8))
            self._scales.append(scale.astype(np.float32))
        else:
            self._blocks.append(v)
        self._ids.extend(ids)
        self._data = None

    def _matrix(self) -> np.ndarray:
        if self._data is None:
            self._data = np.concatenate(self._blocks) if self._blocks else np.zeros(
                (0, SIGNATURE_LENGTH), np.int8 if self.compressed else np.float32)
            self._blocks = [self._data]
            if self.compressed:
                self._scale = np.concatenate(self._scales) if self._scales else np.zeros(0)
                self._scales = [self._scale]
        return self._data

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored vectors (and scales)."""
        m = self._matrix()
        return int(m.nbytes + (self._scale.nbytes if self._scale is not None else 0))

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        """Similarity of ``vector`` to every stored signature, in insertion order."""
        q = query_matrix(vector)
        m = self._matrix()
        out = np.empty(m.shape[0], dtype=np.float32)
        for s in range(0, m.shape[0], self.chunk):
            block = m[s:s + self.chunk]
            if self.compressed:
                prod = (block.astype(np.float32) @ q) * self._scale[s:s + self.chunk, None]
            else:
                prod = block @ q
            out[s:s + self.chunk] = similarity_from_products(prod)
        return out

    def search(self, vector: np.ndarray, k: int) -> list[tuple[Hashable, float]]:
        """The ``k`` most similar ``(id, similarity)``, best first."""
        if len(self) == 0 or k <= 0:
            return []
        sims = self.similarities(vector)
        k = min(k, sims.size)
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self._ids[i], float(sims[i])) for i in top]
