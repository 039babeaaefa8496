"""Preprocessing on synthetic scans: aperture masked, tilt removed, filter response."""

from __future__ import annotations

import numpy as np
import pytest

from ballistics.imaging import PreprocessParams, Surface, preprocess
from ballistics.imaging.geometry import robust_poly_fit
from ballistics.imaging.preprocess import GAUSS_SIGMA_PER_CUTOFF, bandpass
from ballistics.imaging.synthetic import fire, make_firearm

# One xdist worker runs this module (scripts/test: --dist loadgroup): its module-scoped fixtures are
# computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("imaging-preprocess")


@pytest.fixture(scope="module")
def firearm():
    return make_firearm(42)


@pytest.mark.parametrize("outside", ["case", "nan"])
def test_aperture_and_outside_masked(firearm, outside):
    s = fire(firearm, 3, pixel_um=12.5, outside=outside)
    p = preprocess(s)
    n = p.mask.shape[0]
    yy, xx = (np.indices(p.mask.shape) - (n - 1) / 2) * p.pixel_um
    r = np.hypot(yy, xx)
    # The output is centred on the aperture: nothing inside its radius may survive ...
    assert not p.mask[r < firearm.aperture_radius_um - 30].any()
    # ... nor beyond the primer edge, while most of the breech face does.
    assert not p.mask[r > firearm.primer_radius_um + 250].any()
    ring = (r > firearm.aperture_radius_um + 150) & (r < firearm.primer_radius_um - 350)
    assert p.mask[ring].mean() > 0.8
    g = p.geometry
    assert abs(g.aperture_radius_px * 12.5 - firearm.aperture_radius_um) < 60


def test_tilt_removed():
    rng = np.random.default_rng(0)
    n, px = 300, 10.0
    yy, xx = np.indices((n, n)) * px
    tex = rng.normal(0, 0.5, (n, n))
    z = 0.05 * xx - 0.03 * yy + 4e-6 * (xx - 1500) ** 2 + tex  # ~2.9 degrees of tilt + dome
    mask = np.ones_like(z, bool)
    res = z - robust_poly_fit(z, mask, 2, xx, yy)
    a = np.c_[np.ones(z.size), xx.ravel(), yy.ravel()]
    coef, *_ = np.linalg.lstsq(a, res.ravel(), rcond=None)
    # Residual plane: below 1e-4 (0.006 degrees), i.e. < 0.3 µm over the 3 mm field.
    assert np.hypot(coef[1], coef[2]) < 1e-4
    assert res.std() < 0.6


@pytest.mark.parametrize("wavelength,expect", [(250.0, 0.5), (2500.0, 0.0), (60.0, 1.0)])
def test_highpass_response_on_sine(wavelength, expect):
    px = 5.0
    n = 1200
    x = np.arange(n) * px
    z = np.tile(np.sin(2 * np.pi * x / wavelength), (40, 1))
    out = bandpass(z, np.ones_like(z, bool), px, None, 250.0)
    core = out[20, 300:-300]
    amp = np.sqrt(2) * core.std()
    assert amp == pytest.approx(expect, abs=0.03)


def test_lowpass_response_on_sine():
    px, n = 2.0, 3000
    x = np.arange(n) * px
    z = np.tile(np.sin(2 * np.pi * x / 16.0), (30, 1))
    out = bandpass(z, np.ones_like(z, bool), px, 16.0, None)
    assert np.sqrt(2) * out[15, 500:-500].std() == pytest.approx(0.5, abs=0.03)
    assert abs(GAUSS_SIGMA_PER_CUTOFF - 0.1874) <= 1e-4


def test_output_grid_and_outliers(firearm):
    s = fire(firearm, 5, pixel_um=12.5)
    h = s.heights.copy()
    h[200:203, 400:403] += 500.0  # spike cluster on the breech face
    p = preprocess(Surface(h, 12.5, 12.5), PreprocessParams(pixel_um=25.0))
    assert p.heights.shape == (160, 160) and p.pixel_um == 25.0
    assert np.abs(p.heights[p.mask]).max() < 20.0
    assert np.all(p.heights[~p.mask] == 0)
