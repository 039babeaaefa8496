"""Why an uploaded scan could not be read, in the reader's language.

The imaging package knows no languages (it imports no web framework): it says what is wrong in
English and names it by a stable ``kind`` with the values it names
(:data:`ballistics.imaging.errors.KINDS`). Here each kind is said again through the catalogue
with the same values. A parser's own detail (a zip or XML library's sentence) stays as it was,
in parentheses.
"""

from __future__ import annotations

from collections.abc import Callable

from ballistics.core.wording import Wording, said, wording
from ballistics.imaging import ImagingError

_SAID: dict[str, Callable[..., Wording]] = {
    "file_not_bytes": lambda: wording("The upload carries no file content."),
    "file_empty": lambda: wording("The file is empty."),
    "file_too_large": lambda size, limit: wording(
        "The file has %(size)s bytes; at most %(limit)s are accepted.", size=size, limit=limit),
    "file_unrecognised": lambda: wording("Not an x3p, PNG or TIFF file."),
    "image_needs_pixel_size": lambda: wording("An image needs its pixel size in µm (pixel_um)."),
    "image_bad_pixel_size": lambda pixel_um: wording(
        "The pixel size must be a positive number, not %(pixel_um)s.", pixel_um=pixel_um),
    "image_not_png_or_tiff": lambda: wording("Not a PNG or TIFF image."),
    "image_header": lambda format, detail: wording(
        "The %(format)s header is truncated or corrupt (%(detail)s).", format=format.upper(),
        detail=detail),
    "image_empty_size": lambda format, width, height: wording(
        "The %(format)s image declares an empty size, %(width)s x %(height)s.",
        format=format.upper(), width=width, height=height),
    "image_too_many_pixels": lambda format, width, height, pixels, limit: wording(
        "The %(format)s image has %(width)s x %(height)s = %(pixels)s pixels; at most "
        "%(limit)s are accepted.", format=format.upper(), width=width, height=height,
        pixels=pixels, limit=limit),
    "image_undecodable": lambda format, detail: wording(
        "The %(format)s image cannot be decoded (%(detail)s).", format=format.upper(),
        detail=detail),
    "image_shape": lambda format, width, height: wording(
        "The %(format)s image does not decode to the %(width)s x %(height)s pixels its header "
        "declares.", format=format.upper(), width=width, height=height),
    "x3p_not_zip": lambda: wording("Not an x3p file: the data is not a zip archive."),
    "x3p_corrupt_zip": lambda detail: wording(
        "Not an x3p file: the zip archive is corrupt (%(detail)s).", detail=detail),
    "x3p_member_missing": lambda member: wording(
        "The x3p archive lacks its member %(member)s.", member=member),
    "x3p_member_too_large": lambda member, size, limit: wording(
        "The x3p member %(member)s declares %(size)s bytes uncompressed; at most %(limit)s are "
        "accepted.", member=member, size=size, limit=limit),
    "x3p_member_size": lambda member, size, expected: wording(
        "The x3p member %(member)s holds %(size)s bytes; its matrix size implies %(expected)s.",
        member=member, size=size, expected=expected),
    "x3p_member_compression": lambda member, ratio, limit: wording(
        "The x3p member %(member)s is compressed %(ratio)s:1, more than the %(limit)s:1 accepted "
        "(a zip bomb?).", member=member, ratio=ratio, limit=limit),
    "x3p_member_truncated": lambda member: wording(
        "The x3p member %(member)s is not the size its zip header says.", member=member),
    "x3p_xml_encoding": lambda encoding, detail: wording(
        "The x3p main.xml cannot be decoded as %(encoding)s (%(detail)s).", encoding=encoding,
        detail=detail),
    "x3p_xml_doctype": lambda: wording("The x3p main.xml must not declare a DOCTYPE or entities."),
    "x3p_xml_malformed": lambda detail: wording(
        "The x3p main.xml is not well-formed XML (%(detail)s).", detail=detail),
    "x3p_xml_missing": lambda element: wording(
        "The x3p main.xml lacks the required element %(element)s.", element=element),
    "x3p_feature_type": lambda feature_type: wording(
        "The x3p feature type %(feature_type)s is not supported (only SUR).",
        feature_type=feature_type),
    "x3p_not_numeric": lambda detail: wording(
        "The x3p main.xml holds a size or increment that is not a number (%(detail)s).",
        detail=detail),
    "x3p_matrix_size": lambda x, y, z: wording(
        "The x3p matrix size %(x)s x %(y)s x %(z)s is invalid (SizeZ must be 1).", x=x, y=y,
        z=z),
    "x3p_too_many_pixels": lambda x, y, pixels, limit: wording(
        "The x3p matrix has %(x)s x %(y)s = %(pixels)s points; at most %(limit)s are accepted.",
        x=x, y=y, pixels=pixels, limit=limit),
    "x3p_increments_not_positive": lambda dx, dy: wording(
        "The x3p axis increments must be positive, not %(dx)s and %(dy)s.", dx=dx, dy=dy),
    "x3p_increments_implausible": lambda cx, cy, dx_um, dy_um, low_um, high_um: wording(
        "The x3p lateral increments %(cx)s, %(cy)s (CX, CY) are implausible in metres, the unit "
        "ISO 25178-72 requires (%(dx_um)s x %(dy_um)s µm pixels; a breech-face pixel is "
        "%(low_um)s-%(high_um)s µm), and neither mm nor µm makes them plausible: write the "
        "increments in metres.", cx=cx, cy=cy, dx_um=dx_um, dy_um=dy_um, low_um=low_um,
        high_um=high_um),
    "x3p_axis_type": lambda: wording("The x3p CX axis must be incremental (AxisType I)."),
    "x3p_data_type": lambda data_type: wording(
        "The x3p CZ data type %(data_type)s is unknown (use I, L, F or D).",
        data_type=data_type),
    "x3p_checksum": lambda: wording("The x3p point data fails its MD5 checksum."),
    "x3p_mask_short": lambda size, needed: wording(
        "The x3p valid-points mask holds %(size)s bytes; %(needed)s are needed.", size=size,
        needed=needed),
    "scan_empty": lambda measured, points, needed: wording(
        "The scan has %(measured)s measured points of %(points)s; at least %(needed)s are "
        "needed.", measured=measured, points=points, needed=needed),
}


def kinds_said() -> frozenset[str]:
    """The kinds said here (a test holds them equal to the imaging package's)."""
    return frozenset(_SAID)


def wording_of(exc: ImagingError) -> Wording:
    """Why the imaging package refused a scan, as a wording: said now to an uploader, or stored
    with a scan whose features could not be computed and said to each later reader."""
    say = _SAID.get(exc.kind)
    if say is None:  # an error without a kind: the package's English, in a sentence of ours
        return wording("The scan could not be read (%(detail)s).", detail=str(exc))
    return say(**exc.params)


def reason(exc: ImagingError) -> str:
    """Why the imaging package refused a scan, in the reader's language."""
    return said(wording_of(exc))
