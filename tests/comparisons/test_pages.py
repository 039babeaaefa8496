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

from ballistics.audit.models import AuditEntry
from ballistics.comparisons.models import (
    Candidate,
    CaseLink,
    Confirmation,
    Scan,
    Search,
)
from ballistics.extensions import db
from sop.models import Examination
from tests.comparisons.confirming import ready_to_confirm
from tests.comparisons.helpers import searched_lab, x3p_bytes
from tests.evidence.helpers import refused
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


@pytest.fixture
def searched(client, lab) -> dict:
    return searched_lab(client, lab)


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
    assert status == {"status": "queued", "label": "queued", "reason": "", "final": False}
    # The poller writes the label into the badge: in the reader's language, not the code.
    spanish = examiner.client.get(f"/scans/{scan.id}/status.json",
                                  headers={"Accept-Language": "es"}).get_json()
    assert spanish["label"] == "en cola" and spanish["status"] == "queued"

    before, files = _count(Scan), _store_files(app)
    refusals = [
        ({"file": (io.BytesIO(b"not a scan"), "notes.txt")}, "notes.txt is not a scan"),
        ({"file": (io.BytesIO(_png()), "photo.png")}, "pixel size"),
        ({"file": (io.BytesIO(x3p_bytes(0, 1)), "b.x3p"), "pixel_um": "-3"}, "Pixel size"),
        ({"file": (io.BytesIO(x3p_bytes(0, 1)), "b.x3p"), "calibre": "x" * 41}, "Calibre: Longer"),
        ({"region": "breech_face"}, "Scan file"),
    ]
    for data, words in refusals:
        _, _, flashes = examiner.submit(path, {"region": "breech_face", **data})
        assert flashes[0][0] == "error" and words in flashes[0][1], flashes
    assert _count(Scan) == before and _store_files(app) == files
    # In Spanish, beside the field to mend (was English beside the file: "an image needs
    # pixel_um (its lateral pixel size in µm)", "unrecognised format: ...").
    examiner.client.set_cookie("lang", "es")
    _, page, flashes = examiner.submit(path, {"region": "breech_face",
                                              "file": (io.BytesIO(_png()), "foto.png")})
    assert flashes == [("error", "foto.png es una imagen: indique su tamaño de píxel en µm.")]
    assert field_errors(page) == {"pixel_um": "Obligatorio para una imagen PNG o TIFF."}
    _, page, flashes = examiner.submit(path, {"region": "breech_face",
                                              "file": (io.BytesIO(b"hola"), "notas.txt")})
    assert field_errors(page) == {"file": "No es un archivo x3p, PNG ni TIFF."}
    examiner.client.set_cookie("lang", "en")
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

    # A released reference stays admissible and is marked as such on the list and the viewer.
    mate_item = searched["items"][1]["id"]
    Api(client, lab, "tech").post(f"/items/{mate_item}/release",
                                  {"to_agency": "Defence expert", "reason": "re-examination"})
    # So is a destroyed one; the API's candidates say which.
    gone_item = searched["items"][2]["id"]
    Api(client, lab, "tech").post(f"/items/{gone_item}/destroy",
                                  {"witness_id": lab.id("examiner"), "reason": "retention"})
    page = examiner.get(f"/searches/{searched['search']}")
    assert page.count('data-disposed="released"') == 1
    assert page.count('data-disposed="destroyed"') == 1
    assert 'data-disposed="released"' in examiner.get(f"/candidates/{top}/view")
    listed = Api(client, lab, "examiner").get(f"/searches/{searched['search']}")["candidates"]
    assert {c["reference_item_id"]: c["reference_item_status"] for c in listed} == {
        mate_item: "released", gone_item: "destroyed"}

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


