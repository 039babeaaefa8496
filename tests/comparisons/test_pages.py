"""The comparison pages: upload on the item page through the upload service, live status,
searches and candidates, the viewer's images, marking and confirming, lab isolation."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from ballistics.comparisons import scans, searches
from ballistics.comparisons.models import CaseLink, Scan, ScanStatus, Search
from ballistics.core.context import acting_as
from ballistics.extensions import db
from tests.comparisons.helpers import run_search_inline, upload, x3p_bytes
from tests.support.web import Api, Browser, field_errors


def _cartridge(client, kit) -> dict:
    tech = Api(client, kit, "tech")
    return tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")


def _png() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.zeros((64, 64), dtype=np.uint8)).save(out, format="PNG")
    return out.getvalue()


def _store_files(app) -> set[Path]:
    return {p for p in Path(app.config["IMAGE_STORE"]).rglob("*") if p.is_file()}


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(model.id)).where(*where))


def _searched(client, kit) -> dict:
    """Three scans (two firings of one firearm, one of another), their features, and a done
    search of the first: the worker's steps, run in-process."""
    items = [_cartridge(client, kit) for _ in range(3)]
    ids = []
    for item, (gun, shot) in zip(items, [(0, 0), (0, 1), (1, 0)], strict=True):
        response = upload(client, kit.headers("examiner"), item["id"], x3p_bytes(gun, shot))
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    with acting_as(kit.id("examiner"), kit.lab.id, "test"):
        for scan in db.session.scalars(select(Scan).where(Scan.id.in_(ids))):
            scans.compute_features(scan)
            scans.mark(scan, ScanStatus.DONE)
        search = searches.start_search(kit.users["examiner"], db.session.get(Scan, ids[0]))
        run_search_inline(search)
        db.session.commit()
    candidates = sorted(search.candidates, key=lambda c: c.rank)
    return {"items": items, "scans": ids, "search": search.id,
            "candidates": [c.id for c in candidates],
            "mate": candidates[0].reference_scan_id}


@pytest.fixture
def searched(client, lab) -> dict:
    return _searched(client, lab)


def test_upload_on_the_item_page_uses_the_upload_service(app, client, lab):
    item = _cartridge(client, lab)
    examiner = Browser(app, lab, "examiner")
    page = examiner.get(f"/items/{item['id']}")
    assert 'id="scans"' in page and "Upload a scan" in page and "No scans yet." in page
    path = f"/items/{item['id']}/scans"
    _, page, flashes = examiner.submit(path, {
        "file": (io.BytesIO(x3p_bytes(0, 0)), "case-17.x3p"), "region": "breech_face",
        "calibre": "9mm Luger", "firing_pin_shape": "circular", "open_case": "y"})
    assert flashes[0][0] == "success" and "uploaded" in flashes[0][1], flashes
    scan = db.session.scalar(select(Scan).where(Scan.item_id == item["id"]))
    assert (scan.filename, scan.status, scan.firing_pin_shape) == ("case-17.x3p", "queued",
                                                                   "circular")
    assert f'data-poll="/scans/{scan.id}/status.json"' in page and "queued" in page
    status = examiner.client.get(f"/scans/{scan.id}/status.json").get_json()
    assert status == {"status": "queued", "reason": "", "final": False}

    before, files = _count(Scan), _store_files(app)
    refusals = [
        ({"file": (io.BytesIO(b"not a scan"), "notes.txt")}, "unrecognised format"),
        ({"file": (io.BytesIO(_png()), "photo.png")}, "pixel size"),
        ({"file": (io.BytesIO(x3p_bytes(0, 1)), "b.x3p"), "pixel_um": "-3"}, "Pixel size"),
        ({"file": (io.BytesIO(x3p_bytes(0, 1)), "b.x3p"), "calibre": "x" * 41}, "Calibre: Longer"),
        ({"region": "breech_face"}, "Scan file"),
    ]
    for data, words in refusals:
        _, _, flashes = examiner.submit(path, {"region": "breech_face", **data})
        assert flashes[0][0] == "error" and words in flashes[0][1], flashes
    assert _count(Scan) == before and _store_files(app) == files
    # Without the CSRF token nothing is accepted.
    examiner.post(path, {"file": (io.BytesIO(x3p_bytes(0, 1)), "b.x3p")}, expect=400,
                  token=False)
    assert _count(Scan) == before


def test_items_that_are_never_scanned_have_no_scan_section(app, client, lab):
    tech = Api(client, lab, "tech")
    firearm = tech.receive(tech.new_case()["id"], "firearm")
    assert 'id="scans"' not in Browser(app, lab, "tech").get(f"/items/{firearm['id']}")


