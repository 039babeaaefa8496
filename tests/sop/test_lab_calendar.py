"""The dates a lab's quality records carry are the lab's calendar days, not UTC's: a version
put in force or retired, an authorisation revoked, an instrument falling due, the day an
examination is judged at. Each test runs in a zone where today is another day than in UTC
(whatever the hour), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, timedelta

from babel.dates import format_date
from sqlalchemy import select

from ballistics.comparisons import confirmations
from ballistics.core import timeutil
from ballistics.extensions import db
from sop.models import Authorisation, Finding
from sop.services import documents, equipment, personnel
from sop.services.calibration import EquipmentState
from tests.sop.scenario import as_, build, make_sop
from tests.support.labs import LabKit, make_lab
from tests.support.web import Browser
from tests.support.zones import zone_on_another_day


def _lab_on_another_day() -> tuple[LabKit, date, date]:
    """A lab whose today differs from UTC's: (kit, the lab's day, UTC's day)."""
    kit = make_lab()
    now = timeutil.utcnow()
    zone, day = zone_on_another_day(now)
    kit.lab.time_zone = zone
    db.session.commit()
    return kit, day, now.date()


def _proposed(page: str, name: str) -> str:
    """The value a page's form proposes in the input ``name``."""
    return re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page).group(1)


def test_a_version_comes_into_force_and_is_retired_on_the_lab_day(app):
    kit, day, utc_day = _lab_on_another_day()
    # The whole scenario runs: the version put in force today (the lab's day) admits the
    # examination started now, which is judged at the lab's day too (no finding).
    sc = build(kit)
    assert sc.version.effective_from == day != utc_day
    assert db.session.scalars(select(Finding).where(Finding.examination_id == sc.exam.id)
                              ).all() == []
    # The hit-confirmation SOP is found in force today (a query on the lab's day).
    manager = kit.users["manager"]
    with as_(manager):
        confirmations.update_settings(manager, confirmation_sop_id=sc.version.sop_id,
                                      is_blind_verification=False)
        assert confirmations.confirmation_version(kit.lab.id).id == sc.version.id
        documents.retire_version(manager, sc.version)
    db.session.commit()
    assert sc.version.effective_until == day
    page = Browser(app, kit, "manager").get(f"/quality/sop-versions/{sc.version.id}")
    assert f"until {format_date(day, 'medium', locale='en')}" in page  # the lab's day, written


def test_a_new_version_defaults_to_the_lab_day_even_if_approved_on_another_utc_day(app):
    """Approved at, say, 01:00 UTC on the 3rd, which is the 2nd in a lab west of UTC: put in
    force by default on the lab's today, not refused as "before the approval date"."""
    kit, day, _utc_day = _lab_on_another_day()
    version = make_sop(kit)
    assert version.effective_from == day
    assert kit.lab.day_of(version.approved_at) == day


def test_revoking_an_authorisation_is_dated_the_lab_day(app):
    kit, day, _utc_day = _lab_on_another_day()
    version = make_sop(kit)
    manager, examiner = kit.users["manager"], kit.users["examiner"]
    with as_(manager):
        grant = personnel.grant_authorisation(manager, user_id=examiner.id,
                                              sop_id=version.sop_id,
                                              starts_on=day - timedelta(days=30),
                                              expires_on=day + timedelta(days=300))
        personnel.revoke_authorisation(manager, grant, reason="left the section")
    db.session.commit()
    assert db.session.get(Authorisation, grant.id).revoked_on == day
    # The person's page proposes the lab's today for new records and shows the revocation.
    page = Browser(app, kit, "manager").get(f"/quality/people/{examiner.id}")
    assert _proposed(page, "completed_on") == day.isoformat()
    assert "revoked from" in page


def test_an_instrument_falls_due_by_the_lab_calendar(app):
    """Due on the earlier of the two days: where the lab is a day ahead of UTC it is overdue
    there already; where it is a day behind, it is due today and still usable."""
    kit, day, utc_day = _lab_on_another_day()
    manager = kit.users["manager"]
    due = min(day, utc_day)
    with as_(manager):
        microscope = equipment.register(manager, code="MIC-01", name="Comparison microscope",
                                        kind="comparison_microscope")
        equipment.record_calibration(manager, microscope, kind="calibration",
                                     performed_on=due - timedelta(days=365), due_on=due,
                                     is_passed=True)
    db.session.commit()
    expected = EquipmentState.OVERDUE if day > utc_day else EquipmentState.IN_SERVICE
    assert equipment.current_state(microscope).state is expected
    browser = Browser(app, kit, "manager")
    page = browser.get(f"/quality/equipment/{microscope.id}")
    assert f'data-state="{expected.value}"' in page
    assert _proposed(page, "performed_on") == day.isoformat()
    dashboard = browser.get("/quality/")
    assert f'data-equipment="MIC-01" data-state="{expected.value}"' in dashboard
