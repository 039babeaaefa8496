"""Science v2 against cmc-1.1.0 in the same run, from the Weller x3p files alone.

Prints: feature extraction per scan (both versions), per-pair comparison time from freshly
deserialised features (as stage 2 loads them; both versions, same pairs), symmetry over random
pairs (both versions), the three former registration failures, rotation by 90, 180 and 37 degrees
(NaN corners), the mirror image against its mate, an x3p with increments written in µm, stage-1
recall of the Weller mates among >= 10,000 realistic distractors and stage-1 time per query over
100,000 signatures. The calibration figures (leave-one-slide-out, Cllr, Baldwin, Fadul, repeat
scans) come from fit_calibration.py; report_v2.py runs both.

Run: PYTHONPATH=. python benchmarks/imaging/bench_v2.py [n_pairs]
(n_pairs -1: index speed only; 0: stage 1 only; OMP/OpenBLAS are limited to one thread: figures
are single-core.)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import weller
from legacy import legacy

from ballistics import imaging
from ballistics.imaging.distractors import distractor_signatures
from ballistics.imaging.signature import SIG_FREQS, SIG_RINGS
from ballistics.imaging.synthetic import make_set


def extraction(mod, paths: list[Path]) -> tuple[list[bytes], float]:
    t = time.perf_counter()
    out = [mod.features_to_bytes(mod.extract_features(mod.read_x3p(p))) for p in paths]
    return out, (time.perf_counter() - t) / len(paths)


def pair_times(mod, blobs: dict[str, bytes], pairs: list[tuple[str, str]]
               ) -> tuple[float, float, float, list]:
    """ms per pair: deserialising both feature sets, comparing once from them (per-scan
    transforms cold, as a stage-2 chunk meets a reference), then again (transforms cached, as
    for the query of a search); and the score of ``compare(b, a)``."""
    scores = []
    t_load = t_cold = t_warm = 0.0
    for a, b in pairs:
        t0 = time.perf_counter()
        fa, fb = mod.features_from_bytes(blobs[a]), mod.features_from_bytes(blobs[b])
        t1 = time.perf_counter()
        ab = mod.compare(fa, fb).score
        t2 = time.perf_counter()
        mod.compare(fa, fb)
        t3 = time.perf_counter()
        scores.append((ab, mod.compare(fb, fa).score))
        t_load, t_cold, t_warm = t_load + t1 - t0, t_cold + t2 - t1, t_warm + t3 - t2
    n = len(pairs) / 1000
    return t_load / n, t_cold / n, t_warm / n, scores


def robustness(feats: dict) -> None:
    """The registrations cmc-1.1.0 got wrong, rotation, mirror image and µm increments."""
    cal = imaging.default_calibration()
    for a, b in (("TW06-01", "TW06-04"), ("TW08-04", "TW08-08"), ("TW05-01", "TW05-09")):
        both = [imaging.compare(feats[x], feats[y]) for x, y in ((a, b), (b, a))]
        print(f"{a} / {b} (cmc-1.1.0 failed to register): cells "
              + ", ".join(f"{r.cmc_count}/{r.cmc_count_reverse} at {r.rotation_deg:.1f} deg"
                          for r in both)
              + f" (both orders); score {both[0].score:.2f} / {both[1].score:.2f}")
    a, b = "TW01-01", "TW01-02"
    s = imaging.read_x3p(weller.WELLER / f"{a}.x3p")
    base = imaging.compare(feats[a], feats[b]).score
    for name, h in (("90 deg", np.rot90(s.heights)), ("180 deg", np.rot90(s.heights, 2)),
                    ("37 deg (NaN corners)", weller.rotated_with_nan_corners(s.heights, 37.0))):
        f = imaging.extract_features(imaging.Surface(h, s.pixel_um_x, s.pixel_um_y,
                                                     dict(s.meta)))
        score = imaging.compare(f, feats[b]).score
        print(f"{a} rotated by {name} vs {b}: score {score:.2f} against {base:.2f} unrotated "
              f"({100 * (score - base) / base:+.1f} %)")
    mirror = imaging.extract_features(imaging.Surface(s.heights[:, ::-1], s.pixel_um_x,
                                                      s.pixel_um_y, dict(s.meta)))
    r = imaging.compare(mirror, feats[b])
    print(f"{a} mirrored vs its mate {b}: score {r.score:.2f}, LR "
          f"{cal.likelihood_ratio(r.score):.3g}")
    um = imaging.read_x3p(weller.with_increment_in_um(a))
    same = np.array_equal(imaging.extract_features(um).heights, feats[a].heights)
    print(f"{a} with increments written as 6.25 (µm): read at {um.pixel_um_x} x "
          f"{um.pixel_um_y} µm, features identical to the original's: {same}; warning: "
          f"{um.meta.get('warnings')}")


def phase_rotated(sigs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The signatures of the same surfaces rotated by random angles (exact phase shifts)."""
    half = sigs.shape[1] // 2
    f = (sigs[:, :half] + 1j * sigs[:, half:]).reshape(-1, SIG_FREQS, SIG_RINGS)
    k = 2 * np.arange(1, SIG_FREQS + 1)
    t = rng.uniform(0, 2 * np.pi, len(sigs))
    f = f * np.exp(-1j * k[None, :, None] * t[:, None, None])
    f = f.reshape(len(sigs), -1)
    return np.concatenate([f.real, f.imag], axis=1).astype(np.float32)


