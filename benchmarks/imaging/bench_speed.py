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

from ballistics.imaging import (
    SIGNATURE_LENGTH,
    SignatureIndex,
    compare,
    extract_features,
    features_from_bytes,
    features_to_bytes,
)
from ballistics.imaging.align import global_correlation, global_registration, prepare
from ballistics.imaging.cmc import CMCParams, window_angles
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
    for a, b in pairs:
        compare(a, b)  # fills the per-scan caches (spectra, cell transforms)
    t_fast = np.mean([timeit(lambda a=a, b=b: compare(a, b), 7) for a, b in pairs])

    def fresh(x):
        return features_from_bytes(features_to_bytes(x))

    t_cold = np.mean([timeit(lambda a=a, b=b: compare(fresh(a), fresh(b)), 5) for a, b in pairs])
    t_io = np.mean([timeit(lambda a=a, b=b: (fresh(a), fresh(b)), 5) for a, b in pairs])
    p = CMCParams()

    def ref_full(a, b):
        for x, y in ((a, b), (b, a)):
            reference_one_direction(x.heights, x.mask, y.heights, y.mask, x.pixel_um, p)

    def ref_same(a, b):
        # The reference cell search at the same angle(s) and offsets as compare().
        px = a.pixel_um
        ga, gb = prepare(a.heights, a.mask, px), prepare(b.heights, b.mask, px)
        ms = round(p.global_max_shift_um / px)
        th, _, dx, dy = global_registration(ga, gb, n_spatial=p.n_angle_candidates,
                                            n_spectral=p.n_spectral_candidates,
                                            max_shift_px=ms)[0]
        ang = window_angles(th, p)
        _, rdx, rdy = global_correlation(gb, ga, [(-th) % 360], ms)[0]
        reference_one_direction(a.heights, a.mask, b.heights, b.mask, px, p, ang, (dx, dy))
        reference_one_direction(b.heights, b.mask, a.heights, a.mask, px, p,
                                [(-t) % 360 for t in ang], (rdx, rdy))

    t_same = np.mean([timeit(lambda a=a, b=b: ref_same(a, b), 3) for a, b in pairs])
    t_full = np.mean([timeit(lambda a=a, b=b: ref_full(a, b), 1) for a, b in pairs])
    print(f"full comparison (both directions): fast {t_fast * 1e3:.1f} ms/pair with cached "
          f"per-scan transforms, {(t_cold - t_io) * 1e3:.1f} ms from freshly deserialised "
          f"features (+{t_io * 1e3:.1f} ms to deserialise two); reference (per-cell FFT) same "
          f"angles {t_same * 1e3:.0f} ms ({t_same / t_fast:.1f}x), blind 0-360 deg at "
          f"{p.angle_step_deg} deg without pre-alignment {t_full * 1e3:.0f} ms "
          f"({t_full / t_fast:.0f}x)")


def bench_search() -> None:
    rng = np.random.default_rng(0)
    for n in (10_000, 100_000, 1_000_000):
        x = rng.standard_normal((n, SIGNATURE_LENGTH), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        queries = x[rng.choice(n, 20, replace=False)] + 0.05 * rng.standard_normal(
            (20, SIGNATURE_LENGTH), dtype=np.float32)
        t_pass = timeit(lambda x=x: x.sum(axis=0), 3)
        exact = SignatureIndex()
        exact.add(range(n), x)
        _ = exact.nbytes  # lays out the stored matrices before timing
        t_exact = np.mean([timeit(lambda q=q, ix=exact: ix.search(q, 100), 3)
                           for q in queries[:5]])
        comp = SignatureIndex(compressed=True)
        comp.add(range(n), x)
        _ = comp.nbytes
        t_comp = np.mean([timeit(lambda q=q, ix=comp: ix.search(q, 100), 3) for q in queries[:5]])
        recall = np.mean([len({i for i, _ in exact.search(q, 100)}
                              & {i for i, _ in comp.search(q, 100)}) / 100 for q in queries])
        print(f"search n={n:>9,}: one pass over float32 matrix {t_pass * 1e3:7.1f} ms; exact "
              f"{t_exact * 1e3:7.1f} ms/query ({t_exact / t_pass:.2f} passes, "
              f"{exact.nbytes / n * 1e6 / 2**20:.0f} MiB per million); int8 + residual bit "
              f"{t_comp * 1e3:7.1f} ms/query ({t_comp / t_pass:.2f} passes, "
              f"{comp.nbytes / n * 1e6 / 2**20:.0f} MiB per million), recall of exact top-100 "
              f"{recall:.3f} ({len(queries)} queries)")
        del x, exact, comp


if __name__ == "__main__":
    which = sys.argv[1:] or ["features", "compare", "search"]
    if "features" in which:
        bench_features()
    if "compare" in which:
        bench_compare()
    if "search" in which:
        bench_search()
