"""Confirming a lead: the examiner's microscope comparison is an examination under the lab's
hit-confirmation SOP, and its technical review is work the reviewer does.

The examiner records the examination (both items, the equipment, the steps, the AFTE
conclusion) through the SOP services, so every SOP rule applies: an examiner not authorised for
the SOP, a version not in force, an instrument out of service or a disposed item is refused.
An authorised reviewer other than the examiner then logs in and agrees or disagrees, with
reasons, through the SOP's technical review (append-only: a disagreement stays on record and a
later review is a new row). Only an agreeing review of an identification links the two cases
(:func:`settle`, called on every technical review). With blind verification the reviewer
records their own conclusion before they see the examiner's.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ballistics.auth.access import require_role
from ballistics.auth.models import Lab, User
from ballistics.comparisons.models import (
    Candidate,
    CaseLink,
    ComparisonSettings,
    Confirmation,
    ConfirmationStatus,
    Decision,
    LinkConclusion,
)
from ballistics.comparisons.permissions import CONFIGURE_COMPARISONS, REVIEW_CANDIDATES
from ballistics.comparisons.review import case_of_scan
from ballistics.core import timeutil
from ballistics.core.errors import Conflict, Unprocessable
from ballistics.core.labels import label
from ballistics.extensions import db
from sop.models import AfteResult, Examination, ExaminationReview, Sop, SopVersion, VersionStatus
from sop.models.examinations import ReviewOutcome
from sop.services import examinations

#: a confirmation a reviewer may still act on
OPEN = (ConfirmationStatus.AWAITING_REVIEW, ConfirmationStatus.DISPUTED)


def settings_of(lab_id: int) -> ComparisonSettings:
    """The lab's settings (unsaved defaults when a manager never saved them)."""
    return db.session.get(ComparisonSettings, lab_id) or ComparisonSettings(
        lab_id=lab_id, confirmation_sop_id=None, is_blind_verification=False)


def update_settings(actor: User, *, confirmation_sop_id: int | None,
                    is_blind_verification: bool) -> ComparisonSettings:
    require_role(actor, CONFIGURE_COMPARISONS, "change the comparison settings")
    if confirmation_sop_id is not None:
        sop = db.session.get(Sop, confirmation_sop_id)
        if sop is None or sop.lab_id != actor.lab_id:
            raise Unprocessable(_("SOP %(confirmation_sop_id)s is not an SOP of your lab.",
                                  confirmation_sop_id=confirmation_sop_id),
                                fields={"confirmation_sop_id": [_("Unknown SOP in this lab.")]})
    row = db.session.get(ComparisonSettings, actor.lab_id)
    if row is None:
        row = ComparisonSettings(lab_id=actor.lab_id)
        db.session.add(row)
    row.confirmation_sop_id, row.is_blind_verification = (confirmation_sop_id,
                                                          is_blind_verification)
    row.updated_by_id, row.updated_at = actor.id, timeutil.utcnow()
    db.session.flush()
    return row


def confirmation_version(lab_id: int) -> SopVersion:
    """The version of the lab's hit-confirmation SOP in force today, or a refusal that says
    what the lab must do."""
    settings = settings_of(lab_id)
    if settings.confirmation_sop_id is None:
        raise Conflict(_("Your lab has not chosen the SOP that leads are confirmed under; a lab "
                         "manager chooses it in the comparison settings (e.g. FA-09 Hit "
                         "confirmation)."), code="no_confirmation_sop")
    today = db.session.get(Lab, lab_id).today()  # the lab's day, as versions are put in force
    version = db.session.scalar(select(SopVersion).where(
        SopVersion.sop_id == settings.confirmation_sop_id,
        SopVersion.status == VersionStatus.EFFECTIVE, SopVersion.effective_from <= today))
    if version is None:
        sop = settings.confirmation_sop
        raise Conflict(_("The hit-confirmation SOP %(code)s (%(title)s) has no version in force "
                         "today; a lab manager puts one in force before leads are confirmed.",
                         code=sop.code, title=sop.title), code="no_confirmation_sop_version")
    return version


def open_confirmation(candidate: Candidate) -> Confirmation | None:
    return db.session.scalar(select(Confirmation).where(
        Confirmation.candidate_id == candidate.id, Confirmation.status.in_(OPEN)))


def confirmations_of(candidate: Candidate) -> list[Confirmation]:
    return list(db.session.scalars(select(Confirmation).where(
        Confirmation.candidate_id == candidate.id).order_by(Confirmation.id)))


