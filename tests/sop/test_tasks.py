"""The periodic reminder and evaluation tasks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ballistics.core import timeutil
from ballistics.extensions import db
from sop.models import Finding
from sop.tasks import BEAT_SCHEDULE, evaluate_lab, send_reminders
from tests.sop.scenario import build
from tests.support.labs import make_lab


def test_beat_schedule_names_registered_tasks():
    assert {e["task"] for e in BEAT_SCHEDULE.values()} == {"sop.send_reminders",
                                                          "sop.evaluate_all_labs"}


def test_reminders_for_expiring_authorisation_and_due_calibration(app):
    kit = make_lab()
    today = timeutil.utcnow().date()
    build(kit, calibration_due=today + timedelta(days=12))
    result = send_reminders.run(lab_id=kit.lab.id, days=30)
    subjects = [r["subject"] for r in result["items"]]
    assert "MIC-01 (Comparison microscope) falls due for calibration on " \
        f"{(today + timedelta(days=12)).isoformat()}" in subjects
    # Authorisations in the scenario run for 335 days: nothing expires within 30 days...
    assert not any("authorisation" in s for s in subjects)
    # ...but within a year both the examiner's and the reviewer's do.
    later = send_reminders.run(lab_id=kit.lab.id, days=400)
    assert sum("authorisation for FA-06 expires" in r["subject"] for r in later["items"]) == 2
    manager_id = kit.users["manager"].id
    assert all(manager_id in r["recipient_ids"] for r in later["items"])


def test_evaluate_lab_task_refreshes_findings(app):
    kit = make_lab()
    sc = build(kit)
    db.session.execute(Finding.__table__.insert().values(
        lab_id=kit.lab.id, examination_id=sc.exam.id, rule_id="STALE", severity="minor",
        message="left over", evidence={}, judged_at=sc.exam.performed_at,
        evaluated_at=sc.exam.performed_at))
    db.session.commit()
    assert evaluate_lab.run(kit.lab.id) == {"lab_id": kit.lab.id, "examinations": 1,
                                            "findings": 0}
    assert db.session.scalars(select(Finding).where(Finding.lab_id == kit.lab.id)).all() == []
