"""The Weller et al. (2012) x3p set: scans, labels, cached features and all-pairs scoring.

Read through the project's own x3p reader (``read_x3p``), as a lab would upload them. Features
are cached per algorithm version under ``$BALLISTICS_CACHE`` (default: the system temp dir), never
in the repository.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import os
import tempfile
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy import ndimage

from ballistics import imaging

REPO = Path(__file__).resolve().parents[2]
WELLER = REPO.parent / "shared" / "data" / "weller_x3p"


def rows() -> list[dict]:
    """Manifest rows (scan_id, file, firearm_id, firing, ...), in file order."""
    with open(WELLER / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def cache_dir(module=imaging) -> Path:
    base = Path(os.environ.get("BALLISTICS_CACHE", tempfile.gettempdir()))
    d = base / "ballistics-features" / module.ALGORITHM_VERSION
    d.mkdir(parents=True, exist_ok=True)
    return d


def _one(args: tuple[str, str]) -> tuple[str, bytes]:
    scan_id, path = args
    return scan_id, imaging.features_to_bytes(imaging.extract_features(imaging.read_x3p(path)))


def features(rs: list[dict] | None = None, workers: int = 2,
             cache: bool = True) -> dict[str, imaging.Features]:
    """Features of every scan, extracted over ``workers`` processes.

    With ``cache`` they are kept on disk by file digest and algorithm version (for the
    benchmark scripts; the tests extract afresh once per session).
    """
    rs = rs if rs is not None else rows()
    out: dict[str, imaging.Features] = {}
    todo = []
    d = cache_dir()
    for r in rs:
        path = WELLER / r["file"]
        key = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        cf = d / f"{r['scan_id']}-{key}.npz"
        if cache and cf.is_file():
            out[r["scan_id"]] = imaging.features_from_bytes(cf.read_bytes())
        else:
            todo.append((r["scan_id"], str(path), cf))
    if todo:
        with ProcessPoolExecutor(workers) as ex:
            for (sid, _, cf), (_, data) in zip(todo, ex.map(_one, [t[:2] for t in todo]),
                                                strict=True):
                if cache:
                    cf.write_bytes(data)
                out[sid] = imaging.features_from_bytes(data)
    return out


def pairs(rs: list[dict] | None = None) -> list[tuple[str, str, bool]]:
    """All 4,465 pairs (a, b, known match), a before b in manifest order."""
    rs = rs if rs is not None else rows()
    return [(a["scan_id"], b["scan_id"], a["firearm_id"] == b["firearm_id"])
            for a, b in itertools.combinations(rs, 2)]


_FEATS: dict = {}


def _init(feats: dict) -> None:
    _FEATS.update(feats)


def _score(pair: tuple[str, str]) -> dict:
    a, b = pair
    return imaging.compare(_FEATS[a], _FEATS[b]).to_dict()


def score_pairs(feats: dict, ps: list[tuple[str, str, bool]], workers: int = 2,
                fn: Callable | None = None) -> list[dict]:
    """``compare(a, b).to_dict()`` for every pair, over ``workers`` processes."""
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(feats,)) as ex:
        return list(ex.map(fn or _score, [(a, b) for a, b, _ in ps], chunksize=16))


def rotated_with_nan_corners(h: np.ndarray, angle: float) -> np.ndarray:
    """The height map as it would be stored rotated by ``angle`` degrees (empty NaN corners)."""
    m = np.isfinite(h)
    hv = ndimage.rotate(np.where(m, h, 0), angle, order=1, reshape=True, cval=0.0)
    mv = ndimage.rotate(m.astype(float), angle, order=1, reshape=True, cval=0.0) > 0.999
    return np.where(mv, hv, np.nan)


def with_increment_in_um(scan_id: str = "TW01-01") -> bytes:
    """The scan's x3p file rewritten as some TopMatch/CSAFE exports write it: the 6.25 µm
    increments stored as ``6.25`` (µm) where ISO 25178-72 wants metres (``6.25e-06``)."""
    with zipfile.ZipFile(WELLER / f"{scan_id}.x3p") as z:
        members = {n: z.read(n) for n in z.namelist()}
    old = b"<Increment>6.25e-06</Increment>"
    if old not in members["main.xml"]:
        raise ValueError(f"{scan_id}.x3p does not store its increments as {old.decode()}")
    members["main.xml"] = members["main.xml"].replace(old, b"<Increment>6.25</Increment>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, v in members.items():
            z.writestr(n, v)
    return buf.getvalue()
