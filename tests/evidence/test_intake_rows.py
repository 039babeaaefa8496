"""A receive writes its item once, in its final state, with its first event and their two audit
entries (one statement on PostgreSQL, three on SQLite): what the audit log says was written is
what the tables hold, on both databases, through the API, the web page and a service call that
has other audited work pending in the same transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ballistics.audit.models import AuditEntry
from ballistics.audit.services import verify_audit_chain
from ballistics.auth.models import User
from ballistics.core.context import acting_as
from ballistics.core.timeutil import canonical
from ballistics.evidence import custody
from ballistics.evidence.chain import verify_chain
from ballistics.evidence.models import CustodyEvent, Item
from ballistics.evidence.services import create_case
from ballistics.extensions import db
from tests.support.web import Api, Browser


def _as_audited(row) -> dict:
    """A row's columns as the audit log writes values (times in their canonical text)."""
    return {key: canonical(value) if isinstance(value, dt.datetime) else value
            for key, value in row._mapping.items()}


def _entries_of(lab_id: int, object_type: str, object_id: int) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(
        AuditEntry.chain_key == lab_id, AuditEntry.object_type == object_type,
        AuditEntry.object_id == str(object_id)).order_by(AuditEntry.id)).all()


def _check_intake(lab_id: int, item_id: int, holder_id: int) -> tuple[AuditEntry, AuditEntry]:
    """The item and its event as stored equal their audit entries' ``after``; one entry each."""
    db.session.expire_all()
    item_row = db.session.execute(select(Item.__table__).where(Item.id == item_id)).one()
    event_row = db.session.execute(select(CustodyEvent.__table__)
                                   .where(CustodyEvent.item_id == item_id)).one()
    (item_entry,) = _entries_of(lab_id, "items", item_id)
    (event_entry,) = _entries_of(lab_id, "custody_events", event_row.id)
    assert item_entry.action == event_entry.action == "insert"
    assert item_entry.after == _as_audited(item_row)
    assert event_entry.after == _as_audited(event_row)
    assert item_entry.id < event_entry.id  # the log keeps the order: the item, then its event
    assert (item_row.holder_user_id, item_row.custody_seq, item_row.version) == (holder_id, 1, 1)
    assert item_row.custody_head == event_row.hash and event_row.seq == 1
    item = db.session.get(Item, item_id)
    assert verify_chain(db.session, item).ok
    return item_entry, event_entry


def test_what_a_receive_writes_is_what_its_audit_entries_say(app, client, lab):
    tech = Api(client, lab, "tech")
    case = tech.new_case()
    answer = tech.receive(case["id"], "firearm", make="Ruger", model="P95", calibre="9mm",
                          serial_number="SN-1")
    _check_intake(lab.lab.id, answer["id"], lab.id("tech"))
    stored = db.session.get(Item, answer["id"])
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
    _check_intake(lab.lab.id, second, lab.id("tech"))
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
    notes = [e for e in _entries_of(lab.lab.id, "cases", case.id) if e.action == "update"]
    assert len(notes) == 1 and notes[0].after == {"notes": "Two bullets announced by phone"}
    item_entry, event_entry = _check_intake(lab.lab.id, item.id, tech.id)
    assert notes[0].id < item_entry.id < event_entry.id
