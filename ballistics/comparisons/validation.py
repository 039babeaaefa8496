"""How the scores were validated, and whether a pair may be given a likelihood ratio.

The shipped calibration (``ballistics.imaging.default_calibration``) carries its domain and the
figures of its validation; this module turns them into what the API and the validation page
show, and decides per candidate whether the LR applies (inside the domain) or the score is shown
alone with the reason.
"""

from __future__ import annotations

from functools import cache

from ballistics import imaging


@cache
def calibration() -> imaging.Calibration:
    return imaging.default_calibration()


def likelihood_ratio(score: float, query_meta: dict, reference_meta: dict,
                     region: str = "breech_face") -> tuple[float | None, str]:
    """``(LR, "")`` inside the calibration's domain, ``(None, reason)`` outside it."""
    cal = calibration()
    reason = cal.domain_reason(query_meta, reference_meta, region)
    if reason:
        return None, f"No likelihood ratio: {reason}."
    return cal.likelihood_ratio(score), ""


def summary() -> dict:
    """Everything an examiner or a court needs to judge the LRs (JSON-safe)."""
    cal = calibration()
    data_sets = []
    for name, fig in cal.validation.items():
        data_sets.append({"name": name, **fig})
    lo, hi = cal.llr_bounds
    return {
        "algorithm_version": imaging.ALGORITHM_VERSION,
        "method": ("log10 LR = intercept + slope x score (logistic regression, classes weighted "
                   "equally, NFI lir LogitCalibrator), clipped to the empirical lower and upper "
                   "bounds (ELUB, Vergeer et al. 2016); monotone in the score by construction"),
        "description": cal.description,
        "intercept": cal.intercept,
        "slope": cal.slope,
        "lr_bounds": [10.0 ** lo, 10.0 ** hi],
        "score_at_lr_1": cal.threshold(),
        "score_range": list(cal.score_range),
        "domain": cal.domain,
        "training": cal.training,
        "data_sets": data_sets,
        "curve": [{"score": s, "lr": cal.likelihood_ratio(s)}
                  for s in _grid(*cal.score_range)],
    }


def _grid(lo: float, hi: float, n: int = 25) -> list[float]:
    step = (hi - lo) / (n - 1) if hi > lo else 1.0
    return [round(lo + i * step, 3) for i in range(n)]
