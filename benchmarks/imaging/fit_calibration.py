"""Fit and validate the calibration shipped in ballistics/imaging/default_calibration.json.

From the data alone (the 95 Weller x3p files through the project's x3p reader, the labelled
npz scans): score all 4,465 Weller pairs, validate score -> LR leave-one-slide-out (a pair's LR
comes from a calibration fitted without any pair of its slides), fit the shipped calibration on
all Weller pairs, and apply it to the Baldwin and Fadul scans (other make, other scanner or
other study: an external check). Prints every figure; with ``--write`` stores the calibration
(with its validation figures and ECE curves) and writes the ECE plot to docs/imaging_ece.png.

Run: PYTHONPATH=. python benchmarks/imaging/fit_calibration.py [--write]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import npz_sets
import weller

from ballistics import imaging
from ballistics.imaging.calibration import (
    cross_validated_llrs,
    fit_calibration,
    performance,
)

REPO = Path(__file__).resolve().parents[2]
#: What the calibration's pairs were: 3D topography, pre-processed breech faces, 6.25 µm
#: (NanoFocus); the pixel range admits the 7.37 µm TopMatch scans used as the external check.
DOMAIN = {
    "modality": "3d",
    "native_pixel_um": [3.125, 12.5],
    "input_height_range_um": [0.0, 40.0],
    "region": "breech_face",
    "comparison_pixel_um": 25.0,
    "summary": ("3D topography (x3p or height-map npz) of breech faces levelled and band-pass "
                "filtered before upload (heights spread over at most 40 µm), native pixel "
                "3.125-12.5 µm, compared on this algorithm's 25 µm grid"),
}
ECE_PRIORS = np.round(np.arange(-3.0, 3.01, 0.1), 2)


def ece_curves(llrs: np.ndarray, labels: np.ndarray) -> dict:
    """ECE of the LRs, of the PAV-optimal LRs and of LR = 1 over log10 prior odds (lir)."""
    from lir.algorithms.isotonic_regression import IsotonicCalibrator
    from lir.plotting.expected_calibration_error import calculate_ece
    from lir.util import logodds_to_odds, odds_to_probability

    priors = odds_to_probability(10.0 ** ECE_PRIORS)
    pav = IsotonicCalibrator().fit_transform(llrs.copy(), labels)
    return {"log10_prior_odds": ECE_PRIORS.tolist(),
            "lr": np.round(calculate_ece(logodds_to_odds(llrs), labels, priors), 5).tolist(),
            "pav": np.round(calculate_ece(logodds_to_odds(pav), labels, priors), 5).tolist(),
            "reference": np.round(calculate_ece(np.ones_like(llrs), labels, priors),
                                  5).tolist()}


def weller_scores() -> tuple[list, np.ndarray, np.ndarray, list]:
    t = time.perf_counter()
    feats = weller.features()
    print(f"Weller features: {len(feats)} scans ({time.perf_counter() - t:.1f} s, cached "
          "per algorithm version)")
    ps = weller.pairs()
    t = time.perf_counter()
    res = weller.score_pairs(feats, ps)
    print(f"Weller pairs: {len(ps)} compared in {time.perf_counter() - t:.0f} s (2 processes)")
    scores = np.array([r["score"] for r in res])
    labels = np.array([int(k) for *_, k in ps])
    sources = [(a[:4], b[:4]) for a, b, _ in ps]
    return ps, scores, labels, sources


def describe(name: str, fig: dict) -> None:
    print(f"  {name}: {fig['n_km']} KM / {fig['n_knm']} KNM; AUC {fig['roc_auc']}; "
          f"Cllr {fig['cllr']:.4f}, Cllr_min {fig['cllr_min']:.4f}; misleading: KM with LR < 1 "
          f"{fig['n_misleading_km']} ({fig['rate_misleading_km']}), KNM with LR > 1 "
          f"{fig['n_misleading_knm']} ({fig['rate_misleading_knm']}); how: {fig['how']}")


def external_sets(cal: imaging.Calibration) -> dict:
    """The npz sets scored and given the Weller calibration's LRs (inside its domain only)."""
    feats = npz_sets.features()
    out = {}
    sets = npz_sets.pairs()
    named = {
        "baldwin2014": sets["baldwin"],
        "baldwin2014_without_K004fA3": npz_sets.without_doubtful(sets["baldwin"]),
        "baldwin2014_repeat_scans": sets["repeats"],
        "fadul2011": sets["fadul"],
        "raw_scans": sets["raw"],
    }
    for name, ps in named.items():
        scores, labels, llrs, outside = [], [], [], []
        for a, b, km in ps:
            r = imaging.compare(feats[a], feats[b])
            reason = cal.domain_reason(feats[a].meta, feats[b].meta)
            print(f"    {name:28s} {a:20s} {b:20s} {'KM ' if km else 'KNM'} score "
                  f"{r.score:6.2f} ({r.cmc_count}/{r.cmc_count_reverse}) "
                  + (f"LR {cal.likelihood_ratio(r.score):9.3g}" if not reason
                     else "no LR: outside the domain"))
            if reason:
                outside.append(reason)
                scores.append(r.score)
                labels.append(int(km))
                continue
            scores.append(r.score)
            labels.append(int(km))
            llrs.append(cal.log10_lr(r.score))
        y = np.array(labels)
        s = np.array(scores)
        km_s, knm_s = s[y == 1], s[y == 0]
        fig: dict = {"n_km": int(y.sum()), "n_knm": int((1 - y).sum()),
                     "score_km_min": float(km_s.min()) if km_s.size else None,
                     "score_knm_max": float(knm_s.max()) if knm_s.size else None}
        if km_s.size and knm_s.size:
            a_, b_ = km_s[:, None], knm_s[None, :]
            fig["roc_auc"] = float(((a_ > b_) + 0.5 * (a_ == b_)).mean())
        if outside:
            fig["outside_domain"] = len(outside)
            fig["how"] = f"no LR given: {outside[0]}"
        elif llrs and len(set(labels)) == 2:
            fig.update(performance(np.array(llrs), y, s))
            fig["how"] = ("calibration fitted on all Weller pairs (other make, scanner or "
                          "study), applied unchanged")
        else:
            lr = 10.0 ** np.array(llrs)
            fig.update({"min_lr_km": float(lr.min()), "n_misleading_km": int((lr < 1).sum()),
                        "rate_misleading_km": float((lr < 1).mean()),
                        "how": "repeat scans of the same cases, Weller calibration applied"})
        out[name] = fig
    return out


