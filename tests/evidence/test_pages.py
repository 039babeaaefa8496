"""The server-rendered evidence pages: lab isolation, forms on the custody services, refusals
that write nothing, the label and the court report."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.evidence.models import CustodyEvent, Item
from ballistics.extensions import db
from tests.evidence.helpers import tamper_reason
from tests.support.web import Api, Browser, field_errors


def _item(item_id: int) -> Item:
    db.session.expire_all()
    return db.session.get(Item, item_id)


def _counts() -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count(CustodyEvent.id))),
            db.session.scalar(select(func.count(AuditEntry.id))))


@pytest.fixture
def received(client, lab) -> dict:
    """A firearm received by the lab's technician through the API."""
    tech = Api(client, lab, "tech")
    return tech.receive(tech.new_case()["id"], "firearm", make="Glock", model="17",
                        serial_number="BCXK117", calibre="9mm Luger")


def test_case_and_item_forms_call_the_services(app, lab):
    tech = Browser(app, lab, "tech")
    assert "New case" in tech.get("/cases")
    case_path, page, flashes = tech.submit("/cases", {"submitting_agency": "Central Police",
                                                      "offence": "Murder"})
    assert flashes[0][0] == "success" and "opened" in flashes[0][1]
    assert "Receive item" in page
    item_path, page, flashes = tech.submit(f"{case_path}/items", {
        "kind": "firearm", "quantity": "1", "from_agency": "Central Police", "make": "Ruger",
        "serial_number": "312-45678"})
    assert "received into your custody" in flashes[0][1]
    assert "Chain verified (1 event)" in page
    seq = re.search(r'name="expected_seq" type="hidden" value="(\d+)"', page).group(1)
    _, page, flashes = tech.submit(f"{item_path}/transfer", {
        "to_user_id": lab.id("examiner"), "reason": "for examination", "expected_seq": seq})
    assert flashes == [("success", flashes[0][1])] and "transferred, event 2" in flashes[0][1]
    assert 'data-kind="transferred"' in page and "Tech → Examiner" in page
    assert "Chain verified (2 events)" in page
    item = _item(int(item_path.rsplit("/", 1)[1]))
    assert item.holder_user_id == lab.id("examiner") and item.custody_seq == 2
    # The case list links the case and finds it by the item's serial number.
    assert case_path in tech.get("/cases?q=312-45678")


def test_another_labs_pages_answer_404(app, lab, other_lab, received):
    theirs = Browser(app, other_lab, "manager")
    item_id, case_id = received["id"], received["case_id"]
    for path in (f"/cases/{case_id}", f"/items/{item_id}", f"/items/{item_id}/label",
                 f"/items/{item_id}/report"):
        page = theirs.get(path, expect=404)
        assert received["barcode"] not in page and "Glock" not in page
    before = _counts()
    theirs.post(f"/items/{item_id}/transfer", {"to_user_id": other_lab.id("tech")}, expect=404)
    theirs.post(f"/cases/{case_id}/items", {"kind": "bullet", "from_agency": "X"}, expect=404)
    assert _counts() == before
    assert received["barcode"] not in theirs.get("/cases")


def test_refused_hand_over_writes_nothing_and_shows_the_message(app, lab, received):
    examiner = Browser(app, lab, "examiner")
    page = examiner.get(f"/items/{received['id']}")
    # The examiner does not hold it: no hand-over form is offered...
    assert "/transfer" not in page and "Chain verified (1 event)" in page
    before = _counts()
    # ...and a forged post is refused by the service, shown on the item page, written nowhere.
    _, page, flashes = examiner.submit(f"/items/{received['id']}/transfer",
                                          {"to_user_id": lab.id("examiner2")})
    assert f"Item {received['barcode']}" in page  # the item page again, with the refusal
    assert flashes[0][0] == "error"
    assert "You do not hold item" in flashes[0][1] and received["barcode"] in flashes[0][1]
    assert _counts() == before
    assert _item(received["id"]).holder_user_id == lab.id("tech")


