"""Cartridge-case breech-face comparison science (pure numpy / scipy / scikit-image).

Public API
----------
ALGORITHM_VERSION : str
    Changes whenever features or scores would change.
ImagingError(ValueError), ScanFormatError, ScanTooLargeError, EmptyScanError, FeatureFormatError
    Raised on bad input; messages say what is wrong.
Surface(heights, pixel_um_x, pixel_um_y, meta={})
    Height map in µm, NaN = missing.
read_x3p(source, *, max_pixels=DEFAULT_MAX_PIXELS) -> Surface
write_x3p(surface, target=None, *, record=None) -> bytes (record: X3pRecord2, the metadata)
read_image(source, pixel_um, *, max_pixels=..., z_um_per_level=1.0) -> Surface
read_surface(data: bytes, filename: str, pixel_um: float | None, *, max_bytes=...,
             max_pixels=...) -> Surface
load_npz(path) -> Surface
preprocess(surface, params: PreprocessParams | None = None) -> ProcessedScan
extract_features(surface | ProcessedScan, params=None) -> Features
    ``Features.signature``: float32, length 256 (:data:`SIGNATURE_LENGTH`), L2-normalised.
features_to_bytes(f) -> bytes ; features_from_bytes(b) -> Features   (npz, no pickle)
compare(a: Features, b: Features, params: CMCParams | None = None) -> ComparisonResult
    Symmetric: ``compare(b, a)`` has the same score and the counts, cells and registrations
    exchanged. ``cmc_count``, ``cmc_count_reverse``, ``score``, ``rotation_deg``,
    ``translation_px`` (and ``_reverse``), ``cells``, ``cells_reverse``, ``pairwise_ccf``,
    ``to_dict()``.
default_calibration() -> Calibration
    ``likelihood_ratio(score)``, ``log10_lr(score)`` (monotone, ELUB-bounded),
    ``domain_check(meta_a, meta_b, region) -> DomainReason | None`` (a code, the scan at
    fault and the figures; ``str()`` is English), ``domain_reason(...)`` (that English, None
    inside the domain), ``validation``
    (figures per data set), ``to_dict`` / ``from_dict``.
ballistics.imaging.calibration
    ``fit_calibration``, ``cross_validated_llrs`` (leave-one-source-out), ``performance``
    (Cllr, Cllr_min, misleading-evidence rates): these need the ``lir`` package.
SignatureIndex(compressed=False)
    ``add(ids, vectors)``, ``search(vector, k) -> list[(id, similarity)]``. Rotation is
    handled by the similarity (one rotation for all harmonics of the polar Fourier-magnitude
    spectrum; scanned by its upper bound, the best rows re-scored).
ballistics.imaging.segments
    Append-only, memory-mapped segment files of signatures (one folder per algorithm
    version): ``write_segment``, ``SegmentSet.refresh()``, ``scan_shortlist`` (the same scan
    over stored rows, by id range, filtered) and ``index.merge_shortlists`` (shards' results
    to the top k, identical to ``SignatureIndex.search``).
ballistics.imaging.synthetic
    ``make_firearm(seed)``, ``fire(firearm, seed, difficulty, pixel_um)``, ``make_set(...)``.
ballistics.imaging.distractors
    ``distractor_signatures(features, per_scan)``: mirrored / rotated / occluded variants.
ballistics.imaging.signature
    The vector -> similarity logic a signature store calls: ``query_matrix(q)`` (rows ``X @
    query_matrix(q)`` give the per-harmonic products), ``similarity_from_products`` (cheap upper
    bound, the 1.x similarity: scan with it), ``rotation_similarity`` (the similarity since
    2.0.0: re-score the best rows with it), ``signature_similarity(a, b)``. Vectors unchanged
    since 1.1.0 (float32, length 256).

See docs/imaging.md for the method, parameters and validation figures.
"""

from ballistics.imaging.calibration import Calibration, DomainReason, default_calibration
from ballistics.imaging.cmc import CMCParams
from ballistics.imaging.compare import ComparisonResult, compare
from ballistics.imaging.errors import (
    EmptyScanError,
    FeatureFormatError,
    ImagingError,
    ScanFormatError,
    ScanTooLargeError,
)
from ballistics.imaging.features import (
    Features,
    extract_features,
    features_from_bytes,
    features_to_bytes,
)
from ballistics.imaging.index import SignatureIndex
from ballistics.imaging.io import read_image, read_surface, scan_kind
from ballistics.imaging.preprocess import PreprocessParams, ProcessedScan, preprocess
from ballistics.imaging.signature import SIGNATURE_LENGTH
from ballistics.imaging.surface import DEFAULT_MAX_PIXELS, Surface, load_npz
from ballistics.imaging.version import ALGORITHM_VERSION
from ballistics.imaging.x3p import X3pRecord2, read_x3p, write_x3p

__all__ = [
    "ALGORITHM_VERSION",
    "DEFAULT_MAX_PIXELS",
    "SIGNATURE_LENGTH",
    "CMCParams",
    "Calibration",
    "ComparisonResult",
    "DomainReason",
    "EmptyScanError",
    "FeatureFormatError",
    "Features",
    "ImagingError",
    "PreprocessParams",
    "ProcessedScan",
    "ScanFormatError",
    "ScanTooLargeError",
    "SignatureIndex",
    "Surface",
    "X3pRecord2",
    "compare",
    "default_calibration",
    "extract_features",
    "features_from_bytes",
    "features_to_bytes",
    "load_npz",
    "preprocess",
    "read_image",
    "read_surface",
    "read_x3p",
    "scan_kind",
    "write_x3p",
]
