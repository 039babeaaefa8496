"""Accuracy report: ROC AUC, top-1 / top-10, CMC score distributions; saves a PNG.

Synthetic sets of rising difficulty (N firearms x 3 firings; all KM pairs, 4 KNM pairs per
scan) and the labelled real scans (processed, and raw with our preprocessing).
Run: PYTHONPATH=. python benchmarks/imaging/bench_accuracy.py [n_firearms] [out.png]
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from common import (
    auc,
    real_features,
    real_pairs,
    real_rows,
    synthetic_features,
)

from ballistics.imaging import SignatureIndex, compare


def synthetic_report(n_fa: int, difficulty: str):
    feats, labels = synthetic_features(n_fa, 3, seed=31337, difficulty=difficulty)
    n = len(feats)
    km, knm = [], []
    cmc_km, cmc_knm = [], []
    for i, j in itertools.combinations(range(n), 2):
        if labels[i] == labels[j]:
            r = compare(feats[i], feats[j])
            km.append(r.score)
            cmc_km.append(r.cmc_count)
    rng = np.random.default_rng(1)
    while len(knm) < 4 * n:
        i, j = rng.choice(n, 2, replace=False)
        if labels[i] != labels[j]:
            r = compare(feats[i], feats[j])
            knm.append(r.score)
            cmc_knm.append(r.cmc_count)
    idx = SignatureIndex()
    idx.add(list(range(n)), np.stack([f.signature for f in feats]))
    t1 = t10 = 0
    for q in range(n):
        hits = [i for i, _ in idx.search(feats[q].signature, 11) if i != q][:10]
        t1 += labels[hits[0]] == labels[q]
        t10 += any(labels[h] == labels[q] for h in hits)
    print(f"synthetic {difficulty:8s} {n_fa}x3: AUC {auc(km, knm):.4f}; CMC KM median "
          f"{np.median(cmc_km):.0f} (min {min(cmc_km)}), KNM median {np.median(cmc_knm):.0f} "
          f"(max {max(cmc_knm)}); stage-1 top-1 {t1 / n:.3f} top-10 {t10 / n:.3f}")
    return km, knm


def real_report(raw: bool):
    rows = real_rows(raw)
    feats = real_features(rows)
    km, knm = [], []
    for a, b, is_km in real_pairs(rows):
        (km if is_km else knm).append(compare(feats[a["scan_id"]], feats[b["scan_id"]]).score)
    print(f"real {'raw' if raw else 'processed'}: {len(km)} KM, {len(knm)} KNM, AUC "
          f"{auc(km, knm):.3f}; KM scores {sorted(np.round(km, 1))}; KNM max {max(knm):.1f}")
    return km, knm


def main() -> None:
    n_fa = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else (
        Path(__file__).resolve().parents[2] / "docs" / "imaging_scores.png")
    panels = {}
    for d in ("easy", "default", "hard", "extreme"):
        panels[f"synthetic {d}"] = synthetic_report(n_fa, d)
    panels["real processed"] = real_report(False)
    panels["real raw"] = real_report(True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (name, (km, knm)) in zip(axes.ravel(), panels.items(), strict=False):
        bins = np.linspace(0, max(max(km), max(knm)) + 1, 30)
        ax.hist(knm, bins, alpha=0.6, label=f"non-match (n={len(knm)})", color="tab:blue")
        ax.hist(km, bins, alpha=0.6, label=f"match (n={len(km)})", color="tab:red")
        ax.set_title(f"{name}: AUC {auc(km, knm):.3f}")
        ax.set_xlabel("score (mean CMC count of both directions + 0.5 ccf)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    print(f"saved {out}")


if __name__ == "__main__":
    main()
