"""Complaints (ISO/IEC 17025 §7.9): received -> acknowledged -> under investigation -> decided
-> closed, each step by a permitted role, refused out of order.

Impartiality (§7.9.6): nobody involved in the activities complained of (the examiner, a
reviewer or the releaser of an examination on a case the complaint concerns) investigates it,
decides it or approves what the complainant is told at its end; and whoever recorded it (the
person the complainant dealt with) does not approve its outcome either.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ballistics.auth.access import colleague, require_role
from ballistics.auth.models import User
from ballistics.core import timeutil
from ballistics.core.errors import Conflict, Forbidden, Unprocessable
from ballistics.core.labels import label
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db
from sop.models import (
    Complaint,
    ComplaintCase,
    ComplaintContact,
    Examination,
    ExaminationItem,
    ExaminationReview,
    ReviewerConclusion,
)
from sop.models.complaints import ComplaintDecision, ComplaintStatus, ContactKind
from sop.permissions import MANAGE_QUALITY, RECORD_COMPLAINTS
from sop.services import quality
from sop.services.references import next_reference

S = ComplaintStatus


def _step(complaint: Complaint, *allowed: ComplaintStatus) -> None:
    """Refuse a step the complaint's status does not allow (nothing is written)."""
    if complaint.status not in allowed:
        raise Conflict(_("%(reference)s is %(status)s; this step needs it to be %(needed)s.",
                         reference=complaint.reference, status=label(complaint.status),
                         needed=_(" or ").join(label(s) for s in allowed)),
                       code="wrong_status")


def _day(actor: User, day: date, field: str, *, not_before: date | None = None) -> None:
    if day > actor.lab.today():
        raise Unprocessable(_("A complaint's date cannot be in the future."),
                            fields={field: [_("In the future.")]})
    if not_before is not None and day < not_before:
        raise Unprocessable(_("The date is before %(day)s.", day=not_before.isoformat()),
                            fields={field: [_("Before %(day)s.", day=not_before.isoformat())]})


def involved_ids(complaint: Complaint) -> set[int]:
    """Everyone who examined, reviewed or released an examination on a case the complaint
    concerns (through the examination's case or its items)."""
    case_ids = [c.id for c in complaint.cases]
    if not case_ids:
        return set()
    by_items = (select(ExaminationItem.examination_id).join(Item, Item.id ==
                                                              ExaminationItem.item_id)
                .where(Item.case_id.in_(case_ids)))
    exams = db.session.execute(select(Examination.id, Examination.examiner_id,
                                      Examination.released_by_id).where(
        Examination.lab_id == complaint.lab_id,
        or_(Examination.case_id.in_(case_ids), Examination.id.in_(by_items)))).all()
    exam_ids = [e.id for e in exams]
    people = {e.examiner_id for e in exams} | {e.released_by_id for e in exams}
    if exam_ids:
        people |= set(db.session.scalars(select(ExaminationReview.reviewer_id).where(
            ExaminationReview.examination_id.in_(exam_ids))))
        people |= set(db.session.scalars(select(ReviewerConclusion.reviewer_id).where(
            ReviewerConclusion.examination_id.in_(exam_ids))))
    people.discard(None)
    return people


def _impartial(complaint: Complaint, user: User, *, field: str, approving: bool) -> None:
    """§7.9.6: refuse ``user`` for this complaint when involved in what it is about (and, for
    approving its outcome, when they recorded it)."""
    if user.id in involved_ids(complaint):
        message = _("%(name)s examined, reviewed or released work on a case this complaint "
                    "concerns, so cannot take part in handling it.", name=user.full_name)
        fields = {field: [_("Involved in the activities complained of.")]}
        # A person chosen in a field is bad input (422); the caller themself is a conflict
        # with the record (409).
        if field == "actor":
            raise Conflict(message, fields=fields, code="not_impartial")
        raise Unprocessable(message, fields=fields)
    if approving and user.id == complaint.recorded_by_id:
        raise Conflict(_("%(name)s recorded this complaint for the complainant; another "
                         "manager must approve its outcome.", name=user.full_name),
                       fields={field: [_("Recorded the complaint.")]}, code="not_impartial")


