"""The labelled ``.npz`` scans of ``shared/data/cartridge_scans`` (Fadul 2011, Baldwin 2014), with
the corrected labels of its README: P0001-P0006 are repeat scans of K004dB1, K004dB2, K004dB3
and K004fA3 (never unrelated references), and K004fA3's barrel-A label is doubtful."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

from ballistics import imaging

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "cartridge_scans"
#: repeat scan -> the scan of the same cartridge case (README)
REPEATS = {"P0001": "K004dB1", "P0002": "K004dB2", "P0003": "K004dB3", "P0006": "K004fA3"}
DOUBTFUL = "K004fA3"


def rows() -> list[dict]:
    with open(DATA / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def features(rs: list[dict] | None = None) -> dict[str, imaging.Features]:
    rs = rs if rs is not None else rows()
    return {r["scan_id"]: imaging.extract_features(imaging.load_npz(DATA / r["file"]))
            for r in rs}


def pairs(rs: list[dict] | None = None) -> dict[str, list[tuple[str, str, bool]]]:
    """Labelled pairs per data set: within a study, processed with processed, raw with raw.

    Keys: ``baldwin`` (pre-processed Baldwin scans, K004fA3 included), ``fadul`` (pre-processed
    Fadul), ``raw`` (raw Fadul and Baldwin scans, processed here), ``repeats`` (the four repeat
    scans with their twins, all known matches).
    """
    rs = rs if rs is not None else rows()
    labelled = [r for r in rs if r["firearm_id"] != "unknown"]
    out: dict[str, list[tuple[str, str, bool]]] = {"baldwin": [], "fadul": [], "raw": []}
    for a, b in itertools.combinations(labelled, 2):
        raw = a["scan_id"].endswith("_raw")
        if a["study"] != b["study"] or raw != b["scan_id"].endswith("_raw"):
            continue  # cross-study pairs differ trivially (make, scanner) and prove nothing
        key = "raw" if raw else ("fadul" if a["study"].startswith("Fadul") else "baldwin")
        out[key].append((a["scan_id"], b["scan_id"], a["firearm_id"] == b["firearm_id"]))
    out["repeats"] = [(p, twin, True) for p, twin in REPEATS.items()]
    return out


def without_doubtful(ps: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    """The pairs whose ground truth is reliable: every pair of K004fA3 left out (if its
    barrel-A label is wrong, its "non-matches" with barrels B and C are doubtful too)."""
    return [p for p in ps if DOUBTFUL not in p[:2]]
