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
from ballistics.imaging.calibration import cross_validated_llrs, fit_calibration, performance
from ballistics.imaging.cmc import CMCParams, candidate_angles, cmc_one_direction
from ballistics.imaging.compare import invert_registration
from ballistics.imaging.reference import reference_one_direction
from ballistics.imaging.registration import into_frame, overlap, rotate
from ballistics.imaging.synthetic import fire, make_firearm

# One xdist worker runs this module (scripts/test: --dist loadgroup): its module-scoped fixtures are
# computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("imaging-compare")


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


def test_compare_is_symmetric(feats):
    for x, y in [((1, 0), (1, 1)), ((1, 0), (2, 0)), ((2, 1), (1, 1))]:
        ab, ba = compare(feats[x], feats[y]), compare(feats[y], feats[x])
        assert ab.score == ba.score and ab.pairwise_ccf == ba.pairwise_ccf
        assert (ab.cmc_count, ab.cmc_count_reverse) == (ba.cmc_count_reverse, ba.cmc_count)
        assert ab.to_dict()["cells"] == ba.to_dict()["cells_reverse"]  # NaN-safe
        assert ab.rotation_deg == ba.rotation_deg_reverse
    # The registration seen from the other side is the inverse transform.
    ab = compare(feats[(1, 0)], feats[(1, 1)])
    theta, dx, dy = invert_registration(ab.rotation_deg, *ab.translation_px)
    assert abs((theta - ab.rotation_deg_reverse + 180) % 360 - 180) < 3
    assert np.hypot(dx - ab.translation_px_reverse[0], dy - ab.translation_px_reverse[1]) < 3


def test_calibration_fit_is_monotone_and_bounded():
    rng = np.random.default_rng(3)
    km, knm = rng.normal(20, 4, 60), rng.normal(1, 1, 300)
    scores = np.r_[km, knm]
    labels = np.r_[np.ones(60, int), np.zeros(300, int)]
    cal = fit_calibration(scores, labels, domain={"modality": "3d"}, description="toy")
    grid = np.linspace(-10, 60, 701)
    assert np.all(np.diff(cal.log10_lr(grid)) >= 0)
    assert cal.likelihood_ratio(25) > 10 and cal.likelihood_ratio(0.5) < 0.1
    # ELUB: a sample of 300 non-matches cannot support an LR beyond ~300.
    assert cal.likelihood_ratio(1e6) <= 301 and cal.likelihood_ratio(-1e6) >= 1 / 61
    assert 1.0 < cal.threshold() < 20.0
    again = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert again.likelihood_ratio(10) == pytest.approx(cal.likelihood_ratio(10))
    perf = performance(cal.log10_lr(scores), labels, scores)
    assert perf["n_km"] == 60 and perf["roc_auc"] > 0.99 and perf["cllr"] < 0.2
    assert perf["cllr_min"] <= perf["cllr"]
    with pytest.raises(ImagingError, match="slope"):
        Calibration(0.0, -1.0, (-1, 1), (0, 1), {}, "bad")


def test_cross_validated_llrs_never_see_their_sources():
    # Source "s3" alone scores oddly; left out, its pairs get LRs from the other sources only.
    rng = np.random.default_rng(5)
    sources, scores, labels = [], [], []
    for i in range(6):
        for j in range(i, 6):
            for _ in range(4):
                km = i == j
                sources.append((f"s{i}", f"s{j}"))
                labels.append(int(km))
                scores.append(rng.normal(20 if km else 2, 2) - (15 if km and i == 3 else 0))
    llrs = cross_validated_llrs(scores, labels, sources)
    odd = [k for k, (a, b) in enumerate(sources) if a == b == "s3"]
    assert all(llrs[k] < 0 for k in odd)  # misleading, as it must be when nothing saw s3


def test_domain_reason():
    cal = default_calibration()
    inside = {"modality": "3d", "native_pixel_um": 6.25, "input_height_range_um": 8.0}
    assert cal.domain_reason(inside, dict(inside)) is None
    assert "2D image" in cal.domain_reason(inside, {**inside, "modality": "2d"})
    assert "pixel size" in cal.domain_reason({**inside, "native_pixel_um": 1.0}, inside)
    assert "raw scan" in cal.domain_reason(inside, {**inside, "input_height_range_um": 120.0})
    assert "firing pin" in cal.domain_reason(inside, inside, region="firing_pin")
    assert "not recorded" in cal.domain_reason({"modality": "3d"}, inside)