def _cases(actor: User, case_ids: Iterable[int]) -> list[Case]:
    wanted = list(dict.fromkeys(case_ids))
    if not wanted:
        return []
    found = {c.id: c for c in db.session.scalars(select(Case).where(
        Case.lab_id == actor.lab_id, Case.id.in_(wanted)))}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise Unprocessable(_("No case %(ids)s in your lab.",
                              ids=", ".join(str(i) for i in missing)),
                            fields={"case_ids": [_("Unknown case in this lab.")]})
    return [found[i] for i in wanted]


def record(actor: User, *, received_on: date, complainant_name: str, complainant_kind: str,
           channel: str, subject: str, complainant_organisation: str = "",
           case_ids: Iterable[int] = ()) -> Complaint:
    """Register a complaint as received, with the lab's cases it concerns."""
    require_role(actor, RECORD_COMPLAINTS, "record complaints")
    _day(actor, received_on, "received_on")
    cases = _cases(actor, case_ids)
    complaint = Complaint(lab_id=actor.lab_id,
                          reference=next_reference(Complaint, actor.lab_id,
                                                    f"CP-{received_on.year}-"),
                          received_on=received_on, complainant_name=complainant_name,
                          complainant_organisation=complainant_organisation,
                          complainant_kind=complainant_kind, channel=channel, subject=subject,
                          recorded_by_id=actor.id, recorded_at=timeutil.utcnow())
    db.session.add(complaint)
    db.session.flush()
    db.session.add_all(ComplaintCase(lab_id=actor.lab_id, complaint_id=complaint.id,
                                     case_id=c.id) for c in cases)
    db.session.flush()
    db.session.expire(complaint, ["cases"])
    return complaint


def _contact(actor: User, complaint: Complaint, kind: ContactKind, day: date,
             note: str) -> ComplaintContact:
    contact = ComplaintContact(lab_id=complaint.lab_id, complaint_id=complaint.id, kind=kind,
                               contacted_on=day, note=note, recorded_by_id=actor.id)
    db.session.add(contact)
    db.session.flush()
    db.session.expire(complaint, ["contacts"])
    return contact


def acknowledge(actor: User, complaint: Complaint, *, acknowledged_on: date,
                note: str = "") -> Complaint:
    """§7.9.5: receipt acknowledged to the complainant."""
    require_role(actor, RECORD_COMPLAINTS, "acknowledge complaints")
    _step(complaint, S.RECEIVED)
    _day(actor, acknowledged_on, "acknowledged_on", not_before=complaint.received_on)
    complaint.acknowledged_on, complaint.status = acknowledged_on, S.ACKNOWLEDGED
    _contact(actor, complaint, ContactKind.ACKNOWLEDGMENT, acknowledged_on, note)
    return complaint


def inform(actor: User, complaint: Complaint, *, contacted_on: date,
           note: str) -> ComplaintContact:
    """§7.9.5: the complainant kept informed of progress while the complaint is handled."""
    require_role(actor, RECORD_COMPLAINTS, "inform complainants")
    _step(complaint, S.ACKNOWLEDGED, S.UNDER_INVESTIGATION, S.DECIDED)
    _day(actor, contacted_on, "contacted_on", not_before=complaint.received_on)
    return _contact(actor, complaint, ContactKind.PROGRESS, contacted_on, note)


def reject(actor: User, complaint: Complaint, *, reason: str,
           communicated_on: date) -> Complaint:
    """Validation: the complaint does not concern activities the lab is responsible for; it is
    closed as not upheld with the reason, which the complainant is told."""
    require_role(actor, MANAGE_QUALITY, "close complaints")
    _step(complaint, S.ACKNOWLEDGED)
    _impartial(complaint, actor, field="actor", approving=True)
    _day(actor, communicated_on, "communicated_on", not_before=complaint.acknowledged_on)
    now = timeutil.utcnow()
    complaint.is_within_scope, complaint.decision = False, ComplaintDecision.NOT_UPHELD
    complaint.outcome, complaint.decided_by_id, complaint.decided_at = reason, actor.id, now
    complaint.closed_on, complaint.closed_by_id = communicated_on, actor.id
    complaint.status = S.CLOSED
    _contact(actor, complaint, ContactKind.OUTCOME, communicated_on, reason)
    return complaint


