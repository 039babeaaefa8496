"""Reading 2D images as surfaces and sniffing uploaded scan files.

PNG and TIFF headers are parsed with the standard library before decoding, so the pixel limit is
enforced before any pixel buffer exists (decompression bombs are refused up front).
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ballistics.imaging.errors import ScanFormatError, ScanTooLargeError
from ballistics.imaging.surface import DEFAULT_MAX_PIXELS, Surface, check_not_empty
from ballistics.imaging.x3p import MAX_FILE_BYTES, _as_bytes, read_x3p

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*")
_ZIP_MAGIC = b"PK\x03\x04"


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ScanFormatError("PNG file lacks its IHDR header", kind="image_header", format="png",
                              detail="IHDR")
    w, h = struct.unpack(">II", data[16:24])
    return int(w), int(h)


def _tiff_size(data: bytes) -> tuple[int, int]:
    end = "<" if data[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack(end + "I", data[4:8])
        (n,) = struct.unpack(end + "H", data[ifd : ifd + 2])
        dims: dict[int, int] = {}
        for i in range(n):
            off = ifd + 2 + 12 * i
            tag, typ = struct.unpack(end + "HH", data[off : off + 4])
            if tag in (256, 257):
                fmt = "H" if typ == 3 else "I"
                (val,) = struct.unpack(end + fmt, data[off + 8 : off + 8 + struct.calcsize(fmt)])
                dims[tag] = int(val)
    except struct.error as exc:
        raise ScanFormatError(f"TIFF header is truncated or corrupt ({exc})", kind="image_header",
                              format="tiff", detail=str(exc)) from exc
    if 256 not in dims or 257 not in dims:
        raise ScanFormatError("TIFF header lacks ImageWidth / ImageLength", kind="image_header",
                              format="tiff", detail="ImageWidth / ImageLength")
    return dims[256], dims[257]


def read_image(
    source: bytes | str | Path | BinaryIO,
    pixel_um: float,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    z_um_per_level: float = 1.0,
) -> Surface:
    """Read a PNG or TIFF height image as a surface.

    Parameters
    ----------
    source : bytes, str, Path or binary file object
        The image. Grey levels (8 or 16 bit, or float TIFF) are heights; colour images are
        converted to luminance. A fully transparent pixel (alpha 0) is a missing point.
    pixel_um : float
        Lateral pixel size in µm (images carry no reliable physical scale).
    max_pixels : int
        Largest accepted width * height, checked from the header before decoding.
    z_um_per_level : float
        Height in µm of one grey level.

    Returns
    -------
    Surface
    """
    if not (np.isfinite(pixel_um) and pixel_um > 0):
        raise ScanFormatError(f"pixel_um must be a positive number, got {pixel_um!r}",
                              kind="image_bad_pixel_size", pixel_um=pixel_um)
    data = _as_bytes(source, MAX_FILE_BYTES)
    if data.startswith(_PNG_MAGIC):
        w, h = _png_size(data)
        kind = "png"
    elif data[:4] in _TIFF_MAGICS:
        w, h = _tiff_size(data)
        kind = "tiff"
    else:
        raise ScanFormatError("not a PNG or TIFF image (unrecognised file signature)",
                              kind="image_not_png_or_tiff")
    if w < 1 or h < 1:
        raise ScanFormatError(f"{kind} image declares an empty size {w}x{h}",
                              kind="image_empty_size", format=kind, width=w, height=h)
    if w * h > max_pixels:
        raise ScanTooLargeError(f"{kind} image {w}x{h} = {w * h} pixels exceeds {max_pixels}",
                                kind="image_too_many_pixels", format=kind, width=w, height=h,
                                pixels=w * h, limit=max_pixels)
    from skimage import io as skio  # deferred: imports imageio / tifffile plugins

    try:
        img = np.asarray(skio.imread(io.BytesIO(data)))
    except Exception as exc:  # decoders raise many types; report them uniformly
        raise ScanFormatError(f"{kind} image cannot be decoded ({exc})", kind="image_undecodable",
                              format=kind, detail=str(exc)) from exc
    if img.ndim == 3 and img.shape[:2] != (h, w) and img.shape[1:] == (h, w):
        img = np.moveaxis(img, 0, -1)
    if img.ndim == 3 and img.shape[-1] in (2, 4):
        alpha = img[..., -1]
        img = img[..., :-1]
    else:
        alpha = None
    if img.ndim == 3:
        weights = np.array([0.2125, 0.7154, 0.0721])[: img.shape[-1]]
        img = img.astype(np.float64) @ (weights / weights.sum())
    if img.ndim != 2 or img.shape != (h, w):
        raise ScanFormatError(f"{kind} image decoded to shape {img.shape}, header says {h}x{w}",
                              kind="image_shape", format=kind, width=w, height=h)
    heights = img.astype(np.float64) * float(z_um_per_level)
    if alpha is not None:
        heights[alpha == 0] = np.nan
    surf = Surface(heights, float(pixel_um), float(pixel_um), {"format": kind})
    check_not_empty(surf)
    return surf


def scan_kind(data: bytes) -> str | None:
    """What a file's first bytes say it is: "x3p" (a zip), "image" (PNG or TIFF) or None."""
    if data.startswith(_ZIP_MAGIC):
        return "x3p"
    if data.startswith(_PNG_MAGIC) or data[:4] in _TIFF_MAGICS:
        return "image"
    return None


def read_surface(
    data: bytes,
    filename: str,
    pixel_um: float | None,
    *,
    max_bytes: int = 256 * 1024 * 1024,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Surface:
    """Read an uploaded scan, choosing the reader from the content, not the file name.

    Parameters
    ----------
    data : bytes
        The uploaded file.
    filename : str
        Original name, kept in ``meta`` and used in error messages.
    pixel_um : float or None
        Lateral pixel size for images; ignored for x3p, which carries its own increments.
    max_bytes, max_pixels : int
        Limits enforced before decoding.

    Returns
    -------
    Surface

    Raises
    ------
    ScanFormatError, ScanTooLargeError, EmptyScanError
        With a message naming the file and the problem.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ScanFormatError(f"{filename}: expected the file content as bytes",
                              kind="file_not_bytes")
    data = bytes(data)
    if len(data) == 0:
        raise ScanFormatError(f"{filename}: the file is empty", kind="file_empty")
    if len(data) > max_bytes:
        raise ScanTooLargeError(f"{filename}: {len(data)} bytes exceeds the limit of {max_bytes}",
                                kind="file_too_large", size=len(data), limit=max_bytes)
    try:
        kind = scan_kind(data)
        if kind == "x3p":
            surf = read_x3p(data, max_pixels=max_pixels)
        elif kind == "image":
            if pixel_um is None:
                raise ScanFormatError("an image needs pixel_um (its lateral pixel size in µm)",
                                      kind="image_needs_pixel_size")
            surf = read_image(data, pixel_um, max_pixels=max_pixels)
        else:
            raise ScanFormatError("unrecognised format: expected an x3p (zip), PNG or TIFF file",
                                  kind="file_unrecognised")
    except (ScanFormatError, ScanTooLargeError) as exc:
        raise exc.about(filename) from exc
    surf.meta.setdefault("filename", filename)
    return surf
