"""Reading and writing ISO 25178-72 x3p files.

An x3p file is a zip archive holding ``main.xml`` (axis definitions, matrix size, links) and a
binary little-endian point file (``bindata/data.bin``, x varying fastest), optionally a bit mask of
valid points (``ValidPointsLink``). Lateral increments and heights are stored in metres.

Every check (size, structure, declared uncompressed sizes, compression ratio, pixel count) runs
before any array is allocated, so a hostile upload cannot exhaust memory.

References
----------
ISO 25178-72:2017, Geometrical product specifications (GPS) - Surface texture: Areal -
Part 72: XML file format x3p. The openGPS reference implementation defines the same layout.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree as ET

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from ballistics.imaging.errors import ScanFormatError, ScanTooLargeError
from ballistics.imaging.surface import DEFAULT_MAX_PIXELS, Surface, check_not_empty

#: Largest accepted x3p file (compressed) in bytes.
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Largest accepted main.xml (uncompressed) in bytes.
MAX_XML_BYTES = 1024 * 1024
#: A member whose declared size exceeds this multiple of its compressed size is treated as a bomb.
MAX_COMPRESSION_RATIO = 200.0

_DTYPES = {"I": "<i2", "L": "<i4", "F": "<f4", "D": "<f8"}
#: Plausible lateral pixel size of a breech-face scan (µm) and field of view (mm).
PLAUSIBLE_PIXEL_UM = (0.2, 50.0)
PLAUSIBLE_FIELD_MM = (0.01, 100.0)
#: Units an exporter may have written instead of metres, with their size in metres.
_UNITS = (("m", Decimal(1)), ("mm", Decimal("1e-3")), ("µm", Decimal("1e-6")))
_NS = "http://www.opengps.eu/2008/ISO5436_2"


def _as_bytes(source: bytes | str | Path | BinaryIO, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        p = Path(source)
        if not p.is_file():
            raise ScanFormatError(f"{p}: no such file")
        if p.stat().st_size > max_bytes:
            raise ScanTooLargeError(f"{p.name}: {p.stat().st_size} bytes exceeds {max_bytes}",
                                    kind="file_too_large", size=p.stat().st_size,
                                    limit=max_bytes)
        data = p.read_bytes()
    else:
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ScanTooLargeError(f"file of more than {max_bytes} bytes refused",
                                kind="file_too_large", size=len(data), limit=max_bytes)
    return data


# Byte-order marks, and the first bytes of "<?" in each encoding family without one (XML 1.0,
# appendix F). UTF-32 before UTF-16: their little-endian marks share a prefix.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_NO_BOM = ((b"<\0\0\0", "utf-32-le"), (b"\0\0\0<", "utf-32-be"), (b"<\0?\0", "utf-16-le"),
           (b"\0<\0?", "utf-16-be"))
_DECLARED = re.compile(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z][\w.:-]*)["']""")


def parse_main_xml(xml: bytes) -> ET.Element:
    """Parse main.xml: decoded by its byte-order mark or declared encoding (UTF-8 without
    either), then parsed by defusedxml, so a DOCTYPE or entity declaration is refused in any
    encoding (a byte pattern check misses UTF-16)."""
    encoding = next((enc for mark, enc in (*_BOMS, *_NO_BOM) if xml.startswith(mark)), None)
    if encoding is None:
        declared = _DECLARED.match(xml[:256].decode("latin-1"))
        encoding = declared.group(1) if declared else "utf-8"
    try:
        text = xml.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise ScanFormatError(f"x3p main.xml cannot be decoded as {encoding} ({exc})",
                              kind="x3p_xml_encoding", encoding=encoding, detail=str(exc)) from exc
    try:
        # Parsed as text: the declaration's encoding has been applied already.
        return SafeET.fromstring(text, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ScanFormatError("x3p main.xml must not declare a DOCTYPE or entities",
                              kind="x3p_xml_doctype") from exc
    except ET.ParseError as exc:
        raise ScanFormatError(f"x3p main.xml is not well-formed XML ({exc})",
                              kind="x3p_xml_malformed", detail=str(exc)) from exc


def _find(root: ET.Element, path: str) -> ET.Element | None:
    # main.xml is namespaced only at the root; child records are usually unqualified.
    el = root.find(path)
    if el is None:
        el = root.find("/".join(f"{{{_NS}}}{p}" for p in path.split("/")))
    return el


def _text(root: ET.Element, path: str, *, required: bool = True) -> str | None:
    el = _find(root, path)
    if el is None or el.text is None or not el.text.strip():
        if required:
            raise ScanFormatError(f"x3p main.xml lacks required element {path}",
                                  kind="x3p_xml_missing", element=path)
        return None
    return el.text.strip()


@dataclass(frozen=True)
class X3pRecord2:
    """Record2 of an x3p file: who measured, when, and with what (ISO 25178-72).

    OpenFMC's metadata for exchanging forensic scans maps onto it: the instrument
    (manufacturer, model, serial, version), its last calibration date, the lab that collected
    the data (``creator``), the measurement date (``date``); the sampling resolution is
    Record1's lateral increments (the Surface's pixel size). Dates stay as the file wrote them
    (ISO 8601 text): a reader must not shift another system's clock.
    """

    date: str | None = None
    creator: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    version: str | None = None
    calibration_date: str | None = None
    probing_type: str | None = None
    probing_identification: str | None = None
    comment: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)

    @property
    def system(self) -> str:
        """The measuring system in words, e.g. "NanoFocus usurf V.6.12.6" ("" if unknown)."""
        parts = [p for p in (self.manufacturer, self.model, self.version)
                 if p and p.lower() != "unknown"]
        return " ".join(parts)


