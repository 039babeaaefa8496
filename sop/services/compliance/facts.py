"""Bulk loading of everything the rules read, one query per table, scoped to one lab.

Reference records (versions, authorisations, competency, proficiency, acknowledgements,
calibrations) are small per lab and loaded whole; examination records and custody events are
loaded for the examinations being judged only.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import InitVar, dataclass, field
from datetime import date, datetime
from operator import attrgetter

from sqlalchemy import select

from ballistics.auth.models import Lab, User
from ballistics.core.timeutil import local_day
from ballistics.core.wording import Wording, wording
from ballistics.evidence.models import CustodyEvent, Item
from ballistics.evidence.models import StorageLocation as Location
from ballistics.extensions import db
from sop.models import (
    Authorisation,
    CalibrationRecord,
    CompetencyAssessment,
    Equipment,
    Examination,
    ExaminationEquipment,
    ExaminationItem,
    ExaminationReview,
    ProficiencyTest,
    Sop,
    SopAcknowledgement,
    SopStep,
    SopVersion,
    StepRecord,
)
from sop.models.personnel import AssessmentStatus


@dataclass(slots=True)
class StepFacts:
    id: int
    position: int
    title: str
    is_value_required: bool
    value_label: str
    unit: str
    min_value: float | None
    max_value: float | None


@dataclass(slots=True)
class VersionFacts:
    id: int
    sop_id: int
    sop_code: str
    number: int
    status: str
    effective_from: date | None
    effective_until: date | None
    turnaround_days: int | None
    steps: list[StepFacts] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.sop_code} v{self.number}"


@dataclass(slots=True)
class ReviewFacts:
    id: int
    kind: str
    reviewer_id: int
    outcome: str
    reasons: str
    reviewed_at: datetime


@dataclass(slots=True)
class ExamFacts:
    id: int | None
    examiner_id: int
    version_id: int
    requested_at: datetime
    performed_at: datetime
    completed_at: datetime | None = None
    released_at: datetime | None = None
    item_ids: list[int] = field(default_factory=list)
    equipment_ids: list[int] = field(default_factory=list)
    #: step id → recorded value (None when recorded without a value)
    steps: dict[int, float | None] = field(default_factory=dict)
    reviews: list[ReviewFacts] = field(default_factory=list)
    #: judged for a release being asked for now (``released_at`` is that moment): a rule then
    #: says what the release still needs, not that a report was released without it
    release_planned: bool = False
    #: the examination's date in the lab's calendar, the day every rule is judged at
    day: date = field(init=False)
    #: the lab's time zone, which dates ``day`` (at 20:00 in Bogota it is not yet tomorrow)
    zone: InitVar[str] = "UTC"

    def __post_init__(self, zone: str) -> None:
        self.day = local_day(self.performed_at, zone)


@dataclass(slots=True)
class AuthFacts:
    id: int
    user_id: int
    sop_id: int
    starts_on: date
    expires_on: date
    revoked_on: date | None

    def covers(self, day: date) -> bool:
        return (self.starts_on <= day <= self.expires_on
                and (self.revoked_on is None or day < self.revoked_on))


@dataclass(slots=True)
class CompetencyFacts:
    id: int
    user_id: int
    assessed_on: date
    valid_until: date | None
    is_competent: bool


@dataclass(slots=True)
class ProficiencyFacts:
    id: int
    user_id: int
    provider: str
    test_ref: str
    taken_on: date
    is_satisfactory: bool


@dataclass(slots=True)
class CalibrationFacts:
    id: int
    equipment_id: int
    kind: str
    performed_on: date
    due_on: date
    is_passed: bool


@dataclass(slots=True)
class CustodyFacts:
    id: int
    seq: int
    kind: str
    occurred_at: datetime
    to_user_id: int | None
    to_location_id: int | None
    to_agency: str | None


@dataclass
class LabFacts:
    now: datetime
    #: the lab's time zone: its calendar dates examinations, reviews and acknowledgements
    zone: str = "UTC"
    versions: dict[int, VersionFacts] = field(default_factory=dict)
    #: (user_id, sop_id) → authorisations
    authorisations: dict[tuple[int, int], list] = field(default_factory=lambda: defaultdict(list))
    competency: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    proficiency: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    #: (version_id, user_id) → acknowledged_at
    acknowledgements: dict[tuple[int, int], datetime] = field(default_factory=dict)
    calibrations: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    equipment: dict[int, str] = field(default_factory=dict)
    custody: dict[int, list[CustodyFacts]] = field(default_factory=lambda: defaultdict(list))
    items: dict[int, str] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)
    locations: dict[int, str] = field(default_factory=dict)

    def user(self, user_id: int | None) -> str:
        return self.users.get(user_id, f"user {user_id}")

    def day_of(self, ts: datetime) -> date:
        """The lab's calendar day of a stored (naive UTC) time."""
        return local_day(ts, self.zone)

    def holder(self, event: CustodyFacts | None) -> str | Wording:
        """Who held an item after ``event``: a name, or words a finding says in its reader's
        language."""
        if event is None:
            return wording("nobody (not yet received)")
        if event.to_user_id:
            return self.user(event.to_user_id)
        if event.to_location_id:
            return wording("storage %(location)s",
                           location=self.locations.get(event.to_location_id,
                                                       event.to_location_id))
        return event.to_agency or wording("nobody (disposed)")


