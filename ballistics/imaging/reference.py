"""Straightforward reference CMC: one FFT cross-correlation per cell per angle.

Same definitions as :func:`ballistics.imaging.cmc.cmc_one_direction`, but no batching and, by
default, a blind rotation scan over all of 0-360 degrees at ``angle_step_deg``. It exists to
check the fast implementation (same angles -> same registrations) and as the speed baseline of
the benchmarks; it is not used in production.
"""

from __future__ import annotations

import numpy as np

from ballistics.imaging.cmc import (
    CMCParams,
    DirectionResult,
    _standardise,
    congruence,
    make_cells,
    pearson,
)
from ballistics.imaging.registration import rotate


def reference_one_direction(a: np.ndarray, ma: np.ndarray, b: np.ndarray, mb: np.ndarray,
                            px: float, p: CMCParams,
                            angles: list[float] | None = None) -> DirectionResult:
    """CMC of ``a``'s cells in ``b``; ``angles`` default to a full 0-360 degree grid."""
    if angles is None:
        angles = list(np.arange(0.0, 360.0, p.angle_step_deg))
    cells = make_cells(ma, p)
    m = round(p.max_shift_um / px)
    ch, cw = cells[0].height, cells[0].width
    ny, nx = ch + 2 * m, cw + 2 * m
    sa = _standardise(a, ma)
    sh = np.r_[0:m + 1, -m:0]
    n_used = 0
    for c in cells:
        cm = ma[c.y:c.y + ch, c.x:c.x + cw]
        if cm.mean() < p.min_valid_frac:
            continue
        n_used += 1
        v = _standardise(sa[c.y:c.y + ch, c.x:c.x + cw], cm)
        e = float((v * v).sum())
        pad = np.zeros((ny, nx))
        mpad = np.zeros((ny, nx))
        pad[m:m + ch, m:m + cw] = v
        mpad[m:m + ch, m:m + cw] = cm
        best, reg = -np.inf, (0.0, 0, 0)
        for ang in angles:
            rb, rm = rotate(b, mb, -ang, pad=m)
            rb = _standardise(rb, rm)
            region = rb[c.y:c.y + ny, c.x:c.x + nx]
            num = np.fft.irfft2(np.conj(np.fft.rfft2(pad)) * np.fft.rfft2(region), s=(ny, nx))
            en = np.fft.irfft2(np.conj(np.fft.rfft2(mpad)) * np.fft.rfft2(region**2), s=(ny, nx))
            num, en = num[np.ix_(sh % ny, sh % nx)], en[np.ix_(sh % ny, sh % nx)]
            ccf = num / np.sqrt(e * np.maximum(en, p.min_overlap_frac * e))
            iy, ix = np.unravel_index(int(np.argmax(ccf)), ccf.shape)
            if ccf[iy, ix] > best:
                best, reg = float(ccf[iy, ix]), (float(ang), int(sh[iy]), int(sh[ix]))
        ang, dy, dx = reg
        rb, rm = rotate(b, mb, -ang, pad=m)
        ys, xs = c.y + m + dy, c.x + m + dx
        min_n = int(p.min_overlap_frac * p.min_valid_frac * ch * cw)
        c.ccf = pearson(v, cm, rb[ys:ys + ch, xs:xs + cw], rm[ys:ys + ch, xs:xs + cw], min_n)
        c.theta, c.dx, c.dy = ang, float(dx), float(dy)
    count, theta, dx, dy = congruence(cells, p, px)
    return DirectionResult(count, n_used, theta, dx, dy, cells)
