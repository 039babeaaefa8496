"""The readers' refusals carry a stable kind and the values they name, so an application can say
them in its reader's language; the package itself stays free of any web framework."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ballistics.imaging import ImagingError, Surface, read_surface, read_x3p, write_x3p
from ballistics.imaging.errors import KINDS
from tests.imaging.test_io import _members, _surface, _zip


def _refusal(call) -> ImagingError:
    with pytest.raises(ImagingError) as caught:
        call()
    return caught.value


def _x3p(**change: bytes) -> bytes:
    members = _members(_surface())
    members.update(change)
    return _zip({k: v for k, v in members.items() if v})


def _xml(old: str, new: str) -> bytes:
    return _members(_surface())["main.xml"].decode().replace(old, new, 1).encode()


def _png(width: int, height: int) -> bytes:
    import imageio.v3 as iio

    return iio.imwrite("<bytes>", np.zeros((height, width), np.uint8), extension=".png")


def _flipped(data: bytes) -> bytes:
    raw = bytearray(data)
    raw[0] ^= 0xFF
    return bytes(raw)


DATA = _members(_surface())["bindata/data.bin"]
CASES = {
    "file_empty": lambda: read_surface(b"", "e.x3p", None),
    "file_too_large": lambda: read_surface(write_x3p(_surface()), "big.x3p", None,
                                           max_bytes=100),
    "file_unrecognised": lambda: read_surface(b"GIF89a....", "a.gif", 1.0),
    "file_not_bytes": lambda: read_surface("a path", "a.x3p", None),
    "image_needs_pixel_size": lambda: read_surface(_png(8, 8), "a.png", None),
    "image_bad_pixel_size": lambda: read_surface(_png(8, 8), "a.png", -1.0),
    "image_too_many_pixels": lambda: read_surface(_png(30, 20), "a.png", 1.0, max_pixels=100),
    "image_header": lambda: read_surface(b"\x89PNG\r\n\x1a\n" + bytes(8), "a.png", 1.0),
    "x3p_not_zip": lambda: read_surface(b"PK\x03\x04garbage", "a.x3p", None),
    "x3p_member_missing": lambda: read_x3p(_x3p(**{"main.xml": b""})),
    "x3p_member_size": lambda: read_x3p(_x3p(**{"bindata/data.bin": DATA[:-8]})),
    "x3p_too_many_pixels": lambda: read_x3p(write_x3p(_surface()), max_pixels=100),
    "x3p_checksum": lambda: read_x3p(_x3p(**{"bindata/data.bin": _flipped(DATA)})),
    "x3p_xml_doctype": lambda: read_x3p(_x3p(**{"main.xml": _xml(
        "?>", '?><!DOCTYPE x [<!ENTITY a "b">]>')})),
    "x3p_xml_encoding": lambda: read_x3p(_x3p(**{"main.xml": _xml(
        'encoding="UTF-8"', 'encoding="no-such-codec"')})),
    "x3p_xml_malformed": lambda: read_x3p(_x3p(**{"main.xml": _xml("</", "<")})),
    "x3p_xml_missing": lambda: read_x3p(_x3p(**{"main.xml": _xml(
        "<FeatureType>SUR</FeatureType>", "")})),
    "x3p_feature_type": lambda: read_x3p(_x3p(**{"main.xml": _xml(
        "<FeatureType>SUR</FeatureType>", "<FeatureType>PRF</FeatureType>")})),
    "x3p_matrix_size": lambda: read_x3p(_x3p(**{"main.xml": _xml(
        "<SizeX>53</SizeX>", "<SizeX>0</SizeX>")})),
    "x3p_not_numeric": lambda: read_x3p(_x3p(**{"main.xml": _xml(
        "<SizeX>53</SizeX>", "<SizeX>many</SizeX>")})),
    "x3p_data_type": lambda: read_x3p(_x3p(**{"main.xml": _xml(
        "<AxisType>A</AxisType><DataType>D</DataType>",
        "<AxisType>A</AxisType><DataType>Q</DataType>")})),
    "scan_empty": lambda: read_x3p(write_x3p(Surface(np.full((10, 10), np.nan), 1.0, 1.0))),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_refusal_names_its_kind_and_values(kind):
    refused = _refusal(CASES[kind])
    assert refused.kind == kind, str(refused)
    assert set(refused.params) == set(KINDS[kind]), refused.params
    assert str(refused)  # the English message is still there, for logs and the command line


def test_a_refusal_naming_the_file_keeps_its_kind_and_values():
    refused = _refusal(lambda: read_surface(_png(30, 20), "a.png", 1.0, max_pixels=100))
    assert str(refused).startswith("a.png: ")
    assert refused.params == {"format": "png", "width": 30, "height": 20, "pixels": 600,
                              "limit": 100}


def test_the_imaging_package_imports_no_web_framework():
    """Kinds, not translations: the package names its refusals for an application to say,
    and stays usable on its own."""
    code = ("import sys, ballistics.imaging\nfrom ballistics.imaging.errors import KINDS\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'flask_babel', 'babel', 'werkzeug', 'sqlalchemy', 'marshmallow')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