def test_stale_and_invalid_forms_are_refused_without_writing(app, client, lab, received):
    tech = Browser(app, lab, "tech")
    Api(client, lab, "tech").post(f"/items/{received['id']}/seal", {"seal_number": "S-1"})
    before = _counts()
    # A page rendered at event 1, submitted after the item moved on to event 2.
    _, _, flashes = tech.submit(f"/items/{received['id']}/transfer",
                                {"to_user_id": lab.id("examiner"), "expected_seq": "1"})
    assert flashes[0][0] == "error" and "has moved on" in flashes[0][1]
    _, page, flashes = tech.submit(f"/items/{received['id']}/destroy",
                                   {"witness_id": lab.id("examiner"), "reason": ""})
    assert flashes[0][0] == "error" and "Reason" in flashes[0][1]
    # The message sits beside the field, and what was typed is kept.
    assert field_errors(page) == {"reason": "Missing data for required field."}
    assert re.search(rf'<option selected value="{lab.id("examiner")}">', page)
    tech.post(f"/items/{received['id']}/seal", {"seal_number": "S-2"}, expect=400, token=False)
    assert _counts() == before


def test_actions_follow_role_and_item_state(app, lab, received):
    page = Browser(app, lab, "tech").get(f"/items/{received['id']}")
    for action in ("transfer", "store", "seal", "sample", "release", "destroy"):
        assert f'/items/{received["id"]}/{action}"' in page
    assert "/check-out" not in page and "/unseal" not in page
    admin = Browser(app, lab, "admin")
    assert "/transfer" not in admin.get(f"/items/{received['id']}")
    assert "New case" not in admin.get("/cases")
    assert "Receive item" not in admin.get(f"/cases/{received['case_id']}")


def test_label_has_code128_and_qr_svg(app, lab, received):
    page = Browser(app, lab, "tech").get(f"/items/{received['id']}/label")
    assert re.search(r'<svg class="code128"[^>]*aria-label="Code 128 barcode '
                     + re.escape(received["barcode"]), page)
    assert re.search(r'<svg role="img" aria-label="QR code ' + re.escape(received["barcode"])
                     + r'"[^>]*class="qr"', page)
    assert "<?xml" not in page and "<script>" not in page
    assert lab.lab.name in page and received["barcode"] in page


def test_report_states_verification_audits_the_read_and_shows_tampering(app, client, lab,
                                                                         received):
    api = Api(client, lab, "tech")
    item_id = received["id"]
    api.post(f"/items/{item_id}/transfer", {"to_user_id": lab.id("examiner")})
    Api(client, lab, "examiner").post(f"/items/{item_id}/sample", {"kind": "test_fire"})
    tech = Browser(app, lab, "tech")
    page = tech.get(f"/items/{item_id}/report")
    assert "Chain of custody report" in page and "Generated by" in page
    # No witness is configured here: consistent, but the report must not claim more.
    assert "The chain of 3 events was checked on" in page and "UTC" in page
    assert "internally consistent" in page and "It is not anchored" in page
    assert "Chain consistent, NOT witnessed (3 events)" in page
    assert "No event has been altered" not in page
    assert 'data-ledger="unanchored"' in page and "/report/proof.json" in page
    assert f"{received['barcode']}.1" in page  # the sub-item's chain summary
    db.session.expire_all()
    reads = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "read", AuditEntry.object_type == "items",
        AuditEntry.object_id == str(item_id))).scalars().all()
    assert len(reads) == 1 and reads[0].actor_id == lab.id("tech")
    assert reads[0].after["view"] == "chain_of_custody_report"

    second = api.get(f"/items/{item_id}/custody")[1]
    tamper_reason(second["id"])
    page = tech.get(f"/items/{item_id}/report")
    assert "BROKEN at event 2" in page and "was altered after it was recorded" in page
    assert "every event&#39;s hash matches" not in page
    assert "Chain BROKEN at event 2" in tech.get(f"/items/{item_id}")


def test_no_person_is_preselected_for_hand_over_or_witness(app, lab, received):
    tech = Browser(app, lab, "tech")
    page = tech.get(f"/items/{received['id']}")
    for name in ("to_user_id", "witness_id"):
        select_ = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
        assert re.search(r'<option selected value="">', select_), select_
    before = _counts()
    _, _, flashes = tech.submit(f"/items/{received['id']}/transfer", {"to_user_id": ""})
    assert flashes[0][0] == "error" and "Hand over to" in flashes[0][1]
    assert _counts() == before


