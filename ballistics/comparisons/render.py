"""Images for the examiner: processed surfaces as grayscale PNGs, and a reference surface moved
into the query's frame by a candidate's consensus registration, so both can be viewed side by
side or overlaid with the same congruent cells drawn on each.

The comparison runs on a 25 µm grid (160 x 160 px); the examiner sees the same processed surface
at the scan's own resolution (:func:`view_surface`): the stored file is processed again with the
same steps at its native pixel size (never finer than :data:`FINEST_VIEW_UM`), on the same frame
centred on the aperture, so the cells (in 25 µm frame coordinates) land on the same places."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image

from ballistics import imaging
from ballistics.comparisons import store
from ballistics.comparisons.models import Candidate, Scan
from ballistics.comparisons.scans import MAX_SCAN_BYTES, MAX_SCAN_PIXELS, feature_set_for
from ballistics.core.errors import Conflict
from ballistics.imaging.registration import into_frame

#: percentiles mapped to black and white: a few spikes or pits must not wash out the texture
LOW_PCT, HIGH_PCT = 1.0, 99.0
#: the finest pixel the viewer renders (a 4 mm frame at 2.5 µm is 1600 px)
FINEST_VIEW_UM = 2.5


def load_features(scan: Scan) -> imaging.Features:
    """The scan's stored features under the current algorithm version."""
    row = feature_set_for(scan)
    if row is None:
        raise Conflict(f"Scan {scan.id} has no features yet ({scan.status}).",
                       code="scan_not_ready")
    return imaging.features_from_bytes(row.data)


def grayscale(heights: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Heights -> uint8 gray (0 outside ``mask`` and where not finite), robustly stretched."""
    valid = mask & np.isfinite(heights)
    out = np.zeros(heights.shape, dtype=np.uint8)
    if not valid.any():
        return out
    lo, hi = np.percentile(heights[valid], [LOW_PCT, HIGH_PCT])
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    out[valid] = np.clip((heights[valid] - lo) * scale, 0, 255).astype(np.uint8)
    return out


def to_png(heights: np.ndarray, mask: np.ndarray) -> bytes:
    """Gray + alpha PNG: invalid pixels are transparent, so the page's neutral background shows
    through and an overlaid reference never hides the query where it has no data."""
    valid = mask & np.isfinite(heights)
    alpha = np.where(valid, 255, 0).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.dstack([grayscale(heights, mask), alpha]), mode="LA").save(
        buf, format="PNG", optimize=True)
    return buf.getvalue()


def align(heights: np.ndarray, mask: np.ndarray, rotation_deg: float, dx: float,
          dy: float) -> tuple[np.ndarray, np.ndarray]:
    """Move a reference surface into the query's frame, by the comparison's own arithmetic
    (:func:`imaging.registration.into_frame`, the convention ``imaging.compare`` scores with,
    ``a`` = query and ``b`` = reference): shifts are rounded to whole pixels, as ``compare``
    does for its whole-face correlation."""
    return into_frame(heights.astype(np.float64), mask, rotation_deg, dx, dy)


def view_pixel_um(scan: Scan) -> float:
    """Pixel size the viewer shows a scan at: its own, within [FINEST_VIEW_UM, comparison]."""
    comparison = imaging.PreprocessParams().pixel_um
    return float(min(max(scan.pixel_um, FINEST_VIEW_UM), comparison))


@lru_cache(maxsize=8)  # up to 8 x 10 MB (1600 x 1600 float32 + mask)
def _processed(sha256: str, filename: str, pixel_um: float | None, view_um: float,
               version: str) -> tuple[np.ndarray, np.ndarray]:
    # Keyed by content and algorithm version: the same file always gives the same image.
    surface = imaging.read_surface(store.read(sha256), filename, pixel_um,
                                   max_bytes=MAX_SCAN_BYTES, max_pixels=MAX_SCAN_PIXELS)
    p = imaging.preprocess(surface, imaging.PreprocessParams(pixel_um=view_um))
    return p.heights, p.mask


def view_surface(scan: Scan, view_um: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The scan's processed surface at ``view_um`` (default :func:`view_pixel_um`)."""
    load_features(scan)  # refuses scans whose features are not ready, as before
    view_um = view_um or view_pixel_um(scan)
    pixel = scan.pixel_um if scan.file_format != "x3p" else None
    return _processed(scan.sha256, scan.filename, pixel, view_um, imaging.ALGORITHM_VERSION)


def surface_png(scan: Scan) -> bytes:
    return to_png(*view_surface(scan))


def aligned_png(candidate: Candidate) -> bytes:
    """The reference moved into the query's frame, at the query's view resolution."""
    view_um = view_pixel_um(candidate.search.query_scan)
    heights, mask = view_surface(candidate.reference_scan, view_um)
    scale = imaging.PreprocessParams().pixel_um / view_um  # registration is in 25 µm pixels
    heights, mask = align(heights, mask, candidate.rotation_deg, candidate.dx_px * scale,
                          candidate.dy_px * scale)
    return to_png(heights, mask)


def frame_size(scan: Scan) -> tuple[int, int]:
    """(width, height) of the processed 25 µm grid: the coordinate frame of the cells."""
    height, width = load_features(scan).heights.shape
    return width, height


def image_size(scan: Scan) -> tuple[int, int]:
    """(width, height) in pixels of the full-resolution image the viewer shows."""
    n = round(2 * imaging.PreprocessParams().canvas_radius_um / view_pixel_um(scan))
    return n, n


def cell_boxes(candidate: Candidate) -> list[dict]:
    """Cells worth drawing (those that had enough data to be registered), congruent last so
    their outlines sit on top."""
    cells = [c for c in candidate.cells or [] if c.get("ccf") is not None]
    return sorted(cells, key=lambda c: bool(c.get("is_congruent")))


def stage_context(candidate) -> dict:
    """What the two-surface stage of the viewer and of the verification page needs."""
    query = candidate.search.query_scan
    return {"query": query, "reference": candidate.reference_scan,
            "cells": cell_boxes(candidate), "frame": frame_size(query),
            "image": image_size(query), "view_um": view_pixel_um(query)}
