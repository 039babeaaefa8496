"""Every figure of science v2 (issue "Comparison science v2") from the data files alone.

Runs fit_calibration.py (all 4,465 Weller pairs: leave-one-slide-out AUC, Cllr, Cllr_min,
misleading evidence, the LR's monotonicity; Baldwin with and without K004fA3, repeat scans,
Fadul, raw scans; never writes the shipped calibration) and then bench_v2.py (speed against
cmc-1.1.0 in the same run, symmetry, the former registration failures, rotation, mirror image, µm
increments, stage 1 among >= 10,000 distractors and over 100,000 signatures).

Run: PYTHONPATH=. python benchmarks/imaging/report_v2.py [n_pairs]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_v2
import fit_calibration


def main() -> None:
    n_pairs = sys.argv[1] if len(sys.argv) > 1 else "100"
    sys.argv = [sys.argv[0]]  # fit_calibration: no --write
    print("== calibration and validation (fit_calibration.py) ==", flush=True)
    fit_calibration.main()
    sys.argv = [sys.argv[0], n_pairs]
    print("== speed, robustness and stage 1 (bench_v2.py) ==", flush=True)
    bench_v2.main()


if __name__ == "__main__":
    main()
