"""Global pre-alignment of two processed breech faces: rotation candidates and translation.

The cell search of :mod:`~ballistics.imaging.cmc` is only run near one global registration,
found here in three cheap steps:

1. **Rotation candidates** from two independent cues, so that one failing cue does not lose a
   true match:

   - the *spatial* polar cross-correlation about the image centre (= the aperture centre found
     by preprocessing, :func:`~ballistics.imaging.registration.rotation_scores`); precise when
     both centres are right, useless when one is off by more than the mark correlation length
     (tens of µm), which happens on real scans whose aperture is partly hidden or cropped;
   - the *spectral* cue: the magnitude of the 2D Fourier transform does not depend on
     translation, and rotates with the surface. Its log-magnitude, whitened per spatial
     frequency and resampled to polar coordinates over the band-pass wavelengths, is
     circularly cross-correlated over angle. |F| is centrally symmetric, so each peak ``t``
     gives two candidates ``t`` and ``t + 180``.

2. **Translation and ranking**: for each candidate the target is rotated and a masked,
   energy-normalised cross-correlation of the whole breech faces is computed over translations
   up to ``global_max_shift_um`` (one batch of FFTs on a 2x2 block-averaged copy). Candidates
   are ranked by this correlation (a true registration stands out clearly: 0.3-0.7 against
   0.05-0.15 for wrong ones on the validation scans).
3. **Refinement** of the best angle by a parabola through the correlation at +-1 degree.

This is the classic Fourier-Mellin idea (rotation from the translation-invariant amplitude
spectrum, then translation by correlation; Reddy & Chatterji 1996) used only to seed the CMC
cell search, which still registers every cell independently.

References
----------
Reddy, B. S. & Chatterji, B. N. (1996). An FFT-based technique for translation, rotation, and
scale-invariant image registration. IEEE Trans. Image Processing 5(8), 1266-1271.
Padfield, D. (2012). Masked object registration in the Fourier domain. IEEE Trans. Image
Processing 21(5), 2706-2718.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from ballistics.imaging.registration import bilinear, polar, rotate, rotation_scores

#: Wavelength band (µm) of the spectral rotation cue (the preprocessing band-pass).
SPECTRAL_BAND_UM = (50.0, 250.0)
#: Angular samples of the spectral polar image over 0-180 degrees.
SPECTRAL_N_THETA = 360


def standardise(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-variance on ``m`` and 0 elsewhere (float32)."""
    n = max(int(m.sum()), 1)
    vals = v[m].astype(np.float64)
    mu = vals.sum() / n
    sd = np.sqrt(((vals - mu) ** 2).sum() / n) + 1e-12
    return np.where(m, (v - mu) / sd, 0.0).astype(np.float32)