def stage1(feats: dict, rows: list[dict]) -> None:
    slide = {r["scan_id"]: r["firearm_id"] for r in rows}
    ids = list(slide)
    slides = sorted(set(slide.values()))
    t = time.perf_counter()
    synthetic = [imaging.extract_features(x) for x in make_set(12, 2, seed=4242, pixel_um=12.5)]
    jobs = [([feats[i] for i in ids if slide[i] == s], 95, k) for k, s in enumerate(slides)]
    jobs.append((synthetic, 80, 99))
    with ProcessPoolExecutor(2) as ex:
        made = list(ex.map(distractor_signatures, *zip(*jobs, strict=True)))
    per_slide, syn = dict(zip(slides, made[:-1], strict=True)), made[-1]
    print(f"distractors: {sum(len(m) for m in made)} signatures in "
          f"{time.perf_counter() - t:.0f} s ({len(syn)} from {len(synthetic)} synthetic scans; "
          "the rest from the real scans of each slide, mirrored (half), rotated, occluded "
          "(half))")
    for compressed in (False, True):
        ranks, n_min = [], None
        for q in ids:
            idx = imaging.SignatureIndex(compressed=compressed)
            others = [i for i in ids if i != q]
            idx.add(others, np.stack([feats[i].signature for i in others]))
            d = np.concatenate([v for s, v in per_slide.items() if s != slide[q]] + [syn])
            idx.add([None] * len(d), d)
            n_min = min(n_min or len(d), len(d))
            hits = idx.search(feats[q].signature, 100)
            ranks.append(next((k for k, (i, _) in enumerate(hits)
                               if i and slide[i] == slide[q]), 100))
        r = np.array(ranks)
        print(f"stage 1 ({'compressed' if compressed else 'exact'}), 95 Weller queries among >= "
              f"{n_min} distractors: top-1 {np.mean(r < 1):.3f}, top-10 {np.mean(r < 10):.3f}, "
              f"top-100 {np.mean(r < 100):.3f}")
    # 100k: for each slide, the distractors of the other slides and the synthetic ones, filled
    # up with exact rotated copies of them (phase shifts), plus the 95 real scans.
    rng = np.random.default_rng(1)
    for compressed in (False, True):
        found, elapsed, n_index = 0, 0.0, 0
        for s in slides:
            base = np.concatenate([v for t, v in per_slide.items() if t != s] + [syn])
            big = [base]
            while sum(len(b) for b in big) < 100_000:
                big.append(phase_rotated(base, rng))
            pool = np.concatenate(big)[:100_000 - len(ids)]
            idx = imaging.SignatureIndex(compressed=compressed)
            idx.add(ids, np.stack([feats[i].signature for i in ids]))
            idx.add([None] * len(pool), pool)
            idx.search(feats[ids[0]].signature, 100)  # build the blocks
            n_index = len(idx)
            for q in (i for i in ids if slide[i] == s):
                t = time.perf_counter()
                hits = idx.search(feats[q].signature, 100)
                elapsed += time.perf_counter() - t
                found += any(i and i != q and slide[i] == slide[q] for i, _ in hits)
        print(f"stage 1 over {n_index} signatures ({'compressed' if compressed else 'exact'}): "
              f"{elapsed * 1000 / len(ids):.1f} ms per query, a mate in the top 100 for "
              f"{found}/{len(ids)} queries")


