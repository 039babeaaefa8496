"""Personnel records: training, competency assessments, proficiency tests, authorisations."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ballistics.auth.models import User
from ballistics.core.enums import db_enum
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db


class AssessmentStatus(StrEnum):
    #: the examiner has rated themself; the supervisor has not yet
    SELF_ASSESSED = "self_assessed"
    COMPLETED = "completed"


class TrainingRecord(db.Model):
    __tablename__ = "training_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: the SOP trained on, if the training was SOP-specific
    sop_id: Mapped[int | None] = mapped_column(ForeignKey("sops.id"))
    title: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200), default="")
    completed_on: Mapped[date]
    hours: Mapped[float | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CompetencyAssessment(db.Model):
    """One sitting of the examiner assessment tool: the examiner rates themself per area, then a
    supervisor rates the same areas and the outcome follows from the supervisor's scores."""

    __tablename__ = "competency_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    #: the examiner assessed
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assessed_on: Mapped[date]
    status: Mapped[AssessmentStatus] = mapped_column(db_enum(AssessmentStatus),
                                                     default=AssessmentStatus.SELF_ASSESSED)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supervised_at: Mapped[datetime | None]
    #: True when every area was rated competent (or better) by the supervisor
    is_competent: Mapped[bool] = mapped_column(default=False)
    #: last day the outcome counts as current
    valid_until: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    supervisor: Mapped[User | None] = relationship(foreign_keys=[supervisor_id])
    ratings: Mapped[list[CompetencyRating]] = relationship(
        back_populates="assessment", order_by="CompetencyRating.id", cascade="all, delete-orphan")


class CompetencyRating(db.Model):
    __tablename__ = "competency_ratings"
    __table_args__ = (UniqueConstraint("assessment_id", "area"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("competency_assessments.id"),
                                               index=True)
    #: a code of sop.services.personnel.COMPETENCY_AREAS
    area: Mapped[str] = mapped_column(String(40))
    #: 1..4 on sop.services.personnel.SCALE, as the examiner sees themself
    self_score: Mapped[int]
    #: 1..4, the supervisor's rating (None until the supervisor has rated)
    supervisor_score: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")

    assessment: Mapped[CompetencyAssessment] = relationship(back_populates="ratings")


class ProficiencyTest(db.Model):
    __tablename__ = "proficiency_tests"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: the external provider, e.g. an accredited PT scheme
    provider: Mapped[str] = mapped_column(String(200))
    #: the provider's test or round reference
    test_ref: Mapped[str] = mapped_column(String(80), default="")
    taken_on: Mapped[date]
    is_satisfactory: Mapped[bool]
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Authorisation(db.Model):
    """Permission for a person to perform casework under one SOP, for a period."""

    __tablename__ = "authorisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    sop_id: Mapped[int] = mapped_column(ForeignKey("sops.id"), index=True)
    starts_on: Mapped[date]
    #: last day of the authorisation
    expires_on: Mapped[date]
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: set when withdrawn early; the authorisation ends the day before
    revoked_on: Mapped[date | None]
    revoked_reason: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    granted_by: Mapped[User] = relationship(foreign_keys=[granted_by_id])

    def covers(self, day: date) -> bool:
        end_ok = day <= self.expires_on and (self.revoked_on is None or day < self.revoked_on)
        return self.starts_on <= day and end_ok
