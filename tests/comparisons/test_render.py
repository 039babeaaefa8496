"""The viewer's alignment follows the comparison's sign convention: a reference moved by a
candidate's (rotation, dx, dy) lies on the query."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
import pytest
from PIL import Image

from ballistics import imaging
from ballistics.comparisons.render import align, grayscale, to_png
from ballistics.imaging import synthetic
from ballistics.imaging.cmc import pearson


@cache
def _features(firearm: int, firing: int) -> imaging.Features:
    return imaging.extract_features(synthetic.fire(synthetic.make_firearm(firearm), firing))


def _corr(a: imaging.Features, heights: np.ndarray, mask: np.ndarray) -> float:
    return pearson(a.heights.astype(np.float64), a.mask, heights, mask, 100)


def test_aligned_reference_lies_on_the_query():
    query, reference = _features(3, 0), _features(3, 1)
    result = imaging.compare(query, reference)
    assert result.cmc_count >= 10 and abs(result.rotation_deg) > 5  # a real, rotated match
    dx, dy = result.translation_px
    heights, mask = align(reference.heights, reference.mask, result.rotation_deg, dx, dy)
    aligned = _corr(query, heights, mask)
    unaligned = _corr(query, reference.heights.astype(np.float64), reference.mask)
    # The same registration the comparison scored: its whole-face correlation is reproduced.
    assert aligned == pytest.approx(result.pairwise_ccf, abs=0.02)
    assert aligned > 0.2 and aligned > unaligned + 0.15, (aligned, unaligned)
    # The opposite sign convention would not line up.
    wrong, wrong_mask = align(reference.heights, reference.mask, -result.rotation_deg, -dx, -dy)
    assert _corr(query, wrong, wrong_mask) < aligned - 0.15


def test_known_shift_is_undone():
    rng = np.random.default_rng(1)
    query = rng.normal(size=(64, 64))
    mask = np.ones_like(query, dtype=bool)
    # Reference content sits 3 px right and 2 px down of where the query has it.
    reference = np.roll(query, (2, 3), axis=(0, 1))
    heights, valid = align(reference, mask, 0.0, 3.0, 2.0)
    # Rows and columns shifted in from outside are invalid (the bilinear rotation also drops
    # the last row and column); the rest is the query again.
    assert not valid[62:, :].any() and not valid[:, 61:].any() and valid[:60, :59].all()
    np.testing.assert_allclose(heights[valid], query[valid], atol=1e-5)


def test_png_is_stretched_by_percentiles_and_transparent_outside_the_mask():
    heights = np.linspace(0, 1, 100 * 100).reshape(100, 100)
    heights[0, 0] = 1e6  # a spike must not wash out the rest
    mask = np.ones_like(heights, dtype=bool)
    mask[:, :10] = False
    heights[50, 50] = np.nan
    gray = grayscale(heights, mask)
    assert gray[:, :10].max() == 0 and gray[50, 50] == 0
    assert gray[mask & np.isfinite(heights)].std() > 60
    image = Image.open(io.BytesIO(to_png(heights, mask)))
    assert image.mode == "LA" and image.size == (100, 100)
    alpha = np.asarray(image)[..., 1]
    assert alpha[:, :10].max() == 0 and alpha[50, 50] == 0 and alpha[20, 20] == 255
