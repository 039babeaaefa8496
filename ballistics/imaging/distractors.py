"""Realistic stage-1 distractors: real surfaces of other firearms mirrored, rotated, occluded.

A search index in casework holds many scans of other firearms of the same make and calibre.
To test that a query's true mate stays near the top of the signature ranking among many of
them, the validation makes distractors from processed surfaces (real scans of *other* firearms,
or synthetic scans):

- **mirrored** (a mirror image is a plausible breech face with the same texture statistics, but a
  different surface: it must not be taken for its original);
- **rotated** by an arbitrary angle (the processed grid is resampled, so the corners and the
  interpolation differ, as between two scans of one case);
- optionally **occluded**: a random sector of the breech face removed (partial contact or
  drop-outs, common on real scans).

Every distractor's signature is computed from the transformed surface by the same code as a
real scan's (:func:`~ballistics.imaging.signature.compute_signature`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ballistics.imaging.features import Features
from ballistics.imaging.registration import rotate
from ballistics.imaging.signature import compute_signature


def transformed(f: Features, *, mirror: bool = False, rotation_deg: float = 0.0,
                occlude: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Heights and mask of ``f`` mirrored (left-right), rotated and with a sector removed.

    ``occlude = (start_deg, width_deg)`` removes that angular sector about the aperture centre.
    """
    h, m = f.heights.astype(np.float32), f.mask.astype(bool)
    if mirror:
        h, m = h[:, ::-1].copy(), m[:, ::-1].copy()
    if rotation_deg % 360:
        h, m = rotate(h, m, rotation_deg)
    if occlude is not None:
        ny, nx = m.shape
        yy, xx = np.mgrid[0:ny, 0:nx]
        phi = np.degrees(np.arctan2(yy - (ny - 1) / 2, xx - (nx - 1) / 2)) % 360
        m = m & ~(((phi - occlude[0]) % 360) < occlude[1])
        h = np.where(m, h, 0).astype(np.float32)
    return h, m


def distractor_signatures(features: Iterable[Features], per_scan: int, seed: int = 0,
                          mirror_fraction: float = 0.5,
                          occlude_fraction: float = 0.5) -> np.ndarray:
    """``per_scan`` transformed signatures of every scan (``(n * per_scan, L)`` float32).

    Each variant is mirrored with probability ``mirror_fraction``, rotated by a uniform random
    angle and, with probability ``occlude_fraction``, loses a random sector of 30-90 degrees.
    """
    rng = np.random.default_rng(seed)
    out = []
    for f in features:
        for _ in range(per_scan):
            occ = ((float(rng.uniform(0, 360)), float(rng.uniform(30, 90)))
                   if rng.random() < occlude_fraction else None)
            h, m = transformed(f, mirror=bool(rng.random() < mirror_fraction),
                               rotation_deg=float(rng.uniform(0, 360)), occlude=occ)
            out.append(compute_signature(h, m, f.pixel_um))
    return np.asarray(out, dtype=np.float32)