def downsample2(h: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 block mean of the valid points; a block is valid with >= 3 valid points.

    The centre of the array maps to the centre (block centres are at ``2 i + 0.5``).
    """
    hh, ww = h.shape[0] // 2 * 2, h.shape[1] // 2 * 2
    s = np.where(m, h, 0.0)[:hh, :ww].reshape(hh // 2, 2, ww // 2, 2).sum((1, 3))
    n = m[:hh, :ww].reshape(hh // 2, 2, ww // 2, 2).sum((1, 3))
    ok = n >= 3
    return np.where(ok, s / np.maximum(n, 1), 0.0).astype(np.float32), ok


def spectral_polar(h: np.ndarray, m: np.ndarray, pixel_um: float) -> np.ndarray:
    """Whitened log |FFT| of the tapered surface on a polar grid (radius x 0-180 degrees).

    Returns
    -------
    numpy.ndarray
        float32, shape ``(n_radii, SPECTRAL_N_THETA)``; every row zero-mean, unit-variance.
    """
    taper = ndimage.gaussian_filter(m.astype(np.float32), 2.0) * m
    v = standardise(h, m) * taper
    n = sfft.next_fast_len(2 * max(v.shape))
    # Half plane kx >= 0 (|F| is centrally symmetric); rows centred on ky = 0.
    f = np.abs(sfft.fftshift(sfft.rfft2(v, s=(n, n), workers=1), axes=0))
    c = n // 2
    r0 = n * pixel_um / SPECTRAL_BAND_UM[1]
    r1 = min(n * pixel_um / SPECTRAL_BAND_UM[0], c - 2)
    r = np.arange(np.floor(r0), np.ceil(r1))
    phi = np.arange(SPECTRAL_N_THETA) * (np.pi / SPECTRAL_N_THETA)
    sign = np.where(np.cos(phi) < 0, -1.0, 1.0)
    yy = c + r[:, None] * (sign * np.sin(phi))[None, :]
    xx = r[:, None] * (sign * np.cos(phi))[None, :]
    pol = np.log(bilinear(f.astype(np.complex64), yy, xx).real + 1e-6 * f.max() + 1e-30)
    pol -= pol.mean(axis=1, keepdims=True)
    pol /= pol.std(axis=1, keepdims=True) + 1e-12
    return pol.astype(np.float32)


def spectral_scores(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """Circular cross-correlation over angle of two :func:`spectral_polar` images.

    ``score[k]`` is for ``b`` rotated by ``k * 180 / SPECTRAL_N_THETA`` (mod 180) degrees.
    """
    n = pa.shape[1]
    fa, fb = np.fft.rfft(pa, axis=1), np.fft.rfft(pb, axis=1)
    return np.fft.irfft((np.conj(fa) * fb).sum(0), n) / pa.size


def peaks(scores: np.ndarray, period_deg: float, k: int, min_sep_deg: float) -> list[float]:
    """The ``k`` highest local maxima of a circular score (degrees), ``min_sep_deg`` apart."""
    n = scores.size
    step = period_deg / n
    local = (scores >= np.roll(scores, 1)) & (scores >= np.roll(scores, -1))
    order = np.flatnonzero(local)[np.argsort(scores[local])[::-1]]
    out: list[float] = []
    for i in order:
        # Parabolic interpolation of the peak position.
        y0, y1, y2 = scores[i - 1], scores[i], scores[(i + 1) % n]
        den = y0 - 2 * y1 + y2
        d = 0.5 * (y0 - y2) / den if den < 0 else 0.0
        ang = ((i + float(np.clip(d, -0.5, 0.5))) * step) % period_deg
        if all(abs((ang - o + period_deg / 2) % period_deg - period_deg / 2) >= min_sep_deg
               for o in out):
            out.append(ang)
            if len(out) == k:
                break
    return out


@dataclass
class Prepared:
    """Per-scan quantities of the global alignment (cached on :class:`Features`)."""

    polar: tuple[np.ndarray, np.ndarray]
    spectral: np.ndarray
    half: tuple[np.ndarray, np.ndarray]
    half_std: np.ndarray
    n_valid_half: int


def prepare(h: np.ndarray, m: np.ndarray, pixel_um: float) -> Prepared:
    """Polar image, spectral polar image and half-resolution copy of one processed surface."""
    r_max = min(h.shape) / 2 - 1
    pol = polar(h, m, 2.0, r_max, n_theta=360)
    h2, m2 = downsample2(h, m)
    return Prepared(pol, spectral_polar(h, m, pixel_um), (h2, m2), standardise(h2, m2),
                    int(m2.sum()))


def global_correlation(pa: Prepared, pb: Prepared, thetas: list[float], max_shift_px: int,
                       min_overlap_frac: float = 0.5) -> list[tuple[float, float, float]]:
    """Best whole-face correlation of ``b`` rotated by each angle, over translations.

    Parameters
    ----------
    pa, pb : Prepared
        From :func:`prepare` (same grid).
    thetas : list of float
        Rotations of ``b`` relative to ``a`` (degrees, convention of
        :func:`~ballistics.imaging.registration.rotate`).
    max_shift_px : int
        Largest translation searched, in pixels of the full-resolution grid.
    min_overlap_frac : float
        Translations whose overlapping energy is below this fraction score low.

    Returns
    -------
    list of (ncc, dx, dy)
        Per angle: the masked normalised cross-correlation and the translation (full-resolution
        pixels) of the content of ``b`` (rotated back) relative to ``a``.
    """
    if not thetas:
        return []
    a = pa.half_std
    ma = pa.half[1]
    hb, mb = pb.half
    ms = max(1, int(np.ceil(max_shift_px / 2)))
    shape = (sfft.next_fast_len(a.shape[0] + ms), sfft.next_fast_len(a.shape[1] + ms, real=True))
    fa = np.conj(sfft.rfft2(np.stack([a, a * a, ma.astype(np.float32)]), shape, workers=1))
    stack = np.empty((3 * len(thetas), *a.shape), np.float32)
    for i, t in enumerate(thetas):
        rb, rm = rotate(hb, mb, -t)
        b = standardise(rb, rm)
        stack[3 * i], stack[3 * i + 1], stack[3 * i + 2] = b, rm, b * b
    fb = sfft.rfft2(stack, shape, workers=1).reshape(len(thetas), 3, shape[0], -1)
    # num = a * b ; ea = a^2 * mask_b ; eb = mask_a * b^2  (cross-correlations)
    prod = np.stack([fa[0] * fb[:, 0], fa[1] * fb[:, 1], fa[2] * fb[:, 2]], axis=1)
    cc = sfft.irfft2(prod, shape, workers=1)
    sh = np.r_[0:ms + 1, -ms:0]
    cc = cc[:, :, sh[:, None] % shape[0], sh[None, :] % shape[1]]
    floor = min_overlap_frac * min(pa.n_valid_half, pb.n_valid_half)
    ncc = cc[:, 0] / np.sqrt(np.maximum(cc[:, 1], floor) * np.maximum(cc[:, 2], floor))
    out = []
    for i in range(len(thetas)):
        k = int(np.argmax(ncc[i]))
        iy, ix = divmod(k, ncc.shape[2])
        out.append((float(ncc[i].flat[k]), 2.0 * float(sh[ix]), 2.0 * float(sh[iy])))
    return out


def global_registration(pa: Prepared, pb: Prepared, *, n_spatial: int = 3, n_spectral: int = 2,
                        max_shift_px: int = 20, min_sep_deg: float = 4.0,
                        refine_deg: float = 1.0) -> list[tuple[float, float, float, float]]:
    """Ranked global registrations of ``b`` relative to ``a``.

    Returns
    -------
    list of (theta_deg, ncc, dx, dy)
        Best first; the first angle is refined by a parabola through its +-``refine_deg``
        neighbours. ``dx, dy`` in full-resolution pixels.
    """
    spatial = peaks(rotation_scores(*pa.polar, *pb.polar), 360.0, n_spatial, 6.0)
    spec = peaks(spectral_scores(pa.spectral, pb.spectral), 180.0, n_spectral, 6.0)
    cands: list[float] = []
    for t in [*spatial, *spec, *[s + 180.0 for s in spec]]:
        t = float(t % 360)
        if all(abs((t - o + 180) % 360 - 180) >= min_sep_deg for o in cands):
            cands.append(t)
    res = global_correlation(pa, pb, cands, max_shift_px)
    ranked = sorted(((t, *r) for t, r in zip(cands, res, strict=True)), key=lambda x: -x[1])
    t0, c0, *_ = ranked[0]
    if refine_deg > 0:
        side = global_correlation(pa, pb, [t0 - refine_deg, t0 + refine_deg], max_shift_px)
        (cm, *_), (cp, *_) = side
        den = cm - 2 * c0 + cp
        if den < 0:
            d = float(np.clip(0.5 * (cm - cp) / den, -1.0, 1.0)) * refine_deg
            t1 = (t0 + d) % 360
            best = global_correlation(pa, pb, [t1], max_shift_px)[0]
            if best[0] >= c0:
                ranked[0] = (t1, *best)
    return ranked
