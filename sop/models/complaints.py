"""Complaints about the lab's work (ISO/IEC 17025 §7.9): the register, the cases a complaint
concerns and what the complainant was told."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ballistics.auth.models import User
from ballistics.core.append_only import append_only
from ballistics.core.enums import db_enum
from ballistics.core.timeutil import utcnow
from ballistics.evidence.models import Case
from ballistics.extensions import db
from sop.models.quality import Nonconformity


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    #: receipt acknowledged to the complainant (§7.9.5)
    ACKNOWLEDGED = "acknowledged"
    #: found to concern the lab's activities; an investigator is assigned
    UNDER_INVESTIGATION = "under_investigation"
    #: upheld or not upheld, with the outcome
    DECIDED = "decided"
    #: the formal end communicated to the complainant (§7.9.7)
    CLOSED = "closed"


class ComplaintDecision(StrEnum):
    UPHELD = "upheld"
    NOT_UPHELD = "not_upheld"


class ComplainantKind(StrEnum):
    COURT = "court"
    PROSECUTOR = "prosecutor"
    POLICE = "police"
    DEFENCE = "defence"
    LABORATORY = "laboratory"
    OTHER = "other"


class ComplaintChannel(StrEnum):
    LETTER = "letter"
    EMAIL = "email"
    PHONE = "phone"
    IN_PERSON = "in_person"
    OTHER = "other"


class ContactKind(StrEnum):
    #: receipt acknowledged
    ACKNOWLEDGMENT = "acknowledgment"
    #: the complainant kept informed of progress
    PROGRESS = "progress"
    #: the outcome and the formal end of the handling
    OUTCOME = "outcome"


class Complaint(db.Model):
    """One complaint and where its handling stands. The steps fill their columns once each (the
    service refuses a step out of order), and every change is in the audit log."""

    __tablename__ = "complaints"
    __table_args__ = (UniqueConstraint("lab_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    #: e.g. "CP-2026-0003"
    reference: Mapped[str] = mapped_column(String(30))
    received_on: Mapped[date]
    complainant_name: Mapped[str] = mapped_column(String(200))
    complainant_organisation: Mapped[str] = mapped_column(String(200), default="")
    complainant_kind: Mapped[ComplainantKind] = mapped_column(db_enum(ComplainantKind))
    channel: Mapped[ComplaintChannel] = mapped_column(db_enum(ComplaintChannel))
    #: what the complaint is about, in the complainant's terms
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[ComplaintStatus] = mapped_column(db_enum(ComplaintStatus),
                                                    default=ComplaintStatus.RECEIVED)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_on: Mapped[date | None]
    #: False once found not to concern activities the lab is responsible for (then closed as
    #: not upheld); True once an investigator is assigned
    is_within_scope: Mapped[bool | None]
    investigator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime | None]
    decision: Mapped[ComplaintDecision | None] = mapped_column(db_enum(ComplaintDecision))
    #: the outcome (or why the complaint is outside the lab's responsibility)
    outcome: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    #: raised from an upheld complaint
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"))
    #: the day the formal end was communicated, and the manager who approved it
    closed_on: Mapped[date | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    investigator: Mapped[User | None] = relationship(foreign_keys=[investigator_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    nonconformity: Mapped[Nonconformity | None] = relationship()
    cases: Mapped[list[Case]] = relationship(secondary="complaint_cases", viewonly=True,
                                             order_by="Case.id")
    contacts: Mapped[list[ComplaintContact]] = relationship(order_by="ComplaintContact.id",
                                                            viewonly=True)


class ComplaintCase(db.Model):
    """A case of the lab the complaint concerns (set when it is recorded)."""

    __tablename__ = "complaint_cases"
    __table_args__ = (UniqueConstraint("complaint_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)


@append_only
class ComplaintContact(db.Model):
    """What the complainant was told and when (§7.9.5, §7.9.7). Append-only: what was said to
    a court or a defence stays as it was said."""

    __tablename__ = "complaint_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[ContactKind] = mapped_column(db_enum(ContactKind))
    contacted_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    recorded_by: Mapped[User] = relationship()
