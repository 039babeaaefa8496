"""Full comparison, features, index and calibration on small synthetic sets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ballistics.imaging import (
    ALGORITHM_VERSION,
    SIGNATURE_LENGTH,
    Calibration,
    FeatureFormatError,
    ImagingError,
    SignatureIndex,
    compare,
    default_calibration,
    extract_features,
    features_from_bytes,
    features_to_bytes,
)
from ballistics.imaging.cmc import CMCParams, candidate_angles, cmc_one_direction
from ballistics.imaging.reference import reference_one_direction
from ballistics.imaging.registration import rotate
from ballistics.imaging.synthetic import fire, make_firearm


@pytest.fixture(scope="module")
def feats():
    out = {}
    for f in (1, 2):
        fa = make_firearm(1000 + f)
        for j in (0, 1):
            out[(f, j)] = extract_features(fire(fa, j, pixel_um=12.5))
    return out


def _true_rotation(a, b):
    return (b.meta["rotation_deg"] - a.meta["rotation_deg"]) % 360


def test_match_beats_non_match_and_pose(feats):
    km = compare(feats[(1, 0)], feats[(1, 1)])
    knm = compare(feats[(1, 0)], feats[(2, 0)])
    print("KM", km.cmc_count, km.cmc_count_reverse, km.score, "KNM", knm.cmc_count,
          knm.cmc_count_reverse, knm.score)
    assert km.cmc_count >= 10 and km.cmc_count_reverse >= 10
    assert knm.cmc_count <= 4 and knm.cmc_count_reverse <= 4
    assert km.score > knm.score + 5
    err = (km.rotation_deg - _true_rotation(feats[(1, 0)], feats[(1, 1)]) + 180) % 360 - 180
    assert abs(err) <= 3.0
    # After centring on the aperture only a residual translation remains (< 100 µm).
    assert np.hypot(*km.translation_px) * km.pixel_um < 100
    d = km.to_dict()
    json.dumps(d, allow_nan=False)
    assert len(d["cells"]) == 64 and {"row", "col", "x", "y", "width", "height", "ccf", "dx",
                                      "dy", "theta", "is_congruent"} <= set(d["cells"][0])
    assert sum(c["is_congruent"] for c in d["cells"]) == km.cmc_count
    assert km.pairwise_ccf > knm.pairwise_ccf


def test_fast_equals_reference(feats):
    a, b = feats[(1, 0)], feats[(1, 1)]
    p = CMCParams()
    ha, hb = a.heights, b.heights
    theta = candidate_angles(ha, a.mask, hb, b.mask, p, a.pixel_um)[0]
    angles = [(theta - 3) % 360, theta, (theta + 3) % 360]
    for offset in [(0.0, 0.0), (3.0, -2.0)]:
        fast = cmc_one_direction(ha, a.mask, hb, b.mask, a.pixel_um, p, angles, offset)
        ref = reference_one_direction(ha, a.mask, hb, b.mask, a.pixel_um, p, angles, offset)
        assert fast.cmc_count == ref.cmc_count and fast.n_cells == ref.n_cells
        for c1, c2 in zip(fast.cells, ref.cells, strict=True):
            assert (np.isnan(c1.ccf) and np.isnan(c2.ccf)) or (
                (c1.theta, c1.dx, c1.dy) == (c2.theta, c2.dx, c2.dy)
                and c1.ccf == pytest.approx(c2.ccf, abs=1e-5))


def test_incompatible_features(feats):
    a = feats[(1, 0)]
    b = features_from_bytes(features_to_bytes(a))
    b.heights = b.heights[:-2, :-2]
    b.mask = b.mask[:-2, :-2]
    with pytest.raises(ImagingError, match="pixel size or grid"):
        compare(a, b)


def test_features_bytes_round_trip(feats):
    f = feats[(2, 1)]
    g = features_from_bytes(features_to_bytes(f))
    assert np.array_equal(f.heights, g.heights) and np.array_equal(f.mask, g.mask)
    assert np.array_equal(f.signature, g.signature) and g.algorithm_version == ALGORITHM_VERSION
    assert f.signature.shape == (SIGNATURE_LENGTH,) and f.signature.dtype == np.float32
    assert np.linalg.norm(f.signature) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(FeatureFormatError, match="malformed"):
        features_from_bytes(b"not an npz")
    old = features_from_bytes(features_to_bytes(f))
    old.algorithm_version = "cmc-0.0.1"
    with pytest.raises(FeatureFormatError, match="re-extract"):
        features_from_bytes(features_to_bytes(old))


def test_signature_rotation_invariant(feats):
    from ballistics.imaging.signature import compute_signature, signature_similarity

    f = feats[(1, 0)]
    h, m = rotate(f.heights.astype(float), f.mask, 137.0)
    s_rot = compute_signature(h, m, f.pixel_um)
    other = feats[(2, 0)].signature
    # Bilinear re-rotation smooths the texture, so "same" is well below 1 but far above others.
    same, diff = signature_similarity(f.signature, s_rot), signature_similarity(f.signature, other)
    print("signature similarity rotated copy", same, "other firearm", diff)
    assert same > 0.75 and same > diff + 0.25


@pytest.mark.parametrize("compressed", [False, True])
def test_index_search(feats, compressed):
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(500, SIGNATURE_LENGTH)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    idx = SignatureIndex(compressed=compressed, chunk=128)
    idx.add([f"n{i}" for i in range(500)], noise)
    idx.add([k for k in feats], np.stack([f.signature for f in feats.values()]))
    hits = idx.search(feats[(1, 0)].signature, 3)
    assert hits[0][0] == (1, 0) and hits[0][1] == pytest.approx(1.0, abs=0.02)
    assert hits[1][0] == (1, 1)
    assert hits[0][1] >= hits[1][1] >= hits[2][1]
    with pytest.raises(ImagingError, match="length"):
        idx.add(["x"], np.zeros((1, 3)))


def test_calibration():
    rng = np.random.default_rng(3)
    km, knm = list(rng.normal(20, 4, 60)), list(rng.normal(1, 1, 300))
    cal = Calibration(km, knm, "toy")
    assert cal.likelihood_ratio(25) > 100 and cal.likelihood_ratio(0.5) < 1e-2
    # Bounded far beyond the data: a finite sample cannot support an infinite LR.
    assert np.isfinite(cal.likelihood_ratio(1e6)) and cal.likelihood_ratio(1e6) < 1e4
    er = cal.error_rates(6.0)
    assert er["n_km"] == 60 and er["n_knm"] == 300
    assert er["false_positive_rate"] == pytest.approx(np.mean(np.array(knm) >= 6))
    assert er["false_negative_rate"] == pytest.approx(np.mean(np.array(km) < 6))
    again = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert again.likelihood_ratio(10) == pytest.approx(cal.likelihood_ratio(10))


def test_default_calibration_shipped():
    cal = default_calibration()
    assert cal.algorithm_version == ALGORITHM_VERSION and "synthetic" in cal.description
    lr = [cal.likelihood_ratio(s) for s in (0.5, 10.0, 40.0)]
    print("default calibration LR at 0.5, 10, 40:", lr)
    assert lr[0] < 0.1 and lr[2] > 10 and lr[0] < lr[1] < lr[2]
