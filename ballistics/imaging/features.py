"""Per-scan features: processed surface, mask and stage-1 signature; safe serialisation."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ballistics.imaging.errors import FeatureFormatError
from ballistics.imaging.preprocess import PreprocessParams, ProcessedScan, preprocess
from ballistics.imaging.signature import SIGNATURE_LENGTH, compute_signature
from ballistics.imaging.surface import Surface
from ballistics.imaging.version import ALGORITHM_VERSION


@dataclass
class Features:
    """Everything the comparison and the search need from one scan.

    Attributes
    ----------
    heights : numpy.ndarray
        float32 processed heights (µm), 0 outside ``mask``, centred on the aperture.
    mask : numpy.ndarray
        bool breech-face mask.
    signature : numpy.ndarray
        float32, length :data:`~ballistics.imaging.signature.SIGNATURE_LENGTH` (256),
        L2-normalised.
    pixel_um : float
    algorithm_version : str
    meta : dict
    """

    heights: np.ndarray
    mask: np.ndarray
    signature: np.ndarray
    pixel_um: float
    algorithm_version: str = ALGORITHM_VERSION
    meta: dict = field(default_factory=dict)
    #: Derived per-scan quantities of the comparison (spectra, cell transforms), filled lazily
    #: by :func:`~ballistics.imaging.compare.compare`; never serialised.
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def cached(self, key: tuple, make):
        """``make()`` computed once per key (invalidated if heights or mask are replaced)."""
        tag = (id(self.heights), id(self.mask), self.heights.shape)
        hit = self.cache.get(key)
        if hit is None or hit[0] != tag:
            hit = (tag, make())
            self.cache[key] = hit
        return hit[1]


def extract_features(scan: Surface | ProcessedScan,
                     params: PreprocessParams | None = None) -> Features:
    """Preprocess (if needed) and compute the signature.

    Parameters
    ----------
    scan : Surface or ProcessedScan
    params : PreprocessParams, optional
        Used only when ``scan`` is a raw :class:`Surface`.

    Returns
    -------
    Features
    """
    p = scan if isinstance(scan, ProcessedScan) else preprocess(scan, params)
    sig = compute_signature(p.heights, p.mask, p.pixel_um)
    meta = {k: v for k, v in p.meta.items() if isinstance(v, (str, int, float, bool, list))}
    # What the calibration's domain is judged on (calibration.Calibration.domain_reason).
    if isinstance(scan, Surface):
        meta["modality"] = "2d" if scan.meta.get("format") in ("png", "tiff") else "3d"
        meta["native_pixel_um"] = float(min(scan.pixel_um_x, scan.pixel_um_y))
        meta["valid_fraction"] = float(np.isfinite(scan.heights).mean())
        vals = np.asarray(scan.heights)[np.isfinite(scan.heights)]
        # Spread of the heights as uploaded: ~5-15 µm for a levelled, band-passed breech face,
        # ~80-400 µm for a raw scan with primer curvature and firing-pin impression.
        meta["input_height_range_um"] = float(np.percentile(vals, 99) - np.percentile(vals, 1))
    meta["geometry"] = p.geometry.method
    meta["aperture_unmeasured"] = bool(p.geometry.aperture_unmeasured)
    return Features(p.heights.astype(np.float32), p.mask.astype(bool), sig, p.pixel_um,
                    ALGORITHM_VERSION, meta)


def features_to_bytes(f: Features) -> bytes:
    """Serialise to an ``.npz`` archive (no pickle) for database storage."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        heights=f.heights.astype(np.float32),
        mask=np.packbits(f.mask.astype(bool), axis=None),
        mask_shape=np.array(f.mask.shape, dtype=np.int64),
        signature=f.signature.astype(np.float32),
        pixel_um=np.float64(f.pixel_um),
        algorithm_version=np.array(f.algorithm_version),
        meta=np.array(json.dumps(f.meta, default=str)),
    )
    return buf.getvalue()


def features_from_bytes(b: bytes, *, require_current: bool = True) -> Features:
    """Inverse of :func:`features_to_bytes`.

    Raises
    ------
    FeatureFormatError
        Malformed data, or (with ``require_current``) another ``ALGORITHM_VERSION``.
    """
    try:
        with np.load(io.BytesIO(b), allow_pickle=False) as z:
            shape = tuple(int(v) for v in z["mask_shape"])
            mask = np.unpackbits(z["mask"])[: shape[0] * shape[1]].reshape(shape).astype(bool)
            f = Features(
                heights=z["heights"].astype(np.float32),
                mask=mask,
                signature=z["signature"].astype(np.float32),
                pixel_um=float(z["pixel_um"]),
                algorithm_version=str(z["algorithm_version"]),
                meta=json.loads(str(z["meta"])),
            )
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise FeatureFormatError(f"stored features are malformed ({exc})") from exc
    if f.heights.shape != f.mask.shape or f.signature.shape != (SIGNATURE_LENGTH,):
        raise FeatureFormatError("stored features have inconsistent array shapes")
    if require_current and f.algorithm_version != ALGORITHM_VERSION:
        raise FeatureFormatError(
            f"features were made by {f.algorithm_version}, this is {ALGORITHM_VERSION}; "
            "re-extract them"
        )
    return f
