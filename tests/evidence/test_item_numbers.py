"""Item numbers come from the case's counter (migration 0016): the API and the web page take
them from the same counter, sub-items do not use it, a refused intake gives its number back,
and a case's audit entries do not name the counter."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import select, text

from ballistics.audit.models import AuditEntry
from ballistics.evidence.models import Case
from ballistics.extensions import db
from tests.support.services import legacy_sqlite
from tests.support.web import Api, Browser


def test_api_and_page_share_the_counter_and_sub_items_do_not_use_it(app, client, lab):
    tech = Api(client, lab, "tech")
    case = tech.new_case()
    first = tech.receive(case["id"], "firearm")
    assert tech.receive(case["id"])["number"] == "2"
    tech.post(f"/items/{first['id']}/sample", {"kind": "test_fire"})
    _, _page, flashes = Browser(app, lab, "tech").submit(f"/cases/{case['id']}/items", {
        "kind": "bullet", "quantity": "1", "from_agency": "Central Police"})
    assert f"{case['lab_case_number']}/3 received" in flashes[0][1], flashes
    # refused after the number was taken (the role is checked after the case's lookup): the
    # rollback gives it back
    tech.as_("admin").post(f"/cases/{case['id']}/items", {"kind": "bullet", "from_agency": "X"},
                           expect=403)
    assert tech.receive(case["id"])["number"] == "4"
    with app.app_context():
        stored = db.session.get(Case, case["id"])
        assert stored.item_count == 4
        afters = db.session.scalars(select(AuditEntry.after).where(
            AuditEntry.object_type == "cases", AuditEntry.object_id == str(case["id"]))).all()
        assert afters and all("item_count" not in (after or {}) for after in afters)
        db.session.remove()


def test_another_labs_case_is_404_and_its_counter_stays(app, client, lab, other_lab):
    mine = Api(client, lab, "tech").new_case()
    Api(client, other_lab, "tech").post(f"/cases/{mine['id']}/items",
                                        {"kind": "bullet", "from_agency": "X"}, expect=404)
    with app.app_context():
        assert db.session.get(Case, mine["id"]).item_count == 0
        db.session.remove()


def test_migration_starts_each_counter_at_its_top_level_items(tmp_path):
    with legacy_sqlite(tmp_path, "0015"):
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # only these rows matter here
            for case_id in (1, 2):
                conn.exec_driver_sql(
                    "INSERT INTO cases (id, lab_id, lab_case_number, year, seq, "
                    "agency_case_number, submitting_agency, offence, notes, created_by_id, "
                    f"created_at) VALUES ({case_id}, 1, 'L-2026-0000{case_id}', 2026, {case_id}, "
                    "'', 'Police', '', '', 1, '2026-01-05 10:00:00')")
            for item_id, case_id, parent, number in ((1, 1, None, "1"), (2, 1, None, "2"),
                                                     (3, 1, 1, "1.1"), (4, 1, None, "3")):
                conn.execute(text(
                    "INSERT INTO items (id, lab_id, case_id, parent_id, number, barcode, kind, "
                    "description, quantity, make, model, serial_number, calibre, "
                    "is_serial_obliterated, status, custody_seq, version, created_at) VALUES "
                    "(:id, 1, :case_id, :parent, :number, :barcode, 'bullet', '', 1, '', '', "
                    "'', '', 0, 'in_custody', 0, 1, '2026-01-05 10:00:00')"),
                    {"id": item_id, "case_id": case_id, "parent": parent, "number": number,
                     "barcode": f"L-2026-00001/{number}"})
            conn.commit()
        upgrade(revision="0016")
        counts = dict(db.session.execute(text("SELECT id, item_count FROM cases")).all())
    assert counts == {1: 3, 2: 0}