def test_search_pages_images_and_another_lab(app, client, lab, other_lab, searched):
    examiner = Browser(app, lab, "examiner")
    page = examiner.get(f"/items/{searched['items'][0]['id']}")
    assert f'href="/searches/{searched["search"]}"' in page and "data-poll" not in page
    page = examiner.get(f"/searches/{searched['search']}")
    assert "not an identification" in page and "2 / 2" in page
    rows = re.findall(r'<tr id="c(\d+)" data-candidate', page)
    assert [int(r) for r in rows] == searched["candidates"]
    top = searched["candidates"][0]
    view = examiner.get(f"/candidates/{top}/view")
    assert 'class="congruent"' in view and f"/candidates/{top}/aligned.png" in view
    for path in (f"/scans/{searched['scans'][0]}/surface.png", f"/candidates/{top}/aligned.png"):
        response = examiner.client.get(path)
        assert response.status_code == 200 and response.data[:4] == b"\x89PNG"
        assert response.headers["Cache-Control"] == "private, max-age=86400"
        again = examiner.client.get(path, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304

    started = examiner.post(f"/scans/{searched['scans'][0]}/searches", {})
    assert re.fullmatch(r"/searches/\d+", started.location)
    # Other tests share the database: count this lab's searches only.
    assert _count(Search, Search.lab_id == lab.lab.id) == 2

    outsider = Browser(app, other_lab, "examiner")
    for path in (f"/scans/{searched['scans'][0]}/status.json",
                 f"/scans/{searched['scans'][0]}/surface.png",
                 f"/searches/{searched['search']}", f"/searches/{searched['search']}/status.json",
                 f"/candidates/{top}/view", f"/candidates/{top}/aligned.png",
                 f"/items/{searched['items'][0]['id']}"):
        outsider.get(path, expect=404)
    for path, data in ((f"/candidates/{top}/decision", {"decision": "potential_lead"}),
                       (f"/candidates/{top}/confirm", {"reviewer_id": lab.id("reviewer")}),
                       (f"/scans/{searched['scans'][0]}/searches", {}),
                       (f"/items/{searched['items'][0]['id']}/scans",
                        {"file": (io.BytesIO(b"x"), "x.x3p")})):
        outsider.post(path, data, expect=404)
    # Other tests share the database: count this lab's searches only.
    assert _count(Search, Search.lab_id == lab.lab.id) == 2


def test_mark_a_lead_and_confirm_it_links_both_cases(app, client, lab, searched):
    top, second = searched["candidates"]
    assert db.session.get(Scan, searched["mate"]).item_id == searched["items"][1]["id"]
    examiner = Browser(app, lab, "examiner")
    _, page, flashes = examiner.submit(f"/candidates/{top}/decision",
                                       {"decision": "potential_lead", "from": "list"})
    assert flashes == [("success", "Candidate 1 marked: potential lead.")]
    assert 'data-decision="potential_lead"' in page

    # Refusals flash and write nothing: a candidate that is no lead, a reviewer who is not one.
    view = examiner.get(f"/candidates/{top}/view")
    options = re.findall(r'<option value="(\d+)">([^<]+)</option>', view)
    assert options == [(str(lab.id("reviewer")), "Reviewer")]
    _, _, flashes = examiner.submit(f"/candidates/{second}/confirm",
                                    {"reviewer_id": lab.id("reviewer"),
                                     "conclusion": "identification"})
    assert flashes[0][0] == "error" and "potential lead" in flashes[0][1]
    _, view, flashes = examiner.submit(f"/candidates/{top}/confirm",
                                       {"reviewer_id": lab.id("examiner2"),
                                        "conclusion": "identification"})
    assert flashes[0][0] == "error" and "technical reviewer" in flashes[0][1]
    # The refusal sits beside the reviewer field of the viewer, shown again.
    assert field_errors(view) == {"reviewer_id": "Not an independent technical reviewer."}
    assert 'class="congruent"' in view
    tech = Browser(app, lab, "tech")
    assert "Potential lead</button>" not in tech.get(f"/searches/{searched['search']}")
    _, _, flashes = tech.submit(f"/candidates/{second}/decision", {"decision": "no_association"})
    assert flashes[0][0] == "error" and "role does not allow" in flashes[0][1]
    assert _count(CaseLink) == 0

    _, view, flashes = examiner.submit(f"/candidates/{top}/confirm", {
        "reviewer_id": lab.id("reviewer"), "conclusion": "identification",
        "examination_ref": "EX-2026-3"})
    assert flashes[0][0] == "success" and "are now linked" in flashes[0][1], flashes
    assert 'data-decision="confirmed"' in view and "Confirm identification" not in view
    link = db.session.scalars(select(CaseLink).where(CaseLink.candidate_id == top)).one()
    assert (link.reviewed_by_id, link.confirmed_by_id) == (lab.id("reviewer"),
                                                           lab.id("examiner"))
    cases = [searched["items"][0]["case_id"], searched["items"][1]["case_id"]]
    for mine, other in (cases, cases[::-1]):
        page = examiner.get(f"/cases/{mine}")
        linked = page[page.index('id="linked-cases"'):]
        assert f'href="/cases/{other}"' in linked and "EX-2026-3" in linked
    unlinked = examiner.get(f"/cases/{searched['items'][2]['case_id']}")
    assert "No case is linked to this one" in unlinked
