"""Periodic quality tasks (ids only, JSON results): reminders for expiring authorisations and
due calibrations, and the nightly re-evaluation of every examination.

The worker registers them when it imports this module (add "sop.tasks" to the Celery
``imports``) and celery beat runs them from :data:`BEAT_SCHEDULE`.
"""

from __future__ import annotations

from celery import shared_task
from celery.schedules import crontab
from sqlalchemy import select

from ballistics.auth.models import Lab
from ballistics.core.context import acting_as
from ballistics.extensions import db

#: celery beat entries for the quality tasks (merge into ``beat_schedule``)
BEAT_SCHEDULE = {
    "sop-reminders-daily": {"task": "sop.send_reminders", "schedule": crontab(hour=6, minute=0),
                            "kwargs": {"days": 30}},
    "sop-evaluate-nightly": {"task": "sop.evaluate_all_labs",
                             "schedule": crontab(hour=2, minute=30)},
}


def _lab_ids(lab_id: int | None) -> list[int]:
    if lab_id is not None:
        return [lab_id]
    return list(db.session.scalars(select(Lab.id).order_by(Lab.id)))


@shared_task(name="sop.send_reminders")
def send_reminders(lab_id: int | None = None, days: int = 30) -> dict:
    """Remind examiners and managers of authorisations expiring and calibrations falling due
    within ``days`` (every lab, or one)."""
    from sop.services.reminders import due_reminders, send

    sent = []
    for lid in _lab_ids(lab_id):  # each lab's own day: its instruments fall due by its calendar
        sent += send(due_reminders(lid, db.session.get(Lab, lid).today(), days))
    return {"reminders": len(sent), "items": sent}


@shared_task(name="sop.evaluate_lab")
def evaluate_lab(lab_id: int) -> dict:
    """Re-judge every examination of one lab (records such as calibrations may have been
    entered late) and commit the refreshed findings."""
    from sop.services.compliance.engine import refresh_findings

    with acting_as(None, lab_id, "task:sop.evaluate_lab"):
        summary = refresh_findings(lab_id)
    db.session.commit()
    return {"lab_id": lab_id, "examinations": summary.examinations,
            "findings": summary.findings}


@shared_task(name="sop.evaluate_all_labs")
def evaluate_all_labs() -> dict:
    """Fan out one evaluation task per lab."""
    ids = _lab_ids(None)
    for lid in ids:
        evaluate_lab.delay(lid)
    return {"labs": ids}
