"""Examinations: items, SOP version, examiner, equipment, step records, result and reviews."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ballistics.auth.models import User
from ballistics.core.append_only import append_only
from ballistics.core.enums import db_enum
from ballistics.core.timeutil import utcnow
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db
from sop.models.documents import SopVersion
from sop.models.equipment import Equipment


class AfteResult(StrEnum):
    """The AFTE range of conclusions."""

    IDENTIFICATION = "identification"
    INCONCLUSIVE_A = "inconclusive_a"
    INCONCLUSIVE_B = "inconclusive_b"
    INCONCLUSIVE_C = "inconclusive_c"
    ELIMINATION = "elimination"
    UNSUITABLE = "unsuitable"


class ExamStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    RELEASED = "released"


class ReviewKind(StrEnum):
    TECHNICAL = "technical"
    ADMINISTRATIVE = "administrative"


class ReviewOutcome(StrEnum):
    #: technical review
    AGREE = "agree"
    DISAGREE = "disagree"
    #: administrative review
    APPROVED = "approved"
    RETURNED = "returned"


class Examination(db.Model):
    __tablename__ = "examinations"
    __table_args__ = (Index("ix_examinations_lab_performed", "lab_id", "performed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    sop_version_id: Mapped[int] = mapped_column(ForeignKey("sop_versions.id"), index=True)
    examiner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[ExamStatus] = mapped_column(db_enum(ExamStatus),
                                               default=ExamStatus.IN_PROGRESS)
    #: when the work was requested: turnaround is counted from here
    requested_at: Mapped[datetime]
    #: when the examination started; every rule is judged as of this moment
    performed_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    #: set on completion
    result: Mapped[AfteResult | None] = mapped_column(db_enum(AfteResult))
    result_notes: Mapped[str] = mapped_column(Text, default="")
    released_at: Mapped[datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: blind verification: a technical reviewer records their own conclusion before the
    #: examiner's is shown to them (see ReviewerConclusion)
    is_blind_review: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case | None] = relationship()
    sop_version: Mapped[SopVersion] = relationship()
    examiner: Mapped[User] = relationship(foreign_keys=[examiner_id])
    items: Mapped[list[Item]] = relationship(secondary="examination_items", viewonly=True,
                                             order_by="Item.id")
    equipment: Mapped[list[Equipment]] = relationship(secondary="examination_equipment",
                                                      viewonly=True, order_by="Equipment.code")
    step_records: Mapped[list[StepRecord]] = relationship(order_by="StepRecord.id",
                                                          viewonly=True)
    reviews: Mapped[list[ExaminationReview]] = relationship(order_by="ExaminationReview.id",
                                                            viewonly=True)
    reviewer_conclusions: Mapped[list[ReviewerConclusion]] = relationship(
        order_by="ReviewerConclusion.id", viewonly=True)


class ExaminationItem(db.Model):
    __tablename__ = "examination_items"
    __table_args__ = (UniqueConstraint("examination_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    examination_id: Mapped[int] = mapped_column(ForeignKey("examinations.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)


class ExaminationEquipment(db.Model):
    __tablename__ = "examination_equipment"
    __table_args__ = (UniqueConstraint("examination_id", "equipment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    examination_id: Mapped[int] = mapped_column(ForeignKey("examinations.id"), index=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)


class StepRecord(db.Model):
    """A required step done, with its measured value where the step asks for one."""

    __tablename__ = "step_records"
    __table_args__ = (UniqueConstraint("examination_id", "step_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    examination_id: Mapped[int] = mapped_column(ForeignKey("examinations.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("sop_steps.id"))
    value: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


@append_only
class ExaminationReview(db.Model):
    """A technical or administrative review. Append-only: a disagreement stays on record and a
    later review is a new row; the latest row of each kind is the one that counts."""

    __tablename__ = "examination_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    examination_id: Mapped[int] = mapped_column(ForeignKey("examinations.id"), index=True)
    kind: Mapped[ReviewKind] = mapped_column(db_enum(ReviewKind))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: technical: agree / disagree; administrative: approved / returned
    outcome: Mapped[ReviewOutcome] = mapped_column(db_enum(ReviewOutcome))
    #: why (required for a disagreement or a return)
    reasons: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User] = relationship()


@append_only
class ReviewerConclusion(db.Model):
    """A technical reviewer's own conclusion in a blind verification, recorded before the
    examiner's conclusion is shown to them. Append-only, one per reviewer and examination: it
    stays on record beside the review that follows, whatever that review says."""

    __tablename__ = "reviewer_conclusions"
    __table_args__ = (UniqueConstraint("examination_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    examination_id: Mapped[int] = mapped_column(ForeignKey("examinations.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    result: Mapped[AfteResult] = mapped_column(db_enum(AfteResult))
    #: the basis for it, in the reviewer's words
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User] = relationship()
