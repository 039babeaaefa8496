"""Findings of the compliance engine, nonconformities and their corrective actions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ballistics.auth.models import User
from ballistics.core.enums import db_enum
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import said
from ballistics.extensions import db


class Severity(StrEnum):
    #: refused at the stage named by the rule; a finding if it slips through
    BLOCKING = "blocking"
    MAJOR = "major"
    MINOR = "minor"


class NonconformityStatus(StrEnum):
    #: recorded, no action planned yet
    OPEN = "open"
    #: corrective or preventive actions planned and under way
    ACTIONS_IN_PROGRESS = "actions_in_progress"
    #: every action verified effective and the manager closed it
    CLOSED = "closed"


class ActionKind(StrEnum):
    #: remove the cause
    CORRECTIVE = "corrective"
    #: stop it happening elsewhere
    PREVENTIVE = "preventive"


class Finding(db.Model):
    """One rule broken by one examination, judged as of the examination's date.

    Findings are derived: every evaluation replaces an examination's rows from the audited facts
    (records, custody log), so they are not audited themselves (that would log 20,000 rows per
    re-evaluation and prove nothing the facts do not).
    """

    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("examination_id", "rule_id"),
                      Index("ix_findings_lab_rule", "lab_id", "rule_id"))
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    examination_id: Mapped[int] = mapped_column(ForeignKey("examinations.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(40))
    #: copied from the rule when found
    severity: Mapped[Severity] = mapped_column(db_enum(Severity, length=10))
    #: the plain explanation with the facts, e.g. which calibration expired on which day, in
    #: English with ISO days (the API's machines and the CSV export read it)
    message: Mapped[str] = mapped_column(Text)
    #: the same sentence as its message and values (:mod:`ballistics.core.wording`), so pages
    #: say it in the reader's language; None on rows judged before it was kept (until the
    #: next evaluation replaces them)
    wording: Mapped[dict | None] = mapped_column(JSON)
    #: the records behind the finding (ids and dates), for the drill-down
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    #: the examination's date the rule was judged at
    judged_at: Mapped[datetime]
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def said(self) -> str:
        """The finding in the reader's language (the stored English on rows without a
        wording)."""
        return said(self.wording) if self.wording else self.message


class Nonconformity(db.Model):
    """A recorded nonconformity (ISO/IEC 17025 §7.10) with its corrective/preventive actions."""

    __tablename__ = "nonconformities"
    __table_args__ = (UniqueConstraint("lab_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    #: e.g. "NC-2026-0007"
    reference: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: the finding that raised it, if any (kept as facts: rule and examination)
    rule_id: Mapped[str | None] = mapped_column(String(40))
    examination_id: Mapped[int | None] = mapped_column(ForeignKey("examinations.id"))
    severity: Mapped[Severity] = mapped_column(db_enum(Severity, length=10),
                                               default=Severity.MAJOR)
    status: Mapped[NonconformityStatus] = mapped_column(db_enum(NonconformityStatus),
                                                        default=NonconformityStatus.OPEN)
    root_cause: Mapped[str] = mapped_column(Text, default="")
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]

    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id])
    actions: Mapped[list[CorrectiveAction]] = relationship(back_populates="nonconformity",
                                                           order_by="CorrectiveAction.id")


class CorrectiveAction(db.Model):
    __tablename__ = "corrective_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    nonconformity_id: Mapped[int] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    kind: Mapped[ActionKind] = mapped_column(db_enum(ActionKind))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date]
    completed_at: Mapped[datetime | None]
    completion_note: Mapped[str] = mapped_column(Text, default="")
    #: how effectiveness was verified, by whom and the verdict
    verification: Mapped[str] = mapped_column(Text, default="")
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    is_effective: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    nonconformity: Mapped[Nonconformity] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