def main() -> None:
    write = "--write" in sys.argv
    ps, scores, labels, sources = weller_scores()
    km, knm = scores[labels == 1], scores[labels == 0]
    print(f"Weller scores: KM min {km.min():.2f} median {np.median(km):.2f}; KNM median "
          f"{np.median(knm):.2f} max {knm.max():.2f}")
    t = time.perf_counter()
    llrs = cross_validated_llrs(scores, labels, sources)
    print(f"leave-one-slide-out: {len(set(map(frozenset, sources)))} fits in "
          f"{time.perf_counter() - t:.0f} s")
    fig = performance(llrs, labels, scores)
    fig["how"] = ("leave-one-slide-out: each pair's LR from a calibration fitted on the pairs "
                  "of the other slides only (for a non-match, of neither of its two slides)")
    fig["ece"] = ece_curves(llrs, labels)
    worst_km = ps[int(np.argmin(np.where(labels == 1, llrs, np.inf)))]
    worst_knm = ps[int(np.argmax(np.where(labels == 0, llrs, -np.inf)))]
    fig["weakest_km"] = f"{worst_km[0]}/{worst_km[1]}"
    fig["strongest_knm"] = f"{worst_knm[0]}/{worst_knm[1]}"
    cal = fit_calibration(
        scores, labels, domain=DOMAIN,
        description=("fitted with lir (logistic regression, ELUB bounds) on all 4,465 pairs of "
                     "the Weller et al. (2012) scans, 11 consecutively made Ruger P95 slides "
                     "(370 known matches, 4,095 known non-matches); validated leave-one-slide-"
                     "out and on the Baldwin and Fadul scans"),
        training={"data_set": "weller2012", "n_firearms": 11, "n_scans": 95})
    nondecreasing = bool(np.all(np.diff(cal.log10_lr(np.linspace(*cal.score_range, 2001)))
                                >= 0))
    print(f"shipped calibration: log10 LR = {cal.intercept:.3f} + {cal.slope:.4f} x score, "
          f"bounds LR {10 ** cal.llr_bounds[0]:.3g}..{10 ** cal.llr_bounds[1]:.4g}, LR = 1 at "
          f"score {cal.threshold():.2f}; non-decreasing over {cal.score_range}: {nondecreasing}")
    cal.validation = {"weller2012": fig}
    print("validation:")
    describe("weller2012", fig)
    for name, f in external_sets(cal).items():
        cal.validation[name] = f
        if "cllr" in f:
            describe(name, f)
        else:
            print(f"  {name}: {json.dumps({k: v for k, v in f.items() if k != 'ece'})}")
    if write:
        path = REPO / "ballistics" / "imaging" / "default_calibration.json"
        path.write_text(json.dumps(cal.to_dict(), indent=1) + "\n")
        print(f"wrote {path}")
        plot_ece(llrs, labels)


def plot_ece(llrs: np.ndarray, labels: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from lir.data.models import LLRData
    from lir.plotting.expected_calibration_error import plot_ece as lir_plot_ece

    fig, ax = plt.subplots(figsize=(6, 4))
    lir_plot_ece(LLRData(features=llrs.copy(), labels=labels), ax=ax)
    ax.set_title(f"{imaging.ALGORITHM_VERSION}: Weller, leave-one-slide-out LRs")
    ax.legend()
    out = REPO / "docs" / "imaging_ece.png"
    fig.savefig(out, dpi=110, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
