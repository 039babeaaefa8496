"""Preprocessing of breech-face scans: level, isolate the breech face, filter, resample.

The sequence follows the published CMC pipelines (Song 2013; Tong, Song & Chu 2015; the cmcR
implementation of Zemmels, VanderPlas & Hofmann 2022): level the surface, keep only the breech
face (inside the primer, outside the firing-pin aperture), remove outliers, band-pass with the
ISO 16610-61 areal Gaussian filter, and resample to one common pixel size. Here the result is
also centred on the aperture, which fixes the centre of rotation for comparison and signature.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ballistics.imaging.errors import EmptyScanError, ImagingError
from ballistics.imaging.geometry import BreechFaceGeometry, find_breech_face, robust_poly_fit
from ballistics.imaging.surface import Surface, check_not_empty

#: sigma = ALPHA * cut-off / sqrt(2 pi) of the ISO 16610-21 Gaussian weighting function
GAUSS_SIGMA_PER_CUTOFF = float(np.sqrt(np.log(2) / np.pi) / np.sqrt(2 * np.pi))


@dataclass(frozen=True)
class PreprocessParams:
    """Parameters of :func:`preprocess` (all lengths in µm).

    Attributes
    ----------
    pixel_um : float
        Common pixel size of the output (the comparison resolution).
    short_cutoff_um, long_cutoff_um : float
        Band-pass cut-offs (50 % transmission) of the Gaussian filter: structure shorter than
        ``short_cutoff_um`` (noise, aliasing) and longer than ``long_cutoff_um`` (form, waviness)
        is removed. The short cut-off is raised to twice ``pixel_um`` if needed (anti-aliasing).
    canvas_radius_um : float
        Half side of the square output, centred on the aperture.
    aperture_margin_um, outer_margin_um : float
        Extra band masked around the aperture and inside the primer edge.
    outlier_mad : float
        Points further than this many robust standard deviations from the levelled surface
        (globally, then from a local median) are removed.
    level_order : int
        Order of the robust polynomial removed as form (1 = plane).
    """

    pixel_um: float = 25.0
    short_cutoff_um: float = 16.0
    long_cutoff_um: float = 250.0
    canvas_radius_um: float = 2000.0
    aperture_margin_um: float = 60.0
    outer_margin_um: float = 60.0
    outlier_mad: float = 6.0
    level_order: int = 2

    def __post_init__(self) -> None:
        if not (self.pixel_um > 0 and 0 < self.short_cutoff_um < self.long_cutoff_um):
            raise ImagingError(
                "need 0 < pixel_um and 0 < short_cutoff_um < long_cutoff_um, got "
                f"{self.pixel_um}, {self.short_cutoff_um}, {self.long_cutoff_um}"
            )


@dataclass
class ProcessedScan:
    """A preprocessed breech face on the common grid.

    Attributes
    ----------
    heights : numpy.ndarray
        float32 heights (µm), 0 outside ``mask``; image centre = aperture centre.
    mask : numpy.ndarray
        bool, True on the usable breech face.
    pixel_um : float
        Pixel size of ``heights``.
    geometry : BreechFaceGeometry
        Circles found on the input (in input pixels).
    params : PreprocessParams
    meta : dict
    """

    heights: np.ndarray
    mask: np.ndarray
    pixel_um: float
    geometry: BreechFaceGeometry
    params: PreprocessParams = field(default_factory=PreprocessParams)
    meta: dict = field(default_factory=dict)


def gaussian_filter_nan(z: np.ndarray, mask: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian low-pass of the masked data by normalised convolution.

    Parameters
    ----------
    z, mask : numpy.ndarray
        Heights and validity (values under ``~mask`` are ignored).
    sigma_px : float
        Gaussian standard deviation in pixels.

    Returns
    -------
    numpy.ndarray
        Filtered heights, NaN where the local weight of valid data is below 5 %.

    References
    ----------
    Knutsson, H. & Westin, C.-F. (1993). Normalized and differential convolution. CVPR.
    """
    w = mask.astype(np.float64)
    num = ndimage.gaussian_filter(np.where(mask, z, 0.0), sigma_px, mode="constant", truncate=3.0)
    den = ndimage.gaussian_filter(w, sigma_px, mode="constant", truncate=3.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[den < 0.05] = np.nan
    return out


def bandpass(z: np.ndarray, mask: np.ndarray, pixel_um: float, short_um: float | None,
             long_um: float | None) -> np.ndarray:
    """ISO 16610-61 Gaussian band-pass with cut-offs in µm (NaN-aware).

    Parameters
    ----------
    z, mask : numpy.ndarray
        Heights and validity.
    pixel_um : float
        Pixel size.
    short_um, long_um : float or None
        Short (lambda_s) and long (lambda_c) cut-off wavelengths; None skips that side.

    Returns
    -------
    numpy.ndarray
        Filtered heights (NaN outside ``mask``). A sine of wavelength equal to a cut-off keeps
        50 % of its amplitude.

    References
    ----------
    ISO 16610-61:2015, Filtration - Linear areal filters - Gaussian filters.
    """
    out = np.where(mask, z, np.nan)
    if short_um:
        out = gaussian_filter_nan(out, mask, GAUSS_SIGMA_PER_CUTOFF * short_um / pixel_um)
    if long_um:
        out = out - gaussian_filter_nan(out, mask, GAUSS_SIGMA_PER_CUTOFF * long_um / pixel_um)
    out[~mask] = np.nan
    return out


def remove_outliers(z: np.ndarray, mask: np.ndarray, k: float, local_px: int = 5) -> np.ndarray:
    """Mask points far from the surface: global robust z-score, then deviation from local median.

    Returns
    -------
    numpy.ndarray
        Updated mask.
    """
    vals = z[mask]
    if vals.size == 0:
        return mask
    med = np.median(vals)
    mad = 1.4826 * np.median(np.abs(vals - med)) + 1e-12
    keep = mask & (np.abs(z - med) <= k * mad)
    if local_px > 1:
        filled = np.where(keep, z, med)
        dev = np.abs(z - ndimage.median_filter(filled, size=local_px))
        keep &= dev <= k * mad
    return keep


def resample_centered(z: np.ndarray, mask: np.ndarray, px_y: float, px_x: float,
                      center_yx: tuple[float, float], pixel_um: float, radius_um: float):
    """Bilinear resampling onto a square grid of ``pixel_um`` centred on ``center_yx``.

    Returns
    -------
    (heights, mask) : tuple of numpy.ndarray
        A pixel is valid only if all four input neighbours are.
    """
    n = round(2 * radius_um / pixel_um)
    off = (np.arange(n) - (n - 1) / 2) * pixel_um
    cy = center_yx[0] + off[:, None] / px_y + 0 * off[None, :]
    cx = center_yx[1] + off[None, :] / px_x + 0 * off[:, None]
    filled = np.where(mask, z, 0.0)
    out = ndimage.map_coordinates(filled, [cy, cx], order=1, cval=0.0)
    w = ndimage.map_coordinates(mask.astype(np.float64), [cy, cx], order=1, cval=0.0)
    return out, w > 0.999


def _block_reduce(z: np.ndarray, f: int) -> np.ndarray:
    if f <= 1:
        return z
    h, w = (z.shape[0] // f) * f, (z.shape[1] // f) * f
    blocks = z[:h, :w].reshape(h // f, f, w // f, f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks are expected
        return np.nanmean(blocks, axis=(1, 3))


def preprocess(surface: Surface, params: PreprocessParams | None = None) -> ProcessedScan:
    """Turn a breech-face scan into a levelled, masked, band-passed, centred height map.

    Steps: (1) find primer and firing-pin aperture circles on a coarse copy
    (:func:`~ballistics.imaging.geometry.find_breech_face`); (2) remove the robust polynomial form
    fitted on the breech face; (3) mask outside the primer and inside the aperture; (4) remove
    outliers; (5) Gaussian band-pass; (6) resample to ``params.pixel_um`` on a square centred on
    the aperture.

    Parameters
    ----------
    surface : Surface
        Raw or already-processed scan.
    params : PreprocessParams, optional

    Returns
    -------
    ProcessedScan

    Raises
    ------
    EmptyScanError
        No breech face with enough valid points was found.

    References
    ----------
    Song, J. (2013), AFTE J. 45(2); Tong, M., Song, J. & Chu, W. (2015), J. Res. NIST 120,
    102-112; Zemmels, J., VanderPlas, S. & Hofmann, H. (2022), cmcR, R Journal 14(4).
    """
    p = params or PreprocessParams()
    check_not_empty(surface)
    z = np.asarray(surface.heights, dtype=np.float64)
    px_x, px_y = surface.pixel_um_x, surface.pixel_um_y
    px = min(px_x, px_y)
    f = max(1, round(20.0 / px))
    coarse = _block_reduce(z, f)
    geo_c = find_breech_face(coarse, px * f)
    geo = geo_c.scaled(f)
    yy, xx = np.indices(z.shape, dtype=np.float64)
    r_ap = np.hypot((yy - geo.aperture_center[0]) * px_y, (xx - geo.aperture_center[1]) * px_x)
    r_pr = np.hypot((yy - geo.primer_center[0]) * px_y, (xx - geo.primer_center[1]) * px_x)
    mask = np.isfinite(z)
    # Where the data itself ends (cropped scans, unmeasured aperture) no margin is cut away.
    outer_margin = 0.0 if geo.method == "outline" else p.outer_margin_um
    ap_margin = 0.0 if geo.aperture_unmeasured else p.aperture_margin_um
    mask &= r_pr < geo.primer_radius_px * px - outer_margin
    mask &= r_ap > geo.aperture_radius_px * px + ap_margin
    if mask.sum() < 100:
        raise EmptyScanError("no breech-face region with enough measured points was found")
    form = robust_poly_fit(z, mask, p.level_order, xx * px_x, yy * px_y)
    res = z - form
    mask = remove_outliers(res, mask, p.outlier_mad, local_px=1)
    short = max(p.short_cutoff_um, 2.0 * p.pixel_um)
    lowp = bandpass(res, mask, px, short, None)
    mask &= np.isfinite(lowp)
    out, omask = resample_centered(lowp, mask, px_y, px_x, geo.aperture_center, p.pixel_um,
                                   p.canvas_radius_um)
    out = bandpass(out, omask, p.pixel_um, None, p.long_cutoff_um)
    omask &= np.isfinite(out)
    omask = remove_outliers(out, omask, p.outlier_mad, local_px=3)
    omask = ndimage.binary_opening(omask, iterations=1)
    if omask.sum() < 100:
        raise EmptyScanError("preprocessing left fewer than 100 valid points on the breech face")
    out = np.where(omask, out - out[omask].mean(), 0.0).astype(np.float32)
    meta = dict(surface.meta)
    return ProcessedScan(out, omask, p.pixel_um, geo, p, meta)
