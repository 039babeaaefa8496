"""Document control: SOPs, their versions, required steps and read-and-acknowledge records."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ballistics.auth.models import User
from ballistics.core.enums import db_enum
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db


class VersionStatus(StrEnum):
    DRAFT = "draft"
    #: sent for review: another manager reads it and approves it (or not)
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    EFFECTIVE = "effective"
    SUPERSEDED = "superseded"
    RETIRED = "retired"


class Sop(db.Model):
    """A standard operating procedure adopted by one lab (each lab versions its own copy)."""

    __tablename__ = "sops"
    __table_args__ = (UniqueConstraint("lab_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    #: short stable code, e.g. "FA-07"
    code: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    #: e.g. "firearms", "quality", "safety"
    discipline: Mapped[str] = mapped_column(String(60), default="firearms")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[SopVersion]] = relationship(back_populates="sop",
                                                      order_by="SopVersion.number")


class SopVersion(db.Model):
    """One version of an SOP: draft → in review → approved → effective → superseded or retired.

    ``effective_from``/``effective_until`` keep the dates the version was in force, so a past
    examination is judged against the version that applied on its own date.
    """

    __tablename__ = "sop_versions"
    __table_args__ = (UniqueConstraint("sop_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    sop_id: Mapped[int] = mapped_column(ForeignKey("sops.id"), index=True)
    #: 1, 2, 3 … per SOP
    number: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(db_enum(VersionStatus),
                                                  default=VersionStatus.DRAFT)
    summary: Mapped[str] = mapped_column(Text, default="")
    #: the procedure text (scope, principle, safety, procedure, records)
    body: Mapped[str] = mapped_column(Text, default="")
    #: days from request to report release that the lab aims for under this SOP (None: no target)
    turnaround_days: Mapped[int | None]
    #: None when the version came from the shipped library (authored by the programme)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    #: first day the version is in force
    effective_from: Mapped[date | None]
    #: first day it is no longer in force (superseded or retired); None while in force
    effective_until: Mapped[date | None]
    #: date by which the version must be reviewed again
    review_due: Mapped[date | None]
    #: "library:<file>#<sha256>" for versions loaded from the shipped library
    source: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sop: Mapped[Sop] = relationship(back_populates="versions")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    steps: Mapped[list[SopStep]] = relationship(back_populates="version",
                                                order_by="SopStep.position",
                                                cascade="all, delete-orphan")

    @property
    def label(self) -> str:
        return f"{self.sop.code} v{self.number}"


class SopStep(db.Model):
    """A required step of a version; some need a measured value within a range."""

    __tablename__ = "sop_steps"
    __table_args__ = (UniqueConstraint("version_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("sop_versions.id"), index=True)
    #: 1-based order within the version
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    instruction: Mapped[str] = mapped_column(Text, default="")
    #: True when the step must be recorded with a measured value (e.g. test-fire count)
    is_value_required: Mapped[bool] = mapped_column(default=False)
    value_label: Mapped[str] = mapped_column(String(120), default="")
    unit: Mapped[str] = mapped_column(String(30), default="")
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)

    version: Mapped[SopVersion] = relationship(back_populates="steps")


class SopAcknowledgement(db.Model):
    """An examiner read and acknowledged a version (once per person and version)."""

    __tablename__ = "sop_acknowledgements"
    __table_args__ = (UniqueConstraint("version_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("sop_versions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)
