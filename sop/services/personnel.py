"""Personnel: training, the competency assessment tool, proficiency tests, authorisations."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ballistics.auth.access import colleague, get_in_lab, require_role
from ballistics.auth.models import User
from ballistics.core import timeutil
from ballistics.core.errors import Conflict, Forbidden, Unprocessable
from ballistics.core.labels import label as code_label
from ballistics.extensions import db
from sop.models import (
    Authorisation,
    CompetencyAssessment,
    CompetencyRating,
    ProficiencyTest,
    Sop,
    TrainingRecord,
)
from sop.models.personnel import AssessmentStatus
from sop.permissions import MANAGE_QUALITY, PERFORM_EXAMINATIONS, SUPERVISE

#: the areas of the examiner assessment tool (code, what is assessed)
COMPETENCY_AREAS = (
    ("evidence_handling", _l("Evidence handling and chain of custody")),
    ("firearm_safety", _l("Firearm safety and function testing")),
    ("test_firing", _l("Test firing and test-fire recovery")),
    ("class_characteristics", _l("Class characteristics and general rifling data")),
    ("microscopy", _l("Comparison microscopy technique")),
    ("interpretation", _l("Interpretation and AFTE conclusions")),
    ("imaging", _l("2D/3D imaging and database entry")),
    ("documentation", _l("Bench notes and documentation")),
    ("report_writing", _l("Report writing")),
    ("testimony", _l("Court testimony")),
)
AREA_CODES = tuple(code for code, _ in COMPETENCY_AREAS)
#: the rating scale (score → meaning); 3 or more from the supervisor in every area = competent
SCALE = {1: _l("Awareness: needs direct supervision"), 2: _l("Works under supervision"),
         3: _l("Competent: works independently"), 4: _l("Expert: can train and assess others")}
COMPETENT_SCORE = 3
ASSESSMENT_VALID_DAYS = 365


def record_training(actor: User, *, user_id: int, title: str, completed_on: date,
                    provider: str = "", sop_id: int | None = None, hours: float | None = None,
                    notes: str = "") -> TrainingRecord:
    require_role(actor, MANAGE_QUALITY, "record training")
    colleague(user_id, actor, field="user_id")
    if completed_on > actor.lab.today():
        raise Unprocessable(_("Training cannot be recorded as completed in the future."),
                            fields={"completed_on": [_("In the future.")]})
    if sop_id is not None:
        _sop(actor, sop_id)
    record = TrainingRecord(lab_id=actor.lab_id, user_id=user_id, title=title,
                            completed_on=completed_on, provider=provider, sop_id=sop_id,
                            hours=hours, notes=notes, recorded_by_id=actor.id)
    db.session.add(record)
    db.session.flush()
    return record


def _sop(actor: User, sop_id: int) -> Sop:
    sop = db.session.get(Sop, sop_id)
    if sop is None or sop.lab_id != actor.lab_id:
        raise Unprocessable(_("SOP %(sop_id)s is not an SOP of your lab.", sop_id=sop_id),
                            fields={"sop_id": [_("Unknown SOP in this lab.")]})
    return sop


def _scores(ratings: dict[str, int], field: str) -> None:
    unknown = sorted(set(ratings) - set(AREA_CODES))
    missing = sorted(set(AREA_CODES) - set(ratings))
    if unknown or missing:
        # an area left out is named as the page names it; an unknown one as it was sent
        names = dict(COMPETENCY_AREAS)
        message = (_("Rate every competency area once; unknown areas: %(areas)s.",
                     areas=", ".join(unknown)) if unknown else
                   _("Rate every competency area once; not rated: %(areas)s.",
                     areas="; ".join(str(names[code]) for code in missing)))
        raise Unprocessable(message, fields={field: [_("Rate exactly: %(value)s.",
                                                       value=', '.join(AREA_CODES))]})
    bad = [a for a, s in ratings.items() if s not in SCALE]
    if bad:
        raise Unprocessable(_("Scores must be 1-4 (areas %(value)s).",
                              value=', '.join(sorted(bad))),
                            fields={field: [_("Scores are 1, 2, 3 or 4.")]})


def self_assess(actor: User, *, ratings: dict[str, int], assessed_on: date | None = None,
                notes: str = "") -> CompetencyAssessment:
    """The examiner rates themself in every area; a supervisor completes the assessment."""
    require_role(actor, PERFORM_EXAMINATIONS, "self-assess competency")
    _scores(ratings, "ratings")
    assessment = CompetencyAssessment(
        lab_id=actor.lab_id, user_id=actor.id, notes=notes,
        assessed_on=assessed_on or actor.lab.today(),
        ratings=[CompetencyRating(lab_id=actor.lab_id, area=a, self_score=ratings[a])
                 for a in AREA_CODES])
    db.session.add(assessment)
    db.session.flush()
    return assessment


def supervise(actor: User, assessment: CompetencyAssessment, *, ratings: dict[str, int],
              comments: dict[str, str] | None = None, notes: str = "") -> CompetencyAssessment:
    """The supervisor rates every area; competent when every rating is 3 or more."""
    require_role(actor, SUPERVISE, "rate competency as a supervisor")
    if assessment.user_id == actor.id:
        raise Forbidden(_("You cannot rate your own competency assessment."), code="own_assessment")
    if assessment.status != AssessmentStatus.SELF_ASSESSED:
        raise Conflict(_("Assessment %(id)s is already %(status)s.", id=assessment.id,
                         status=code_label(assessment.status)),
                       code="already_rated")
    _scores(ratings, "ratings")
    comments = comments or {}
    for rating in assessment.ratings:
        rating.supervisor_score = ratings[rating.area]
        rating.comment = comments.get(rating.area, "")
    assessment.status = AssessmentStatus.COMPLETED
    assessment.supervisor_id, assessment.supervised_at = actor.id, timeutil.utcnow()
    assessment.is_competent = all(s >= COMPETENT_SCORE for s in ratings.values())
    assessment.valid_until = assessment.assessed_on + timedelta(days=ASSESSMENT_VALID_DAYS)
    if notes:
        assessment.notes = (assessment.notes + "\n" + notes).strip()
    db.session.flush()
    return assessment


def competency_subject(actor: User, user_id: int) -> User:
    """The examiner whose competency ``actor`` asks to see: themselves, or for a supervisor an
    active colleague. A user of another lab (or none) is not there (404, as every record of
    another lab); a deactivated colleague is refused naming ``user_id`` (422)."""
    if user_id != actor.id:
        require_role(actor, SUPERVISE, "see others' competency")
    user = get_in_lab(User, user_id, actor, what="user")
    return colleague(user.id, actor, field="user_id")


def progress(user: User) -> dict:
    """The per-examiner view: every assessment over time with self and supervisor scores."""
    rows = db.session.execute(select(CompetencyAssessment)
                              .where(CompetencyAssessment.lab_id == user.lab_id,
                                     CompetencyAssessment.user_id == user.id)
                              .order_by(CompetencyAssessment.assessed_on,
                                        CompetencyAssessment.id)).scalars().all()
    areas = []
    for code, label in COMPETENCY_AREAS:
        series = []
        for a in rows:
            r = next((x for x in a.ratings if x.area == code), None)
            series.append({"assessment_id": a.id, "assessed_on": a.assessed_on,
                           "self": r.self_score if r else None,
                           "supervisor": r.supervisor_score if r else None})
        areas.append({"area": code, "label": label, "series": series})
    return {"user_id": user.id, "full_name": user.full_name, "assessments": rows,
            "areas": areas, "scale": SCALE}


def record_proficiency(actor: User, *, user_id: int, provider: str, taken_on: date,
                       is_satisfactory: bool, test_ref: str = "", notes: str = ""
                       ) -> ProficiencyTest:
    require_role(actor, MANAGE_QUALITY, "record proficiency tests")
    colleague(user_id, actor, field="user_id")
    if taken_on > actor.lab.today():
        raise Unprocessable(_("A proficiency test cannot be recorded as taken in the future."),
                            fields={"taken_on": [_("In the future.")]})
    test = ProficiencyTest(lab_id=actor.lab_id, user_id=user_id, provider=provider,
                           taken_on=taken_on, is_satisfactory=is_satisfactory,
                           test_ref=test_ref, notes=notes, recorded_by_id=actor.id)
    db.session.add(test)
    db.session.flush()
    return test


def grant_authorisation(actor: User, *, user_id: int, sop_id: int, starts_on: date,
                        expires_on: date) -> Authorisation:
    require_role(actor, MANAGE_QUALITY, "grant authorisations")
    user = colleague(user_id, actor, field="user_id")
    if user.id == actor.id:
        raise Forbidden(_("You cannot authorise yourself; another manager must."),
                        code="self_authorisation")
    sop = _sop(actor, sop_id)
    if expires_on < starts_on:
        raise Unprocessable(_("The authorisation would expire before it starts."),
                            fields={"expires_on": [_("Before the “Starts on” date.")]})
    grant = Authorisation(lab_id=actor.lab_id, user_id=user.id, sop_id=sop.id,
                          starts_on=starts_on, expires_on=expires_on, granted_by_id=actor.id,
                          granted_at=timeutil.utcnow())
    db.session.add(grant)
    db.session.flush()
    return grant


def revoke_authorisation(actor: User, grant: Authorisation, *, reason: str,
                         revoked_on: date | None = None) -> Authorisation:
    require_role(actor, MANAGE_QUALITY, "revoke authorisations")
    if grant.revoked_on is not None:
        raise Conflict(_("Authorisation %(id)s was revoked on %(revoked_on)s.", id=grant.id,
                         revoked_on=grant.revoked_on),
                       code="already_revoked")
    grant.revoked_on = revoked_on or actor.lab.today()
    grant.revoked_reason = reason
    db.session.flush()
    return grant


def person_file(user: User) -> dict:
    """One person's quality records, newest first: training, proficiency tests and
    authorisations (each with the SOP it concerns)."""
    def rows(model, order):
        return db.session.execute(select(model).where(model.lab_id == user.lab_id,
                                                      model.user_id == user.id)
                                  .order_by(order.desc(), model.id.desc())).scalars().all()

    sops = {s.id: s for s in db.session.execute(select(Sop).where(Sop.lab_id == user.lab_id))
            .scalars()}
    return {"training": rows(TrainingRecord, TrainingRecord.completed_on),
            "proficiency": rows(ProficiencyTest, ProficiencyTest.taken_on),
            "authorisations": rows(Authorisation, Authorisation.expires_on),
            "sops": sops, "today": user.lab.today()}
