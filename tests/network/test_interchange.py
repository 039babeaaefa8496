"""Interchange (issue 12, item 7): a shared scan leaves as an x3p file with OpenFMC's metadata
and re-reads as the surface the lab holds; an x3p scanned elsewhere comes in as a reference
with its provenance; both through the API and the item page, per lab, least privilege,
audited."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from sqlalchemy import func, select

from ballistics import imaging
from ballistics.audit.models import AuditAction, AuditEntry
from ballistics.comparisons import scans, store
from ballistics.comparisons.models import Scan, ScanStatus
from ballistics.core.context import acting_as
from ballistics.extensions import db
from ballistics.network import node
from ballistics.network.models import ImportedScan, ShareMode, SharePolicy
from tests.comparisons.helpers import upload, x3p_bytes
from tests.support.labs import LabKit
from tests.support.services import SHARED
from tests.support.web import Api, Browser, field_errors, flashes

WELLER = SHARED / "data" / "weller_x3p"
needs_weller = pytest.mark.skipif(not WELLER.is_dir(), reason="Weller x3p files not present")


def _same_surface(a: imaging.Surface, b: imaging.Surface) -> bool:
    return (a.heights.shape == b.heights.shape and a.pixel_um_x == b.pixel_um_x
            and a.pixel_um_y == b.pixel_um_y
            and np.array_equal(a.heights, b.heights, equal_nan=True))


def _scanned_and_shared(client, kit: LabKit, data: bytes, filename: str) -> int:
    """A cartridge case of a new case, scanned, its features done, and the lab sharing all."""
    tech = Api(client, kit, "tech")
    item = tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")
    response = upload(client, kit.headers("examiner"), item["id"], data, filename)
    assert response.status_code == 201, response.get_json()
    scan_id = response.get_json()["id"]
    with acting_as(kit.id("manager"), kit.lab.id, "test"):
        scans.mark(db.session.get(Scan, scan_id), ScanStatus.DONE)
        db.session.add(SharePolicy(lab_id=kit.lab.id, mode=ShareMode.ALL, partners=[],
                                   criteria={}))
        db.session.flush()
        node.sync_shares(kit.lab.id)
        db.session.commit()
    return scan_id


def _item(client, kit: LabKit) -> dict:
    tech = Api(client, kit, "tech")
    return tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")


def _import(client, kit: LabKit, who: str, item_id: int, data: bytes, filename: str,
            **fields):
    form = {"source_lab": "Partner lab", **fields}
    return client.post(f"/api/v1/items/{item_id}/reference-imports", headers=kit.headers(who),
                        data={**form, "file": (io.BytesIO(data), filename)},
                        content_type="multipart/form-data")


@needs_weller
def test_a_shared_weller_scan_exports_with_its_metadata_and_reads_back_equal(app, lab,
                                                                             other_lab):
    original = (WELLER / "TW01-01.x3p").read_bytes()
    client = app.test_client()
    scan_id = _scanned_and_shared(client, lab, original, "TW01-01.x3p")

    response = client.get(f"/api/v1/scans/{scan_id}/x3p", headers=lab.headers("examiner"))
    assert response.status_code == 200, response.get_json()
    exported = response.data
    assert response.headers["X-Content-SHA256"] == hashlib.sha256(exported).hexdigest()
    source, back = imaging.read_x3p(original), imaging.read_x3p(exported)
    assert _same_surface(source, back)
    # OpenFMC's fields: instrument, calibration date, lab (creator), measurement date, and
    # the resolution (6.25 µm increments above), all as the scanning system wrote them.
    assert back.meta["x3p"] == source.meta["x3p"]
    assert back.meta["x3p"]["manufacturer"] == "NanoFocus"
    assert back.meta["x3p"]["calibration_date"] == "2009-09-23T09:00:00"
    assert back.meta["x3p"]["date"] == "2009-09-23T13:00:00"
    assert back.meta["x3p"]["creator"] == "Todd Weller"

    # The export left the lab: on record in its audit log.
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.chain_key == lab.lab.id, AuditEntry.action == AuditAction.READ)
        .order_by(AuditEntry.id.desc())).first()
    assert entry.object_type == "scans" and entry.object_id == str(scan_id)
    assert entry.after["view"] == "x3p_export"
    assert entry.after["export_sha256"] == hashlib.sha256(exported).hexdigest()

    # Round trip: the exported file imported by a partner lab as a reference.
    item = _item(client, other_lab)
    response = _import(client, other_lab, "examiner", item["id"], exported, "partner.x3p",
                       source_lab=lab.lab.code, note="sent after lead 4")
    assert response.status_code == 201, response.get_json()
    provenance = response.get_json()
    assert provenance["original_sha256"] == hashlib.sha256(exported).hexdigest()
    assert provenance["scanned_by"] == "Todd Weller"
    assert provenance["system"] == "NanoFocus usurf V.6.12.6"
    assert provenance["instrument_serial"] == "not available"
    assert provenance["calibration_date"] == "2009-09-23T09:00:00"
    assert provenance["measured_at"] == "2009-09-23T13:00:00"
    assert provenance["source_lab"] == lab.lab.code
    assert provenance["imported_by_id"] == other_lab.id("examiner")
    assert provenance["pixel_um_x"] == 6.25 and provenance["imported_at"]
    imported = db.session.get(Scan, provenance["scan_id"])
    assert imported.lab_id == other_lab.lab.id and imported.sha256 == provenance["original_sha256"]
    # The receiving lab holds the file unchanged, and it reads as the sender's surface.
    assert store.read(imported.sha256) == exported
    assert _same_surface(imaging.read_x3p(store.read(imported.sha256)), source)
    assert Api(client, other_lab, "tech").get(
        f"/scans/{imported.id}/provenance")["source_lab"] == lab.lab.code

    # The same file again is the same reference; no second scan.
    again = _import(client, other_lab, "examiner", item["id"], exported, "partner.x3p")
    assert again.status_code == 200 and again.get_json()["id"] == provenance["id"]


def test_a_scan_without_metadata_exports_the_lab_and_measurement_date(app, lab):
    client = app.test_client()
    data = x3p_bytes(3, 0)
    scan_id = _scanned_and_shared(client, lab, data, "synthetic.x3p")
    response = client.get(f"/api/v1/scans/{scan_id}/x3p", headers=lab.headers("manager"))
    assert response.status_code == 200
    back = imaging.read_x3p(response.data)
    scan = db.session.get(Scan, scan_id)
    # The file had no creator of its own beyond the generator: kept; no date: the upload's,
    # with its zone (UTC) said, so a reader elsewhere can put it in their own.
    assert back.meta["x3p"]["date"] == (scan.created_at.replace(microsecond=0).isoformat()
                                        + "+00:00")
    assert back.meta["x3p"]["creator"] == imaging.read_x3p(data).meta["x3p"]["creator"]
    assert _same_surface(back, imaging.read_x3p(data))


def test_export_is_refused_unless_shared_to_other_labs_and_to_roles_that_do_not_exchange(
        app, lab, other_lab):
    client = app.test_client()
    scan_id = _scanned_and_shared(client, lab, x3p_bytes(4, 0), "a.x3p")
    reads = select(func.count(AuditEntry.id)).where(AuditEntry.chain_key == lab.lab.id,
                                                    AuditEntry.action == AuditAction.READ)
    before = db.session.scalar(reads)
    for who, kit, status in (("tech", lab, 403), ("admin", lab, 403),
                             ("examiner", other_lab, 404)):
        response = client.get(f"/api/v1/scans/{scan_id}/x3p", headers=kit.headers(who))
        assert response.status_code == status, (who, response.get_json())
    # A scan the lab does not share stays home.
    item = _item(client, lab)
    response = upload(client, lab.headers("examiner"), item["id"], x3p_bytes(5, 0), "b.x3p")
    unshared = response.get_json()["id"]
    response = client.get(f"/api/v1/scans/{unshared}/x3p", headers=lab.headers("examiner"))
    assert response.status_code == 409 and response.get_json()["error"] == "not_shared"
    assert db.session.scalar(reads) == before


def test_import_refusals_write_nothing(app, lab):
    client = app.test_client()
    item = _item(client, lab)
    count = select(func.count(Scan.id)).where(Scan.lab_id == lab.lab.id)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    for who, data, fields, status in (
            ("examiner", png, {}, 422),
            ("examiner", x3p_bytes(6, 0), {"source_lab": " "}, 422),
            ("examiner", b"PK\x03\x04 not really a zip", {}, 422),
            ("admin", x3p_bytes(6, 0), {}, 403)):
        response = _import(client, lab, who, item["id"], data, "x.x3p", **fields)
        assert response.status_code == status, (who, response.get_json())
    assert db.session.scalar(count) == 0
    assert db.session.scalar(select(func.count(ImportedScan.id)).where(
        ImportedScan.lab_id == lab.lab.id)) == 0


def test_an_imported_reference_is_searched_against_but_never_shared_onwards(app, lab):
    client = app.test_client()
    item = _item(client, lab)
    response = _import(client, lab, "tech", item["id"], x3p_bytes(7, 0), "ref.x3p",
                       source_lab="NIST NBTRD")
    assert response.status_code == 201, response.get_json()
    scan = db.session.get(Scan, response.get_json()["scan_id"])
    assert scan.is_open_case  # a reference later scans are compared with
    with acting_as(lab.id("manager"), lab.lab.id, "test"):
        scans.mark(scan, ScanStatus.DONE)
        db.session.add(SharePolicy(lab_id=lab.lab.id, mode=ShareMode.ALL, partners=[],
                                   criteria={}))
        db.session.flush()
        assert scan.id not in node.desired_shares(lab.lab.id)
        db.session.rollback()


def test_item_page_imports_a_reference_and_offers_the_export(app, lab):
    client = app.test_client()
    scan_id = _scanned_and_shared(client, lab, x3p_bytes(8, 0), "shared.x3p")
    item_id = db.session.get(Scan, scan_id).item_id
    examiner = Browser(app, lab, "examiner")
    page = examiner.get(f"/items/{item_id}")
    assert f"/scans/{scan_id}/x3p" in page and "Import a reference scanned elsewhere" in page
    assert f"/scans/{scan_id}/x3p" not in Browser(app, lab, "tech").get(f"/items/{item_id}")
    download = examiner.client.get(f"/scans/{scan_id}/x3p")
    assert download.status_code == 200
    assert _same_surface(imaging.read_x3p(download.data), imaging.read_x3p(x3p_bytes(8, 0)))

    # Refused beside the field, nothing written; then accepted, with its provenance shown.
    target = _item(client, lab)["id"]
    response = examiner.client.post(f"/items/{target}/reference-imports", data={
        "csrf_token": examiner.token, "source_lab": "",
        "file": (io.BytesIO(x3p_bytes(9, 0)), "other.x3p")}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "source_lab" in field_errors(response.text)
    assert db.session.scalar(select(func.count(Scan.id)).where(Scan.item_id == target)) == 0
    response = examiner.client.post(f"/items/{target}/reference-imports", data={
        "csrf_token": examiner.token, "source_lab": "Partner lab PX", "note": "",
        "calibre": "9mm Luger", "file": (io.BytesIO(x3p_bytes(9, 0)), "other.x3p")},
        content_type="multipart/form-data")
    assert response.status_code == 303, response.text
    page = examiner.get(response.location)
    assert flashes(page)[0][0] == "success"
    assert "Reference imported from Partner lab PX" in page


def test_write_x3p_round_trips_metadata_and_heights_bit_for_bit():
    rng = np.random.default_rng(1)
    # Heights as any x3p file gives them: metres read and scaled to µm.
    heights = (rng.normal(0, 3.7e-6, (40, 50))) * 1e6
    heights[5:9, 10:20] = np.nan
    record = imaging.X3pRecord2(date="2026-11-26T10:00:00", creator="Lab <A> & co",
                                manufacturer="Acme", model="Scope 3", serial="SN-1",
                                version="2.1", calibration_date="2026-10-01T08:00:00",
                                probing_type="NonContacting", probing_identification="20x",
                                comment="test")
    surface = imaging.Surface(heights, 1.5625, 1.5625, {})
    back = imaging.read_x3p(imaging.write_x3p(surface, record=record))
    assert np.array_equal(back.heights, heights, equal_nan=True)
    assert back.meta["x3p"] == record.as_dict()
    assert back.pixel_um_x == 1.5625
    # Arbitrary µm values (not from metres) come back within one ulp.
    other = rng.normal(0, 3.7, (40, 50))
    again = imaging.read_x3p(imaging.write_x3p(imaging.Surface(other, 2.0, 2.0, {}))).heights
    assert (np.abs(again - other) <= np.spacing(np.abs(other))).all()


def test_the_item_page_says_when_a_reference_was_measured_in_the_readers_terms(app, lab,
                                                                              other_lab):
    """The measurement date of an imported reference was shown as the file wrote it
    ("measured 2026-11-27T12:43:20"). With a zone it is the lab's time, named; without one it
    says the file names none."""
    client = app.test_client()
    scan_id = _scanned_and_shared(client, lab, x3p_bytes(3, 2), "synthetic.x3p")
    zoned = client.get(f"/api/v1/scans/{scan_id}/x3p", headers=lab.headers("manager")).data
    naive = imaging.write_x3p(imaging.read_x3p(x3p_bytes(3, 4)),
                              record=imaging.X3pRecord2(date="2026-11-26T10:00:00"))
    item = _item(client, other_lab)
    for data, name in ((zoned, "zoned.x3p"), (naive, "naive.x3p")):
        response = _import(client, other_lab, "examiner", item["id"], data, name,
                           source_lab=lab.lab.code)
        assert response.status_code == 201, response.get_json()
    other_lab.lab.time_zone = "America/Bogota"
    db.session.commit()
    measured = db.session.get(Scan, scan_id).created_at.replace(microsecond=0).isoformat()
    browser = Browser(app, other_lab, "examiner")
    page = browser.get(f"/items/{item['id']}")
    provenance = [p.split("</div>")[0] for p in page.split('data-testid="provenance">')[1:]]
    assert len(provenance) == 2
    assert not any(measured in p or "2026-11-26T10:00:00" in p for p in provenance)
    assert "(the file names no time zone)" in page
    zoned_line = next(p for p in provenance if "names no time zone" not in p)
    assert zoned_line.count("America/Bogota") == 2  # measured and imported, in the lab's zone
    browser.client.set_cookie("lang", "es")
    spanish = browser.get(f"/items/{item['id']}")
    assert "medida 26/11/26, 10:00 (el archivo no indica la zona horaria)" in spanish
