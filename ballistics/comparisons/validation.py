"""How the scores were validated, and whether a pair may be given a likelihood ratio.

The shipped calibration (``ballistics.imaging.default_calibration``) carries its domain and the
figures of its validation; this module turns them into what the API and the validation page
show, and decides per candidate whether the LR applies (inside the domain) or the score is shown
alone with the reason.
"""

from __future__ import annotations

from functools import cache

from ballistics import imaging
from ballistics.core.numbers import number
from ballistics.core.wording import Wording, coded, english, figure, said, wording


@cache
def calibration() -> imaging.Calibration:
    return imaging.default_calibration()


def likelihood_ratio(score: float, query_meta: dict, reference_meta: dict,
                     region: str = "breech_face") -> tuple[float | None, Wording | None]:
    """``(LR, None)`` inside the calibration's domain, ``(None, why)`` outside it: ``why`` is
    the wording of "No likelihood ratio: <reason>." (``english()`` of it is the candidate's
    ``lr_note``)."""
    cal = calibration()
    reason = cal.domain_check(query_meta, reference_meta, region)
    if reason is not None:
        return None, wording("No likelihood ratio: %(reason)s.", reason=domain_wording(reason))
    return cal.likelihood_ratio(score), None


def domain_wording(reason: imaging.DomainReason) -> Wording | str:
    """The reason a pair is outside the calibration's domain, worded: ``english()`` of it is
    ``str(reason)``; its figures are written as that English writes them, and on pages with the
    reader's decimal sign."""
    v = reason.values
    if reason.code == "region":
        return wording("the calibration covers %(covered)s scans, not %(region)s",
                       covered=coded(v["covered"]), region=coded(v["region"]))
    # The scan at fault is a clause of its own ("la consulta", "la referencia").
    scan = wording("the query") if reason.scan == "query" else wording("the reference")
    if reason.code == "modality":
        return wording("%(scan)s is a 2D image; the calibration covers 3D topography only (a "
                       "grey-level image is not a height map)", scan=scan)
    if reason.code == "pixel_unknown":
        return wording("%(scan)s's pixel size is not recorded (features made before 2.0.0)",
                       scan=scan)
    if reason.code == "pixel_range":
        return wording("%(scan)s's pixel size %(px)s µm is outside the calibration's "
                       "%(lo)s-%(hi)s µm", scan=scan, px=figure(v["px"], ".3g"),
                       lo=figure(v["lo"]), hi=figure(v["hi"]))
    if reason.code == "raw_scan":
        return wording("%(scan)s is a raw scan (heights spread over %(spread)s µm); the "
                       "calibration covers breech faces levelled and band-pass filtered before "
                       "upload (spread at most %(top)s µm), and raw scans processed here score "
                       "differently (raw non-matches of consecutively made slides reach 12-16 "
                       "cells)", scan=scan, spread=figure(v["spread"], ".0f"),
                       top=figure(v["top"]))
    return str(reason)  # a reason imaging gave no wording here yet: its English, never a failure


def lr_reason(why: Wording | None, note: str) -> str:
    """Why a candidate has no LR, in the reader's language: its wording said, else its English
    note (candidates stored before wordings were kept, a hub that sends none); empty with an
    LR. For candidates kept as JSON (a partner search's); a lab's has ``lr_said``."""
    if not why:
        return note
    try:
        return said(why)
    except (KeyError, TypeError, ValueError, AttributeError):
        # The hub's wording is another system's data: one this release cannot read (another
        # shape, a value missing) costs the translation, not the page.
        return note


_METHOD = wording("log10 LR = intercept + slope x score (logistic regression, classes weighted "
                  "equally, NFI lir LogitCalibrator), clipped to the empirical lower and upper "
                  "bounds (ELUB, Vergeer et al. 2016); monotone in the score by construction")
#: the method, as the validation summary states it (the API gives it as it is)
METHOD = _METHOD["msg"]
#: English sentences the validation page shows as data (the method, the shipped calibration's
#: domain and how each data set was validated), as messages: a page says one in the reader's
#: language only while the data holds it word for word, so a calibration refitted with other
#: words shows its own English, never the translation of something else.
_SHIPPED = {w["msg"]: w for w in (
    _METHOD,
    wording("3D topography (x3p or height-map npz) of breech faces levelled and band-pass "
            "filtered before upload (heights spread over at most 40 µm), native pixel "
            "3.125-12.5 µm, compared on this algorithm's 25 µm grid"),
    wording("leave-one-slide-out: each pair's LR from a calibration fitted on the pairs of the "
            "other slides only (for a non-match, of neither of its two slides)"),
    wording("calibration fitted on all Weller pairs (other make, scanner or study), applied "
            "unchanged"),
    wording("repeat scans of the same cases, Weller calibration applied"),
    wording("no LR given: the query is a raw scan (heights spread over 122 µm); the calibration "
            "covers breech faces levelled and band-pass filtered before upload (spread at most "
            "40 µm), and raw scans processed here score differently (raw non-matches of "
            "consecutively made slides reach 12-16 cells)"),
)}


def shipped_said(text: str) -> str:
    """One of the validation's English data sentences in the reader's language, if it is one
    the catalogue knows word for word; else as written."""
    known = _SHIPPED.get(text)
    return said(known) if known else text


def description_said() -> str:
    """The calibration's description as a sentence of the page, in the reader's language.

    The shipped description is English data; its translation is a message whose figures are
    the calibration's own (``training``), so none is copied by hand. It is said only while that
    message, in English, is the description word for word: a calibration fitted on other data
    (another description) shows its own English rather than a translation of the wrong one.
    """
    cal = calibration()
    t = cal.training
    try:
        figures = {"pairs": t["n_km"] + t["n_knm"], "firearms": t["n_firearms"],
                   "km": t["n_km"], "knm": t["n_knm"]}
    except KeyError:
        figures = None
    if figures and english(_description({k: f"{v:,}" for k, v in figures.items()})) == (
            cal.description):
        text = said(_description({k: number(v) for k, v in figures.items()}))
    else:
        text = cal.description
    return text[:1].upper() + text[1:]  # not |capitalize: it lower-cased "ELUB", "Weller"


def _description(figures: dict[str, str]) -> Wording:
    return wording("fitted with lir (logistic regression, ELUB bounds) on all %(pairs)s pairs "
                   "of the Weller et al. (2012) scans, %(firearms)s consecutively made Ruger P95 "
                   "slides (%(km)s known matches, %(knm)s known non-matches); validated "
                   "leave-one-slide-out and on the Baldwin and Fadul scans", **figures)


def summary() -> dict:
    """Everything an examiner or a court needs to judge the LRs (JSON-safe)."""
    cal = calibration()
    data_sets = []
    for name, fig in cal.validation.items():
        data_sets.append({"name": name, **fig})
    lo, hi = cal.llr_bounds
    return {
        "algorithm_version": imaging.ALGORITHM_VERSION,
        "method": METHOD,
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
