"""Equipment out of service: a failed check or a lapsed calibration blocks its use, the register
and the dashboard say which, and a passing record puts it back in service."""

from __future__ import annotations

import re
from datetime import timedelta

from babel.dates import format_date
from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.core import timeutil
from ballistics.extensions import db
from sop.models import Examination
from sop.services import equipment
from sop.services.reminders import due_reminders
from tests.sop.scenario import as_, make_sop, qualify
from tests.support.web import Api, Browser


def _counts(lab_id: int) -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count(Examination.id))
                              .where(Examination.lab_id == lab_id)),
            db.session.scalar(select(func.count(AuditEntry.id))
                              .where(AuditEntry.chain_key == lab_id)))


def test_failed_check_and_lapsed_calibration_take_instruments_out_of_service(app, client, lab):
    today = timeutil.utcnow().date()
    version = make_sop(lab)
    qualify(lab, version, "examiner", today=today)
    manager = lab.users["manager"]
    with as_(manager):
        failed = equipment.register(manager, code="MIC-F", name="Failed microscope",
                                    kind="comparison_microscope")
        lapsed = equipment.register(manager, code="MIC-L", name="Lapsed microscope",
                                    kind="comparison_microscope")
        # Calibrated until months from now, but this morning's performance check failed.
        for eq in (failed, lapsed):
            equipment.record_calibration(manager, eq, kind="calibration",
                                         performed_on=today - timedelta(days=60),
                                         due_on=today + timedelta(days=120), is_passed=True)
        equipment.record_calibration(manager, failed, kind="performance_check",
                                     performed_on=today - timedelta(days=2),
                                     due_on=today + timedelta(days=90), is_passed=False)
        # A passing performance check does not stand in for the lapsed external calibration.
        equipment.record_calibration(manager, lapsed, kind="calibration",
                                     performed_on=today - timedelta(days=30),
                                     due_on=today - timedelta(days=1), is_passed=True)
        equipment.record_calibration(manager, lapsed, kind="performance_check",
                                     performed_on=today - timedelta(days=3),
                                     due_on=today + timedelta(days=30), is_passed=True)
    db.session.commit()
    api = Api(client, lab, "examiner")
    item = api.as_("tech").receive(api.as_("tech").new_case()["id"])
    api.as_("tech").post(f"/items/{item['id']}/transfer", {"to_user_id": lab.id("examiner")})

    before = _counts(lab.lab.id)
    # The refusal is for the examiner: days as their language writes them.
    for eq, words in ((failed, f"MIC-F (Failed microscope) failed its performance check on "
                               f"{format_date(today - timedelta(days=2), locale='en')}"),
                      (lapsed, f"MIC-L (Lapsed microscope) was due for calibration on "
                               f"{format_date(today - timedelta(days=1), locale='en')}")):
        body = api.post("/examinations", {"sop_version_id": version.id,
                                          "item_ids": [item["id"]], "equipment_ids": [eq.id]},
                        expect=409)
        assert body["error"] == "equipment_calibrated", body
        assert body["message"].startswith("Equipment in calibration: On ") and words in \
            body["message"], body["message"]
    assert _counts(lab.lab.id) == before

    register = {e["code"]: e for e in api.as_("manager").get("/equipment")}
    assert (register["MIC-F"]["state"], register["MIC-L"]["state"]) == ("failed_check",
                                                                       "overdue")
    assert "failed its performance check" in register["MIC-F"]["state_reason"]

    page = Browser(app, lab, "manager").get("/quality/")
    rows = dict(re.findall(r'<tr data-equipment="([^"]+)" data-state="([^"]+)">', page))
    assert rows == {"MIC-F": "failed_check", "MIC-L": "overdue"}
    failed_row = page[page.index('data-equipment="MIC-F"'):].split("</tr>")[0]
    assert "failed check" in failed_row and "overdue" not in failed_row
    # The managers' reminders say the same, though both due dates are beyond the horizon.
    reminders = {r.subject.split(" ")[0]: r for r in due_reminders(lab.lab.id, today, days=30)}
    assert reminders["MIC-F"].subject.startswith(
        "MIC-F (Failed microscope) is out of service: it failed its performance check on "
        f"{(today - timedelta(days=2)).isoformat()}"), reminders["MIC-F"]
    assert reminders["MIC-L"].subject.startswith(
        "MIC-L (Lapsed microscope) is out of service: it was due for calibration on "
        f"{(today - timedelta(days=1)).isoformat()}"), reminders["MIC-L"]
    assert {r.kind for r in reminders.values()} == {"calibration_overdue"}

    # A passing check after the repair puts the instrument back in service.
    with as_(manager):
        equipment.record_calibration(manager, failed, kind="performance_check",
                                     performed_on=today, due_on=today + timedelta(days=90),
                                     is_passed=True)
    db.session.commit()
    exam = api.post("/examinations", {"sop_version_id": version.id, "item_ids": [item["id"]],
                                      "equipment_ids": [failed.id]})
    assert exam["equipment_ids"] == [failed.id]
