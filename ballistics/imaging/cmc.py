"""Congruent matching cells (CMC) comparison of two processed breech faces.

The reference scan is divided into a grid of cells (8 x 8 over the bounding box of its breech
face); each cell with enough valid points is registered against a larger region of the target
over rotations and translations, taking the maximum of the cross-correlation function (CCF).
Cells whose registrations agree with the consensus (theta, dx, dy) within thresholds and whose
CCF exceeds ``ccf_threshold`` are *congruent matching cells*; their count is the score. The
comparison is made in both directions (reference <-> target), as Tong, Song & Chu (2015) do.

Speed: the rotation range is not scanned blindly. A global registration of the whole faces
(:mod:`~ballistics.imaging.align`: rotation candidates from the spatial polar and the
Fourier-magnitude polar cross-correlations, ranked by whole-face correlation over translations,
best angle refined) gives the angle and the translation around which every cell is searched
(``+-max_shift_um``; ``angle_window_deg = 0`` by default: one angle per direction). For each
angle the target is rotated once and all cells are correlated in one batched float32 FFT. The
consensus is anchored at the global registration (``anchor_consensus``): it is the median of
the cells that agree with it, so chance agreements cannot be collected by a search over
positions; without the anchor it is the registration most cells agree with (a mode).

References
----------
Song, J. (2013). Proposed "NIST Ballistics Identification System (NBIS)" based on 3D topography
measurements on correlation cells. AFTE Journal 45(2), 184-194.
Tong, M., Song, J. & Chu, W. (2015). An improved algorithm of congruent matching cells (CMC)
method for firearm evidence identifications. J. Res. NIST 120, 102-112.
Zemmels, J., VanderPlas, S. & Hofmann, H. (2022). A study in reproducibility: the congruent
matching cells algorithm and cmcR package. The R Journal 14(4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft as sfft

from ballistics.imaging.align import global_registration, prepare, standardise
from ballistics.imaging.registration import rotate


@dataclass(frozen=True)
class CMCParams:
    """Parameters of :func:`cmc_one_direction` (lengths in µm, angles in degrees).

    Defaults follow the published method (Song 2013; cmcR): 8 x 8 cells, cells with more than
    85 % missing points skipped, T_CCF = 0.5, T_x = T_y = 125 µm (20 px at 6.25 µm),
    T_theta = 6 degrees. Search (this implementation): cells are registered within
    ``max_shift_um`` of the global translation, at the global angle and its neighbours at
    ``angle_step_deg`` within ``+-angle_window_deg`` (default: the global angle only);
    ``n_angle_candidates`` spatial-polar and ``n_spectral_candidates`` Fourier-magnitude peaks
    (each giving two angles) are ranked by whole-face correlation within
    ``global_max_shift_um``; the best ``n_registration_candidates`` angles, each with the
    translation found from either side, are voted on by the cells of ``a``; the best
    ``n_bidirectional`` also by the cells of ``b``.
    """

    n_cells: int = 8
    min_valid_frac: float = 0.15
    max_shift_um: float = 250.0
    angle_step_deg: float = 3.0
    angle_window_deg: float = 0.0
    n_angle_candidates: int = 3
    ccf_threshold: float = 0.5
    xy_threshold_um: float = 125.0
    theta_threshold_deg: float = 6.0
    min_overlap_frac: float = 0.5
    n_spectral_candidates: int = 2
    global_max_shift_um: float = 500.0
    anchor_consensus: bool = True
    n_registration_candidates: int = 3
    n_bidirectional: int = 2


@dataclass
class Cell:
    """Registration of one reference cell (pixel units of the compared surfaces)."""

    row: int
    col: int
    x: int
    y: int
    width: int
    height: int
    ccf: float = float("nan")
    dx: float = 0.0
    dy: float = 0.0
    theta: float = 0.0
    is_congruent: bool = False

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {k: (v if not isinstance(v, np.generic) else v.item())
                for k, v in self.__dict__.items()}


@dataclass
class DirectionResult:
    """Outcome of one comparison direction."""

    cmc_count: int
    n_cells: int
    theta: float
    dx: float
    dy: float
    cells: list[Cell] = field(default_factory=list)


def make_cells(mask: np.ndarray, p: CMCParams) -> list[Cell]:
    """Equal-size grid of ``n_cells x n_cells`` over the bounding box of ``mask``."""
    ys, xs = np.nonzero(mask)
    y0, x0 = ys.min(), xs.min()
    ch = max((ys.max() + 1 - y0) // p.n_cells, 4)
    cw = max((xs.max() + 1 - x0) // p.n_cells, 4)
    return [Cell(i, j, int(x0 + j * cw), int(y0 + i * ch), int(cw), int(ch))
            for i in range(p.n_cells) for j in range(p.n_cells)]


def pearson(a: np.ndarray, ma: np.ndarray, b: np.ndarray, mb: np.ndarray, min_n: int) -> float:
    """Pairwise-complete Pearson correlation (NaN if fewer than ``min_n`` common points)."""
    m = ma & mb
    n = int(m.sum())
    if n < max(min_n, 3):
        return float("nan")
    x, y = a[m] - a[m].mean(), b[m] - b[m].mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / den) if den > 0 else float("nan")


def congruence(cells: list[Cell], p: CMCParams, px: float,
               anchor: tuple[float, float, float] | None = None
               ) -> tuple[int, float, float, float]:
    """Consensus registration of the cells and the count of cells congruent with it.

    Without ``anchor`` the consensus is the cell registration most cells agree with (a mode).
    With ``anchor = (theta, dx, dy)`` (the independent whole-face registration) the consensus
    is built only from the cells that agree with the anchor: the count then cannot be inflated
    by picking, among all positions, the one where chance agreements happen to cluster.

    Returns
    -------
    (count, theta, dx, dy)
    """
    ok = [c for c in cells if np.isfinite(c.ccf) and c.ccf >= p.ccf_threshold]
    if not ok:
        return (0, *anchor) if anchor is not None else (0, 0.0, 0.0, 0.0)
    th = np.array([c.theta for c in ok])
    d = np.array([[c.dx, c.dy] for c in ok])
    cc = np.array([c.ccf for c in ok])
    if anchor is not None:
        members = ((np.abs((th - anchor[0] + 180) % 360 - 180) <= p.theta_threshold_deg)
                   & np.all(np.abs(d - np.array(anchor[1:])) <= p.xy_threshold_um / px, axis=1))
        if not members.any():
            for c in cells:
                c.is_congruent = False
            return 0, float(anchor[0]) % 360, float(anchor[1]), float(anchor[2])
    else:
        dth = np.abs((th[:, None] - th[None, :] + 180) % 360 - 180) <= p.theta_threshold_deg
        dxy = np.all(np.abs(d[:, None, :] - d[None, :, :]) <= p.xy_threshold_um / px, axis=2)
        agree = dth & dxy
        votes = agree.sum(1) + 1e-3 * (agree @ cc)
        members = agree[int(np.argmax(votes))]
    # Consensus = median of the agreeing cells (Song 2013 uses the median registration).
    theta = float(np.degrees(np.angle(np.exp(1j * np.radians(th[members])).mean())))
    dx, dy = np.median(d[members], axis=0)
    for c in cells:
        c.is_congruent = bool(
            np.isfinite(c.ccf) and c.ccf >= p.ccf_threshold
            and abs((c.theta - theta + 180) % 360 - 180) <= p.theta_threshold_deg
            and abs(c.dx - dx) <= p.xy_threshold_um / px
            and abs(c.dy - dy) <= p.xy_threshold_um / px
        )
    return sum(c.is_congruent for c in cells), theta % 360, float(dx), float(dy)


def window_angles(theta: float, p: CMCParams) -> list[float]:
    """``theta`` and its neighbours at ``angle_step_deg`` within ``+-angle_window_deg``."""
    steps = np.arange(-p.angle_window_deg, p.angle_window_deg + 1e-9, p.angle_step_deg)
    out: list[float] = []
    for s in steps:
        ang = float(round((theta + s) % 360, 6))
        if all(abs((ang - o + 180) % 360 - 180) > 1e-6 for o in out):
            out.append(ang)
    return out


def candidate_angles(a: np.ndarray, ma: np.ndarray, b: np.ndarray, mb: np.ndarray,
                     p: CMCParams, px: float = 25.0) -> list[float]:
    """Angles (deg) the forward cell search uses: a window around the global registration.

    See :func:`~ballistics.imaging.align.global_registration` (``px`` is the pixel size, for
    the translation range and the spectral band).
    """
    reg = global_registration(prepare(a, ma, px), prepare(b, mb, px),
                              n_spatial=p.n_angle_candidates,
                              n_spectral=p.n_spectral_candidates,
                              max_shift_px=round(p.global_max_shift_um / px))
    return window_angles(reg[0][0], p)


@dataclass
class CellSet:
    """Reference side of one direction, reusable for every target (cached per scan).

    ``fc`` holds the conjugate spectra of the standardised cell patches (first ``k``) and of
    their masks (last ``k``), zero-padded to the FFT size ``(ny, nx)``.
    """

    grid: list[Cell]
    use: np.ndarray
    ys: np.ndarray
    xs: np.ndarray
    patches: np.ndarray
    pmask: np.ndarray
    energy: np.ndarray
    fc: np.ndarray
    m: int
    ny: int
    nx: int

    @property
    def k(self) -> int:
        return int(self.use.size)


def prepare_cells(a: np.ndarray, ma: np.ndarray, px: float, p: CMCParams) -> CellSet:
    """Cut ``a`` into cells, standardise the valid ones and transform them (one batch)."""
    grid = make_cells(ma, p)
    m = round(p.max_shift_um / px)
    ch, cw = grid[0].height, grid[0].width
    ny, nx = sfft.next_fast_len(ch + 2 * m), sfft.next_fast_len(cw + 2 * m, real=True)
    sa = standardise(a, ma)
    # The grid is regular: cut all cells at once, (n_cells**2, ch, cw).
    y0, x0, n = grid[0].y, grid[0].x, p.n_cells
    hh, ww = n * ch, n * cw
    va = np.zeros((hh, ww), np.float32)
    vm = np.zeros((hh, ww), bool)
    sub_a, sub_m = sa[y0:y0 + hh, x0:x0 + ww], ma[y0:y0 + hh, x0:x0 + ww]
    va[:sub_a.shape[0], :sub_a.shape[1]] = sub_a
    vm[:sub_m.shape[0], :sub_m.shape[1]] = sub_m
    va = va.reshape(n, ch, n, cw).transpose(0, 2, 1, 3).reshape(n * n, ch, cw)
    vm = vm.reshape(n, ch, n, cw).transpose(0, 2, 1, 3).reshape(n * n, ch, cw)
    use = np.flatnonzero(vm.mean((1, 2)) >= p.min_valid_frac)
    k = use.size
    pm = vm[use]
    cnt = np.maximum(pm.sum((1, 2)), 1)[:, None, None]
    v = va[use].astype(np.float64)
    mu = v.sum((1, 2), keepdims=True) / cnt
    sd = np.sqrt((((v - mu) * pm) ** 2).sum((1, 2), keepdims=True) / cnt) + 1e-12
    pa = np.where(pm, (v - mu) / sd, 0.0).astype(np.float32)
    cpad = np.zeros((2 * k, ny, nx), np.float32)
    cpad[:k, m:m + ch, m:m + cw] = pa
    cpad[k:, m:m + ch, m:m + cw] = pm
    fc = np.conj(sfft.rfft2(cpad, workers=1))
    energy = (pa.astype(np.float64) ** 2).sum((1, 2))
    ys = np.array([grid[i].y for i in use], np.intp)
    xs = np.array([grid[i].x for i in use], np.intp)
    return CellSet(grid, use, ys, xs, pa, pm, energy, fc, m, ny, nx)


def masked_pearson(x: np.ndarray, mx: np.ndarray, y: np.ndarray, my: np.ndarray,
                   min_n: int) -> np.ndarray:
    """Pairwise-complete Pearson correlation of stacks ``(k, h, w)`` (NaN below ``min_n``)."""
    w = (mx & my).astype(np.float64)
    n = w.sum((1, 2))
    x, y = x.astype(np.float64) * w, y.astype(np.float64) * w
    sx, sy = x.sum((1, 2)), y.sum((1, 2))
    sxx, syy, sxy = (x * x).sum((1, 2)), (y * y).sum((1, 2)), (x * y).sum((1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = n * sxy - sx * sy
        den = np.sqrt(np.maximum(n * sxx - sx * sx, 0) * np.maximum(n * syy - sy * sy, 0))
        r = cov / den
    r[(n < max(min_n, 3)) | ~(den > 0)] = np.nan
    return r


def cmc_one_direction(a: np.ndarray, ma: np.ndarray, b: np.ndarray, mb: np.ndarray, px: float,
                      p: CMCParams, angles: list[float],
                      offset: tuple[float, float] = (0.0, 0.0),
                      prepared: CellSet | None = None,
                      anchor: tuple[float, float, float] | None = None) -> DirectionResult:
    """Register every valid cell of ``a`` in ``b`` over ``angles`` and count congruent cells.

    ``theta`` of a cell is the rotation of ``b`` relative to ``a`` (deg); ``dx, dy`` the position
    of the cell content in ``b`` rotated back by ``-theta``, minus its position in ``a`` (px).
    Translations are searched within ``max_shift_um`` of ``offset`` (the global translation,
    px). ``prepared`` is :func:`prepare_cells` of ``a`` (computed if not given).

    For each angle the target is rotated once and all cells are correlated with their target
    regions in one batch of real FFTs (float32); the cross-correlation is normalised by the
    cell energy and the target energy under the cell mask (with an overlap floor).
    """
    cs = prepared if prepared is not None else prepare_cells(a, ma, px, p)
    cells = [Cell(c.row, c.col, c.x, c.y, c.width, c.height) for c in cs.grid]
    k = cs.k
    if k == 0:
        return DirectionResult(0, 0, 0.0, 0.0, 0.0, cells)
    m, ny, nx = cs.m, cs.ny, cs.nx
    ch, cw = cs.patches.shape[1:]
    ox, oy = round(offset[0]), round(offset[1])
    off = m + max(ny - ch, nx - cw) + max(abs(ox), abs(oy))
    sb = standardise(b, mb)
    ys, xs = cs.ys + (off - m + oy), cs.xs + (off - m + ox)
    sh = np.r_[0:m + 1, -m:0]
    iy, ix = (sh % ny)[:, None], (sh % nx)[None, :]
    e = cs.energy[:, None, None]
    floor = p.min_overlap_frac * e
    best = np.full(k, -np.inf)
    best_reg = np.zeros((k, 3), np.intp)
    stack = np.empty((2 * k, ny, nx), np.float32)
    rotated = []
    # Only the window of the padded, rotated target that the cells' regions cover.
    wy, wx = int(ys.min()), int(xs.min())
    win = (wy, wx, int(ys.max()) + ny - wy, int(xs.max()) + nx - wx)
    ys, xs = ys - wy, xs - wx
    for ai, ang in enumerate(angles):
        rb, rm = rotate(sb, mb, -ang, pad=off, window=win)
        rotated.append((rb, rm))
        stack[:k] = sliding_window_view(rb, (ny, nx))[ys, xs]
        np.multiply(stack[:k], stack[:k], out=stack[k:])
        cc = sfft.irfft2(cs.fc * sfft.rfft2(stack, workers=1), s=(ny, nx), workers=1)
        num = cc[:k][:, iy, ix]
        en = cc[k:][:, iy, ix]
        ccf = (num / np.sqrt(e * np.maximum(en, floor))).reshape(k, -1)
        j = ccf.argmax(1)
        val = ccf[np.arange(k), j]
        better = val > best
        best[better] = val[better]
        jy, jx = np.divmod(j[better], sh.size)
        best_reg[better] = np.c_[np.full(better.sum(), ai), sh[jy] + oy, sh[jx] + ox]
    tv = np.empty_like(cs.patches)
    tm = np.empty(cs.pmask.shape, bool)
    for ai, (rb, rm) in enumerate(rotated):
        sel = np.flatnonzero(best_reg[:, 0] == ai)
        if sel.size:
            yy = cs.ys[sel] + off + best_reg[sel, 1] - wy
            xx = cs.xs[sel] + off + best_reg[sel, 2] - wx
            tv[sel] = sliding_window_view(rb, (ch, cw))[yy, xx]
            tm[sel] = sliding_window_view(rm, (ch, cw))[yy, xx]
    min_n = int(p.min_overlap_frac * p.min_valid_frac * ch * cw)
    r = masked_pearson(cs.patches, cs.pmask, tv, tm, min_n)
    for i, gi in enumerate(cs.use):
        c = cells[gi]
        c.ccf = float(r[i])
        c.theta = float(angles[best_reg[i, 0]])
        c.dy, c.dx = float(best_reg[i, 1]), float(best_reg[i, 2])
    count, theta, dx, dy = congruence(cells, p, px, anchor)
    return DirectionResult(count, k, theta, dx, dy, cells)
