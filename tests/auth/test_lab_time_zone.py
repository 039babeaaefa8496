"""The lab's time zone: a lab manager sets it on the accounts page, every page then shows times
in it (named), a bad zone is refused naming the field, and the change is on the audit log."""

from __future__ import annotations

from sqlalchemy import select

from ballistics.audit.models import AuditAction, AuditEntry
from ballistics.auth.models import Lab
from ballistics.extensions import db
from tests.support.web import Browser, field_errors


def _zone(lab_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Lab, lab_id).time_zone


def test_manager_sets_the_zone_and_pages_follow_it(app, lab):
    manager = Browser(app, lab, "manager")
    page = manager.get("/accounts")
    assert 'action="/accounts/time-zone"' in page and "America/Bogota" in page
    landing, page, flashes = manager.submit("/accounts/time-zone",
                                            {"time_zone": "America/Bogota"})
    assert landing == "/accounts" and flashes == [("success",
                                                   "Times are now shown in America/Bogota.")]
    assert _zone(lab.lab.id) == "America/Bogota"
    # the token list on the same page now names the lab's zone instead of UTC
    assert "America/Bogota" in page.split("API tokens in the lab")[1]
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "labs", AuditEntry.object_id == str(lab.lab.id),
        AuditEntry.action == AuditAction.UPDATE).order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.actor_id == lab.id("manager")
    assert entry.before == {"time_zone": "UTC"} and entry.after == {"time_zone": "America/Bogota"}


def test_a_bad_zone_is_refused_naming_the_field(app, lab):
    manager = Browser(app, lab, "manager")
    for bad in ("Mars/Olympus_Mons", "bogota", ""):
        _, page, flashes = manager.submit("/accounts/time-zone", {"time_zone": bad})
        assert flashes[0][0] == "error" and "Time zone" in flashes[0][1], (bad, flashes)
        assert "time_zone" in field_errors(page), bad
    assert _zone(lab.lab.id) == "UTC"


def test_only_a_lab_manager_sets_it(app, lab):
    examiner = Browser(app, lab, "examiner")
    examiner.post("/accounts/time-zone", {"time_zone": "America/Lima"}, expect=403)
    admin = Browser(app, lab, "admin")
    assert 'action="/accounts/time-zone"' not in admin.get("/accounts")
    _, _, flashes = admin.submit("/accounts/time-zone", {"time_zone": "America/Lima"})
    assert flashes[0][0] == "error" and "lab manager" in flashes[0][1]
    assert _zone(lab.lab.id) == "UTC"
