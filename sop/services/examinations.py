"""Examinations: start (blocked unless authorised under an SOP version in force), record steps,
complete with an AFTE conclusion, technical and administrative review, release.

Every change re-judges the examination, so its stored findings stay current.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from blinker import Namespace
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ballistics.auth.access import require_role
from ballistics.auth.models import User
from ballistics.core import timeutil
from ballistics.core.actions import action_words
from ballistics.core.errors import Conflict, Forbidden, Unprocessable
from ballistics.core.labels import label
from ballistics.evidence.holds import Hold, HoldKind, require_in_custody
from ballistics.evidence.models import Item
from ballistics.extensions import db
from sop.models import (
    AfteResult,
    Equipment,
    Examination,
    ExaminationEquipment,
    ExaminationItem,
    ExaminationReview,
    ReviewerConclusion,
    SopStep,
    SopVersion,
    StepRecord,
)
from sop.models.examinations import ExamStatus, ReviewKind, ReviewOutcome
from sop.permissions import PERFORM_EXAMINATIONS, RELEASE_REPORTS, REVIEW_TECHNICALLY, SUPERVISE
from sop.services.compliance.engine import enforce, refresh_findings
from sop.services.compliance.facts import ExamFacts, load_examinations, load_reference

_signals = Namespace()
#: sent after a technical review is appended: sender the examination, ``review`` the new row
technical_review_recorded = _signals.signal("technical-review-recorded")


#: what an id field names, as a refusal says it (not the field's name)
_WHAT = {"sop_version_id": _l("SOP version no."), "item_ids": _l("items"),
         "equipment_ids": _l("equipment")}


def _in_lab(model, ids: list[int], actor: User, field: str) -> list:
    rows = db.session.execute(select(model).where(model.lab_id == actor.lab_id,
                                                  model.id.in_(ids))).scalars().all()
    found = {r.id for r in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        listed = ", ".join(map(str, missing))
        raise Unprocessable(_("Not in your lab: %(field)s %(value)s.",
                              field=_WHAT.get(field, field), value=listed),
                            fields={field: [_("Unknown ids: %(missing)s.", missing=listed)]})
    return sorted(rows, key=lambda r: ids.index(r.id))


def start(actor: User, *, sop_version_id: int, item_ids: list[int],
          equipment_ids: list[int] | tuple = (), requested_at: datetime | None = None,
          performed_at: datetime | None = None, blind_review: bool = False) -> Examination:
    """Open an examination by the actor; the blocking rules are judged before anything is
    written (an unauthorised examiner, a version not in force or an instrument out of service
    is refused). ``blind_review``: its technical reviewers record their own conclusion before
    they see the examiner's."""
    require_role(actor, PERFORM_EXAMINATIONS, "perform examinations")
    now = timeutil.utcnow()
    performed_at = performed_at or now
    if performed_at > now:
        raise Unprocessable(_("An examination cannot start in the future."),
                            fields={"performed_at": [_("In the future.")]})
    requested_at = requested_at or performed_at
    if requested_at > performed_at:
        raise Unprocessable(_("The request cannot come after the examination started."),
                            fields={"requested_at": [_("After performed_at.")]})
    version = _in_lab(SopVersion, [sop_version_id], actor, "sop_version_id")[0]
    items = _in_lab(Item, list(dict.fromkeys(item_ids)), actor, "item_ids")
    if not items:
        raise Unprocessable(_("Name the items examined."), fields={"item_ids": [_("Required.")]})
    for item in items:
        require_in_custody(item, "new examinations")
    equipment = _in_lab(Equipment, list(dict.fromkeys(equipment_ids)), actor, "equipment_ids")
    down = [e.code for e in equipment if e.is_out_of_service]
    if down:
        raise Conflict(_("Out of service: %(value)s; it may not be used for casework.",
                         value=', '.join(down)),
                       code="equipment_out_of_service")
    facts = load_reference(actor.lab_id, now)
    enforce(ExamFacts(None, actor.id, version.id, requested_at, performed_at,
                      item_ids=[i.id for i in items], equipment_ids=[e.id for e in equipment],
                      zone=facts.zone),
            facts, "start")
    exam = Examination(lab_id=actor.lab_id, sop_version_id=version.id, examiner_id=actor.id,
                       case_id=items[0].case_id, requested_at=requested_at,
                       performed_at=performed_at, status=ExamStatus.IN_PROGRESS,
                       is_blind_review=blind_review)
    db.session.add(exam)
    db.session.flush()
    db.session.add_all([ExaminationItem(lab_id=actor.lab_id, examination_id=exam.id,
                                        item_id=i.id) for i in items])
    db.session.add_all([ExaminationEquipment(lab_id=actor.lab_id, examination_id=exam.id,
                                             equipment_id=e.id) for e in equipment])
    return _rejudged(exam)


def _rejudged(exam: Examination) -> Examination:
    db.session.flush()
    refresh_findings(exam.lab_id, [exam.id])
    db.session.expire(exam)
    return exam