def _rows(stmt):
    # Plain column rows straight from the connection: no ORM identity map for 100,000 rows.
    return db.session.connection().execute(stmt).all()


def upto(records: list, day, attr: str) -> list:
    """The prefix of a list sorted by ``attr`` whose ``attr`` is on or before ``day``."""
    return records[:bisect_right(records, day, key=attrgetter(attr))]


def load_reference(lab_id: int, now: datetime) -> LabFacts:
    """The lab's SOP versions, personnel records, acknowledgements and equipment records."""
    db.session.flush()  # _rows reads through the connection, which does not autoflush
    facts = LabFacts(now=now, zone=db.session.get(Lab, lab_id).time_zone or "UTC")
    for r in _rows(select(SopVersion.id, SopVersion.sop_id, Sop.code, SopVersion.number,
                          SopVersion.status, SopVersion.effective_from,
                          SopVersion.effective_until, SopVersion.turnaround_days)
                   .join(Sop, Sop.id == SopVersion.sop_id).where(SopVersion.lab_id == lab_id)):
        facts.versions[r.id] = VersionFacts(*r)
    for r in _rows(select(SopStep.version_id, SopStep.id, SopStep.position, SopStep.title,
                          SopStep.is_value_required, SopStep.value_label, SopStep.unit,
                          SopStep.min_value, SopStep.max_value)
                   .where(SopStep.lab_id == lab_id).order_by(SopStep.position)):
        facts.versions[r[0]].steps.append(StepFacts(*r[1:]))
    A, C, P = Authorisation, CompetencyAssessment, ProficiencyTest
    for r in _rows(select(A.id, A.user_id, A.sop_id, A.starts_on, A.expires_on, A.revoked_on)
                   .where(A.lab_id == lab_id).order_by(A.starts_on, A.id)):
        facts.authorisations[(r.user_id, r.sop_id)].append(AuthFacts(*r))
    for r in _rows(select(C.id, C.user_id, C.assessed_on, C.valid_until, C.is_competent)
                   .where(C.lab_id == lab_id, C.status == AssessmentStatus.COMPLETED)
                   .order_by(C.assessed_on, C.id)):
        facts.competency[r.user_id].append(CompetencyFacts(*r))
    for r in _rows(select(P.id, P.user_id, P.provider, P.test_ref, P.taken_on,
                          P.is_satisfactory)
                   .where(P.lab_id == lab_id).order_by(P.taken_on, P.id)):
        facts.proficiency[r.user_id].append(ProficiencyFacts(*r))
    for r in _rows(select(SopAcknowledgement.version_id, SopAcknowledgement.user_id,
                          SopAcknowledgement.acknowledged_at)
                   .where(SopAcknowledgement.lab_id == lab_id)):
        facts.acknowledgements[(r.version_id, r.user_id)] = r.acknowledged_at
    K = CalibrationRecord
    for r in _rows(select(K.id, K.equipment_id, K.kind, K.performed_on, K.due_on, K.is_passed)
                   .where(K.lab_id == lab_id).order_by(K.performed_on, K.id)):
        facts.calibrations[r.equipment_id].append(CalibrationFacts(*r))
    for r in _rows(select(Equipment.id, Equipment.code, Equipment.name)
                   .where(Equipment.lab_id == lab_id)):
        facts.equipment[r.id] = f"{r.code} ({r.name})"
    for r in _rows(select(User.id, User.full_name).where(User.lab_id == lab_id)):
        facts.users[r.id] = r.full_name
    for r in _rows(select(Location.id, Location.code).where(Location.lab_id == lab_id)):
        facts.locations[r.id] = r.code
    return facts


