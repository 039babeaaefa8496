"""Findings are judged at the examination's date, not today's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import select

from ballistics.core import timeutil
from ballistics.core.errors import Conflict
from ballistics.extensions import db
from sop.models import Finding
from sop.services import examinations
from sop.services.compliance.engine import refresh_findings
from tests.sop.scenario import as_, build
from tests.support.labs import make_lab


def rules(exam_id: int) -> list[str]:
    return db.session.scalars(select(Finding.rule_id)
                              .where(Finding.examination_id == exam_id)).all()


def test_calibration_expiring_after_the_examination_is_no_finding(app, monkeypatch):
    now = timeutil.utcnow()
    kit = make_lab()
    # The microscope's calibration is valid through today only.
    sc = build(kit, calibration_due=now.date())

    assert rules(sc.exam.id) == []

    later = now + timedelta(days=60)
    monkeypatch.setattr("ballistics.core.timeutil.utcnow", lambda: later)
    monkeypatch.setattr("ballistics.evidence.custody.utcnow", lambda: later)
    examiner = kit.users["examiner"]
    with as_(examiner), pytest.raises(Conflict) as refused:
        examinations.start(examiner, sop_version_id=sc.version.id,
                           item_ids=sc.ids["items"][:1], equipment_ids=[sc.ids["microscope"]])
    db.session.rollback()
    with as_(kit.users["manager"]):
        refresh_findings(kit.lab.id)
    db.session.commit()

    # Judged 60 days later, the first examination is still compliant: on its own date the
    # calibration was current.
    assert rules(sc.exam.id) == []
    # The same instrument cannot be used today (60 days on): it is out of calibration.
    assert refused.value.code == "equipment_calibrated"
    assert (f"was due for calibration on {format_date(now.date(), locale='en')}"
            in refused.value.message)
