"""Build a fully compliant examination through the services, with one thing broken on demand.

Every rule has a ``break_`` switch; the scenario tests flip exactly one and expect exactly
that finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ballistics.auth import services as accounts
from ballistics.auth.models import User
from ballistics.auth.roles import Role
from ballistics.core import timeutil
from ballistics.core.context import acting_as
from ballistics.evidence import custody
from ballistics.evidence.services import create_case
from ballistics.extensions import db
from sop.models import Examination, SopVersion
from sop.services import documents, equipment, examinations, personnel
from sop.services.compliance.engine import refresh_findings
from tests.support.labs import PASSWORD, LabKit

ALL_THREE = {code: 3 for code in personnel.AREA_CODES}


def as_(user: User):
    return acting_as(user.id, user.lab_id, "test")


@dataclass
class Scenario:
    kit: LabKit
    version: SopVersion | None = None
    exam: Examination | None = None
    ids: dict = field(default_factory=dict)

    def user(self, who: str) -> User:
        return self.kit.users[who]


def second_manager(kit: LabKit) -> User:
    if "manager2" not in kit.users:
        with acting_as(None, kit.lab.id, "test"):
            kit.users["manager2"] = accounts.create_user(
                kit.lab, f"manager2-{kit.lab.code.lower()}", "Second Manager", PASSWORD,
                [Role.LAB_MANAGER])
            kit.tokens["manager2"] = accounts.issue_token(kit.users["manager2"], "test")
    return kit.users["manager2"]


def make_sop(kit: LabKit, code: str = "FA-06", turnaround_days: int | None = 30) -> SopVersion:
    manager, approver = kit.users["manager"], second_manager(kit)
    with as_(manager):
        sop = documents.create_sop(manager, code=code, title="Comparison microscopy")
        version = documents.create_version(manager, sop, summary="Compare.", turnaround_days=
                                           turnaround_days, steps=[
            {"title": "Check the microscope", "instruction": "Check it."},
            {"title": "Set magnification", "instruction": "Set it.", "is_value_required": True,
             "value_label": "magnification", "unit": "x", "min_value": 10, "max_value": 60},
            {"title": "State the conclusion", "instruction": "State it."}])
        documents.submit_for_review(manager, version)
    with as_(approver):
        documents.approve_version(approver, version)
    with as_(manager):
        documents.activate_version(manager, version)
    return version


def qualify(kit: LabKit, version: SopVersion, who: str, *, today: date,
            competent: bool = True, proficient: bool = True, acknowledge: bool = True,
            authorise: bool = True) -> None:
    """Authorise, assess, proficiency-test and have ``who`` acknowledge the version."""
    manager, user = kit.users["manager"], kit.users[who]
    with as_(manager):
        if authorise:
            personnel.grant_authorisation(manager, user_id=user.id, sop_id=version.sop_id,
                                          starts_on=today - timedelta(days=30),
                                          expires_on=today + timedelta(days=335))
        personnel.record_proficiency(manager, user_id=user.id, provider="CTS",
                                     test_ref="25-5271", taken_on=today - timedelta(days=60),
                                     is_satisfactory=proficient)
    with as_(user):
        assessment = personnel.self_assess(user, ratings=ALL_THREE,
                                           assessed_on=today - timedelta(days=20))
        if acknowledge:
            documents.acknowledge(user, version)
    supervisor = kit.users["reviewer"] if who != "reviewer" else kit.users["manager"]
    scores = dict(ALL_THREE) if competent else {**ALL_THREE, "microscopy": 2}
    with as_(supervisor):
        personnel.supervise(supervisor, assessment, ratings=scores)


def build(kit: LabKit, *, break_: str | None = None, calibration_due: date | None = None,
          now: datetime | None = None) -> Scenario:
    """A released examination that follows every rule, except the one named by ``break_``."""
    now = now or timeutil.utcnow()
    today = now.date()
    sc = Scenario(kit)
    sc.version = version = make_sop(kit)
    examiner, reviewer, manager, tech = (kit.users[w] for w in
                                         ("examiner", "reviewer", "manager", "tech"))
    qualify(kit, version, "examiner", today=today,
            competent=break_ != "EXAMINER-COMPETENT", proficient=break_ != "PROFICIENCY-CURRENT",
            acknowledge=break_ != "SOP-ACKNOWLEDGED")
    qualify(kit, version, "reviewer", today=today)
    with as_(manager):
        microscope = equipment.register(manager, code="MIC-01", name="Comparison microscope",
                                        kind="comparison_microscope")
        due = calibration_due or today + timedelta(days=170)
        certificate = equipment.record_calibration(
            manager, microscope, kind="calibration", performed_on=min(due, today)
            - timedelta(days=180), due_on=due, is_passed=True, performed_by="MetroCal")
    with as_(tech):
        case = create_case(tech, submitting_agency="Central Police")
        items = [custody.receive(tech, case, kind="cartridge_case", from_agency="Central Police")
                 for _ in range(2)]
        for item in items:
            custody.transfer(tech, item, to_user_id=examiner.id)
    requested = now - timedelta(days=40) if break_ == "TURNAROUND" else None
    with as_(examiner):
        exam = examinations.start(examiner, sop_version_id=version.id,
                                  item_ids=[i.id for i in items], equipment_ids=[microscope.id],
                                  requested_at=requested)
        steps = version.steps
        examinations.record_step(examiner, exam, step_id=steps[0].id)
        examinations.record_step(examiner, exam, step_id=steps[1].id,
                                 value=100 if break_ == "STEP-VALUES-IN-RANGE" else 20)
        if break_ != "STEPS-RECORDED":
            examinations.record_step(examiner, exam, step_id=steps[2].id)
        if break_ == "CUSTODY-HELD":
            custody.transfer(examiner, items[1], to_user_id=kit.users["examiner2"].id,
                             reason="second opinion")
        examinations.complete(examiner, exam, result="identification")
    if break_ != "TECH-REVIEW":
        with as_(reviewer):
            examinations.technical_review(reviewer, exam, outcome="agree")
    if break_ != "ADMIN-REVIEW":
        with as_(manager):
            examinations.administrative_review(manager, exam, outcome="approved")
    if break_ in ("TECH-REVIEW", "ADMIN-REVIEW"):
        # The release rules block the service, so a report released without a review can only
        # come from outside it (e.g. records migrated from paper): write it directly.
        exam.status, exam.released_at, exam.released_by_id = "released", timeutil.utcnow(), \
            manager.id
        db.session.flush()
    else:
        with as_(examiner):
            examinations.release(examiner, exam)
    with as_(manager):
        if break_ == "EXAMINER-AUTHORISED":
            grant = next(a for a in _grants(version, examiner))
            personnel.revoke_authorisation(manager, grant, reason="found unqualified",
                                           revoked_on=today)
        if break_ == "EQUIPMENT-CALIBRATED":
            # The blocking rule refused a lapsed instrument at the start; a corrected record
            # (the certificate actually ran out yesterday) shows up as a finding afterwards.
            certificate.due_on = today - timedelta(days=1)
            db.session.flush()
        if break_ == "SOP-EFFECTIVE":
            # Corrected record: the version actually came into force only tomorrow.
            version.effective_from = today + timedelta(days=1)
            db.session.flush()
        refresh_findings(kit.lab.id)
    db.session.commit()
    sc.exam = exam
    sc.ids = {"items": [i.id for i in items], "microscope": microscope.id, "case": case.id}
    return sc


def _grants(version: SopVersion, user: User):
    from sqlalchemy import select

    from sop.models import Authorisation

    return db.session.execute(select(Authorisation).where(
        Authorisation.user_id == user.id, Authorisation.sop_id == version.sop_id)).scalars()
