"""Validation figures: real scans (processed and raw) and a 60 x 3 synthetic set.

Each test prints every figure. Targets from the issue that the current science does not reach
are separate ``xfail`` tests whose reason says why (see docs/imaging.md, "Validation").
"""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest

from ballistics.imaging import SignatureIndex, compare, extract_features, load_npz
from ballistics.imaging.synthetic import make_set


def _auc(km, knm) -> float:
    a, b = np.asarray(km, float)[:, None], np.asarray(knm, float)[None, :]
    return float(((a > b) + 0.5 * (a == b)).mean())


def _run_real(data_dir, raw: bool):
    with open(data_dir / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["firearm_id"] != "unknown"
                and r["scan_id"].endswith("_raw") == raw]
    feats = {r["scan_id"]: extract_features(load_npz(data_dir / r["file"])) for r in rows}
    out = []
    for a, b in itertools.combinations(rows, 2):
        if a["study"] != b["study"]:
            continue  # cross-study pairs differ trivially (make, scanner) and prove nothing
        res = compare(feats[a["scan_id"]], feats[b["scan_id"]])
        km = a["firearm_id"] == b["firearm_id"]
        out.append((a["scan_id"], b["scan_id"], km, res))
        print(f"{a['scan_id']:20s} {b['scan_id']:20s} {'KM ' if km else 'KNM'} "
              f"cmc {res.cmc_count:2d}/{res.n_cells:2d} rev {res.cmc_count_reverse:2d}/"
              f"{res.n_cells_reverse:2d} ccf {res.pairwise_ccf:5.2f} score {res.score:6.2f} "
              f"rot {res.rotation_deg:6.1f}")
    km = [r.score for *_, k, r in out if k]
    knm = [r.score for *_, k, r in out if not k]
    return out, km, knm


@pytest.fixture(scope="module")
def processed(data_dir):
    return _run_real(data_dir, raw=False)


@pytest.fixture(scope="module")
def raw(data_dir):
    return _run_real(data_dir, raw=True)


def _fadul(out):
    return next(r for a, b, _, r in out if {a, b} == {"fadul1-1_processed", "fadul1-2_processed"})


def test_real_processed(processed):
    out, km, knm = processed
    auc = _auc(km, knm)
    fad = _fadul(out)
    fadul = [r.score for a, b, _, r in out if a.startswith("fadul")]
    print(f"processed: {len(km)} KM, {len(knm)} KNM, AUC {auc:.3f}; fadul1-1/1-2 CMC "
          f"{fad.cmc_count} (reverse {fad.cmc_count_reverse}) of 64 cells")
    # Achieved bounds (the peer's figure is AUC 0.835): these guard against regressions.
    assert auc >= 0.83
    assert fad.score > max(s for s in fadul if s != fad.score)
    assert fad.cmc_count >= 15 and fad.cmc_count_reverse >= 15


@pytest.mark.xfail(strict=False, reason=(
    "K004fA3 (kit 4, 'barrel A') correlates with none of the kit-13/14 barrel-A scans at any "
    "rotation (whole-face correlation <= 0.20 over 0-360 deg, like non-matches; the other "
    "barrel-A pairs reach 0.22-0.41), while same-kit non-matches reach 7-10 cells; see "
    "docs/imaging.md"))
def test_real_processed_auc_is_one(processed):
    _, km, knm = processed
    assert _auc(km, knm) == 1.0


def test_real_processed_without_k004fa3(processed):
    """Every other known match outscores every known non-match."""
    out, _, _ = processed
    km = [r.score for a, b, k, r in out if k and "K004fA3" not in (a, b)]
    knm = [r.score for a, b, k, r in out if not k]
    print(f"processed without K004fA3 KM pairs: KM min {min(km):.2f}, KNM max {max(knm):.2f}")
    assert _auc(km, knm) == 1.0


@pytest.mark.xfail(strict=False, reason=(
    "with the global pre-alignment we find 21 congruent cells forward (19 reverse) of 24 cells "
    "with data at 25 µm, above the published 15-19 (cmcR at 6.25 µm); see docs/imaging.md"))
def test_fadul_cmc_in_published_range(processed):
    fad = _fadul(processed[0])
    assert 15 <= fad.cmc_count <= 19


def test_real_raw(raw):
    _, km, knm = raw
    auc = _auc(km, knm)
    print(f"raw (own preprocessing): {len(km)} KM, {len(knm)} KNM, AUC {auc:.3f}")
    assert auc >= 0.95


def test_synthetic_60x3():
    surfs = make_set(60, 3, seed=2024, difficulty="default", pixel_um=12.5)
    feats = [extract_features(s) for s in surfs]
    labels = np.repeat(np.arange(60), 3)
    rng = np.random.default_rng(7)
    km, knm = [], []
    for f in range(60):
        for i, j in itertools.combinations(range(3 * f, 3 * f + 3), 2):
            km.append(compare(feats[i], feats[j]).score)
    while len(knm) < 240:
        i, j = rng.choice(180, 2, replace=False)
        if labels[i] != labels[j]:
            knm.append(compare(feats[i], feats[j]).score)
    auc = _auc(km, knm)
    idx = SignatureIndex()
    idx.add(list(range(180)), np.stack([f.signature for f in feats]))
    top10 = top1 = 0
    for q in range(180):
        hits = [i for i, _ in idx.search(feats[q].signature, 11) if i != q][:10]
        top10 += any(labels[h] == labels[q] for h in hits)
        top1 += labels[hits[0]] == labels[q]
    print(f"synthetic 60x3 default: full-comparison AUC {auc:.4f} ({len(km)} KM, {len(knm)} KNM;"
          f" KM min {min(km):.1f}, KNM max {max(knm):.1f}); stage-1 top-1 {top1 / 180:.3f}, "
          f"top-10 {top10 / 180:.3f}")
    assert auc >= 0.99
    assert top10 / 180 >= 0.95