def confirm(actor: User, candidate: Candidate, *, conclusion: str,
            equipment_ids: list[int] | tuple = (), steps: list[dict] | tuple = (),
            notes: str = "") -> Confirmation:
    """Record the examiner's microscope comparison of a lead as a completed examination under
    the hit-confirmation SOP, waiting for its technical review. Links nothing."""
    require_role(actor, REVIEW_CANDIDATES, "confirm leads")
    if candidate.decision != Decision.POTENTIAL_LEAD:
        raise Conflict(_("Only a candidate marked as a potential lead is confirmed at the "
                         "microscope."), code="not_a_lead")
    current = open_confirmation(candidate)
    if current is not None:
        raise Conflict(_("Candidate %(rank)s is already being verified (examination "
                         "%(examination_id)s, %(value)s).", rank=candidate.rank,
                         examination_id=current.examination_id,
                         value=label(current.status)),
                       code="confirmation_open")
    version = confirmation_version(candidate.lab_id)
    items = [candidate.search.query_scan.item, candidate.reference_scan.item]
    exam = examinations.start(actor, sop_version_id=version.id,
                              item_ids=[item.id for item in items],
                              equipment_ids=list(equipment_ids),
                              blind_review=settings_of(candidate.lab_id).is_blind_verification)
    for step in steps:
        examinations.record_step(actor, exam, step_id=step["step_id"], value=step.get("value"),
                                 note=step.get("note", ""))
    examinations.complete(actor, exam, result=conclusion, notes=notes)
    row = Confirmation(lab_id=candidate.lab_id, candidate_id=candidate.id,
                       examination_id=exam.id, status=ConfirmationStatus.AWAITING_REVIEW,
                       created_by_id=actor.id, created_at=timeutil.utcnow())
    db.session.add(row)
    db.session.flush()
    return row


def settle(exam: Examination, *, review: ExaminationReview) -> None:
    """On every technical review: a confirmation follows its latest review. Agreement with an
    identification links the two cases; an elimination closes the lead as no association; a
    disagreement leaves the confirmation disputed for another review. A verified confirmation
    is not reopened by a later review: withdrawing its link takes a reviewed correction."""
    row = db.session.scalar(select(Confirmation).where(Confirmation.examination_id == exam.id))
    if row is None:
        return
    if row.status == ConfirmationStatus.VERIFIED:
        raise Conflict(_("Examination %(id)s was verified on %(reviewed_at)s; a later review does"
                         " not undo it. Ask for a correction of the case link instead.",
                         id=exam.id, reviewed_at=format(row.reviewed_at, '%Y-%m-%d')),
                       code="already_verified")
    now = timeutil.utcnow()
    row.reviewed_at = now
    if review.outcome != ReviewOutcome.AGREE:
        row.status = ConfirmationStatus.DISPUTED
        return
    row.status = ConfirmationStatus.VERIFIED
    candidate = row.candidate
    if exam.result == AfteResult.IDENTIFICATION:
        candidate.decision = Decision.CONFIRMED
    elif exam.result == AfteResult.ELIMINATION:
        candidate.decision = Decision.NO_ASSOCIATION
    else:  # inconclusive or unsuitable: the lead stays open for further work
        return
    candidate.decided_by_id, candidate.decided_at = exam.examiner_id, now
    if candidate.decision == Decision.CONFIRMED:
        _link(candidate, exam, review, now)


def _link(candidate: Candidate, exam: Examination, review: ExaminationReview, now) -> None:
    query_case = case_of_scan(candidate.search.query_scan_id)
    ref_case = case_of_scan(candidate.reference_scan_id)
    if query_case.id == ref_case.id:
        return  # both exhibits of one case: nothing to link
    a, b = sorted((query_case.id, ref_case.id))
    db.session.add(CaseLink(lab_id=candidate.lab_id, case_a_id=a, case_b_id=b,
                            candidate_id=candidate.id, examination_id=exam.id,
                            review_id=review.id, conclusion=LinkConclusion.IDENTIFICATION,
                            confirmed_by_id=exam.examiner_id, reviewed_by_id=review.reviewer_id,
                            created_at=now))
    db.session.flush()


def queue(actor: User) -> list[Confirmation]:
    """Confirmations of the actor's lab waiting for a technical review (or disputed), oldest
    first."""
    return list(db.session.scalars(select(Confirmation).where(
        Confirmation.lab_id == actor.lab_id, Confirmation.status.in_(OPEN))
        .order_by(Confirmation.created_at, Confirmation.id)))
