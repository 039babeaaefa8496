"""A scan the imaging package refuses is explained in the caller's language: the package names
the problem by kind with its values, the upload says it through the catalogue."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from ballistics.comparisons import scan_refusals, scans
from ballistics.imaging import ImagingError
from ballistics.imaging.errors import KINDS
from tests.comparisons.helpers import upload, x3p_bytes
from tests.support.web import Api

ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def cartridge(app, client, lab) -> dict:
    tech = Api(client, lab, "tech")
    return tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")


def _bad_checksum() -> bytes:
    valid = zipfile.ZipFile(io.BytesIO(x3p_bytes(1, 1)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in valid.infolist():
            data = valid.read(info.filename)
            if info.filename.endswith(".bin"):
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            z.writestr(info.filename, data)
    return out.getvalue()


def _refused(client, lab, cartridge, headers: dict, data: bytes, filename: str,
             status: int = 422, **fields) -> dict:
    response = upload(client, {**lab.headers("examiner"), **headers}, cartridge["id"], data,
                      filename=filename, **fields)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_a_corrupt_x3p_is_refused_in_the_callers_language(app, client, lab, cartridge):
    data = _bad_checksum()
    body = _refused(client, lab, cartridge, ES, data, "bad.x3p")
    assert body["fields"] == {"file": [
        "Los datos de puntos del x3p no superan su suma de control MD5."]}
    assert body["message"] == "bad.x3p: Los datos de puntos del x3p no superan su suma de " \
                              "control MD5."
    body = _refused(client, lab, cartridge, EN, data, "bad.x3p")
    assert body["fields"] == {"file": ["The x3p point data fails its MD5 checksum."]}
    body = _refused(client, lab, cartridge, ES, b"PK\x03\x04garbage", "zip.x3p")
    assert body["fields"] == {"file": [
        "No es un archivo x3p: los datos no son un archivo zip."]}


def test_an_oversized_image_is_refused_in_spanish_with_its_figures(app, client, lab, cartridge,
                                                                     monkeypatch):
    monkeypatch.setattr(scans, "MAX_SCAN_PIXELS", 100)
    out = io.BytesIO()
    Image.fromarray(np.zeros((20, 30), dtype=np.uint8)).save(out, format="PNG")
    body = _refused(client, lab, cartridge, ES, out.getvalue(), "big.png", 413, pixel_um=5.0)
    assert body["fields"] == {"file": [
        "La imagen PNG tiene 30 x 20 = 600 píxeles; se aceptan como máximo 100."]}
    body = _refused(client, lab, cartridge, EN, out.getvalue(), "big.png", 413, pixel_um=5.0)
    assert body["fields"] == {"file": [
        "The PNG image has 30 x 20 = 600 pixels; at most 100 are accepted."]}


def test_every_kind_the_imaging_package_names_is_said_in_spanish_with_its_values(sqlite_app):
    assert scan_refusals.kinds_said() == set(KINDS)
    problems = []
    for kind, names in sorted(KINDS.items()):
        refused = ImagingError("English", kind=kind, **{n: f"v{i}{n}" for i, n in
                                                        enumerate(names)})
        with sqlite_app.test_request_context(headers=EN):
            english = scan_refusals.reason(refused)
        with sqlite_app.test_request_context(headers=ES):
            spanish = scan_refusals.reason(refused)
        if spanish == english:
            problems.append(f"{kind}: not said in Spanish ({english})")
        problems += [f"{kind}: {name} lost ({spanish})" for i, name in enumerate(names)
                     if f"v{i}{name}".upper() not in spanish.upper()]
    assert not problems, "\n".join(problems)
    with sqlite_app.test_request_context(headers=ES):  # no kind: our sentence, the package's detail
        assert scan_refusals.reason(ImagingError("odd thing")) == \
            "No se pudo leer el escaneo (odd thing)."
