"""Fixtures for the imaging tests: repository root on sys.path, shared validation data.

The real-data fixtures are session-scoped: the 95 Weller scans are read and their features
extracted once per test session (2 processes), and all 4,465 pairs compared once, so every
acceptance test reuses them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DATA_DIR = REPO.parent / "shared" / "data" / "cartridge_scans"
WELLER_DIR = REPO.parent / "shared" / "data" / "weller_x3p"


def _need(path: Path, what: str) -> None:
    if not path.is_file():
        msg = f"{what} not found at {path.parent}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " (required in CI)")
        pytest.skip(msg)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``../shared/data/cartridge_scans``: fail in CI if missing, skip locally."""
    _need(DATA_DIR / "manifest.csv", "validation scans")
    return DATA_DIR


@pytest.fixture(scope="session")
def weller():
    """The Weller helpers (``benchmarks/imaging/weller.py``) once the data is there."""
    _need(WELLER_DIR / "manifest.csv", "Weller x3p scans")
    from benchmarks.imaging import weller as w

    return w


@pytest.fixture(scope="session")
def weller_features(weller) -> dict:
    """Features of the 95 Weller scans, read with ``read_x3p``, extracted afresh."""
    return weller.features(cache=False)


@pytest.fixture(scope="session")
def weller_scores(weller, weller_features):
    """``(pairs, results, scores, labels, sources)`` of all 4,465 pairs, ``compare(a, b)``."""
    pairs = weller.pairs()
    results = weller.score_pairs(weller_features, pairs)
    scores = np.array([r["score"] for r in results])
    labels = np.array([int(k) for *_, k in pairs])
    sources = [(a[:4], b[:4]) for a, b, _ in pairs]
    return pairs, results, scores, labels, sources