def test_confirming_a_lead_is_an_examination_reviewed_before_the_cases_are_linked(
        app, client, lab, searched):
    top, second = searched["candidates"]
    cases = [searched["items"][0]["case_id"], searched["items"][1]["case_id"]]
    assert db.session.get(Scan, searched["mate"]).item_id == searched["items"][1]["id"]
    examiner = Browser(app, lab, "examiner")
    _, page, flashes = examiner.submit(f"/candidates/{top}/decision",
                                       {"decision": "potential_lead", "from": "list"})
    assert flashes == [("success", "Candidate 1 marked: potential lead.")]
    assert 'data-decision="potential_lead"' in page
    # No hit-confirmation SOP chosen yet: the viewer says what the lab must do.
    view = examiner.get(f"/candidates/{top}/view")
    assert 'data-testid="confirm-problem"' in view and "comparison settings" in view
    version, microscope = ready_to_confirm(lab)
    view = examiner.get(f"/candidates/{top}/view")
    assert 'id="confirm-form"' in view and "Submit for verification" in view
    steps = [s.id for s in version.steps]
    form = {"step_" + str(steps[0]): "y", "step_" + str(steps[1]): "20",
            "step_" + str(steps[2]): "y", "equipment_ids": str(microscope),
            "conclusion": "identification", "notes": "Marks agree."}

    # Refusals: a candidate that is no lead, a missing conclusion, a value that is no number,
    # an examiner not authorised for the SOP. Nothing is written.
    before = _counts_all(lab)
    _, _, flashes = examiner.submit(f"/candidates/{second}/confirm", form)
    assert flashes[0][0] == "error" and "potential lead" in flashes[0][1]
    _, view, flashes = examiner.submit(f"/candidates/{top}/confirm",
                                       {**form, "conclusion": ""})
    assert field_errors(view) == {"conclusion": "Missing data for required field."}
    _, view, flashes = examiner.submit(f"/candidates/{top}/confirm",
                                       {**form, f"step_{steps[1]}": "twenty"})
    assert field_errors(view) == {f"step_{steps[1]}": "Not a valid number."}
    _, view, flashes = Browser(app, lab, "examiner2").submit(f"/candidates/{top}/confirm", form)
    assert flashes[0][0] == "error" and "held no authorisation for FA-09" in flashes[0][1]
    assert _counts_all(lab) == before

    _, view, flashes = examiner.submit(f"/candidates/{top}/confirm", form)
    assert flashes[0][0] == "success" and "sent for verification" in flashes[0][1], flashes
    assert 'data-confirmation="awaiting_review"' in view and 'id="confirm-form"' not in view
    exam = db.session.scalars(select(Examination).where(Examination.lab_id == lab.lab.id)
                              .order_by(Examination.id.desc())).first()
    assert (exam.status, exam.result, exam.examiner_id) == ("completed", "identification",
                                                           lab.id("examiner"))
    assert sorted(i.id for i in exam.items) == sorted(
        [searched["items"][0]["id"], searched["items"][1]["id"]])
    assert [q.id for q in exam.equipment] == [microscope] and len(exam.step_records) == 3
    # Nothing is linked before an independent reviewer has logged in and agreed.
    assert _count(CaseLink, CaseLink.lab_id == lab.lab.id) == 0
    assert "No case is linked to this one" in examiner.get(f"/cases/{cases[0]}")
    confirmation = db.session.scalar(select(Confirmation).where(Confirmation.candidate_id == top))
    page = f"/verifications/{confirmation.id}"
    assert "your own examination" in examiner.get(page)
    _, _, flashes = examiner.submit(f"{page}/review", {"outcome": "agree"})
    assert flashes[0][0] == "error" and "role does not allow" in flashes[0][1]

    reviewer = Browser(app, lab, "reviewer")
    assert page in reviewer.get("/verifications")
    html = reviewer.get(page)
    assert "Identification" in html and 'data-testid="conclusion-hidden"' not in html
    _, html, flashes = reviewer.submit(f"{page}/review", {"outcome": "disagree", "reasons": ""})
    assert field_errors(html) == {"reasons": "Required when you disagree."}
    _, html, flashes = reviewer.submit(f"{page}/review", {
        "outcome": "disagree", "reasons": "Agreement at 3 o'clock is subclass-prone."})
    assert flashes == [("success", "Review recorded: you disagree. Both records are kept.")]
    assert _count(CaseLink, CaseLink.lab_id == lab.lab.id) == 0
    _, html, flashes = reviewer.submit(f"{page}/review", {
        "outcome": "agree", "reasons": "Resolved together at the microscope: marks persist."})
    assert "the cases are linked" in flashes[0][1], flashes
    outcomes = re.findall(r'data-kind="review" data-outcome="(\w+)"', html)
    assert outcomes == ["disagree", "agree"]  # the disagreement stays on record
    link = db.session.scalars(select(CaseLink).where(CaseLink.candidate_id == top)).one()
    assert (link.examination_id, link.reviewed_by_id, link.confirmed_by_id) == (
        exam.id, lab.id("reviewer"), lab.id("examiner"))
    for mine, other in (cases, cases[::-1]):
        html = examiner.get(f"/cases/{mine}")
        linked = html[html.index('id="linked-cases"'):]
        assert f'href="/cases/{other}"' in linked and f"{exam.id} · FA-09 v1" in linked
        assert 'data-link-status="active"' in linked
    assert "No case is linked to this one" in examiner.get(
        f"/cases/{searched['items'][2]['case_id']}")

    # The link keeps its items from destruction until it is withdrawn.
    # (its examination, verified but not yet released, holds it too: both reasons are named)
    body = refused(Api(client, lab, "tech"), f"/items/{searched['items'][1]['id']}/destroy",
                   {"witness_id": lab.id("examiner"), "reason": "retention"}, 409,
                   "item_in_examination", "grounds the identification linking cases", lab.lab.id)
    assert f"it is in open examination {exam.id}" in body["message"]

    # Withdrawal: a recorded correction that an independent reviewer agrees with.
    manager = Browser(app, lab, "manager")
    _, html, flashes = manager.submit(f"/case-links/{link.id}/corrections",
                                      {"reason": "   ", "case_id": cases[1]})
    assert field_errors(html) == {"reason": "Missing data for required field."}
    _, html, flashes = manager.submit(f"/case-links/{link.id}/corrections", {
        "reason": "Item 2 was mislabelled at intake.", "case_id": cases[1]})
    assert "the link stands until" in flashes[0][1]
    assert 'data-link-status="active"' in html and "waiting for review" in html
    # Agreeing withdraws the link: without the box naming it ticked, refused, nothing changes.
    before = _counts_all(lab)
    _, html, flashes = reviewer.submit(_correction_path(link.id), {
        "outcome": "agree", "reasons": "Intake photos confirm.", "case_id": cases[0]})
    assert flashes[0][0] == "error" and f"case link {link.id} between cases" in flashes[0][1]
    assert "confirm" in field_errors(html) and _counts_all(lab) == before
    db.session.expire_all()
    assert db.session.get(CaseLink, link.id).withdrawn_at is None
    _, html, flashes = reviewer.submit(_correction_path(link.id), {
        "outcome": "agree", "reasons": "Intake photos confirm.", "case_id": cases[0],
        "confirm": "y"})
    assert flashes == [("success", "The link is withdrawn.")]
    for case_id in cases:
        html = examiner.get(f"/cases/{case_id}")
        assert 'data-link-status="withdrawn"' in html
        assert "asked to withdraw it: Item 2 was mislabelled" in html
        assert "agreed: withdrawn — Intake photos confirm." in html
    db.session.expire_all()
    assert db.session.get(CaseLink, link.id).withdrawn_at is not None
    assert db.session.get(Candidate, top).decision == "potential_lead"


def _correction_path(link_id: int) -> str:
    from ballistics.comparisons.models import LinkCorrection

    db.session.expire_all()
    row = db.session.scalar(select(LinkCorrection).where(LinkCorrection.link_id == link_id))
    return f"/link-corrections/{row.id}/review"


def _counts_all(kit) -> tuple:
    counts = tuple(_count(model, model.lab_id == kit.lab.id)
                   for model in (Examination, Confirmation, CaseLink))
    return (*counts, _count(AuditEntry, AuditEntry.chain_key == kit.lab.id))
