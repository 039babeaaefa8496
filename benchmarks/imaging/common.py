"""Helpers shared by the imaging benchmark scripts (real-scan pairs, synthetic sets)."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np

from ballistics.imaging import extract_features, load_npz
from ballistics.imaging.synthetic import make_set

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "cartridge_scans"


def real_rows(raw: bool) -> list[dict]:
    """Labelled manifest rows: processed scans, or the ``_raw`` ones."""
    with open(DATA / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["firearm_id"] != "unknown"]
    return [r for r in rows if r["scan_id"].endswith("_raw") == raw]


def real_pairs(rows: list[dict]):
    """Pairs within a study: (row_a, row_b, is_known_match)."""
    for a, b in itertools.combinations(rows, 2):
        if a["study"] == b["study"]:
            yield a, b, a["firearm_id"] == b["firearm_id"]


def real_features(rows: list[dict]) -> dict:
    return {r["scan_id"]: extract_features(load_npz(DATA / r["file"])) for r in rows}


def synthetic_features(n_firearms: int, n_firings: int, seed: int, difficulty: str,
                       pixel_um: float = 12.5):
    surfs = make_set(n_firearms, n_firings, seed=seed, difficulty=difficulty, pixel_um=pixel_um)
    feats = [extract_features(s) for s in surfs]
    labels = np.repeat(np.arange(n_firearms), n_firings)
    return feats, labels


def auc(km: list[float], knm: list[float]) -> float:
    """Mann-Whitney ROC AUC (ties count one half)."""
    a, b = np.asarray(km)[:, None], np.asarray(knm)[None, :]
    return float(((a > b) + 0.5 * (a == b)).mean())
