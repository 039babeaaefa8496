"""Rotation about the aperture centre, polar resampling, rotation scores and moving one
surface into another's frame.

Scans are centred on the firing-pin aperture by preprocessing, so a rotation between two scans
becomes a circular shift of their polar images; one batch of 1D FFTs scores all 360 degrees
(a masked, energy-normalised circular cross-correlation). Its best peaks seed the cell search.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def rotate(img: np.ndarray, mask: np.ndarray, theta_deg: float, pad: int = 0,
           window: tuple[int, int, int, int] | None = None):
    """Rotate heights and mask by ``theta_deg`` about the array centre, padding by ``pad``.

    Convention: with ``B = rotate(A, t)``, the polar image of B is that of A shifted by ``t``
    (see :func:`polar`). Bilinear; a pixel is valid if its interpolation weight on valid data
    exceeds 0.999.

    Parameters
    ----------
    window : (y0, x0, h, w), optional
        Compute only this window of the padded output (coordinates of the padded array).

    Returns
    -------
    (heights, mask) : tuple of numpy.ndarray
        float32 heights (0 where invalid) and bool mask, shape ``(H + 2 pad, W + 2 pad)`` or
        ``(h, w)`` with ``window``.
    """
    h, w = img.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    t = np.deg2rad(theta_deg)
    c, s = np.cos(t), np.sin(t)
    wy, wx, oh, ow = window if window is not None else (0, 0, h + 2 * pad, w + 2 * pad)
    y = np.arange(wy - pad, wy - pad + oh, dtype=np.float32) - np.float32(cy)
    x = np.arange(wx - pad, wx - pad + ow, dtype=np.float32) - np.float32(cx)
    sy = (np.float32(cy) + np.float32(c) * y)[:, None] - (np.float32(s) * x)[None, :]
    sx = (np.float32(cx) + np.float32(s) * y)[:, None] + (np.float32(c) * x)[None, :]
    comb = np.where(mask, img, 0).astype(np.complex64)
    comb.imag = mask
    out = bilinear(comb, sy, sx)
    m = out.imag > 0.999
    return np.where(m, out.real, 0).astype(np.float32), m


def bilinear(comb: np.ndarray, sy: np.ndarray, sx: np.ndarray) -> np.ndarray:
    """Bilinear lookup of a complex image at ``(sy, sx)`` (0 outside).

    Heights in the real part and validity in the imaginary part share one gather: a
    hand-written lookup is several times faster here than scipy.ndimage's general machinery.
    """
    h, w = comb.shape
    y0, x0 = np.floor(sy), np.floor(sx)
    fy, fx = (sy - y0).astype(np.float32), (sx - x0).astype(np.float32)
    y0, x0 = y0.astype(np.intp), x0.astype(np.intp)
    inside = (y0 >= 0) & (y0 < h - 1) & (x0 >= 0) & (x0 < w - 1)
    idx = np.where(inside, y0 * w + x0, 0)
    flat = comb.ravel()
    top = flat[idx] * (1 - fx) + flat[idx + 1] * fx
    bot = flat[idx + w] * (1 - fx) + flat[idx + w + 1] * fx
    return np.where(inside, top * (1 - fy) + bot * fy, 0)


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
    comb = src.astype(np.complex64)
    comb.imag = wsrc
    out = bilinear(comb, yy, xx)
    m = out.imag > 0.999
    return np.where(m, out.real, 0.0), m


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


def overlap(shape: tuple[int, ...], dx: float, dy: float
            ) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Where two frames of ``shape`` overlap when pixel ``(y, x)`` of the first lies on pixel
    ``(y + dy, x + dx)`` of the second, the shifts rounded to whole pixels: the first frame's
    ``(rows, cols)`` and the second frame's, to index both with."""
    h, w = shape[:2]
    # A shift past the edge leaves nothing in common (not a slice that wraps round).
    iy, ix = min(max(round(dy), -h), h), min(max(round(dx), -w), w)
    first = (slice(max(-iy, 0), h + min(-iy, 0)), slice(max(-ix, 0), w + min(-ix, 0)))
    second = (slice(max(iy, 0), h + min(iy, 0)), slice(max(ix, 0), w + min(ix, 0)))
    return first, second


def into_frame(heights: np.ndarray, mask: np.ndarray, theta_deg: float, dx: float,
               dy: float) -> tuple[np.ndarray, np.ndarray]:
    """Move surface B into surface A's frame at a registration ``(theta, dx, dy)`` of the
    comparison (A compared with B): B is rotated by ``-theta``, then A's pixel ``(y, x)`` lies
    on rotated B's ``(y + dy, x + dx)``; outside the overlap the mask is False."""
    rb, rm = rotate(heights, mask, -theta_deg)
    out, out_mask = np.zeros_like(rb), np.zeros_like(rm)
    first, second = overlap(rb.shape, dx, dy)
    out[first], out_mask[first] = rb[second], rm[second]
    return out, out_mask
