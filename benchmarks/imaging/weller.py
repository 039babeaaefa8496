"""The Weller et al. (2012) x3p set: scans, labels, cached features and all-pairs scoring.

Read through the project's own x3p reader (``read_x3p``), as a lab would upload them. Features
are cached per algorithm version under ``$BALLISTICS_CACHE`` (default: the system temp dir), never
in the repository.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

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
