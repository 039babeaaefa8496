"""Validation figures: real scans (processed and raw) and a 60 x 3 synthetic set.

Each test prints every figure. Targets from the issue that the current science does not reach
are separate ``xfail`` tests whose reason says why (see docs/imaging.md, "Validation").
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ballistics.imaging import (
    SignatureIndex,
    Surface,
    compare,
    default_calibration,
    extract_features,
    load_npz,
    read_image,
)
from ballistics.imaging.synthetic import make_set

# One xdist worker runs this module (scripts/test: --dist loadgroup): its module-scoped fixtures are
# computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("imaging-validation")


def _auc(km, knm) -> float:
    a, b = np.asarray(km, float)[:, None], np.asarray(knm, float)[None, :]
    return float(((a > b) + 0.5 * (a == b)).mean())


def _run(data_dir):
    from benchmarks.imaging import npz_sets

    feats = npz_sets.features()
    out = {}
    for name, pairs in npz_sets.pairs().items():
        out[name] = []
        for a, b, km in pairs:
            res = compare(feats[a], feats[b])
            out[name].append((a, b, km, res))
            print(f"{name:8s} {a:20s} {b:20s} {'KM ' if km else 'KNM'} cmc {res.cmc_count:2d}/"
                  f"{res.n_cells:2d} rev {res.cmc_count_reverse:2d}/{res.n_cells_reverse:2d} "
                  f"ccf {res.pairwise_ccf:5.2f} score {res.score:6.2f} rot "
                  f"{res.rotation_deg:6.1f}")
    return feats, out


@pytest.fixture(scope="module")
def real(data_dir):
    return _run(data_dir)


def _split(rows, keep=lambda a, b: True):
    km = [r.score for a, b, k, r in rows if k and keep(a, b)]
    knm = [r.score for a, b, k, r in rows if not k and keep(a, b)]
    return km, knm


def test_baldwin_with_and_without_k004fa3(real):
    _, out = real
    rows = out["baldwin"]
    km, knm = _split(rows)
    km2, knm2 = _split(rows, lambda a, b: "K004fA3" not in (a, b))
    auc, auc2 = _auc(km, knm), _auc(km2, knm2)
    print(f"Baldwin pre-processed: {len(km)} KM / {len(knm)} KNM, AUC {auc:.4f} (KM min "
          f"{min(km):.2f}, KNM max {max(knm):.2f}); without K004fA3's pairs: {len(km2)} KM / "
          f"{len(knm2)} KNM, AUC {auc2:.4f} (KM min {min(km2):.2f}, KNM max {max(knm2):.2f}); "
          "a peer's CMC count: AUC 0.835")
    # Achieved bounds guarding against regressions (cmc-1.1.0: 0.855 and 1.000 with a thin
    # margin, 9.6 vs 8.6); not 1.0: kit-4 non-matches share structure (see docs/imaging.md).
    assert auc >= 0.80 and auc2 >= 0.99


def test_repeat_scans_score_as_matches(real):
    _, out = real
    cal = default_calibration()
    knm_max = max(_split(out["baldwin"])[1])
    for a, b, _, r in out["repeats"]:
        lr = cal.likelihood_ratio(r.score)
        print(f"repeat scan {a} / {b}: {r.cmc_count}/{r.cmc_count_reverse} cells, score "
              f"{r.score:.2f}, LR {lr:.3g} (Baldwin KNM max {knm_max:.2f})")
        assert r.score > knm_max and lr > 1


def test_fadul(real):
    _, out = real
    fad = next(r for a, b, _, r in out["fadul"] if {a, b} == {"fadul1-1_processed",
                                                            "fadul1-2_processed"})
    others = [r.score for a, b, k, r in out["fadul"] if not k]
    print(f"fadul1-1/1-2: {fad.cmc_count} / {fad.cmc_count_reverse} congruent cells of 64 "
          f"(published 18), score {fad.score:.2f}; non-matches {others}")
    assert fad.score > max(others)
    assert fad.cmc_count >= 15 and fad.cmc_count_reverse >= 15


@pytest.mark.xfail(strict=False, reason=(
    "with the global pre-alignment we find 21 congruent cells forward (19 reverse) of 24 cells "
    "with data at 25 µm, above the published 15-19 (cmcR at 6.25 µm); see docs/imaging.md"))
def test_fadul_cmc_in_published_range(real):
    fad = next(r for a, b, _, r in real[1]["fadul"] if {a, b} == {"fadul1-1_processed",
                                                                "fadul1-2_processed"})
    assert 15 <= fad.cmc_count <= 19


def test_raw_scans_rank_but_get_no_lr(real):
    feats, out = real
    cal = default_calibration()
    km, knm = _split(out["raw"])
    print(f"raw (own preprocessing): {len(km)} KM {km}, {len(knm)} KNM {knm}, AUC "
          f"{_auc(km, knm):.3f}")
    assert _auc(km, knm) >= 0.95
    for a, b, _, _ in out["raw"]:
        reason = cal.domain_reason(feats[a].meta, feats[b].meta)
        assert reason and "raw scan" in reason


def test_2d_image_and_mirror_get_no_misleading_lr(real, data_dir, tmp_path):
    from skimage import io as skio

    feats, _ = real
    cal = default_calibration()
    f = feats["fadul1-1_processed"]
    # The processed surface saved as an 8-bit grey image and read back as an upload would be.
    h = np.where(f.mask, f.heights, np.nan)
    grey = np.nan_to_num((h - np.nanmin(h)) / np.ptp(h[f.mask]) * 254 + 1).astype(np.uint8)
    skio.imsave(tmp_path / "g.png", grey, check_contrast=False)
    img = extract_features(read_image(tmp_path / "g.png", f.pixel_um))
    reason = cal.domain_reason(img.meta, feats["fadul1-2_processed"].meta)
    print("2D image vs its mate:", reason)
    assert reason and "2D image" in reason
    mirror = extract_features(Surface(load_npz(data_dir / "fadul1-1_processed.npz")
                                      .heights[:, ::-1], f.meta["native_pixel_um"],
                                      f.meta["native_pixel_um"], {}))
    r = compare(mirror, feats["fadul1-2_processed"])
    print(f"mirrored fadul1-1 vs fadul1-2: score {r.score:.2f}, LR "
          f"{cal.likelihood_ratio(r.score):.3g}")
    assert cal.likelihood_ratio(r.score) < 1


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


def test_full_scan_stored_rotated_with_empty_corners(data_dir):
    """A raw full scan rotated by 37 deg (NaN corners) is read as a full scan, not a crop
    (cmc-1.1.0: EmptyScanError), and still matches its mate."""
    from scipy import ndimage

    s = load_npz(data_dir / "K013sA1_raw.npz")
    m = np.isfinite(s.heights)
    h = ndimage.rotate(np.where(m, s.heights, 0), 37.0, order=1, cval=0.0)
    valid = ndimage.rotate(m.astype(float), 37.0, order=1, cval=0.0) > 0.999
    rotated = extract_features(Surface(np.where(valid, h, np.nan), s.pixel_um_x, s.pixel_um_y))
    mate = extract_features(load_npz(data_dir / "K013sA2_raw.npz"))
    base = compare(extract_features(s), mate).score
    r = compare(rotated, mate)
    print(f"K013sA1_raw rotated 37 deg vs K013sA2_raw: {r.score:.2f} (unrotated {base:.2f})")
    assert rotated.meta["geometry"] == "hough" and r.score > 0.8 * base
