"""Fit the default calibration shipped in ballistics/imaging/default_calibration.json.

Data: synthetic default-difficulty set (seed 9001, 15 firearms x 3 firings, all 45 known-match
pairs and 150 random known-non-match pairs) plus every within-study pair of the labelled
pre-processed real scans. Run: PYTHONPATH=. python benchmarks/imaging/fit_calibration.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import real_features, real_pairs, real_rows, synthetic_features

from ballistics.imaging import ALGORITHM_VERSION, Calibration, compare


def main() -> None:
    feats, labels = synthetic_features(15, 3, seed=9001, difficulty="default")
    rng = np.random.default_rng(9001)
    km, knm = [], []
    n = len(feats)
    for i in range(n):
        for j in range(i + 1, n):
            if labels[i] == labels[j]:
                km.append(compare(feats[i], feats[j]).score)
    while len(knm) < 150:
        i, j = rng.choice(n, 2, replace=False)
        if labels[i] != labels[j]:
            knm.append(compare(feats[i], feats[j]).score)
    rows = real_rows(raw=False)
    rf = real_features(rows)
    for a, b, is_km in real_pairs(rows):
        (km if is_km else knm).append(compare(rf[a["scan_id"]], rf[b["scan_id"]]).score)
    cal = Calibration(km, knm, description=(
        "synthetic default difficulty (seed 9001, 15 firearms x 3 firings: 45 KM, 150 KNM "
        "pairs) + all within-study pairs of the labelled pre-processed real scans in "
        "shared/data/cartridge_scans (Fadul 2011: 1 KM, 2 KNM; Baldwin 2014: 12 KM, 33 KNM)"),
        algorithm_version=ALGORITHM_VERSION)
    out = (Path(__file__).resolve().parents[2] / "ballistics" / "imaging"
           / "default_calibration.json")
    out.write_text(json.dumps(cal.to_dict(), indent=1))
    print(f"wrote {out}: {len(km)} KM, {len(knm)} KNM")


if __name__ == "__main__":
    main()
