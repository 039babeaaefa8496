"""The :class:`Surface` container and loading of the shared ``.npz`` validation scans."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ballistics.imaging.errors import EmptyScanError, ScanFormatError

#: Default ceiling on the number of height values accepted from any source (50 megapixels).
DEFAULT_MAX_PIXELS = 50_000_000


@dataclass
class Surface:
    """A measured height map.

    Attributes
    ----------
    heights : numpy.ndarray
        2D float array of heights in micrometres, indexed ``[y, x]``; NaN marks a missing point.
    pixel_um_x, pixel_um_y : float
        Lateral spacing of columns and rows in micrometres.
    meta : dict
        Free-form, JSON-safe provenance (file name, instrument, firearm label, ...).
    """

    heights: np.ndarray
    pixel_um_x: float
    pixel_um_y: float
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        h = np.asarray(self.heights)
        if h.ndim != 2 or min(h.shape) < 1:
            raise ScanFormatError(f"heights must be a non-empty 2D array, got shape {h.shape}")
        if not np.issubdtype(h.dtype, np.floating):
            h = h.astype(np.float64)
        self.heights = h
        for name in ("pixel_um_x", "pixel_um_y"):
            v = float(getattr(self, name))
            if not np.isfinite(v) or v <= 0:
                raise ScanFormatError(f"{name} must be a positive finite number, got {v!r}")
            setattr(self, name, v)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the height map."""
        return self.heights.shape  # type: ignore[return-value]

    @property
    def mask(self) -> np.ndarray:
        """Boolean array, True where a height was measured."""
        return np.isfinite(self.heights)


def check_not_empty(surface: Surface, *, min_valid: int = 16) -> None:
    """Raise :class:`EmptyScanError` unless ``surface`` holds at least ``min_valid`` heights."""
    n = int(np.count_nonzero(np.isfinite(surface.heights)))
    if n < min_valid:
        raise EmptyScanError(
            f"scan has {n} measured points of {surface.heights.size}; "
            f"at least {min_valid} are needed (all-NaN or empty data)",
            kind="scan_empty", measured=n, points=surface.heights.size, needed=min_valid,
        )


def load_npz(path: str | Path) -> Surface:
    """Load a validation scan of ``shared/data/cartridge_scans`` (``.npz``, no pickle).

    Parameters
    ----------
    path : str or Path
        File holding ``surface`` (float32 µm, NaN = unmeasured) and ``pixel_um``; optional
        string fields (``firearm``, ``study``, ...) are copied into ``meta``.

    Returns
    -------
    Surface
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if "surface" not in z or "pixel_um" not in z:
                raise ScanFormatError(f"{path.name}: npz lacks 'surface' or 'pixel_um'")
            heights = np.asarray(z["surface"], dtype=np.float32)
            px = float(z["pixel_um"])
            meta: dict[str, Any] = {"source": path.name, "scan_id": path.stem}
            for key in z.files:
                if key not in ("surface", "pixel_um") and z[key].ndim == 0:
                    meta[key] = z[key].item() if z[key].dtype.kind != "U" else str(z[key])
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        if isinstance(exc, ScanFormatError):
            raise
        raise ScanFormatError(f"{path.name}: not a readable npz scan ({exc})") from exc
    surf = Surface(heights, px, px, meta)
    check_not_empty(surf)
    return surf
