"""Acceptance (issue 14, item 9): the first run shows the system. ``flask seed-demo`` on a fresh
SQLite database (what ``scripts/run`` does) fills the quality dashboard, the equipment register
and the training records, puts one instrument out of service after a failed check, uploads a
few scans and prints every login, the partner lab's too; a second run changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from ballistics.auth.models import Lab, User
from ballistics.comparisons.models import Scan
from ballistics.core import timeutil
from ballistics.demo import DEMO_PASSWORD
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db
from sop.models import (
    Authorisation,
    CompetencyAssessment,
    Equipment,
    Examination,
    Nonconformity,
    ProficiencyTest,
    TrainingRecord,
)
from sop.services import dashboard
from sop.services.equipment import current_state
from tests.support.services import migrated_app
from tests.support.web import TOKEN

LOGIN = re.compile(r"^\s+(\S+)\s+(\S+)\s+(\S+)\s+\((.*)\)$", re.M)


@pytest.fixture
def demo(tmp_path):
    app = migrated_app(f"sqlite:///{tmp_path / 'demo.sqlite'}", tmp_path)
    return app, _seed(app)


def _seed(app) -> str:
    """``flask seed-demo`` (the flask command pushes the app context itself)."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _count(model, lab_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(model)
                             .where(model.lab_id == lab_id))


def _login(app, username: str):
    client = app.test_client()
    token = TOKEN.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username,
                                           "password": DEMO_PASSWORD})
    assert response.status_code == 302, (username, response.text[:500])
    return client


def test_seed_prints_every_login_and_fills_every_page(demo):
    app, output = demo
    printed = {(lab, user): (password, roles)
               for lab, user, password, roles in LOGIN.findall(output)}
    assert set(printed) == {("DEMO", u) for u in ("tech", "examiner", "reviewer", "manager",
                                                  "admin")} | {("PARTNER", "partner"),
                                                               ("PARTNER", "partner-manager")}
    assert {password for password, _ in printed.values()} == {DEMO_PASSWORD}
    assert printed[("PARTNER", "partner-manager")][1] == "lab_manager"
    with app.app_context():
        lab = db.session.scalar(select(Lab).where(Lab.code == "DEMO"))
        partner = db.session.scalar(select(Lab).where(Lab.code == "PARTNER"))
        assert {u.username for u in db.session.scalars(
            select(User).where(User.lab_id == partner.id))} == {"partner", "partner-manager"}
        today = timeutil.utcnow().date()
        # Equipment: one instrument out of service after a failed check, one due soon.
        instruments = {e.code: e for e in db.session.scalars(
            select(Equipment).where(Equipment.lab_id == lab.id))}
        assert len(instruments) >= 4
        down = [code for code, e in instruments.items() if e.is_out_of_service]
        assert down == ["BAL-01"]
        assert any(not r.is_passed for r in instruments["BAL-01"].calibrations)
        assert current_state(instruments["BAL-01"]).state == "out_of_service"
        assert current_state(instruments["MIC-01"]).usable
        dash = dashboard.build(lab.id, today)
        assert [e.code for e in dash.out_of_service] == ["BAL-01"]
        due = {row["equipment"].code: row["state"] for row in dash.calibrations_due}
        assert due["IMG-01"].usable and "BAL-01" in due  # due within the month / not usable
        # Training, proficiency, competency over time, authorisations (one expiring soon).
        assert _count(TrainingRecord, lab.id) >= 5 and _count(ProficiencyTest, lab.id) >= 2
        assert _count(CompetencyAssessment, lab.id) == 2
        assert _count(Authorisation, lab.id) >= 6
        assert dash.expiring_authorisations, "one authorisation should expire within 30 days"
        # Casework: the dashboard judges an examination; scans and a nonconformity exist.
        assert dash.total >= 1 and _count(Examination, lab.id) == 1
        assert _count(Scan, lab.id) == 3 and _count(Nonconformity, lab.id) == 1
        assert _count(Case, lab.id) == 1 and _count(Item, lab.id) == 4
        examiner_id = db.session.scalar(select(User.id).where(User.username == "examiner"))
    # The pages show it.
    manager = _login(app, "manager")
    page = manager.get("/quality/").text
    assert 'data-equipment="BAL-01"' in page and 'data-equipment="IMG-01"' in page
    assert "out of service" in page and "FA-04" in page
    competency = manager.get(f"/quality/examiners/{examiner_id}/competency")
    assert competency.status_code == 200 and "Eli Examiner" in competency.text
    cases = _login(app, "tech").get("/cases").text
    assert "DEMO-" in cases and "Central Police Division" in cases
    assert _login(app, "partner").get("/cases").status_code == 200

    # Idempotent: a second start prints the same logins and adds nothing.
    assert sorted(LOGIN.findall(_seed(app))) == sorted(LOGIN.findall(output))
    with app.app_context():
        assert _count(Equipment, lab.id) == len(instruments)
