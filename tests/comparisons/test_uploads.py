"""Uploads are checked before any work; duplicates are recognised; bad input leaves nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from ballistics.comparisons.models import Scan
from ballistics.extensions import db
from tests.comparisons.helpers import upload, x3p_bytes
from tests.support.web import Api


@pytest.fixture
def cartridge(app, client, lab) -> dict:
    tech = Api(client, lab, "tech")
    return tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")


def _store_files(app) -> list[Path]:
    return [p for p in Path(app.config["IMAGE_STORE"]).rglob("*") if p.is_file()]


def test_upload_then_duplicate_is_recognised(app, client, lab, cartridge):
    data = x3p_bytes(1, 1)
    first = upload(client, lab.headers("examiner"), cartridge["id"], data)
    assert first.status_code == 201, first.get_json()
    scan = first.get_json()
    assert scan["status"] == "queued" and scan["file_format"] == "x3p"
    assert scan["pixel_um"] == pytest.approx(6.25) and scan["calibre"] == "9mm Luger"
    again = upload(client, lab.headers("tech"), cartridge["id"], data, filename="renamed.x3p")
    assert again.status_code == 200 and again.get_json()["id"] == scan["id"]
    count = db.session.scalar(select(func.count(Scan.id)).where(Scan.item_id == cartridge["id"]))
    assert count == 1
    stored = [p for p in _store_files(app) if p.name == scan["sha256"]]
    assert len(stored) == 1 and stored[0].read_bytes() == data


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.zeros((height, width), dtype=np.uint8)).save(out, format="PNG")
    return out.getvalue()


def _zip_bomb() -> bytes:
    """A valid x3p whose height data entry inflates to 300 MB of zeros."""
    valid = zipfile.ZipFile(io.BytesIO(x3p_bytes(1, 1)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in valid.infolist():
            is_data = info.filename.endswith(".bin")
            z.writestr(info.filename, b"\0" * (300 * 1024 * 1024) if is_data
                       else valid.read(info.filename))
    return out.getvalue()


BAD = {
    "text renamed .x3p": (lambda: b"this is not a scan\n" * 50, "notes.x3p", 422),
    "100-megapixel PNG": (lambda: _png(10_000, 10_000), "huge.png", 413),
    "zip bomb": (_zip_bomb, "bomb.x3p", 413),
    "empty file": (lambda: b"", "empty.x3p", 422),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_upload_gets_4xx_and_leaves_nothing(app, client, lab, cartridge, case):
    make, name, expected = BAD[case]
    before_files = set(_store_files(app))
    before_rows = db.session.scalar(select(func.count(Scan.id)))
    response = upload(client, lab.headers("examiner"), cartridge["id"], make(), filename=name,
                      pixel_um=5.0)
    body = response.get_json()
    assert response.status_code == expected, body
    assert body["error"] in {"validation_error", "payload_too_large"}
    assert body["message"] and "file" in body["fields"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Scan.id))) == before_rows
    assert set(_store_files(app)) == before_files


def test_uploads_only_for_cartridge_cases_of_my_lab(app, client, lab, other_lab):
    tech = Api(client, lab, "tech")
    gun = tech.receive(tech.new_case()["id"], "firearm")
    response = upload(client, lab.headers("examiner"), gun["id"], x3p_bytes(1, 2))
    assert response.status_code == 422 and "item" in response.get_json()["fields"]
    case_item = tech.receive(tech.new_case()["id"], "cartridge_case")
    response = upload(client, other_lab.headers("examiner"), case_item["id"], x3p_bytes(1, 2))
    assert response.status_code == 404


def test_missing_file_and_image_without_pixel_size(app, client, lab, cartridge):
    response = client.post(f"/api/v1/items/{cartridge['id']}/scans",
                           headers=lab.headers("examiner"), data={"region": "breech_face"},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.get_json()["fields"]
    response = upload(client, lab.headers("examiner"), cartridge["id"], _png(64, 64),
                      filename="small.png")
    assert response.status_code == 422
    assert "pixel" in response.get_json()["message"].lower()
    response = upload(client, lab.headers("examiner"), cartridge["id"], x3p_bytes(1, 3),
                      region="elsewhere")
    assert response.status_code == 422 and "region" in response.get_json()["fields"]
