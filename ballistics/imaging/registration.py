"""Rotation about the aperture centre, polar resampling and global rotation candidates.

Scans are centred on the firing-pin aperture by preprocessing, so a rotation between two scans
becomes a circular shift of their polar images; one batch of 1D FFTs scores all 360 degrees
(a masked, energy-normalised circular cross-correlation). Its best peaks seed the cell search.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def rotate(img: np.ndarray, mask: np.ndarray, theta_deg: float, pad: int = 0):
    """Rotate heights and mask by ``theta_deg`` about the array centre, padding by ``pad``.

    Convention: with ``B = rotate(A, t)``, the polar image of B is that of A shifted by ``t``
    (see :func:`polar`). Bilinear; a pixel is valid if its interpolation weight on valid data
    exceeds 0.999.

    Returns
    -------
    (heights, mask) : tuple of numpy.ndarray
        Shape ``(H + 2 pad, W + 2 pad)``; heights are 0 where invalid.
    """
    h, w = img.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    t = np.deg2rad(theta_deg)
    c, s = np.cos(t), np.sin(t)
    y = (np.arange(-pad, h + pad, dtype=np.float64) - cy)[:, None]
    x = (np.arange(-pad, w + pad, dtype=np.float64) - cx)[None, :]
    sy = cy + c * y - s * x
    sx = cx + s * y + c * x
    y0, x0 = np.floor(sy), np.floor(sx)
    fy, fx = (sy - y0).astype(np.float32), (sx - x0).astype(np.float32)
    y0, x0 = y0.astype(np.intp), x0.astype(np.intp)
    inside = (y0 >= 0) & (y0 < h - 1) & (x0 >= 0) & (x0 < w - 1)
    idx = np.where(inside, y0 * w + x0, 0)
    # Heights (real) and mask (imaginary) share one gather: a hand-written bilinear lookup is
    # several times faster here than scipy.ndimage's general spline machinery.
    comb = (np.where(mask, img, 0.0) + 1j * mask).astype(np.complex64).ravel()
    top = comb[idx] * (1 - fx) + comb[idx + 1] * fx
    bot = comb[idx + w] * (1 - fx) + comb[idx + w + 1] * fx
    out = np.where(inside, top * (1 - fy) + bot * fy, 0)
    m = out.imag > 0.999
    return np.where(m, out.real, 0.0), m


def polar(img: np.ndarray, mask: np.ndarray, r_min: float, r_max: float, n_theta: int = 720,
          smooth_px: float = 1.0):
    """Polar resampling ``P[r, k] = img(center + r (sin phi_k, cos phi_k))`` with mask.

    Returns
    -------
    (values, mask) : tuple of numpy.ndarray
        Shape ``(n_r, n_theta)``, one row per pixel of radius.
    """
    h, w = img.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    src = np.where(mask, img, 0.0)
    wsrc = mask.astype(np.float64)
    if smooth_px > 0:
        # Normalised smoothing so arcs sampled sparsely at large radius do not alias.
        num = ndimage.gaussian_filter(src, smooth_px)
        den = ndimage.gaussian_filter(wsrc, smooth_px)
        src = np.divide(num, den, out=np.zeros_like(num), where=den > 0.3)
        wsrc = (den > 0.3) & mask
    r = np.arange(max(r_min, 1.0), r_max, 1.0)
    phi = np.arange(n_theta) * (2 * np.pi / n_theta)
    yy = cy + r[:, None] * np.sin(phi)[None, :]
    xx = cx + r[:, None] * np.cos(phi)[None, :]
    vals = ndimage.map_coordinates(src, [yy, xx], order=1, cval=0.0)
    wts = ndimage.map_coordinates(np.asarray(wsrc, np.float64), [yy, xx], order=1, cval=0.0)
    m = wts > 0.999
    return np.where(m, vals, 0.0), m


def _standardise(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    n = max(int(m.sum()), 1)
    mu = v[m].sum() / n
    sd = np.sqrt(((v[m] - mu) ** 2).sum() / n) + 1e-12
    return np.where(m, (v - mu) / sd, 0.0)


def rotation_scores(pa: np.ndarray, ma: np.ndarray, pb: np.ndarray, mb: np.ndarray) -> np.ndarray:
    """Masked normalised circular cross-correlation of two polar images over all shifts.

    Returns
    -------
    numpy.ndarray
        ``score[k]`` for B rotated by ``k * 360 / n_theta`` degrees relative to A.
    """
    a, b = _standardise(pa, ma), _standardise(pb, mb)
    fa, fb = np.fft.rfft(a, axis=1), np.fft.rfft(b, axis=1)
    fma, fmb = np.fft.rfft(ma.astype(float), axis=1), np.fft.rfft(mb.astype(float), axis=1)
    n = pa.shape[1]
    num = np.fft.irfft((np.conj(fa) * fb).sum(0), n)
    ea = np.fft.irfft((np.conj(np.fft.rfft(a * a, axis=1)) * fmb).sum(0), n)
    eb = np.fft.irfft((np.conj(fma) * np.fft.rfft(b * b, axis=1)).sum(0), n)
    floor = 0.1 * min(ma.sum(), mb.sum())
    return num / np.sqrt(np.maximum(ea, floor) * np.maximum(eb, floor))


def rotation_candidates(scores: np.ndarray, k: int, min_sep_deg: float = 12.0) -> list[float]:
    """The ``k`` highest peaks of ``scores`` (degrees), at least ``min_sep_deg`` apart."""
    n = scores.size
    order = np.argsort(scores)[::-1]
    out: list[float] = []
    for i in order:
        ang = i * 360.0 / n
        if all(abs((ang - o + 180) % 360 - 180) >= min_sep_deg for o in out):
            out.append(ang)
            if len(out) == k:
                break
    return out
