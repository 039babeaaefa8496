"""Exceptions raised by :mod:`ballistics.imaging`.

Every error the package raises on bad input derives from :class:`ImagingError`, itself a
:class:`ValueError`, so callers (an upload endpoint, a batch job) can catch one type and show
its message, which always says what is wrong with the input.
"""

from __future__ import annotations


class ImagingError(ValueError):
    """Base class of every input or processing error of the imaging package."""


class ScanFormatError(ImagingError):
    """The file is not a readable x3p / PNG / TIFF / npz scan, or its structure is inconsistent."""


class ScanTooLargeError(ImagingError):
    """The file, its pixel count or its declared uncompressed size exceeds a configured limit."""


class EmptyScanError(ImagingError):
    """The scan holds no usable height value (all missing / NaN) or too few to process."""


class FeatureFormatError(ImagingError):
    """Stored features are malformed or were produced by an incompatible algorithm version."""
