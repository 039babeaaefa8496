"""Straightforward reference CMC: one FFT cross-correlation per cell per angle.

Same definitions as :func:`ballistics.imaging.cmc.cmc_one_direction`, but no batching and, by
default, a blind rotation scan over all of 0-360 degrees at ``angle_step_deg``. It exists to
check the fast implementation (same angles -> same registrations) and as the speed baseline of
the benchmarks; it is not used in production.
"""

from __future__ import annotations

import numpy as np

from ballistics.imaging.align import standardise
from ballistics.imaging.cmc import CMCParams, DirectionResult, congruence, make_cells, pearson
from ballistics.imaging.registration import rotate


def reference_one_direction(a: np.ndarray, ma: np.ndarray, b: np.ndarray, mb: np.ndarray,
                            px: float, p: CMCParams, angles: list[float] | None = None,
                            offset: tuple[float, float] = (0.0, 0.0)) -> DirectionResult:
    """CMC of ``a``'s cells in ``b``; ``angles`` default to a full 0-360 degree grid."""
    if angles is None:
        angles = list(np.arange(0.0, 360.0, p.angle_step_deg))
    cells = make_cells(ma, p)
    m = round(p.max_shift_um / px)
    ch, cw = cells[0].height, cells[0].width
    ny, nx = ch + 2 * m, cw + 2 * m
    ox, oy = round(offset[0]), round(offset[1])
    pad = m + max(abs(ox), abs(oy))
    sa, sb = standardise(a, ma), standardise(b, mb)
    sh = np.r_[0:m + 1, -m:0]
    n_used = 0
    for c in cells:
        cm = ma[c.y:c.y + ch, c.x:c.x + cw]
        if cm.shape != (ch, cw) or cm.mean() < p.min_valid_frac:
            continue
        n_used += 1
        v = standardise(sa[c.y:c.y + ch, c.x:c.x + cw], cm).astype(np.float64)
        e = float((v * v).sum())
        cpad = np.zeros((ny, nx))
        mpad = np.zeros((ny, nx))
        cpad[m:m + ch, m:m + cw] = v
        mpad[m:m + ch, m:m + cw] = cm
        best, reg = -np.inf, (0.0, 0, 0)
        for ang in angles:
            rb, rm = rotate(sb, mb, -ang, pad=pad)
            y0, x0 = c.y + pad - m + oy, c.x + pad - m + ox
            region = rb[y0:y0 + ny, x0:x0 + nx].astype(np.float64)
            num = np.fft.irfft2(np.conj(np.fft.rfft2(cpad)) * np.fft.rfft2(region), s=(ny, nx))
            en = np.fft.irfft2(np.conj(np.fft.rfft2(mpad)) * np.fft.rfft2(region**2), s=(ny, nx))
            num, en = num[np.ix_(sh % ny, sh % nx)], en[np.ix_(sh % ny, sh % nx)]
            ccf = num / np.sqrt(e * np.maximum(en, p.min_overlap_frac * e))
            iy, ix = np.unravel_index(int(np.argmax(ccf)), ccf.shape)
            if ccf[iy, ix] > best:
                best, reg = float(ccf[iy, ix]), (float(ang), int(sh[iy]) + oy, int(sh[ix]) + ox)
        ang, dy, dx = reg
        rb, rm = rotate(sb, mb, -ang, pad=pad)
        ys, xs = c.y + pad + dy, c.x + pad + dx
        min_n = int(p.min_overlap_frac * p.min_valid_frac * ch * cw)
        c.ccf = pearson(v, cm, rb[ys:ys + ch, xs:xs + cw].astype(np.float64),
                        rm[ys:ys + ch, xs:xs + cw], min_n)
        c.theta, c.dx, c.dy = ang, float(dx), float(dy)
    count, theta, dx, dy = congruence(cells, p, px)
    return DirectionResult(count, n_used, theta, dx, dy, cells)
