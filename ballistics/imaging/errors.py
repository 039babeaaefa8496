"""Exceptions raised by :mod:`ballistics.imaging`.

Every error the package raises on bad input derives from :class:`ImagingError`, itself a
:class:`ValueError`, so callers (an upload endpoint, a batch job) can catch one type and show
its message, which always says what is wrong with the input.

The message is English (the package knows no languages: it imports no web framework). An error
about an input file also carries a stable ``kind`` (``"x3p_checksum"``) and the values it names
(``params``), so an application can say it again in its reader's language; the kinds are listed
in :data:`KINDS` and are part of the package's interface.
"""

from __future__ import annotations

from typing import Any

#: every ``kind`` the readers of scan files raise, and the ``params`` each carries
KINDS: dict[str, tuple[str, ...]] = {
    "file_not_bytes": (),
    "file_empty": (),
    "file_too_large": ("size", "limit"),
    "file_unrecognised": (),
    "image_needs_pixel_size": (),
    "image_bad_pixel_size": ("pixel_um",),
    "image_not_png_or_tiff": (),
    "image_header": ("format", "detail"),
    "image_empty_size": ("format", "width", "height"),
    "image_too_many_pixels": ("format", "width", "height", "pixels", "limit"),
    "image_undecodable": ("format", "detail"),
    "image_shape": ("format", "width", "height"),
    "x3p_not_zip": (),
    "x3p_corrupt_zip": ("detail",),
    "x3p_member_missing": ("member",),
    "x3p_member_too_large": ("member", "size", "limit"),
    "x3p_member_size": ("member", "size", "expected"),
    "x3p_member_compression": ("member", "ratio", "limit"),
    "x3p_member_truncated": ("member",),
    "x3p_xml_encoding": ("encoding", "detail"),
    "x3p_xml_doctype": (),
    "x3p_xml_malformed": ("detail",),
    "x3p_xml_missing": ("element",),
    "x3p_feature_type": ("feature_type",),
    "x3p_not_numeric": ("detail",),
    "x3p_matrix_size": ("x", "y", "z"),
    "x3p_too_many_pixels": ("x", "y", "pixels", "limit"),
    "x3p_increments_not_positive": ("dx", "dy"),
    "x3p_increments_implausible": ("cx", "cy", "dx_um", "dy_um", "low_um", "high_um"),
    "x3p_axis_type": (),
    "x3p_data_type": ("data_type",),
    "x3p_checksum": (),
    "x3p_mask_short": ("size", "needed"),
    "scan_empty": ("measured", "points", "needed"),
}


class ImagingError(ValueError):
    """Base class of every input or processing error of the imaging package.

    ``kind`` names what is wrong (a key of :data:`KINDS`, or "" for an error that has none:
    a caller's misuse, a processing failure), ``params`` the values the message names."""

    def __init__(self, message: str, *, kind: str = "", **params: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.params = params

    def about(self, filename: str) -> ImagingError:
        """The same error, its message naming ``filename`` (kind and values kept)."""
        return type(self)(f"{filename}: {self}", kind=self.kind, **self.params)


class ScanFormatError(ImagingError):
    """The file is not a readable x3p / PNG / TIFF / npz scan, or its structure is inconsistent."""


class ScanTooLargeError(ImagingError):
    """The file, its pixel count or its declared uncompressed size exceeds a configured limit."""


class EmptyScanError(ImagingError):
    """The scan holds no usable height value (all missing / NaN) or too few to process."""


class FeatureFormatError(ImagingError):
    """Stored features are malformed or were produced by an incompatible algorithm version."""