RAW = ("raw scan (heights spread over {} µm); the calibration covers breech faces levelled and "
       "band-pass filtered before upload (spread at most 40 µm), and raw scans processed here "
       "score differently (raw non-matches of consecutively made slides reach 12-16 cells)")


@pytest.mark.parametrize(("a", "b", "region", "code", "scan", "values", "english"), [
    ({}, {}, "firing_pin", "region", "", {"covered": "breech_face", "region": "firing_pin"},
     "the calibration covers breech face scans, not firing pin"),
    ({}, {"modality": "2d"}, "breech_face", "modality", "reference", {},
     "the reference is a 2D image; the calibration covers 3D topography only (a grey-level "
     "image is not a height map)"),
    ({"native_pixel_um": None}, {}, "breech_face", "pixel_unknown", "query", {},
     "the query's pixel size is not recorded (features made before 2.0.0)"),
    ({"native_pixel_um": 0.84375}, {}, "breech_face", "pixel_range", "query",
     {"px": 0.84375, "lo": 3.125, "hi": 12.5},
     "the query's pixel size 0.844 µm is outside the calibration's 3.125-12.5 µm"),
    ({}, {"input_height_range_um": 120.4}, "breech_face", "raw_scan", "reference",
     {"spread": 120.4, "top": 40.0}, "the reference is a " + RAW.format(120)),
    ({"input_height_range_um": None}, {}, "breech_face", "raw_scan", "query",
     {"spread": 0, "top": 40.0}, "the query is a " + RAW.format(0)),
])
def test_domain_check_gives_the_reason_as_data_and_its_english(a, b, region, code, scan,
                                                                values, english):
    """The reason as a code, the scan at fault and its figures (the application words it in
    the reader's language); its English is the sentence ``domain_reason`` always gave."""
    cal = default_calibration()
    inside = {"modality": "3d", "native_pixel_um": 6.25, "input_height_range_um": 8.0}
    reason = cal.domain_check({**inside, **a}, {**inside, **b}, region)
    assert (reason.code, reason.scan, reason.values) == (code, scan, values)
    assert str(reason) == english
    assert cal.domain_reason({**inside, **a}, {**inside, **b}, region) == english
    assert cal.domain_check(inside, dict(inside), "breech_face") is None

def test_default_calibration_shipped():
    cal = default_calibration()
    assert cal.algorithm_version == ALGORITHM_VERSION and "Weller" in cal.description
    assert cal.slope > 0 and cal.llr_bounds[0] < 0 < cal.llr_bounds[1]
    grid = np.linspace(*cal.score_range, 1001)
    assert np.all(np.diff(cal.log10_lr(grid)) >= 0)
    weller = cal.validation["weller2012"]
    assert weller["n_km"] == 370 and weller["n_knm"] == 4095 and "slide" in weller["how"]
    print("shipped: LR = 1 at score", cal.threshold(), "Weller LOSO", {
        k: weller[k] for k in ("roc_auc", "cllr", "cllr_min", "rate_misleading_km",
                               "rate_misleading_knm")})


@pytest.mark.parametrize(("dx", "dy"), [(3.4, -2.6), (-7.0, 5.0), (0.0, 0.0), (-0.6, 12.5),
                                        (60.0, 0.0), (0.0, -41.0)])
def test_overlap_pairs_each_pixel_with_its_rounded_shift(dx, dy):
    """The one overlap the whole-face score and the viewer's alignment both index with."""
    h, w = 40, 50
    ys, xs = np.mgrid[0:h, 0:w]
    first, second = overlap((h, w), dx, dy)
    iy, ix = round(dy), round(dx)
    np.testing.assert_array_equal(ys[second], ys[first] + iy)
    np.testing.assert_array_equal(xs[second], xs[first] + ix)
    # Every pair that lies inside both frames, none left out (none beyond the edge).
    assert ys[first].shape == (max(h - abs(iy), 0), max(w - abs(ix), 0))


def test_into_frame_moves_b_where_a_has_it():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(48, 48))
    mask = np.ones_like(a, dtype=bool)
    b = np.roll(a, (-4, 5), axis=(0, 1))  # B has A's content 5 px right, 4 px up
    moved, valid = into_frame(b, mask, 0.0, 5.0, -4.0)
    assert valid.sum() > 0.7 * a.size and not valid[:4, :].any()
    np.testing.assert_allclose(moved[valid], a[valid], atol=1e-5)
