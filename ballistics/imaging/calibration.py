"""Score-to-likelihood-ratio calibration, its domain, and how it was validated.

The LR of a comparison score ``s`` is fitted as the field does it, with the Netherlands Forensic
Institute's ``lir`` package: logistic regression of same-source vs different-source pairs on the
score, classes weighted equally (``lir.algorithms.logistic_regression.LogitCalibrator``), so
``log10 LR(s) = a + b * s`` with ``b > 0`` is monotone by construction; the log-LRs are then
clipped to the empirical lower and upper bounds (ELUB, Vergeer et al. 2016,
``lir.algorithms.bayeserror.ELUBBounder``), which keep the LR within what the number of
calibration pairs can support. Applying a fitted calibration needs only numpy (the web and
worker processes never import ``lir``); fitting and validating need ``lir``
(:func:`fit_calibration`, :func:`cross_validated_llrs`, :func:`performance`).

A calibration states its **domain**: the kind of data its pairs were (3D topography, native
pixel size, the breech face cropped by a pre-processing step, the region). For a pair outside
it, :meth:`Calibration.domain_check` says why (a :class:`DomainReason`: a code, the scan and the
figures, which the application words in the reader's language; ``domain_reason`` gives its
English), and the application shows the score without an LR.

References
----------
Morrison, G. S. (2013). Tutorial on logistic-regression calibration and fusion: converting a
score to a likelihood ratio. Australian J. Forensic Sciences 45(2), 173-197.
Vergeer, P., van Es, A., de Jongh, A., Alberink, I., Stoel, R. (2016). Numerical likelihood
ratios outputted by LR systems are often based on extrapolation: when to stop extrapolating?
Science & Justice 56, 482-491.
Brümmer, N., du Preez, J. (2006). Application-independent evaluation of speaker detection.
Computer Speech and Language 20, 230-275 (Cllr, Cllr_min).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources

import numpy as np

from ballistics.imaging.errors import ImagingError
from ballistics.imaging.version import ALGORITHM_VERSION


@dataclass(frozen=True)
class DomainReason:
    """Why a pair is outside a calibration's domain, as data: the application words it in the
    reader's language; ``str()`` is the English sentence.

    Attributes
    ----------
    code : str
        ``region`` (the region is not the calibration's), ``modality`` (a 2D image),
        ``pixel_unknown`` (features without the native pixel size), ``pixel_range`` (pixel
        size outside the calibration's), ``raw_scan`` (heights spread beyond the calibration's
        pre-processed breech faces).
    scan : str
        ``"query"`` or ``"reference"``: the scan at fault ("" for ``region``).
    values : dict
        The figures and codes of the reason: ``covered``, ``region`` (region codes);
        ``px``, ``lo``, ``hi`` (µm); ``spread``, ``top`` (µm).
    """

    code: str
    scan: str = ""
    values: dict = field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        v, name = self.values, self.scan
        if self.code == "region":
            return (f"the calibration covers {v['covered'].replace('_', ' ')} scans, "
                    f"not {v['region'].replace('_', ' ')}")
        if self.code == "modality":
            return (f"the {name} is a 2D image; the calibration covers 3D topography only "
                    "(a grey-level image is not a height map)")
        if self.code == "pixel_unknown":
            return f"the {name}'s pixel size is not recorded (features made before 2.0.0)"
        if self.code == "pixel_range":
            return (f"the {name}'s pixel size {v['px']:.3g} µm is outside the calibration's "
                    f"{v['lo']:g}-{v['hi']:g} µm")
        if self.code == "raw_scan":
            return (f"the {name} is a raw scan (heights spread over {v['spread']:.0f} µm); "
                    "the calibration covers breech faces levelled and band-pass filtered "
                    f"before upload (spread at most {v['top']:g} µm), and raw scans processed "
                    "here score differently (raw non-matches of consecutively made slides "
                    "reach 12-16 cells)")
        raise ValueError(f"unknown domain reason {self.code!r}")


@dataclass
class Calibration:
    """A fitted, bounded, monotone score -> LR mapping of one algorithm version.

    Attributes
    ----------
    intercept, slope : float
        ``log10 LR = intercept + slope * score`` before bounding (``slope > 0``).
    llr_bounds : (float, float)
        ELUB lower and upper bounds of ``log10 LR``.
    score_range : (float, float)
        Lowest and highest calibration score (the fitted range).
    domain : dict
        What the calibration pairs were (see :meth:`domain_reason`).
    description : str
        Which data, how fitted, how validated (one sentence for a footnote).
    training : dict
        Counts of the calibration pairs.
    validation : dict
        Figures per data set (see :func:`performance`), each saying how it was obtained.
    """

    intercept: float
    slope: float
    llr_bounds: tuple[float, float]
    score_range: tuple[float, float]
    domain: dict
    description: str
    algorithm_version: str = ALGORITHM_VERSION
    training: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.llr_bounds = (float(self.llr_bounds[0]), float(self.llr_bounds[1]))
        self.score_range = (float(self.score_range[0]), float(self.score_range[1]))
        if not (np.isfinite(self.intercept) and np.isfinite(self.slope) and self.slope > 0):
            raise ImagingError(f"calibration slope must be a positive number, got {self.slope}")
        if not self.llr_bounds[0] <= 0 <= self.llr_bounds[1]:
            raise ImagingError(f"calibration bounds {self.llr_bounds} must enclose log10 LR 0")

    def log10_lr(self, score: float | np.ndarray) -> float | np.ndarray:
        """Bounded ``log10 LR`` of a score (non-decreasing in the score)."""
        s = np.asarray(score, dtype=np.float64)
        llr = np.clip(self.intercept + self.slope * s, *self.llr_bounds)
        return float(llr) if llr.ndim == 0 else llr

    def likelihood_ratio(self, score: float) -> float:
        """``10 ** log10_lr(score)``."""
        return float(10.0 ** self.log10_lr(score))

    def threshold(self) -> float:
        """The score at which the LR is 1 (above it the LR supports same source)."""
        return -self.intercept / self.slope

    def domain_check(self, a: dict, b: dict, region: str = "breech_face") -> DomainReason | None:
        """Why a pair is outside the calibration's domain, or None if it is inside.

        Parameters
        ----------
        a, b : dict
            ``Features.meta`` of the two scans (``modality``, ``native_pixel_um``,
            ``input_height_range_um`` written by ``extract_features``).
        region : str
            The region both scans show.

        Returns
        -------
        DomainReason or None
            The first reason found (the region, then each scan in turn: query, reference).
        """
        d = self.domain
        covered = d.get("region", "breech_face")
        if region != covered:
            return DomainReason("region", values={"covered": covered, "region": region})
        lo, hi = d.get("native_pixel_um", (0.0, np.inf))
        for name, m in (("query", a), ("reference", b)):
            if m.get("modality", "3d") != d.get("modality", "3d"):
                return DomainReason("modality", name)
            px = m.get("native_pixel_um")
            if px is None:
                return DomainReason("pixel_unknown", name)
            if not lo <= px <= hi:
                return DomainReason("pixel_range", name, {"px": px, "lo": lo, "hi": hi})
            top = d.get("input_height_range_um", (0.0, np.inf))[1]
            spread = m.get("input_height_range_um")
            if spread is None or spread > top:
                # An unrecorded spread (hand-made meta only: features record it with the pixel
                # size) is judged raw too, and reads as 0 µm.
                return DomainReason("raw_scan", name, {"spread": spread or 0, "top": top})
        return None

    def domain_reason(self, a: dict, b: dict, region: str = "breech_face") -> str | None:
        """:meth:`domain_check`'s reason in English words, or None inside the domain."""
        reason = self.domain_check(a, b, region)
        return None if reason is None else str(reason)

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(float(d["intercept"]), float(d["slope"]), tuple(d["llr_bounds"]),
                       tuple(d["score_range"]), dict(d["domain"]), str(d["description"]),
                       str(d["algorithm_version"]), dict(d.get("training", {})),
                       dict(d.get("validation", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise ImagingError(f"calibration dict is malformed ({exc})") from exc


def fit_calibration(scores: Sequence[float], labels: Sequence[int], *, domain: dict,
                    description: str, training: dict | None = None) -> Calibration:
    """Fit ``log10 LR`` on labelled scores with ``lir`` (logistic regression, ELUB bounds).

    Parameters
    ----------
    scores : sequence of float
    labels : sequence of int
        1 for a known match (same source), 0 for a known non-match.
    """
    from lir.algorithms.bayeserror import elub
    from lir.algorithms.logistic_regression import LogitCalibrator

    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=int)
    if x.shape != y.shape or set(np.unique(y)) != {0, 1}:
        raise ImagingError("calibration needs scores with labels 0 and 1 of both kinds")
    model = LogitCalibrator().fit(x, y)
    intercept = float(model.transform(np.array([0.0]))[0])
    slope = float(model.transform(np.array([1.0]))[0]) - intercept
    lo, hi = elub(intercept + slope * x, y.astype(float), add_misleading=1)
    tr = {"n_km": int(y.sum()), "n_knm": int((1 - y).sum()), **(training or {})}
    return Calibration(intercept, slope, (float(lo), float(hi)),
                       (float(x.min()), float(x.max())), domain, description, ALGORITHM_VERSION,
                       tr)


def cross_validated_llrs(scores: Sequence[float], labels: Sequence[int],
                         sources: Sequence[tuple[str, str]]) -> np.ndarray:
    """``log10 LR`` of every pair from a calibration that never saw its sources.

    For a pair of sources ``{s, t}`` (one source for a known match) the calibration is fitted
    on the pairs that involve neither ``s`` nor ``t`` (leave-one-firearm-out for known
    matches, leave-two-out for non-matches): no pair is calibrated and validated on the same
    firearm.
    """
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=int)
    groups = [frozenset(p) for p in sources]
    out = np.empty(x.size)
    for held in set(groups):
        test = np.array([g == held for g in groups])
        train = np.array([not (g & held) for g in groups])
        if len(set(y[train])) < 2:
            raise ImagingError(f"holding out {sorted(held)} leaves one class only")
        cal = fit_calibration(x[train], y[train], domain={}, description="fold")
        out[test] = cal.log10_lr(x[test])
    return out


def performance(llrs: Sequence[float], labels: Sequence[int], scores: Sequence[float] | None
                = None) -> dict:
    """Cllr, Cllr_min (``lir.metrics``), rates of misleading evidence and ROC AUC.

    ``rate_misleading_km``: known matches with LR < 1; ``rate_misleading_knm``: known
    non-matches with LR > 1.
    """
    from lir.data.models import LLRData
    from lir.metrics import cllr, cllr_min

    llr = np.asarray(llrs, dtype=np.float64)
    y = np.asarray(labels, dtype=int)
    data = LLRData(features=llr.copy(), labels=y)
    km, knm = llr[y == 1], llr[y == 0]
    s = np.asarray(scores if scores is not None else llrs, dtype=np.float64)
    a, b = s[y == 1][:, None], s[y == 0][None, :]
    return {
        "n_km": int(km.size), "n_knm": int(knm.size),
        "cllr": float(cllr(data)), "cllr_min": float(cllr_min(data)),
        "rate_misleading_km": float(np.mean(km < 0)) if km.size else None,
        "rate_misleading_knm": float(np.mean(knm > 0)) if knm.size else None,
        "n_misleading_km": int(np.sum(km < 0)), "n_misleading_knm": int(np.sum(knm > 0)),
        "roc_auc": float(((a > b) + 0.5 * (a == b)).mean()) if km.size and knm.size else None,
        "min_lr_km": float(10 ** km.min()) if km.size else None,
        "max_lr_knm": float(10 ** knm.max()) if knm.size else None,
    }


def default_calibration() -> Calibration:
    """The calibration shipped for :data:`ALGORITHM_VERSION` (see its ``description``)."""
    text = resources.files("ballistics.imaging").joinpath("default_calibration.json").read_text()
    cal = Calibration.from_dict(json.loads(text))
    if cal.algorithm_version != ALGORITHM_VERSION:
        raise ImagingError(
            f"shipped calibration is for {cal.algorithm_version}, code is {ALGORITHM_VERSION}"
        )
    return cal
