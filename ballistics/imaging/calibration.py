"""Score-to-likelihood-ratio calibration and error rates.

The likelihood ratio of a score s is ``LR(s) = f_KM(s) / f_KNM(s)``, with each density a Gaussian
kernel density estimate (Silverman bandwidth, with a floor) of scores of known-match (KM) and
known-non-match (KNM) pairs, mixed with a uniform density of weight ``1 / (n + 1)`` over the
observed score range. The mixture bounds the LR by about the sample sizes, so a score beyond
every training score never yields an unbounded LR (a sample of n pairs cannot support more).

References
----------
Morrison, G. S. (2013). Tutorial on logistic-regression calibration and fusion: converting a
score to a likelihood ratio. Australian J. Forensic Sciences 45(2), 173-197.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from ballistics.imaging.errors import ImagingError
from ballistics.imaging.version import ALGORITHM_VERSION


def _density(x: np.ndarray, data: np.ndarray, lo: float, hi: float, min_bw: float) -> np.ndarray:
    n = data.size
    bw = max(1.06 * data.std() * n ** (-0.2), min_bw)
    z = (x[:, None] - data[None, :]) / bw
    kde = np.exp(-0.5 * z * z).sum(1) / (n * bw * np.sqrt(2 * np.pi))
    uni = 1.0 / max(hi - lo, 1e-9)
    return (n * kde + uni) / (n + 1)


@dataclass
class Calibration:
    """Known-match / known-non-match score distributions of one algorithm version.

    Attributes
    ----------
    km_scores, knm_scores : list of float
        Training scores.
    description : str
        Which data the scores come from.
    algorithm_version : str
    min_bandwidth : float
        Lower bound on the kernel bandwidth (score units).
    """

    km_scores: list[float]
    knm_scores: list[float]
    description: str
    algorithm_version: str = ALGORITHM_VERSION
    min_bandwidth: float = 0.5
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.km_scores) < 2 or len(self.knm_scores) < 2:
            raise ImagingError("calibration needs at least 2 known-match and 2 non-match scores")
        self._km = np.asarray(self.km_scores, dtype=np.float64)
        self._knm = np.asarray(self.knm_scores, dtype=np.float64)
        both = np.concatenate([self._km, self._knm])
        self._lo, self._hi = float(both.min()) - 1.0, float(both.max()) + 1.0

    def likelihood_ratio(self, score: float) -> float:
        """``f_KM(score) / f_KNM(score)``."""
        x = np.array([float(score)])
        num = _density(x, self._km, self._lo, self._hi, self.min_bandwidth)[0]
        den = _density(x, self._knm, self._lo, self._hi, self.min_bandwidth)[0]
        return float(num / den)

    def error_rates(self, threshold: float) -> dict:
        """Rates when calling "same source" for ``score >= threshold``."""
        return {
            "threshold": float(threshold),
            "false_positive_rate": float(np.mean(self._knm >= threshold)),
            "false_negative_rate": float(np.mean(self._km < threshold)),
            "n_km": int(self._km.size),
            "n_knm": int(self._knm.size),
        }

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {
            "km_scores": [float(v) for v in self._km],
            "knm_scores": [float(v) for v in self._knm],
            "description": self.description,
            "algorithm_version": self.algorithm_version,
            "min_bandwidth": self.min_bandwidth,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(list(d["km_scores"]), list(d["knm_scores"]), str(d["description"]),
                       str(d["algorithm_version"]), float(d.get("min_bandwidth", 0.5)),
                       dict(d.get("extra", {})))
        except (KeyError, TypeError) as exc:
            raise ImagingError(f"calibration dict is malformed ({exc})") from exc


def default_calibration() -> Calibration:
    """The calibration shipped for :data:`ALGORITHM_VERSION` (see its ``description``)."""
    text = resources.files("ballistics.imaging").joinpath("default_calibration.json").read_text()
    cal = Calibration.from_dict(json.loads(text))
    if cal.algorithm_version != ALGORITHM_VERSION:
        raise ImagingError(
            f"shipped calibration is for {cal.algorithm_version}, code is {ALGORITHM_VERSION}"
        )
    return cal