_RECORD2 = {"date": "Date", "creator": "Creator", "manufacturer": "Instrument/Manufacturer",
            "model": "Instrument/Model", "serial": "Instrument/Serial",
            "version": "Instrument/Version", "calibration_date": "CalibrationDate",
            "probing_type": "ProbingSystem/Type",
            "probing_identification": "ProbingSystem/Identification", "comment": "Comment"}


def read_record2(root: ET.Element) -> X3pRecord2:
    """Record2 of a parsed main.xml (absent elements are None)."""
    return X3pRecord2(**{name: _text(root, f"Record2/{path}", required=False)
                         for name, path in _RECORD2.items()})


def _plausible_increments(sx: Decimal, sy: Decimal, nx: int, ny: int
                          ) -> tuple[float, float, str | None]:
    """Increments in µm from the stored numbers, converted if the file evidently used mm or µm.

    ISO 25178-72 stores lateral increments in metres, but some exports (TopMatch / CSAFE
    conversions) write ``7.3774`` for 7.37 µm, which read as metres is a 7.4 m pixel. A
    breech-face pixel is 0.2-50 µm (:data:`PLAUSIBLE_PIXEL_UM`): the one unit that makes the
    pixel and the field of view plausible is used, with a warning; if none does, the file is
    refused with a message naming the unit.

    Returns
    -------
    (dx_um, dy_um, warning or None)
    """
    def um(scale: Decimal) -> tuple[float, float]:
        return float(sx * scale * 10**6), float(sy * scale * 10**6)

    def plausible(scale: Decimal) -> bool:
        px = um(scale)
        fov_mm = (nx * px[0] / 1000, ny * px[1] / 1000)
        return (all(PLAUSIBLE_PIXEL_UM[0] <= p <= PLAUSIBLE_PIXEL_UM[1] for p in px)
                and all(PLAUSIBLE_FIELD_MM[0] <= f <= PLAUSIBLE_FIELD_MM[1] for f in fov_mm))

    if not (sx.is_finite() and sy.is_finite() and sx > 0 and sy > 0) or plausible(Decimal(1)):
        return (*um(Decimal(1)), None)  # non-positive values are refused by the caller
    fits = [(name, size) for name, size in _UNITS[1:] if plausible(size)]
    if len(fits) == 1:
        name, size = fits[0]
        dx, dy = um(size)
        warning = (f"x3p lateral increments {sx}, {sy} are implausible in metres (a "
                   f"{float(sx):.3g} m pixel); read as {name}: {dx:g} x {dy:g} µm pixels")
        return dx, dy, warning
    dx, dy = um(Decimal(1))
    raise ScanFormatError(
        f"x3p lateral increments {sx}, {sy} (CX, CY) are implausible in metres, the unit ISO "
        f"25178-72 requires ({dx:.4g} x {dy:.4g} µm pixels, a {nx * dx / 1000:.4g} x "
        f"{ny * dy / 1000:.4g} mm field of view; a breech-face pixel is "
        f"{PLAUSIBLE_PIXEL_UM[0]:g}-{PLAUSIBLE_PIXEL_UM[1]:g} µm), and neither mm nor µm makes "
        "them plausible: write the increments in metres",
        kind="x3p_increments_implausible", cx=str(sx), cy=str(sy), dx_um=f"{dx:.4g}",
        dy_um=f"{dy:.4g}", low_um=f"{PLAUSIBLE_PIXEL_UM[0]:g}",
        high_um=f"{PLAUSIBLE_PIXEL_UM[1]:g}",
    )


