"""Public full comparison of two feature sets (CMC in both directions)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ballistics.imaging.align import global_correlation, global_registration, prepare
from ballistics.imaging.cmc import (
    CMCParams,
    cmc_one_direction,
    pearson,
    prepare_cells,
    window_angles,
)
from ballistics.imaging.errors import ImagingError
from ballistics.imaging.features import Features
from ballistics.imaging.registration import rotate
from ballistics.imaging.version import ALGORITHM_VERSION


@dataclass
class ComparisonResult:
    """Outcome of :func:`compare`.

    Attributes
    ----------
    cmc_count, cmc_count_reverse : int
        Congruent matching cells with ``a`` as reference, and with ``b`` as reference.
    n_cells, n_cells_reverse : int
        Cells with enough data in each direction.
    score : float
        Ranking score: mean of the two CMC counts plus ``0.5 * max(pairwise_ccf, 0)`` (a
        tie-breaker below one cell).
    rotation_deg : float
        Rotation of ``b`` relative to ``a`` (consensus of the forward direction).
    translation_px : (float, float)
        ``(dx, dy)`` of ``b`` relative to ``a`` after rotation, in pixels of ``pixel_um``.
    cells : list of dict
        Forward-direction cells (row, col, x, y, width, height, ccf, dx, dy, theta,
        is_congruent) for an overlay.
    pairwise_ccf : float
        Pearson correlation of the whole breech faces at the consensus registration.
    """

    cmc_count: int
    cmc_count_reverse: int
    n_cells: int
    n_cells_reverse: int
    score: float
    rotation_deg: float
    translation_px: tuple[float, float]
    pairwise_ccf: float
    pixel_um: float
    cells: list[dict] = field(default_factory=list)
    cells_reverse: list[dict] = field(default_factory=list)
    algorithm_version: str = ALGORITHM_VERSION
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-safe dict (NaN correlations become None)."""
        def clean(v):
            if isinstance(v, float) and not np.isfinite(v):
                return None
            if isinstance(v, np.generic):
                return clean(v.item())
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v
        return clean(asdict(self))


def compare(a: Features, b: Features, params: CMCParams | None = None) -> ComparisonResult:
    """Full CMC comparison of two scans, both directions.

    Parameters
    ----------
    a, b : Features
        From :func:`~ballistics.imaging.features.extract_features` (same pixel size).
    params : CMCParams, optional

    Returns
    -------
    ComparisonResult

    References
    ----------
    Song (2013); Tong, Song & Chu (2015); see :mod:`ballistics.imaging.cmc`.
    """
    p = params or CMCParams()
    if abs(a.pixel_um - b.pixel_um) > 1e-9 or a.heights.shape != b.heights.shape:
        raise ImagingError(
            f"features differ in pixel size or grid ({a.pixel_um} vs {b.pixel_um} µm, "
            f"{a.heights.shape} vs {b.heights.shape}); extract both with the same parameters"
        )
    ha, ma = a.heights, a.mask
    hb, mb = b.heights, b.mask
    px = a.pixel_um
    ga = a.cached(("align", px), lambda: prepare(ha, ma, px))
    gb = b.cached(("align", px), lambda: prepare(hb, mb, px))
    ms = round(p.global_max_shift_um / px)
    theta, _, gdx, gdy = global_registration(ga, gb, n_spatial=p.n_angle_candidates,
                                             n_spectral=p.n_spectral_candidates,
                                             max_shift_px=ms)[0]
    angles = window_angles(theta, p)
    key = ("cells", px, p.n_cells, p.min_valid_frac, p.max_shift_um)
    anchored = p.anchor_consensus
    fwd = cmc_one_direction(ha, ma, hb, mb, px, p, angles, (gdx, gdy),
                            prepared=a.cached(key, lambda: prepare_cells(ha, ma, px, p)),
                            anchor=(theta, gdx, gdy) if anchored else None)
    _, rdx, rdy = global_correlation(gb, ga, [(-theta) % 360], ms)[0]
    rev = cmc_one_direction(hb, mb, ha, ma, px, p, [(-t) % 360 for t in angles], (rdx, rdy),
                            prepared=b.cached(key, lambda: prepare_cells(hb, mb, px, p)),
                            anchor=((-theta) % 360, rdx, rdy) if anchored else None)
    if fwd.cmc_count == 0:  # no consensus: report the global registration
        fwd.theta, fwd.dx, fwd.dy = theta, gdx, gdy
    rb, rm = rotate(hb, mb, -fwd.theta)
    dx, dy = round(fwd.dx), round(fwd.dy)
    h, w = ha.shape
    ys, yd = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
    xs, xd = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
    pccf = pearson(ha[yd, xd], ma[yd, xd], rb[ys, xs], rm[ys, xs], 100)
    bonus = 0.5 * max(pccf, 0.0) if np.isfinite(pccf) else 0.0
    return ComparisonResult(
        cmc_count=fwd.cmc_count,
        cmc_count_reverse=rev.cmc_count,
        n_cells=fwd.n_cells,
        n_cells_reverse=rev.n_cells,
        score=0.5 * (fwd.cmc_count + rev.cmc_count) + bonus,
        rotation_deg=fwd.theta,
        translation_px=(fwd.dx, fwd.dy),
        pairwise_ccf=pccf,
        pixel_um=px,
        cells=[c.to_dict() for c in fwd.cells],
        cells_reverse=[c.to_dict() for c in rev.cells],
        params=asdict(p),
    )
