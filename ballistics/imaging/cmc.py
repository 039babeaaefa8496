"""Congruent matching cells (CMC) comparison of two processed breech faces.

The reference scan is divided into a grid of cells (8 x 8 over the bounding box of its breech
face); each cell with enough valid points is registered against a larger region of the target
over rotations and translations, taking the maximum of the cross-correlation function (CCF).
Cells whose registrations agree with the consensus (theta, dx, dy) within thresholds and whose
CCF exceeds ``ccf_threshold`` are *congruent matching cells*; their count is the score. The
comparison is made in both directions (reference <-> target), as Tong, Song & Chu (2015) do.

Speed: the rotation range is not scanned blindly. All 360 degrees are scored at once by a polar
cross-correlation about the aperture centre (:mod:`~ballistics.imaging.registration`); cells are
then searched over ``+-angle_window_deg`` around the best ``n_angle_candidates`` peaks, and for
each angle all cells are correlated in one batched FFT. The consensus is the registration agreed
by most cells (a mode, not a median, because candidate windows make the angle distribution
multimodal for non-matches).

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
from scipy import fft as sfft

from ballistics.imaging.registration import polar, rotate, rotation_candidates, rotation_scores


@dataclass(frozen=True)
class CMCParams:
    """Parameters of :func:`cmc_one_direction` (lengths in µm, angles in degrees).

    Defaults follow the published method (Song 2013; cmcR): 8 x 8 cells, cells with more than
    85 % missing points skipped, T_CCF = 0.5, T_x = T_y = 125 µm (20 px at 6.25 µm),
    T_theta = 6 degrees, rotation step 3 degrees.
    """

    n_cells: int = 8
    min_valid_frac: float = 0.15
    max_shift_um: float = 250.0
    angle_step_deg: float = 3.0
    angle_window_deg: float = 3.0
    n_angle_candidates: int = 3
    ccf_threshold: float = 0.5
    xy_threshold_um: float = 125.0
    theta_threshold_deg: float = 6.0
    min_overlap_frac: float = 0.5


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


def _standardise(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    n = max(int(m.sum()), 1)
    mu = v[m].sum() / n
    sd = np.sqrt(((v[m] - mu) ** 2).sum() / n) + 1e-12
    return np.where(m, (v - mu) / sd, 0.0)


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


def congruence(cells: list[Cell], p: CMCParams, px: float) -> tuple[int, float, float, float]:
    """Consensus registration = the cell registration that most cells agree with.

    Returns
    -------
    (count, theta, dx, dy)
    """
    ok = [c for c in cells if np.isfinite(c.ccf) and c.ccf >= p.ccf_threshold]
    if not ok:
        return 0, 0.0, 0.0, 0.0
    th = np.array([c.theta for c in ok])
    d = np.array([[c.dx, c.dy] for c in ok])
    cc = np.array([c.ccf for c in ok])
    dth = np.abs((th[:, None] - th[None, :] + 180) % 360 - 180) <= p.theta_threshold_deg
    dxy = np.all(np.abs(d[:, None, :] - d[None, :, :]) <= p.xy_threshold_um / px, axis=2)
    agree = dth & dxy
    votes = agree.sum(1) + 1e-3 * (agree @ cc)
    k = int(np.argmax(votes))
    members = agree[k]
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


def candidate_angles(a: np.ndarray, ma: np.ndarray, b: np.ndarray, mb: np.ndarray,
                     p: CMCParams) -> list[float]:
    """Angles (deg) to search: windows around the best global polar-correlation peaks."""
    r_max = min(a.shape) / 2 - 1
    pa, pma = polar(a, ma, 2.0, r_max)
    pb, pmb = polar(b, mb, 2.0, r_max)
    peaks = rotation_candidates(rotation_scores(pa, pma, pb, pmb), p.n_angle_candidates)
    steps = np.arange(-p.angle_window_deg, p.angle_window_deg + 1e-9, p.angle_step_deg)
    out: list[float] = []
    for pk in peaks:
        for s in steps:
            ang = float(round((pk + s) % 360, 6))
            if all(abs((ang - o + 180) % 360 - 180) > 1e-6 for o in out):
                out.append(ang)
    return out


def cmc_one_direction(a: np.ndarray, ma: np.ndarray, b: np.ndarray, mb: np.ndarray, px: float,
                      p: CMCParams, angles: list[float]) -> DirectionResult:
    """Register every valid cell of ``a`` in ``b`` over ``angles`` and count congruent cells.

    ``theta`` of a cell is the rotation of ``b`` relative to ``a`` (deg); ``dx, dy`` the position
    of the cell content in ``b`` rotated back by ``-theta``, minus its position in ``a`` (px).
    """
    cells = make_cells(ma, p)
    m = round(p.max_shift_um / px)
    ch, cw = cells[0].height, cells[0].width
    ny, nx = sfft.next_fast_len(ch + 2 * m), sfft.next_fast_len(cw + 2 * m, real=True)
    sa = _standardise(a, ma)
    use, patches, pmask = [], [], []
    for c in cells:
        cm = ma[c.y:c.y + ch, c.x:c.x + cw]
        if cm.mean() >= p.min_valid_frac:
            v = _standardise(sa[c.y:c.y + ch, c.x:c.x + cw], cm)
            use.append(c)
            patches.append(v)
            pmask.append(cm)
    if not use:
        return DirectionResult(0, 0, 0.0, 0.0, 0.0, cells)
    k = len(use)
    cpad = np.zeros((2 * k, ny, nx))
    cpad[:k, m:m + ch, m:m + cw] = patches
    cpad[k:, m:m + ch, m:m + cw] = pmask
    fc = np.conj(sfft.rfft2(cpad))
    energy = np.array([float((v * v).sum()) for v in patches])
    best = np.full(k, -np.inf)
    best_reg = np.zeros((k, 3))
    sh = np.r_[0:m + 1, -m:0]
    idx_y, idx_x = sh % ny, sh % nx
    off = m + max(ny - ch, nx - cw)
    rotated: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    for ang in angles:
        rb, rm = rotate(b, mb, -ang, pad=off)
        rotated[ang] = (rb, rm)
        rb = _standardise(rb, rm)
        reg = np.empty((2 * k, ny, nx))
        for i, c in enumerate(use):
            y0, x0 = c.y + off - m, c.x + off - m
            reg[i] = rb[y0:y0 + ny, x0:x0 + nx]
        reg[k:] = reg[:k] ** 2
        cc = sfft.irfft2(fc * sfft.rfft2(reg), s=(ny, nx))
        num = cc[:k][:, idx_y][:, :, idx_x]
        en = cc[k:][:, idx_y][:, :, idx_x]
        # Energy floor: shifts that overlap less than min_overlap_frac of the cell score low.
        e = energy[:, None, None]
        den = np.sqrt(e * np.maximum(en, p.min_overlap_frac * e))
        ccf = num / den
        flat = ccf.reshape(k, -1).argmax(1)
        val = ccf.reshape(k, -1)[np.arange(k), flat]
        iy, ix = np.unravel_index(flat, ccf.shape[1:])
        better = val > best
        best[better] = val[better]
        best_reg[better] = np.c_[np.full(better.sum(), ang), sh[iy[better]], sh[ix[better]]]
    min_n = int(p.min_overlap_frac * p.min_valid_frac * ch * cw)
    for i, c in enumerate(use):
        ang, dy, dx = best_reg[i]
        rb, rm = rotated[ang]
        ys, xs = c.y + off + int(dy), c.x + off + int(dx)
        c.ccf = pearson(patches[i], pmask[i], rb[ys:ys + ch, xs:xs + cw],
                        rm[ys:ys + ch, xs:xs + cw], min_n)
        c.theta, c.dx, c.dy = float(ang), float(dx), float(dy)
    count, theta, dx, dy = congruence(cells, p, px)
    return DirectionResult(count, k, theta, dx, dy, cells)
