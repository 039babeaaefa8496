"""x3p round trip and refusal of malformed input."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from ballistics.imaging import (
    EmptyScanError,
    ImagingError,
    ScanFormatError,
    ScanTooLargeError,
    Surface,
    read_image,
    read_surface,
    read_x3p,
    write_x3p,
)


def _surface(dtype=np.float64) -> Surface:
    rng = np.random.default_rng(1)
    h = rng.normal(0, 3, (37, 53)).astype(dtype)
    h[5:9, 10:20] = np.nan
    return Surface(h, 6.25, 7.37468, {"comment": "a <test> & more"})


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_x3p_round_trip(tmp_path, dtype):
    s = _surface(dtype)
    path = tmp_path / "s.x3p"
    data = write_x3p(s, path)
    for src in (data, path, str(path), io.BytesIO(data)):
        r = read_x3p(src)
        assert r.pixel_um_x == 6.25 and r.pixel_um_y == 7.37468
        assert np.array_equal(np.isnan(r.heights), np.isnan(s.heights))
        m = ~np.isnan(s.heights)
        # µm -> m -> µm in float64: equal to the last bit or one rounding step
        np.testing.assert_allclose(r.heights[m], s.heights[m].astype(np.float64), rtol=1e-15)
        if dtype == np.float32:
            assert np.array_equal(r.heights[m].astype(np.float32), s.heights[m])


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


def _members(s: Surface) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(write_x3p(s))) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_not_a_zip():
    with pytest.raises(ScanFormatError, match="not a zip"):
        read_x3p(b"hello world, definitely not a zip archive")


def test_missing_main_xml():
    m = _members(_surface())
    del m["main.xml"]
    with pytest.raises(ScanFormatError, match=r"main\.xml"):
        read_x3p(_zip(m))


def test_wrong_data_size():
    m = _members(_surface())
    m["bindata/data.bin"] = m["bindata/data.bin"][:-8]
    with pytest.raises(ScanFormatError, match="matrix size implies"):
        read_x3p(_zip(m))


def test_too_many_pixels():
    with pytest.raises(ScanTooLargeError, match="pixels exceeds"):
        read_x3p(write_x3p(_surface()), max_pixels=100)


def test_zip_bomb_declared_size():
    m = _members(_surface())
    xml = m["main.xml"].decode()
    xml = xml.replace("<SizeX>53</SizeX>", "<SizeX>4000</SizeX>").replace(
        "<SizeY>37</SizeY>", "<SizeY>4000</SizeY>")
    m["main.xml"] = xml.encode()
    m["bindata/data.bin"] = bytes(4000 * 4000 * 8)  # 128 MB of zeros compresses ~1000:1
    with pytest.raises(ScanTooLargeError, match="zip bomb"):
        read_x3p(_zip(m))


def test_nan_only():
    s = Surface(np.full((10, 10), np.nan), 1.0, 1.0)
    with pytest.raises(EmptyScanError, match="measured points"):
        read_x3p(write_x3p(s))


def test_doctype_refused():
    m = _members(_surface())
    m["main.xml"] = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + m["main.xml"][38:]
    with pytest.raises(ScanFormatError, match="DOCTYPE"):
        read_x3p(_zip(m))


def _utf16(xml: str) -> bytes:
    return xml.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")


def test_utf16_main_xml_is_read_by_its_declared_encoding():
    m = _members(_surface())
    m["main.xml"] = _utf16(m["main.xml"].decode())
    assert m["main.xml"][:2] in (b"\xff\xfe", b"\xfe\xff")
    assert read_x3p(_zip(m)).shape == (37, 53)


@pytest.mark.parametrize("bom", [True, False])
def test_utf16_internal_entity_refused(bom):
    """The entity is declared in UTF-16, where a byte pattern check for "<!ENTITY" sees
    nothing; it must be refused, not expanded into the creator field."""
    m = _members(_surface())
    xml = m["main.xml"].decode().replace(
        "?>", '?><!DOCTYPE p:ISO5436_2 [<!ENTITY who "expanded">]>', 1).replace(
        "<Creator>ballistics.imaging</Creator>", "<Creator>&who;</Creator>")
    m["main.xml"] = _utf16(xml) if bom else _utf16(xml)[2:]
    assert b"<!ENTITY" not in m["main.xml"]
    with pytest.raises(ScanFormatError, match="DOCTYPE or entities"):
        read_x3p(_zip(m))


def test_undecodable_main_xml_refused():
    m = _members(_surface())
    m["main.xml"] = m["main.xml"].decode().replace('encoding="UTF-8"',
                                                   'encoding="no-such-codec"').encode()
    with pytest.raises(ScanFormatError, match="cannot be decoded"):
        read_x3p(_zip(m))


def test_bad_checksum():
    m = _members(_surface())
    raw = bytearray(m["bindata/data.bin"])
    raw[0] ^= 0xFF
    m["bindata/data.bin"] = bytes(raw)
    with pytest.raises(ScanFormatError, match="MD5"):
        read_x3p(_zip(m))


def test_read_surface_sniffs_and_checks():
    import imageio.v3 as iio

    x3p = write_x3p(_surface())
    assert read_surface(x3p, "a.png", None).shape == (37, 53)  # content wins over the name
    png = iio.imwrite("<bytes>", (np.arange(600).reshape(20, 30) % 256).astype(np.uint8),
                      extension=".png")
    s = read_surface(png, "a.x3p", 2.5)
    assert s.shape == (20, 30) and s.pixel_um_x == 2.5 and s.heights[0, 5] == 5
    with pytest.raises(ScanFormatError, match="pixel_um"):
        read_surface(png, "a.png", None)
    with pytest.raises(ScanTooLargeError, match="pixels exceeds"):
        read_surface(png, "a.png", 1.0, max_pixels=100)
    with pytest.raises(ScanTooLargeError, match="bytes exceeds"):
        read_surface(x3p, "big.x3p", None, max_bytes=100)
    with pytest.raises(ScanFormatError, match="unrecognised"):
        read_surface(b"GIF89a....", "a.gif", 1.0)
    with pytest.raises(ScanFormatError, match="empty"):
        read_surface(b"", "e.x3p", None)
    with pytest.raises(ImagingError, match=r"a\.x3p"):
        read_surface(b"PK\x03\x04garbage", "a.x3p", None)


def test_tiff_float_image():
    import imageio.v3 as iio

    arr = np.linspace(0, 5, 24 * 16, dtype=np.float32).reshape(24, 16)
    tif = iio.imwrite("<bytes>", arr, extension=".tif")
    s = read_image(tif, 3.0)
    np.testing.assert_allclose(s.heights, arr, rtol=1e-6)


def _with_increments(s: Surface, cx: str, cy: str) -> bytes:
    members = _members(s)
    xml = members["main.xml"].decode()
    xml = xml.replace(f"<Increment>{s.pixel_um_x!r}e-6</Increment>", f"<Increment>{cx}</Increment>")
    xml = xml.replace(f"<Increment>{s.pixel_um_y!r}e-6</Increment>", f"<Increment>{cy}</Increment>")
    members["main.xml"] = xml.encode()
    return _zip(members)


@pytest.mark.parametrize(("cx", "cy", "unit"), [("7.3774", "7.3774", "µm"),
                                                ("0.0073774", "0.0073774", "mm")])
def test_increments_in_micrometres_or_millimetres_are_converted(cx, cy, unit):
    # Some TopMatch / CSAFE exports write 7.3774 for a 7.3774 µm pixel (read as metres: 7.4 m).
    s = Surface(np.random.default_rng(2).normal(size=(400, 420)), 7.3774, 7.3774)
    r = read_x3p(_with_increments(s, cx, cy))
    assert r.pixel_um_x == pytest.approx(7.3774, abs=1e-12) and r.pixel_um_y == r.pixel_um_x
    assert len(r.meta["warnings"]) == 1 and f"read as {unit}" in r.meta["warnings"][0]
    assert "implausible in metres" in r.meta["warnings"][0]
    # A file in metres is read as before, without a warning.
    assert "warnings" not in read_x3p(write_x3p(s)).meta


def test_implausible_increments_refused_naming_the_unit():
    s = Surface(np.zeros((40, 40)), 6.25, 6.25)
    with pytest.raises(ScanFormatError, match="implausible in metres") as exc:
        read_x3p(_with_increments(s, "50000", "50000"))
    assert "µm" in str(exc.value) and "CX, CY" in str(exc.value)