def _own_open(actor: User, exam: Examination, action: str) -> None:
    require_role(actor, PERFORM_EXAMINATIONS, action)
    if exam.examiner_id != actor.id:
        raise Forbidden(_("Examination %(id)s is %(full_name)s's; only its examiner can "
                          "%(action)s.", id=exam.id, full_name=exam.examiner.full_name,
                          action=action_words(action)), code="not_examiner")
    if exam.status != ExamStatus.IN_PROGRESS:
        raise Conflict(_("Examination %(id)s is %(value)s; it can no longer be changed.",
                         id=exam.id, value=label(exam.status)), code="not_in_progress")


def record_step(actor: User, exam: Examination, *, step_id: int, value: float | None = None,
                note: str = "") -> StepRecord:
    """Record a step as done. A value outside the SOP's range is recorded as measured (it
    becomes a finding) rather than refused, so the bench record stays truthful."""
    _own_open(actor, exam, "record steps")
    step = db.session.get(SopStep, step_id)
    if step is None or step.version_id != exam.sop_version_id:
        raise Unprocessable(_("Step %(step_id)s is not a step of %(label)s.", step_id=step_id,
                              label=exam.sop_version.label),
                            fields={"step_id": [_("Not a step of this SOP version.")]})
    if step.is_value_required and value is None:
        raise Unprocessable(_("Step %(position)s needs a value (%(value_label)s).",
                              position=step.position, value_label=step.value_label),
                            fields={"value": [_("Required: %(value)s.",
                                                value=step.value_label or 'a value')]})
    done = db.session.scalar(select(StepRecord).where(StepRecord.examination_id == exam.id,
                                                      StepRecord.step_id == step.id))
    if done is not None:
        raise Conflict(_("Step %(position)s was already recorded.", position=step.position),
                       code="step_recorded")
    record = StepRecord(lab_id=exam.lab_id, examination_id=exam.id, step_id=step.id,
                        value=value, note=note, recorded_by_id=actor.id,
                        recorded_at=timeutil.utcnow())
    db.session.add(record)
    _rejudged(exam)
    return record


def complete(actor: User, exam: Examination, *, result: str, notes: str = "") -> Examination:
    _own_open(actor, exam, "complete the examination")
    exam.result = AfteResult(result)
    exam.result_notes = notes
    exam.completed_at = timeutil.utcnow()
    exam.status = ExamStatus.COMPLETED
    return _rejudged(exam)


#: a review's kind as the refusals name it, in the reader's language
_REVIEWS = {"technical review": _l("technical review"),
            "administrative review": _l("administrative review")}


def _reviewable(actor: User, exam: Examination, roles, what: str) -> None:
    require_role(actor, roles, f"do {what}s")
    if exam.examiner_id == actor.id:
        raise Forbidden(_("You performed examination %(id)s; a %(what)s must be by someone else.",
                          id=exam.id, what=_REVIEWS[what]), code="own_examination")
    if exam.status != ExamStatus.COMPLETED:
        raise Conflict(_("Examination %(id)s is %(value)s; only a completed, unreleased "
                         "examination takes a %(what)s.", id=exam.id,
                         value=label(exam.status), what=_REVIEWS[what]),
                       code="not_reviewable")


def require_authorised_reviewer(actor: User, exam: Examination, now: datetime) -> None:
    """Refuse (403) a reviewer not authorised for the examination's SOP on ``now``."""
    sop_id = exam.sop_version.sop_id
    facts = load_reference(exam.lab_id, now)
    if not any(a.covers(facts.day_of(now))
               for a in facts.authorisations.get((actor.id, sop_id), [])):
        raise Forbidden(_("You are not authorised for %(code)s, so you cannot review work under "
                          "it.", code=exam.sop_version.sop.code), code="reviewer_not_authorised")


def own_conclusion(exam: Examination, user: User) -> ReviewerConclusion | None:
    return next((c for c in exam.reviewer_conclusions if c.reviewer_id == user.id), None)


def record_reviewer_conclusion(actor: User, exam: Examination, *, result: str,
                               notes: str = "") -> ReviewerConclusion:
    """Blind verification: the reviewer's own conclusion, recorded before the examiner's is
    shown to them (once per reviewer; it stays on record whatever the review says)."""
    _reviewable(actor, exam, REVIEW_TECHNICALLY, "technical review")
    if not exam.is_blind_review:
        raise Conflict(_("Examination %(id)s is not under blind verification; record your "
                         "technical review directly.", id=exam.id), code="not_blind")
    now = timeutil.utcnow()
    require_authorised_reviewer(actor, exam, now)
    mine = own_conclusion(exam, actor)
    if mine is not None:
        raise Conflict(_("You recorded your conclusion (%(value)s) on %(recorded_at)s UTC; it is "
                         "not changed.", value=label(mine.result),
                         recorded_at=format(mine.recorded_at, '%Y-%m-%d %H:%M')),
                       code="conclusion_recorded")
    row = ReviewerConclusion(lab_id=exam.lab_id, examination_id=exam.id, reviewer_id=actor.id,
                             result=AfteResult(result), notes=notes, recorded_at=now)
    db.session.add(row)
    db.session.flush()
    db.session.expire(exam, ["reviewer_conclusions"])
    return row


