"""Speed benchmarks: feature extraction, full comparison vs reference, stage-1 search.

Run: PYTHONPATH=. OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/imaging/bench_speed.py
(single core). Prints every figure; ratios are measured in the same run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ballistics.imaging import SIGNATURE_LENGTH, SignatureIndex, compare, extract_features
from ballistics.imaging.cmc import CMCParams, candidate_angles
from ballistics.imaging.reference import reference_one_direction
from ballistics.imaging.synthetic import fire, make_firearm


def timeit(fn, repeat: int) -> float:
    best = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best.append(time.perf_counter() - t)
    return float(np.median(best))


def bench_features() -> None:
    fa = make_firearm(5)
    s = fire(fa, 0, pixel_um=2 * fa.primer_radius_um * 1.15 / 1000, size_px=1000)
    assert s.heights.shape == (1000, 1000)
    t = timeit(lambda: extract_features(s), 3)
    print(f"feature extraction, 1000 x 1000 surface ({s.pixel_um_x:.2f} µm): {t:.2f} s")


def bench_compare() -> None:
    fa, fb = make_firearm(6), make_firearm(7)
    f = [extract_features(fire(fa, i, pixel_um=12.5)) for i in range(2)]
    g = extract_features(fire(fb, 0, pixel_um=12.5))
    pairs = [(f[0], f[1]), (f[0], g)]
    t_fast = np.mean([timeit(lambda a=a, b=b: compare(a, b), 5) for a, b in pairs])
    p = CMCParams()

    def ref_full(a, b):
        for x, y in ((a, b), (b, a)):
            reference_one_direction(x.heights.astype(float), x.mask, y.heights.astype(float),
                                    y.mask, x.pixel_um, p)

    def ref_same(a, b):
        ang = candidate_angles(a.heights.astype(float), a.mask, b.heights.astype(float),
                               b.mask, p)
        for x, y, an in ((a, b, ang), (b, a, [(-t) % 360 for t in ang])):
            reference_one_direction(x.heights.astype(float), x.mask, y.heights.astype(float),
                                    y.mask, x.pixel_um, p, an)

    t_same = np.mean([timeit(lambda a=a, b=b: ref_same(a, b), 1) for a, b in pairs])
    t_full = np.mean([timeit(lambda a=a, b=b: ref_full(a, b), 1) for a, b in pairs])
    print(f"full comparison (both directions): fast {t_fast * 1e3:.1f} ms/pair; reference "
          f"(per-cell per-angle FFT) same angles {t_same * 1e3:.0f} ms ({t_same / t_fast:.1f}x), "
          f"blind 0-360 deg at {p.angle_step_deg} deg {t_full * 1e3:.0f} ms "
          f"({t_full / t_fast:.0f}x)")


def bench_search() -> None:
    rng = np.random.default_rng(0)
    for n in (10_000, 100_000, 1_000_000):
        x = rng.standard_normal((n, SIGNATURE_LENGTH), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        queries = x[rng.choice(n, 5, replace=False)] + 0.05 * rng.standard_normal(
            (5, SIGNATURE_LENGTH), dtype=np.float32)
        t_pass = timeit(lambda x=x: x.sum(axis=0), 3)
        exact = SignatureIndex()
        exact.add(range(n), x)
        t_exact = np.mean([timeit(lambda q=q, ix=exact: ix.search(q, 100), 2) for q in queries])
        comp = SignatureIndex(compressed=True)
        comp.add(range(n), x)
        t_comp = np.mean([timeit(lambda q=q, ix=comp: ix.search(q, 100), 2) for q in queries])
        recall = np.mean([len({i for i, _ in exact.search(q, 100)}
                              & {i for i, _ in comp.search(q, 100)}) / 100 for q in queries])
        print(f"search n={n:>9,}: one pass over float32 matrix {t_pass * 1e3:7.1f} ms; exact "
              f"{t_exact * 1e3:7.1f} ms/query ({exact.nbytes / n * 1e6 / 2**20:.0f} MiB per "
              f"million); int8 {t_comp * 1e3:7.1f} ms/query ({comp.nbytes / n * 1e6 / 2**20:.0f}"
              f" MiB per million), recall of exact top-100 {recall:.3f}")
        del x, exact, comp


if __name__ == "__main__":
    which = sys.argv[1:] or ["features", "compare", "search"]
    if "features" in which:
        bench_features()
    if "compare" in which:
        bench_compare()
    if "search" in which:
        bench_search()