def test_manager_override_on_the_item_page_waits_for_a_second_person(app, lab, received):
    manager = Browser(app, lab, "manager")
    page = manager.get(f"/items/{received['id']}")
    # The manager does not hold the firearm: no direct release or destruction, the override.
    assert f'/items/{received["id"]}/release"' not in page
    assert f'/items/{received["id"]}/destroy"' not in page
    seq = re.search(r'action="/items/\d+/disposal-requests".*?name="expected_seq" '
                    r'type="hidden" value="(\d+)"', page, re.S).group(1)
    before = _counts()
    _, page, flashes = manager.submit(f"/items/{received['id']}/disposal-requests", {
        "action": "destroy", "override_reason": "", "reason": "tech left",
        "witness_id": lab.id("examiner"), "expected_seq": seq})
    assert flashes[0][0] == "error" and "Why not its holder" in flashes[0][1]
    assert _counts() == before
    _, page, flashes = manager.submit(f"/items/{received['id']}/disposal-requests", {
        "action": "destroy", "override_reason": "holder_left", "reason": "tech left the lab",
        "witness_id": lab.id("examiner"), "method": "crushed", "expected_seq": seq,
        "confirm": "y"})
    assert flashes[0][0] == "success" and "only once a second person confirms" in flashes[0][1]
    assert 'data-testid="override"' in page and "Confirm the destroy" not in page
    assert _counts()[0] == before[0]  # the request is recorded (and audited), no custody event
    request_id = int(re.search(r"/disposal-requests/(\d+)/cancel", page).group(1))
    _, page, flashes = manager.submit(f"/disposal-requests/{request_id}/confirm",
                                      {"confirm": "y"})
    assert flashes[0][0] == "error" and "a second person must confirm" in flashes[0][1]
    assert _item(received["id"]).status == "in_custody"

    tech = Browser(app, lab, "tech")
    page = tech.get(f"/items/{received['id']}")
    assert "Confirm the destroy" in page and "Cancel the request" not in page
    _, page, flashes = tech.submit(f"/disposal-requests/{request_id}/confirm", {})
    assert flashes[0][0] == "error" and "Tick the box to confirm" in flashes[0][1]
    assert _item(received["id"]).status == "in_custody"
    _, page, flashes = tech.submit(f"/disposal-requests/{request_id}/confirm", {"confirm": "y"})
    assert flashes[0][0] == "success" and "destroyed, event 2 recorded" in flashes[0][1]
    assert _item(received["id"]).status == "destroyed"
    assert 'data-testid="override"' not in page and "<h2>Actions</h2>" not in page


def _store_choices(page: str) -> list[tuple[str, bool]]:
    select = re.search(r'<select[^>]*name="location_id".*?</select>', page, re.S).group(0)
    return [(value, bool(selected)) for selected, value in
            re.findall(r'<option( selected)? value="([^"]*)"', select)]


def test_the_storage_place_is_chosen_not_defaulted(app, lab, received):
    """With several places the store form starts on "choose" and refuses a store without one
    (nothing written); the lab's only place is the one offered."""
    from ballistics.evidence.services import create_location

    tech = Browser(app, lab, "tech")
    only = _store_choices(tech.get(f"/items/{received['id']}"))
    assert only == [(str(lab.location_id), False)]
    create_location(lab.users["manager"], code="VAULT-2", name="Vault 2")
    db.session.commit()
    choices = _store_choices(tech.get(f"/items/{received['id']}"))
    assert choices[0] == ("", False) and len(choices) == 3
    before = _counts()
    _, page, flashes = tech.submit(f"/items/{received['id']}/store",
                                   {"location_id": "", "reason": "overnight", "expected_seq": "1"})
    assert flashes[0][0] == "error" and "location_id" in field_errors(page)
    assert _counts() == before and _item(received["id"]).holder_location_id is None


def test_spanish_label_names_its_symbols_in_spanish(app, lab, received):
    """A screen reader read the label's symbols in English on a Spanish label page."""
    browser = Browser(app, lab, "tech")
    browser.client.set_cookie("lang", "es")
    page = browser.get(f"/items/{received['id']}/label")
    assert f'aria-label="Código de barras Code 128 {received["barcode"]}"' in page
    assert f'aria-label="Código QR {received["barcode"]}"' in page
    assert "QR code" not in page and "Code 128 barcode" not in page
