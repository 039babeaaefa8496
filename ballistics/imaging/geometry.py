"""Finding the primer and the firing-pin aperture on a (coarse) height map.

The breech face is the annulus between the firing-pin aperture and the primer edge. Both are
found as circles fitted with RANSAC (Fischler & Bolles 1981) to boundary pixels, using
scikit-image: the primer from the outline of the measured region (scans cropped to the primer)
or from a Hough transform of height edges (full case-head scans); the aperture from the central
region that is unmeasured or departs from the levelled breech face (the firing-pin impression).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage import feature, measure, morphology, transform


@dataclass(frozen=True)
class BreechFaceGeometry:
    """Primer and aperture circles, in pixels of the map they were found on (``(y, x)``)."""

    primer_center: tuple[float, float]
    primer_radius_px: float
    aperture_center: tuple[float, float]
    aperture_radius_px: float
    method: str = ""
    aperture_unmeasured: bool = False

    def scaled(self, f: float) -> BreechFaceGeometry:
        """Same circles on a grid ``f`` times finer (block centres map to ``f*i + (f-1)/2``)."""
        def s(c: tuple[float, float]) -> tuple[float, float]:
            return (c[0] * f + (f - 1) / 2, c[1] * f + (f - 1) / 2)

        return BreechFaceGeometry(s(self.primer_center), self.primer_radius_px * f,
                                  s(self.aperture_center), self.aperture_radius_px * f,
                                  self.method, self.aperture_unmeasured)


def robust_poly_fit(z: np.ndarray, mask: np.ndarray, order: int, x: np.ndarray, y: np.ndarray,
                    n_iter: int = 4, k: float = 3.0, max_points: int = 40_000) -> np.ndarray:
    """Fit a 2D polynomial form by iteratively trimmed least squares and evaluate it everywhere.

    Parameters
    ----------
    z, mask : numpy.ndarray
        Heights and the points to fit.
    order : int
        1 = plane (tilt), 2 = quadric (tilt and dome).
    x, y : numpy.ndarray
        Coordinates (µm) of every pixel.
    n_iter, k : int, float
        Refits after dropping points beyond ``k`` robust standard deviations.
    max_points : int
        Regular subsample used for the fit (the form is smooth).

    Returns
    -------
    numpy.ndarray
        The fitted form on the whole grid.
    """
    idx = np.flatnonzero(mask)
    if idx.size > max_points:
        idx = idx[:: idx.size // max_points + 1]
    xs, ys, zs = x.ravel()[idx], y.ravel()[idx], z.ravel()[idx]
    sx, sy = xs.mean(), ys.mean()
    scale = max(np.ptp(xs), np.ptp(ys), 1.0)

    def design(xv: np.ndarray, yv: np.ndarray) -> np.ndarray:
        u, v = (xv - sx) / scale, (yv - sy) / scale
        cols = [np.ones_like(u), u, v]
        if order >= 2:
            cols += [u * u, u * v, v * v]
        return np.stack(cols, axis=-1)

    a = design(xs, ys)
    keep = np.ones(zs.size, bool)
    coef = np.zeros(a.shape[1])
    for _ in range(n_iter):
        if keep.sum() < a.shape[1] * 3:
            break
        coef, *_ = np.linalg.lstsq(a[keep], zs[keep], rcond=None)
        r = zs - a @ coef
        mad = 1.4826 * np.median(np.abs(r[keep] - np.median(r[keep]))) + 1e-12
        keep = np.abs(r) < k * mad
    return design(x, y) @ coef


def _fit_circle(points: np.ndarray, tol: float, seed: int = 0,
                min_inlier_frac: float = 0.0) -> tuple[np.ndarray, float] | None:
    """RANSAC circle through ``(y, x)`` points; None if no consistent circle.

    ``min_inlier_frac``: the fraction of the points the circle must pass within ``tol`` of (a
    straight-sided outline, such as a rotated rectangular scan's, fits no circle well).
    """
    if len(points) < 8:
        return None
    if len(points) > 4000:
        points = points[:: len(points) // 4000 + 1]
    model, inliers = measure.ransac(points, measure.CircleModel, min_samples=3,
                                    residual_threshold=tol, max_trials=200, rng=seed)
    if model is None or inliers is None or inliers.sum() < 8:
        return None
    if inliers.mean() < min_inlier_frac:
        return None
    cy, cx = model.center
    return np.array([cy, cx]), float(model.radius)


def _boundary(region: np.ndarray) -> np.ndarray:
    edge = region & ~ndimage.binary_erosion(region, border_value=0)
    return np.argwhere(edge).astype(float)


def _is_rectangle(hull: np.ndarray, fill: float = 0.95) -> bool:
    """True if a convex region fills ``fill`` of its smallest enclosing rectangle (any angle).

    A disk fills pi/4 = 0.785 of it, a hand-masked breech face less; a full rectangular scan
    rotated with empty corners fills it up to the pixel staircase of its edges.
    """
    pts = _boundary(hull)
    if len(pts) < 8:
        return False
    area = float(hull.sum())
    best = np.inf
    for t in np.deg2rad(np.arange(0.0, 90.0, 1.0)):
        u = pts[:, 0] * np.cos(t) + pts[:, 1] * np.sin(t)
        v = -pts[:, 0] * np.sin(t) + pts[:, 1] * np.cos(t)
        best = min(best, (np.ptp(u) + 1) * (np.ptp(v) + 1))
    return area >= fill * best


def _primer_circle(z: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, float, str]:
    h, w = z.shape
    side = min(h, w)
    if valid.mean() < 0.93:
        # Cropped scan: the measured region is the primer (or the breech face annulus).
        region = ndimage.binary_closing(valid, iterations=2)
        lab, n = ndimage.label(region)
        if n:
            sizes = ndimage.sum(region, lab, range(1, n + 1))
            region = lab == (1 + int(np.argmax(sizes)))
            hull = morphology.convex_hull_image(region)
            # A full scan stored rotated, with empty corners, is no crop: its measured region
            # is a (rotated) rectangle, not a primer or a breech face.
            if not _is_rectangle(hull):
                fit = _fit_circle(_boundary(hull), tol=1.5)
                if fit is not None and fit[1] > 0.15 * side:
                    return fit[0], fit[1], "outline"
    # Full scan: strongest circular height edge (primer gap) by Hough transform.
    filled = np.where(valid, z, np.nanmedian(z))
    edges = feature.canny(filled, sigma=2.0, low_threshold=None, high_threshold=None,
                          use_quantiles=False)
    radii = np.arange(int(0.25 * side), int(0.55 * side), 2)
    if edges.sum() > 20 and radii.size:
        hs = transform.hough_circle(edges, radii)
        # Only the single strongest circle is needed; a plain argmax avoids peak bookkeeping.
        ri, cy, cx = np.unravel_index(int(np.argmax(hs)), hs.shape)
        return np.array([float(cy), float(cx)]), float(radii[ri]), "hough"
    return np.array([(h - 1) / 2, (w - 1) / 2]), 0.48 * side, "default"


def find_breech_face(z: np.ndarray, pixel_um: float, *, dev_um: float = 12.0) -> BreechFaceGeometry:
    """Locate primer and firing-pin aperture circles.

    Parameters
    ----------
    z : numpy.ndarray
        Heights (µm, NaN = missing), ideally at a coarse (~20 µm) pixel size for speed.
    pixel_um : float
        Pixel size of ``z``.
    dev_um : float
        Departure from the levelled breech face (µm) above which a central point belongs to the
        firing-pin impression.

    Returns
    -------
    BreechFaceGeometry
        In pixels of ``z``. If no aperture is found its radius is 0 and its centre the primer's.
    """
    valid = np.isfinite(z)
    c, rp, how = _primer_circle(z, valid)
    yy, xx = np.indices(z.shape, dtype=np.float64)
    r = np.hypot(yy - c[0], xx - c[1])
    inside = valid & (r < 0.9 * rp)
    if inside.sum() < 50:
        return BreechFaceGeometry((c[0], c[1]), rp, (c[0], c[1]), 0.0, how)
    # Fit the form on the outer annulus: a deep firing-pin crater covering 10-20 % of the
    # primer pulls a least-squares start far enough that trimming never recovers (the aperture
    # was then missed and the scan centred on the primer instead, a few pixels off).
    ring = inside & (r > 0.45 * rp)
    form = robust_poly_fit(z, ring if ring.sum() > 200 else inside, 2, xx * pixel_um,
                           yy * pixel_um)
    res = np.where(valid, z - form, np.nan)
    mad = 1.4826 * np.nanmedian(np.abs(res[inside]))
    odd = ~valid | (np.abs(res) > max(dev_um, 6 * mad))
    odd &= r < 0.8 * rp
    odd = ndimage.binary_opening(odd, iterations=2)
    odd = ndimage.binary_fill_holes(odd)
    lab, n = ndimage.label(odd)
    if n == 0:
        return BreechFaceGeometry((c[0], c[1]), rp, (c[0], c[1]), 0.0, how)
    # The impression is the large odd region nearest the primer centre.
    best, best_score = 0, -np.inf
    for i, sl in enumerate(ndimage.find_objects(lab), start=1):
        comp = lab[sl] == i
        area = comp.sum()
        cyx = np.add(ndimage.center_of_mass(comp), (sl[0].start, sl[1].start))
        score = area - 3.0 * np.pi * (np.hypot(*(cyx - c))) ** 2
        if area > 20 and score > best_score:
            best, best_score = i, score
    if best == 0:
        return BreechFaceGeometry((c[0], c[1]), rp, (c[0], c[1]), 0.0, how)
    comp = lab == best
    fit = _fit_circle(_boundary(comp), tol=1.5)
    area_r = float(np.sqrt(comp.sum() / np.pi))
    if fit is None or not (0.5 * area_r < fit[1] < 1.5 * area_r):
        ac, ar = np.array(ndimage.center_of_mass(comp)), area_r
    else:
        ac, ar = fit
    ar = min(ar, 0.85 * rp)
    unmeasured = bool((~valid[comp]).mean() > 0.9)
    return BreechFaceGeometry((c[0], c[1]), rp, (float(ac[0]), float(ac[1])), float(ar), how,
                              unmeasured)