def assign(actor: User, complaint: Complaint, *, investigator_id: int) -> Complaint:
    """Validation passed: the complaint concerns the lab's activities; a lab manager assigns an
    investigator who was not involved in them (a reassignment while under investigation too)."""
    require_role(actor, MANAGE_QUALITY, "assign complaint investigators")
    _step(complaint, S.ACKNOWLEDGED, S.UNDER_INVESTIGATION)
    investigator = colleague(investigator_id, actor, field="investigator_id")
    _impartial(complaint, investigator, field="investigator_id", approving=False)
    complaint.is_within_scope, complaint.investigator_id = True, investigator.id
    complaint.assigned_by_id, complaint.assigned_at = actor.id, timeutil.utcnow()
    complaint.status = S.UNDER_INVESTIGATION
    db.session.flush()
    return complaint


def decide(actor: User, complaint: Complaint, *, decision: str, outcome: str,
           raise_nonconformity: bool = False) -> Complaint:
    """The investigator's (or a lab manager's) decision; an upheld complaint may raise a
    nonconformity (a lab manager's to record)."""
    _step(complaint, S.UNDER_INVESTIGATION)
    if actor.id != complaint.investigator_id and not actor.has_role(*MANAGE_QUALITY):
        raise Forbidden(_("Only the complaint's investigator or a lab manager can decide it."),
                        code="not_investigator")
    _impartial(complaint, actor, field="actor", approving=False)
    if raise_nonconformity and decision != ComplaintDecision.UPHELD:
        raise Unprocessable(_("Only an upheld complaint raises a nonconformity."),
                            fields={"raise_nonconformity": [_("Only when upheld.")]})
    if raise_nonconformity:
        complaint.nonconformity = quality.open_nonconformity(
            actor, title=_("Complaint %(reference)s upheld", reference=complaint.reference),
            description=outcome)
    complaint.decision, complaint.outcome = decision, outcome
    complaint.decided_by_id, complaint.decided_at = actor.id, timeutil.utcnow()
    complaint.status = S.DECIDED
    db.session.flush()
    return complaint


def close(actor: User, complaint: Complaint, *, communicated_on: date,
          note: str = "") -> Complaint:
    """§7.9.7: the formal end communicated to the complainant, approved by a lab manager who
    neither took part in the work complained of nor recorded the complaint."""
    require_role(actor, MANAGE_QUALITY, "close complaints")
    _step(complaint, S.DECIDED)
    _impartial(complaint, actor, field="actor", approving=True)
    _day(actor, communicated_on, "communicated_on",
         not_before=complaint.decided_at.date() if complaint.decided_at else None)
    complaint.closed_on, complaint.closed_by_id = communicated_on, actor.id
    complaint.status = S.CLOSED
    _contact(actor, complaint, ContactKind.OUTCOME, communicated_on, note or complaint.outcome)
    return complaint


def working_days_after(day: date, n: int) -> date:
    """The ``n``-th working day (Monday to Friday) after ``day``."""
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def acknowledgment_due(complaint: Complaint) -> date:
    return working_days_after(complaint.received_on,
                              current_app.config["COMPLAINT_ACK_WORKING_DAYS"])


def is_acknowledgment_overdue(complaint: Complaint, today: date) -> bool:
    return complaint.status == S.RECEIVED and acknowledgment_due(complaint) < today


def register(actor: User, *, status: str | None = None, overdue: bool = False
             ) -> list[Complaint]:
    """The lab's complaints, newest first; by status, or only those whose acknowledgment is
    overdue."""
    require_role(actor, MANAGE_QUALITY, "see complaints")
    stmt = select(Complaint).where(Complaint.lab_id == actor.lab_id)
    if status:
        stmt = stmt.where(Complaint.status == status)
    if overdue:
        stmt = stmt.where(Complaint.status == S.RECEIVED)
    rows = db.session.scalars(stmt.order_by(Complaint.received_on.desc(),
                                            Complaint.id.desc())).all()
    if overdue:
        today = actor.lab.today()
        rows = [c for c in rows if is_acknowledgment_overdue(c, today)]
    return rows


def open_count(lab_id: int) -> int:
    """Complaints not yet closed (the nonconformities page links them)."""
    return db.session.scalar(select(func.count(Complaint.id)).where(
        Complaint.lab_id == lab_id, Complaint.status != S.CLOSED))


def can_see(actor: User, complaint: Complaint) -> bool:
    """A lab manager, whoever recorded it, and its investigator."""
    return actor.has_role(*MANAGE_QUALITY) or actor.id in (complaint.recorded_by_id,
                                                          complaint.investigator_id)
