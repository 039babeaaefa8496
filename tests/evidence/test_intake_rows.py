"""A receive writes its item once, in its final state, with its first event and their two audit
entries (one statement on PostgreSQL, three on SQLite): what the audit log says was written is
what the tables hold, on both databases, through the API, the web page and a service call that
has other audited work pending in the same transaction."""

from __future__ import annotations

from sqlalchemy import select

from ballistics.audit.services import verify_audit_chain
from ballistics.auth.models import User
from ballistics.core.context import acting_as
from ballistics.evidence import custody
from ballistics.evidence.models import Item
from ballistics.evidence.services import create_case
from ballistics.extensions import db
from tests.support.intake import check_intake, entries_of
from tests.support.web import Api, Browser


def test_what_a_receive_writes_is_what_its_audit_entries_say(app, client, lab):
    tech = Api(client, lab, "tech")
    case = tech.new_case()
    # text outside ASCII and a quote go through the JSON parameters unchanged
    answer = tech.receive(case["id"], "firearm", make="Ruger", model="P95", calibre="9mm",
                          serial_number="SN-1", description='Pistola "Ruger", nº 3 — ñandú',
                          from_agency="Policía Nacional")
    check_intake(lab.lab.id, answer["id"], lab.id("tech"))
    stored = db.session.get(Item, answer["id"])
    assert stored.description == answer["description"] == 'Pistola "Ruger", nº 3 — ñandú'
    assert (answer["barcode"], answer["number"], answer["custody_seq"]) == (
        stored.barcode, stored.number, 1) == (f"{case['lab_case_number']}/1", "1", 1)
    assert answer["holder"]["id"] == lab.id("tech") and (stored.make, stored.calibre) == (
        "Ruger", "9mm")
    # The web page's receive goes the same way (its case loaded as an object).
    _, _page, flashes = Browser(app, lab, "tech").submit(f"/cases/{case['id']}/items", {
        "kind": "bullet", "quantity": "2", "from_agency": "Central Police"})
    assert f"{case['lab_case_number']}/2 received" in flashes[0][1], flashes
    second = db.session.scalar(select(Item.id).where(Item.case_id == case["id"],
                                                     Item.number == "2"))
    check_intake(lab.lab.id, second, lab.id("tech"))
    # Ids were taken ahead of the inserts: an item made by the unit of work afterwards (a sample)
    # takes the next one without a clash, and everything verifies.
    fire = tech.post(f"/items/{answer['id']}/sample", {"kind": "test_fire"})
    assert fire["id"] > second > answer["id"]
    assert verify_audit_chain(db.session, lab.lab.id).ok


def test_entries_pending_in_the_transaction_are_written_first(app, lab):
    """A receive in a transaction whose earlier writes are audited but not yet written (they
    are appended at commit): those entries come before the receive's, as the writes did."""
    tech = db.session.get(User, lab.id("tech"))
    with acting_as(tech.id, lab.lab.id, "test"):
        case = create_case(tech, submitting_agency="Police")
        db.session.commit()
        case.notes = "Two bullets announced by phone"
        db.session.flush()  # noted for the audit log, written at commit
        item = custody.receive(tech, case, kind="bullet", from_agency="Police")
        db.session.commit()
    notes = [e for e in entries_of(lab.lab.id, "cases", case.id) if e.action == "update"]
    assert len(notes) == 1 and notes[0].after == {"notes": "Two bullets announced by phone"}
    item_entry, event_entry = check_intake(lab.lab.id, item.id, tech.id)
    assert notes[0].id < item_entry.id < event_entry.id