def _read_member(zf: zipfile.ZipFile, name: str, expected: int | None, limit: int) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ScanFormatError(f"x3p archive lacks member {name!r}", kind="x3p_member_missing",
                              member=name) from None
    if info.file_size > limit:
        raise ScanTooLargeError(
            f"x3p member {name!r} declares {info.file_size} bytes uncompressed, limit {limit}",
            kind="x3p_member_too_large", member=name, size=info.file_size, limit=limit,
        )
    if expected is not None and info.file_size != expected:
        raise ScanFormatError(
            f"x3p member {name!r} holds {info.file_size} bytes, matrix size implies {expected}",
            kind="x3p_member_size", member=name, size=info.file_size, expected=expected,
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > MAX_COMPRESSION_RATIO and info.file_size > 1_000_000:
        raise ScanTooLargeError(
            f"x3p member {name!r} compression ratio {ratio:.0f}:1 exceeds "
            f"{MAX_COMPRESSION_RATIO:.0f}:1 (zip bomb?)",
            kind="x3p_member_compression", member=name, ratio=f"{ratio:.0f}",
            limit=f"{MAX_COMPRESSION_RATIO:.0f}",
        )
    with zf.open(info) as fh:
        # Never trust the declared size: read at most one byte beyond it.
        data = fh.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ScanFormatError(f"x3p member {name!r} size differs from its zip header",
                              kind="x3p_member_truncated", member=name)
    return data


def read_x3p(
    source: bytes | str | Path | BinaryIO, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Surface:
    """Read an x3p surface (ISO 25178-72).

    Parameters
    ----------
    source : bytes, str, Path or binary file object
        The x3p archive.
    max_pixels : int
        Largest accepted ``SizeX * SizeY``; checked from main.xml before the data is read.

    Returns
    -------
    Surface
        Heights in µm (NaN where the valid-points mask is 0 or the float value is NaN), lateral
        increments in µm, and ``meta`` with the creator, instrument and comment when present.

    Raises
    ------
    ScanFormatError
        Not a zip, no main.xml, malformed XML, unsupported feature type or data type, data size
        inconsistent with the matrix size, checksum mismatch.
    ScanTooLargeError
        File, pixel count or a member's declared uncompressed size above the limits.
    EmptyScanError
        No finite height in the data.
    """
    data = _as_bytes(source, MAX_FILE_BYTES)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ScanFormatError("not an x3p file: the data is not a zip archive", kind="x3p_not_zip")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ScanFormatError(f"not an x3p file: corrupt zip archive ({exc})",
                              kind="x3p_corrupt_zip", detail=str(exc)) from exc
    with zf:
        root = parse_main_xml(_read_member(zf, "main.xml", None, MAX_XML_BYTES))
        ftype = _text(root, "Record1/FeatureType")
        if ftype != "SUR":
            raise ScanFormatError(f"x3p FeatureType {ftype!r} unsupported (only SUR)",
                                  kind="x3p_feature_type", feature_type=ftype)
        try:
            nx = int(_text(root, "Record3/MatrixDimension/SizeX"))  # type: ignore[arg-type]
            ny = int(_text(root, "Record3/MatrixDimension/SizeY"))  # type: ignore[arg-type]
            nz = int(_text(root, "Record3/MatrixDimension/SizeZ") or 1)  # type: ignore[arg-type]
            # Decimal scaling keeps "6.25e-6" m exactly 6.25 µm (float * 1e6 would not).
            sx = Decimal(_text(root, "Record1/Axes/CX/Increment"))  # type: ignore[arg-type]
            sy = Decimal(_text(root, "Record1/Axes/CY/Increment"))  # type: ignore[arg-type]
            dx, dy = float(sx * 10**6), float(sy * 10**6)
        except (ValueError, ArithmeticError) as exc:
            raise ScanFormatError(
                f"x3p main.xml holds a non-numeric size or increment ({exc})",
                kind="x3p_not_numeric", detail=str(exc),
            ) from exc
        if nx < 1 or ny < 1 or nz != 1:
            raise ScanFormatError(f"x3p matrix size {nx}x{ny}x{nz} invalid (need SizeZ=1)",
                                  kind="x3p_matrix_size", x=nx, y=ny, z=nz)
        if nx * ny > max_pixels:
            raise ScanTooLargeError(f"x3p matrix {nx}x{ny} = {nx * ny} pixels exceeds {max_pixels}",
                                    kind="x3p_too_many_pixels", x=nx, y=ny, pixels=nx * ny,
                                    limit=max_pixels)
        if not (np.isfinite(dx) and np.isfinite(dy) and dx > 0 and dy > 0):
            raise ScanFormatError(f"x3p axis increments must be positive, got {dx}, {dy}",
                                  kind="x3p_increments_not_positive", dx=str(sx), dy=str(sy))
        dx, dy, unit_warning = _plausible_increments(sx, sy, nx, ny)
        if (_text(root, "Record1/Axes/CX/AxisType", required=False) or "I") != "I":
            raise ScanFormatError("x3p CX axis must be incremental (AxisType I)",
                                  kind="x3p_axis_type")
        dtype_code = _text(root, "Record1/Axes/CZ/DataType", required=False) or "D"
        if dtype_code not in _DTYPES:
            raise ScanFormatError(f"x3p CZ DataType {dtype_code!r} unknown (use I, L, F or D)",
                                  kind="x3p_data_type", data_type=dtype_code)
        dtype = np.dtype(_DTYPES[dtype_code])
        z_inc = float(_text(root, "Record1/Axes/CZ/Increment", required=False) or 1.0)
        z_off = float(_text(root, "Record1/Axes/CZ/Offset", required=False) or 0.0)
        link = _text(root, "Record3/DataLink/PointDataLink")
        raw = _read_member(zf, link, nx * ny * dtype.itemsize, nx * ny * 8)  # type: ignore[arg-type]
        md5 = _text(root, "Record3/DataLink/MD5ChecksumPointData", required=False)
        if md5 and hashlib.md5(raw, usedforsecurity=False).hexdigest().lower() != md5.lower():
            raise ScanFormatError("x3p point data fails its MD5 checksum", kind="x3p_checksum")
        values = np.frombuffer(raw, dtype=dtype).reshape(ny, nx).astype(np.float64)
        if dtype.kind == "i":
            values = values * z_inc + z_off
        with np.errstate(invalid="ignore"):  # R's NA is a signalling NaN
            heights = values * 1e6
        vlink = _text(root, "Record3/ValidPointsLink", required=False)
        if vlink:
            nbytes = (nx * ny + 7) // 8
            bits = _read_member(zf, vlink, None, nbytes + 64)
            if len(bits) < nbytes:
                raise ScanFormatError(
                    f"x3p valid-points mask holds {len(bits)} bytes, need {nbytes}",
                    kind="x3p_mask_short", size=len(bits), needed=nbytes)
            valid = np.unpackbits(np.frombuffer(bits, np.uint8), bitorder="little")[: nx * ny]
            heights[valid.reshape(ny, nx) == 0] = np.nan
    record2 = read_record2(root)
    meta = {
        k: v
        for k, v in {
            "creator": _text(root, "Record2/Creator", required=False),
            "instrument": _text(root, "Record2/Instrument/Model", required=False),
            "comment": _text(root, "Record2/Comment", required=False),
            "date": _text(root, "Record2/Date", required=False),
            "format": "x3p",
        }.items()
        if v
    }
    meta["x3p"] = record2.as_dict()
    if unit_warning:
        meta["warnings"] = [unit_warning]
    surf = Surface(heights, dx, dy, meta)
    check_not_empty(surf)
    return surf


def _xml_text(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _record2_xml(record: X3pRecord2) -> str:
    """Record2 in the order ISO 25178-72's schema sequences it: Date, Creator, Instrument
    (Manufacturer, Model, Serial, Version), CalibrationDate, ProbingSystem (Type,
    Identification), Comment. Elements the schema requires are written even when unknown;
    the optional ones only when known."""
    def el(name: str, value: str | None, *, default: str | None = None) -> str:
        value = value if value else default
        return f"<{name}>{_xml_text(value)}</{name}>" if value else ""

    unknown = "unknown"
    return (
        " <Record2>\n"
        f"  {el('Date', record.date)}{el('Creator', record.creator)}\n"
        f"  <Instrument>{el('Manufacturer', record.manufacturer, default=unknown)}"
        f"{el('Model', record.model, default=unknown)}"
        f"{el('Serial', record.serial, default=unknown)}"
        f"{el('Version', record.version, default=unknown)}</Instrument>\n"
        f"  {el('CalibrationDate', record.calibration_date)}\n"
        f"  <ProbingSystem>{el('Type', record.probing_type, default='NonContacting')}"
        f"{el('Identification', record.probing_identification, default=unknown)}</ProbingSystem>\n"
        f"  {el('Comment', record.comment)}\n"
        " </Record2>\n")


def _main_xml(surface: Surface, dtype_code: str, md5: str, record: X3pRecord2) -> bytes:
    ny, nx = surface.shape
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<p:ISO5436_2 xmlns:p="{_NS}">
 <Record1>
  <Revision>ISO5436 - 2000</Revision>
  <FeatureType>SUR</FeatureType>
  <Axes>
   <CX><AxisType>I</AxisType><DataType>D</DataType>\
<Increment>{surface.pixel_um_x!r}e-6</Increment><Offset>0</Offset></CX>
   <CY><AxisType>I</AxisType><DataType>D</DataType>\
<Increment>{surface.pixel_um_y!r}e-6</Increment><Offset>0</Offset></CY>
   <CZ><AxisType>A</AxisType><DataType>{dtype_code}</DataType></CZ>
  </Axes>
 </Record1>
{_record2_xml(record)} <Record3>
  <MatrixDimension><SizeX>{nx}</SizeX><SizeY>{ny}</SizeY><SizeZ>1</SizeZ></MatrixDimension>
  <DataLink><PointDataLink>bindata/data.bin</PointDataLink>\
<MD5ChecksumPointData>{md5}</MD5ChecksumPointData></DataLink>
  <ValidPointsLink>bindata/valid.bin</ValidPointsLink>
 </Record3>
 <Record4><ChecksumFile>md5checksum.hex</ChecksumFile></Record4>
</p:ISO5436_2>
""".encode()


def metres_reading_back_as(heights_um: np.ndarray) -> np.ndarray:
    """Heights in metres that :func:`read_x3p` turns back into exactly ``heights_um``.

    The reader multiplies by 1e6; ``h / 1e6`` is the nearest float64 but ``(h / 1e6) * 1e6``
    can be off by one unit in the last place. ``m -> m * 1e6`` is monotone, so a value that
    misses is moved one ulp at a time towards the target until it hits. Heights that came from
    an x3p file (metres times 1e6, as :func:`read_x3p` makes them) always have such a value, so
    a scan exported again re-reads bit for bit; an arbitrary µm value may fall between two
    products and then stays within one ulp.
    """
    target = np.asarray(heights_um, dtype=np.float64)
    metres = target / 1e6
    finite = np.isfinite(target)
    for _ in range(8):
        with np.errstate(invalid="ignore", over="ignore"):
            back = metres * 1e6
        wrong = finite & (back != target)
        if not wrong.any():
            break
        step = np.where(back[wrong] < target[wrong], np.inf, -np.inf)
        metres[wrong] = np.nextafter(metres[wrong], step)
    return metres


def write_x3p(surface: Surface, target: str | Path | BinaryIO | None = None, *,
              record: X3pRecord2 | None = None) -> bytes:
    """Write ``surface`` as an x3p archive (ISO 25178-72).

    Heights are stored in metres as float64 (``D``) with a valid-points bit mask, chosen so
    that :func:`read_x3p` returns the same heights in µm (:func:`metres_reading_back_as`: bit
    for bit for a surface read from an x3p, within one ulp otherwise) and the same increments.

    Parameters
    ----------
    surface : Surface
        The surface to write.
    target : str, Path, binary file object or None
        Where to write; with None only the bytes are returned.
    record : X3pRecord2 or None
        The measurement's metadata (Record2: date, creator, instrument, calibration date,
        probing system, comment). None: the one read with the surface (``meta["x3p"]``), or
        a minimal one naming this software as creator.

    Returns
    -------
    bytes
        The archive.
    """
    if record is None:
        known = surface.meta.get("x3p")
        record = (X3pRecord2(**known) if isinstance(known, dict) else
                  X3pRecord2(creator="ballistics.imaging",
                             comment=str(surface.meta.get("comment", "")) or None))
    h = np.asarray(surface.heights)
    dtype_code = "D"
    valid = np.isfinite(h)
    raw = metres_reading_back_as(h).tobytes(order="C")
    md5 = hashlib.md5(raw, usedforsecurity=False).hexdigest()
    xml = _main_xml(surface, dtype_code, md5, record)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("main.xml", xml)
        zf.writestr("bindata/data.bin", raw)
        zf.writestr("bindata/valid.bin", np.packbits(valid.ravel(), bitorder="little").tobytes())
        xml_md5 = hashlib.md5(xml, usedforsecurity=False).hexdigest()
        zf.writestr("md5checksum.hex", f"{xml_md5} *main.xml\n")
    out = buf.getvalue()
    if isinstance(target, (str, Path)):
        Path(target).write_bytes(out)
    elif target is not None:
        target.write(out)
    return out