def stage1_baldwin(weller_feats: dict) -> None:
    """Baldwin queries (other make and scanner; cmc-1.1.0: mate in the top 10 for 2 of 8 among
    1,000 synthetic distractors) among the other Baldwin scans and >= 10,000 distractors made
    from the Weller scans (mirrored, rotated, occluded) and synthetic scans."""
    import npz_sets

    rows = [r for r in npz_sets.rows() if (r["study"].startswith("Baldwin")
            and not r["scan_id"].endswith("_raw")) or r["scan_id"] in npz_sets.REPEATS]
    feats = npz_sets.features(rows)
    barrel = {r["scan_id"]: r["firearm_id"] for r in rows if r["scan_id"] not in npz_sets.REPEATS}
    barrel.update({p: barrel[twin] for p, twin in npz_sets.REPEATS.items()})
    ids = [i for i in barrel if i != npz_sets.DOUBTFUL and i != "P0006"]
    with ProcessPoolExecutor(2) as ex:
        parts = list(ex.map(distractor_signatures, [list(weller_feats.values())[:48],
                                                    list(weller_feats.values())[48:]],
                            [110, 110], [3, 4]))
    synthetic = [imaging.extract_features(x) for x in make_set(12, 2, seed=4343, pixel_um=12.5)]
    parts.append(distractor_signatures(synthetic, 40, seed=5))
    d = np.concatenate(parts)
    ranks = []
    for q in ids:
        idx = imaging.SignatureIndex()
        # The repeat scan of the query's own case is left out: it would be found trivially.
        others = [i for i in ids if i != q and npz_sets.REPEATS.get(i) != q
                  and npz_sets.REPEATS.get(q) != i]
        idx.add(others, np.stack([feats[i].signature for i in others]))
        idx.add([None] * len(d), d)
        hits = idx.search(feats[q].signature, 100)
        ranks.append(next((k for k, (i, _) in enumerate(hits)
                           if i and barrel[i] == barrel[q]), 100))
    r = np.array(ranks)
    print(f"stage 1, {len(ids)} Baldwin queries (K004fA3 and its repeat left out) among "
          f"{len(d)} distractors (Weller-derived and synthetic): top-1 {np.mean(r < 1):.3f}, "
          f"top-10 {np.mean(r < 10):.3f}, top-100 {np.mean(r < 100):.3f}; ranks {r.tolist()}")


def index_timing(n: int = 100_000, queries: int = 20) -> None:
    """ms per top-100 query over ``n`` random unit signatures, v2 against cmc-1.1.0's index."""
    old = legacy()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, imaging.SIGNATURE_LENGTH)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    for compressed in (False, True):
        times = {}
        for mod in (imaging, old):
            idx = mod.SignatureIndex(compressed=compressed)
            idx.add(list(range(n)), x)
            idx.search(x[0], 100)
            t = time.perf_counter()
            for i in range(queries):
                idx.search(x[i], 100)
            times[mod.ALGORITHM_VERSION] = (time.perf_counter() - t) * 1000 / queries
        new_ms, old_ms = times[imaging.ALGORITHM_VERSION], times[old.ALGORITHM_VERSION]
        print(f"index, {n} random signatures, top-100 ({'compressed' if compressed else 'exact'}"
              f"): {imaging.ALGORITHM_VERSION} {new_ms:.1f} ms, {old.ALGORITHM_VERSION} "
              f"{old_ms:.1f} ms per query (ratio {new_ms / old_ms:.2f})")


def main() -> None:
    n_pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    if n_pairs < 0:  # index speed only
        index_timing()
        return
    if n_pairs == 0:  # stage 1 only
        feats = weller.features()
        stage1(feats, weller.rows())
        stage1_baldwin(feats)
        return
    old = legacy()
    rows = weller.rows()
    paths = {r["scan_id"]: weller.WELLER / r["file"] for r in rows}
    ids = list(paths)
    sample = ids[::5]
    _, t_new = extraction(imaging, [paths[i] for i in sample])
    _, t_old = extraction(old, [paths[i] for i in sample])
    print(f"feature extraction per scan ({len(sample)} Weller scans, x3p read included): "
          f"{imaging.ALGORITHM_VERSION} {t_new * 1000:.0f} ms, {old.ALGORITHM_VERSION} "
          f"{t_old * 1000:.0f} ms")
    feats = weller.features()
    new_blobs = {i: imaging.features_to_bytes(f) for i, f in feats.items()}
    old_blobs = dict(zip(ids, extraction(old, [paths[i] for i in ids])[0], strict=True))
    rng = np.random.default_rng(11)
    pairs = [tuple(rng.choice(ids, 2, replace=False)) for _ in range(n_pairs)]
    load_new, cold_new, warm_new, s_new = pair_times(imaging, new_blobs, pairs)
    load_old, cold_old, warm_old, s_old = pair_times(old, old_blobs, pairs)
    asym_new = sum(a != b for a, b in s_new)
    asym_old = sum(a != b for a, b in s_old)
    med_old = float(np.median([abs(a - b) for a, b in s_old]))
    for name, new, old_ in (("deserialising both feature sets", load_new, load_old),
                            ("comparison from fresh features (transforms cold)", cold_new,
                             cold_old),
                            ("comparison, per-scan transforms cached", warm_new, warm_old)):
        print(f"per pair, {name} ({n_pairs} random Weller pairs): {imaging.ALGORITHM_VERSION} "
              f"{new:.1f} ms, {old.ALGORITHM_VERSION} {old_:.1f} ms (ratio {new / old_:.2f})")
    print(f"symmetry: compare(a, b) != compare(b, a) for {asym_new}/{n_pairs} pairs "
          f"({imaging.ALGORITHM_VERSION}) vs {asym_old}/{n_pairs} ({old.ALGORITHM_VERSION}, "
          f"median |difference| {med_old:.2f})")
    robustness(feats)
    stage1(feats, rows)
    stage1_baldwin(feats)
    index_timing()


if __name__ == "__main__":
    main()