def load_examinations(lab_id: int, facts: LabFacts, exam_ids: list[int] | None = None
                      ) -> list[ExamFacts]:
    """Examinations of the lab (all, or the ids given) with their items, equipment, steps,
    reviews and the custody events of their items."""

    def scoped(stmt, model):
        stmt = stmt.where(model.lab_id == lab_id)
        if exam_ids is not None:
            column = model.id if model is Examination else model.examination_id
            stmt = stmt.where(column.in_(exam_ids))
        return stmt

    db.session.flush()
    exams: dict[int, ExamFacts] = {}
    for r in _rows(scoped(select(Examination.id, Examination.examiner_id,
                                 Examination.sop_version_id, Examination.requested_at,
                                 Examination.performed_at, Examination.completed_at,
                                 Examination.released_at), Examination)
                   .order_by(Examination.id)):
        exams[r.id] = ExamFacts(*r, zone=facts.zone)
    # The barcode comes with the link row: one join, no second pass over the items table.
    for r in _rows(scoped(select(ExaminationItem.examination_id, ExaminationItem.item_id,
                                 Item.barcode), ExaminationItem)
                   .join(Item, Item.id == ExaminationItem.item_id)
                   .order_by(ExaminationItem.id)):
        exam_id, item_id, barcode = r
        exams[exam_id].item_ids.append(item_id)
        facts.items[item_id] = barcode
    # Tuple unpacking rather than attribute access: these loops see ~100,000 rows per lab.
    for exam_id, equipment_id in _rows(scoped(select(ExaminationEquipment.examination_id,
                                                     ExaminationEquipment.equipment_id),
                                              ExaminationEquipment)):
        exams[exam_id].equipment_ids.append(equipment_id)
    for exam_id, step_id, value in _rows(scoped(select(StepRecord.examination_id,
                                                       StepRecord.step_id, StepRecord.value),
                                                StepRecord)):
        exams[exam_id].steps[step_id] = value
    for r in _rows(scoped(select(ExaminationReview.examination_id, ExaminationReview.id,
                                 ExaminationReview.kind, ExaminationReview.reviewer_id,
                                 ExaminationReview.outcome, ExaminationReview.reasons,
                                 ExaminationReview.reviewed_at), ExaminationReview)
                   .order_by(ExaminationReview.id)):
        exam_id, *rest = r
        exams[exam_id].reviews.append(ReviewFacts(*rest))
    item_ids = scoped(select(ExaminationItem.item_id), ExaminationItem)
    for r in _rows(select(CustodyEvent.item_id, CustodyEvent.id, CustodyEvent.seq,
                          CustodyEvent.kind, CustodyEvent.occurred_at, CustodyEvent.to_user_id,
                          CustodyEvent.to_location_id, CustodyEvent.to_agency)
                   .where(CustodyEvent.lab_id == lab_id, CustodyEvent.item_id.in_(item_ids))
                   .order_by(CustodyEvent.item_id, CustodyEvent.seq)):
        item_id, *rest = r
        facts.custody[item_id].append(CustodyFacts(*rest))
    return list(exams.values())
