"""Destructive actions on the pages ask for a confirmation naming the item and what happens to
it; a POST without it is refused by the server and changes nothing."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.evidence.models import CustodyEvent, DisposalRequest, Item
from ballistics.extensions import db
from tests.support.web import Api, Browser, field_errors


def _state(lab, item_id: int) -> tuple:
    db.session.expire_all()
    item = db.session.get(Item, item_id)
    return (item.status, item.custody_seq,
            db.session.scalar(select(func.count(CustodyEvent.id))
                              .where(CustodyEvent.lab_id == lab.lab.id)),
            db.session.scalar(select(func.count(DisposalRequest.id))
                              .where(DisposalRequest.lab_id == lab.lab.id)),
            db.session.scalar(select(func.count(AuditEntry.id))
                              .where(AuditEntry.chain_key == lab.lab.id)))


@pytest.fixture
def held(client, lab) -> dict:
    tech = Api(client, lab, "tech")
    return tech.receive(tech.new_case()["id"], "firearm", make="Glock", serial_number="CF-1")


def _box(page: str, action: str) -> str:
    """The label of the confirmation box in the form posting to ``action``."""
    form = page.split(f'/{action}"', 1)[1].split("</form>", 1)[0]
    assert 'type="checkbox"' in form and 'name="confirm"' in form
    return html.unescape(re.search(r'<label class="check">.*?>\s*(.*?)</label>', form, re.S)
                         .group(1))


@pytest.mark.parametrize(("action", "body", "words", "status"), [
    ("release", {"to_agency": "High Court", "reason": "exhibit for trial"},
     "leaves the lab's custody for good", "released"),
    ("destroy", {"reason": "court order 12/26", "method": "crushed"},
     "is destroyed now, before the witness named above. This cannot be undone", "destroyed"),
])
def test_release_and_destroy_need_the_box_ticked(app, lab, held, action, body, words, status):
    if action == "destroy":
        body = {**body, "witness_id": lab.id("examiner")}
    tech = Browser(app, lab, "tech")
    page = tech.get(f"/items/{held['id']}")
    sentence = _box(page, action)
    assert held["barcode"] in sentence and words in sentence
    before = _state(lab, held["id"])
    for unticked in ({}, {"confirm": ""}, {"confirm": "false"}):
        _, page, flashes = tech.submit(f"/items/{held['id']}/{action}", {**body, **unticked})
        assert flashes[0][0] == "error" and "Tick the box to confirm" in flashes[0][1]
        assert held["barcode"] in field_errors(page)["confirm"]
        assert _state(lab, held["id"]) == before
    # A POST without the page's CSRF token is refused before anything else.
    tech.post(f"/items/{held['id']}/{action}", {**body, "confirm": "y"}, expect=400, token=False)
    assert _state(lab, held["id"]) == before
    _, page, flashes = tech.submit(f"/items/{held['id']}/{action}", {**body, "confirm": "y"})
    assert flashes[0][0] == "success", flashes
    assert _state(lab, held["id"])[:2] == (status, 2)


def test_invalid_input_is_named_before_the_confirmation(app, lab, held):
    tech = Browser(app, lab, "tech")
    before = _state(lab, held["id"])
    _, page, flashes = tech.submit(f"/items/{held['id']}/release", {"reason": "trial"})
    assert "to_agency" in field_errors(page) and _state(lab, held["id"]) == before
    assert flashes[0][0] == "error" and "Tick the box" not in flashes[0][1]


def test_override_request_needs_the_box_and_nothing_happens_without_it(app, lab, held):
    manager = Browser(app, lab, "manager")
    page = manager.get(f"/items/{held['id']}")
    sentence = _box(page, "disposal-requests")
    assert held["barcode"] in sentence and "until a second person confirms" in sentence
    body = {"action": "release", "override_reason": "court_order", "reason": "order 3/26",
            "to_agency": "High Court"}
    before = _state(lab, held["id"])
    _, page, flashes = manager.submit(f"/items/{held['id']}/disposal-requests", body)
    assert "confirm" in field_errors(page) and _state(lab, held["id"]) == before
    _, page, flashes = manager.submit(f"/items/{held['id']}/disposal-requests",
                                      {**body, "confirm": "y"})
    assert flashes[0][0] == "success"
    # The second person's confirmation names the item, the agency and the requester.
    page = Browser(app, lab, "examiner").get(f"/items/{held['id']}")
    confirm_form = page.split('data-testid="override-confirm"', 1)[1].split("</form>", 1)[0]
    assert (f"release of item {held['barcode']} to High Court, requested by Manager"
            in html.unescape(confirm_form))


def test_the_api_is_unchanged(client, lab, held):
    # An API client states its intent by calling the operation: no confirmation field.
    event = Api(client, lab, "tech").post(f"/items/{held['id']}/release",
                                          {"to_agency": "High Court", "reason": "trial"})
    assert event["kind"] == "released"