def technical_review(actor: User, exam: Examination, *, outcome: str, reasons: str = ""
                     ) -> ExaminationReview:
    """Append a technical review by a different examiner authorised for the SOP (in blind
    verification, once they recorded their own conclusion)."""
    _reviewable(actor, exam, REVIEW_TECHNICALLY, "technical review")
    now = timeutil.utcnow()
    require_authorised_reviewer(actor, exam, now)
    if exam.is_blind_review and own_conclusion(exam, actor) is None:
        raise Conflict(_("Blind verification: record your own conclusion first; the examiner's "
                         "conclusion is shown to you once it is recorded."),
                       code="conclusion_first")
    if outcome == ReviewOutcome.DISAGREE and not reasons.strip():
        raise Unprocessable(_("Give the reasons for the disagreement."),
                            fields={"reasons": [_("Required when you disagree.")]})
    review = _review(actor, exam, ReviewKind.TECHNICAL, outcome, reasons, now)
    # Receivers act on the review in the same transaction (comparisons: a verified hit links
    # its two cases); a receiver that refuses raises, and the whole request rolls back.
    technical_review_recorded.send(exam, review=review)
    return review


def is_blind_to(exam: Examination, user: User) -> bool:
    """True while ``user`` may not see the examiner's conclusion: a blind verification whose
    technical review has not agreed yet, seen by anyone but the examiner before they recorded
    their own conclusion."""
    if not exam.is_blind_review or exam.examiner_id == user.id:
        return False
    if exam.status == ExamStatus.RELEASED or own_conclusion(exam, user) is not None:
        return False
    technical = [r for r in exam.reviews if r.kind == ReviewKind.TECHNICAL]
    return not (technical and technical[-1].outcome == ReviewOutcome.AGREE)


class BlindView:
    """An examination as someone still blind to it sees it: no conclusion, no notes, no
    reviews or other reviewers' conclusions (their reasons could tell it)."""

    result = None
    result_notes = ""
    reviews = ()
    reviewer_conclusions = ()
    is_result_hidden = True

    def __init__(self, exam: Examination):
        self._exam = exam

    def __getattr__(self, name: str):
        return getattr(self._exam, name)


def as_seen_by(exam: Examination, user: User) -> Examination | BlindView:
    return BlindView(exam) if is_blind_to(exam, user) else exam


def administrative_review(actor: User, exam: Examination, *, outcome: str, reasons: str = ""
                          ) -> ExaminationReview:
    _reviewable(actor, exam, SUPERVISE, "administrative review")
    if outcome == ReviewOutcome.RETURNED and not reasons.strip():
        raise Unprocessable(_("Say why the report is returned."),
                            fields={"reasons": [_("Required when you return the report.")]})
    return _review(actor, exam, ReviewKind.ADMINISTRATIVE, outcome, reasons, timeutil.utcnow())


def _review(actor, exam, kind, outcome, reasons, now) -> ExaminationReview:
    review = ExaminationReview(lab_id=exam.lab_id, examination_id=exam.id, kind=kind,
                               reviewer_id=actor.id, outcome=outcome, reasons=reasons,
                               reviewed_at=now)
    db.session.add(review)
    _rejudged(exam)
    return review


def release(actor: User, exam: Examination) -> Examination:
    """Release the report: only after an agreeing technical review and an approving
    administrative review (the release-stage blocking rules)."""
    require_role(actor, RELEASE_REPORTS, "release reports")
    if exam.status != ExamStatus.COMPLETED:
        raise Conflict(_("Examination %(id)s is %(value)s; only a completed examination can be "
                         "released.", id=exam.id, value=label(exam.status)),
                       code="not_completed")
    now = timeutil.utcnow()
    facts = load_reference(exam.lab_id, now)
    planned = load_examinations(exam.lab_id, facts, [exam.id])[0]
    planned.released_at, planned.release_planned = now, True
    enforce(planned, facts, "release")
    exam.status, exam.released_at, exam.released_by_id = (ExamStatus.RELEASED, now,
                                                          actor.id)
    return _rejudged(exam)


def open_examinations_holds(items: Sequence[Item]) -> dict[int, list[Hold]]:
    """An examination not yet released keeps its items in the lab (a source of
    :mod:`ballistics.evidence.holds`: one query for all ``items``)."""
    rows = db.session.execute(
        select(ExaminationItem.item_id, Examination.id, Examination.status).join(
            ExaminationItem, ExaminationItem.examination_id == Examination.id)
        .where(ExaminationItem.item_id.in_([item.id for item in items]),
               Examination.status != ExamStatus.RELEASED)
        .order_by(ExaminationItem.item_id, Examination.id)).all()
    holds: dict[int, list[Hold]] = defaultdict(list)
    for item_id, exam_id, status in rows:
        holds[item_id].append(Hold(HoldKind.EXAMINATION, _(
            "it is in open examination %(id)s (%(status)s)", id=exam_id, status=label(status))))
    return holds
