"""Personnel pages: the people of the lab, and one person's training records, competency
assessments (chart of self against supervisor ratings), proficiency tests and authorisations
per SOP (grant, revoke)."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ballistics.auth.access import get_in_lab, lab_select, require_role
from ballistics.auth.models import User
from ballistics.core import confirm
from ballistics.core.confirm import ask
from ballistics.core.errors import Forbidden
from ballistics.core.forms import form_input
from ballistics.extensions import db
from sop import charts
from sop.forms import (
    AuthorisationForm,
    ProficiencyForm,
    RevokeForm,
    SelfAssessForm,
    SuperviseForm,
    TrainingForm,
)
from sop.models import Authorisation, CompetencyAssessment, Sop
from sop.models.personnel import AssessmentStatus
from sop.pages import manager, members, post
from sop.permissions import PERFORM_EXAMINATIONS, SUPERVISE
from sop.services import personnel
from sop.views import bp


def _sop_choices(form, *, optional: bool):
    sops = db.session.execute(lab_select(Sop, current_user).order_by(Sop.code)).scalars()
    first = [SelectChoice("", _("— none —") if optional else "—")]
    form.sop_id.choices = first + [SelectChoice(str(s.id), f"{s.code} · {s.title}")
                                   for s in sops]
    return form


@bp.route("/people")
@login_required
def people_page():
    manager(_("see personnel records"))
    people = members()
    return render_template("sop/people.html", people=people,
                           files={u.id: personnel.person_file(u) for u in people})


@bp.route("/people/<int:user_id>")
@login_required
def person_page(user_id: int):
    manager(_("see personnel records"))
    return _person_page(get_in_lab(User, user_id, current_user, what="person"))


def _person_page(person, **forms) -> str:
    today = current_user.lab.today()
    forms.setdefault("training", TrainingForm(formdata=None, completed_on=today))
    forms.setdefault("proficiency", ProficiencyForm(formdata=None, taken_on=today))
    forms.setdefault("authorisation", AuthorisationForm(
        formdata=None, starts_on=today, expires_on=today + timedelta(days=364)))
    _sop_choices(forms["training"], optional=True)
    _sop_choices(forms["authorisation"], optional=False)
    revoking = forms.pop("revoking", None)
    record = personnel.person_file(person)
    revokes = {a.id: RevokeForm(formdata=None) for a in record["authorisations"]}
    if revoking is not None:
        revokes[revoking[0]] = revoking[1]
    for a in record["authorisations"]:
        ask(revokes[a.id], revoke_consequence(a, record["sops"][a.sop_id]))
    progress = personnel.progress(person)
    return render_template("sop/person.html", person=person, record=record, forms=forms,
                           revokes=revokes, progress=progress, chart=_chart(progress))


def _chart(progress: dict) -> dict:
    """Each assessment's mean self and mean supervisor score, in date order."""
    return charts.ratings_over_time([
        (a.assessed_on.isoformat(),
         _mean([r.self_score for r in a.ratings]),
         _mean([r.supervisor_score for r in a.ratings if r.supervisor_score is not None]))
        for a in progress["assessments"]])


def _mean(scores: list[int]) -> float | None:
    return round(sum(scores) / len(scores), 2) if scores else None


@bp.route("/people/<int:user_id>/training", methods=["POST"])
@login_required
def training_add(user_id: int):
    manager(_("record training"))
    person = get_in_lab(User, user_id, current_user, what="person")
    form = _sop_choices(TrainingForm(), optional=True)
    return post(form, lambda data: personnel.record_training(current_user, **data),
                extra={"user_id": person.id},
                render=lambda f: _person_page(person, training=f),
                done=lambda r: (_("Training “%(title)s” recorded for %(name)s.",
                                  title=r.title, name=person.full_name),
                                url_for("sop.person_page", user_id=person.id)))


@bp.route("/people/<int:user_id>/proficiency", methods=["POST"])
@login_required
def proficiency_add(user_id: int):
    manager(_("record proficiency tests"))
    person = get_in_lab(User, user_id, current_user, what="person")
    return post(ProficiencyForm(), lambda data: personnel.record_proficiency(current_user,
                                                                             **data),
                extra={"user_id": person.id},
                render=lambda f: _person_page(person, proficiency=f),
                done=lambda t: (_("Proficiency test %(ref)s recorded for %(name)s.",
                                  ref=t.test_ref or t.provider, name=person.full_name),
                                url_for("sop.person_page", user_id=person.id)))


@bp.route("/people/<int:user_id>/authorisations", methods=["POST"])
@login_required
def authorisation_grant(user_id: int):
    manager(_("grant authorisations"))
    person = get_in_lab(User, user_id, current_user, what="person")
    form = _sop_choices(AuthorisationForm(), optional=False)
    return post(form, lambda data: personnel.grant_authorisation(current_user, **data),
                extra={"user_id": person.id},
                render=lambda f: _person_page(person, authorisation=f),
                done=lambda a: (_("%(name)s is authorised for %(sop)s until %(day)s.",
                                  name=person.full_name, sop=db.session.get(Sop, a.sop_id).code,
                                  day=a.expires_on.isoformat()),
                                url_for("sop.person_page", user_id=person.id)))


@bp.route("/authorisations/<int:auth_id>/revoke", methods=["POST"])
@login_required
def authorisation_revoke(auth_id: int):
    manager(_("revoke authorisations"))
    grant = get_in_lab(Authorisation, auth_id, current_user, what="authorisation")
    person = grant.user
    form = ask(RevokeForm(), revoke_consequence(grant, db.session.get(Sop, grant.sop_id)))

    def render(bound: RevokeForm) -> str:
        return _person_page(person, revoking=(grant.id, bound))

    def call(data: dict) -> Authorisation:
        # valid input first (the reason), then the box: a revocation is not undone
        confirm.require(form, render)
        return personnel.revoke_authorisation(current_user, grant, **data)

    return post(form, call, render=render,
                done=lambda a: (_("Authorisation #%(id)s revoked from %(day)s.", id=a.id,
                                  day=a.revoked_on.isoformat()),
                                url_for("sop.person_page", user_id=person.id)))


def revoke_consequence(grant: Authorisation, sop: Sop) -> str:
    """The sentence a manager ticks before revoking: whose authorisation, for which SOP."""
    return _("I confirm: %(name)s is no longer authorised for %(sop)s from today (or the day "
             "given). A revocation cannot be undone: working under %(sop)s again takes a new "
             "authorisation.", name=grant.user.full_name, sop=sop.code)


# The competency assessment tool ----------------------------------------------------------------

@bp.route("/examiners/<int:user_id>/competency")
@login_required
def competency_page(user_id: int):
    return _competency_page(personnel.competency_subject(current_user, user_id))


def _competency_page(user: User, self_form: SelfAssessForm | None = None,
                     supervising: tuple[int, SuperviseForm] | None = None) -> str:
    progress = personnel.progress(user)
    pending = [a for a in progress["assessments"] if a.status == AssessmentStatus.SELF_ASSESSED]
    may_rate = current_user.id != user.id and current_user.has_role(*SUPERVISE)
    supervise = {a.id: SuperviseForm(formdata=None) for a in pending} if may_rate else {}
    if supervising is not None:
        supervise[supervising[0]] = supervising[1]
    may_self = current_user.id == user.id and current_user.has_role(*PERFORM_EXAMINATIONS)
    if may_self and self_form is None:
        self_form = SelfAssessForm(formdata=None, assessed_on=user.lab.today())
    return render_template("sop/competency.html", progress=progress, person=user,
                           areas=personnel.COMPETENCY_AREAS, chart=_chart(progress),
                           self_form=self_form if may_self else None, supervise=supervise)


@bp.route("/examiners/<int:user_id>/competency", methods=["POST"])
@login_required
def self_assess(user_id: int):
    if user_id != current_user.id:
        raise Forbidden(_("Only the examiner rates themself."), code="not_self")
    require_role(current_user, PERFORM_EXAMINATIONS, _("self-assess competency"))
    form = SelfAssessForm()
    typed = {k: v for k, v in form_input(form).items() if not k.startswith("score_")}
    return post(form, lambda data: personnel.self_assess(current_user, **data),
                typed={**typed, "ratings": form.ratings()},
                render=lambda f: _competency_page(current_user, self_form=f),
                done=lambda a: (_("Self-assessment recorded; a supervisor rates it next."),
                                url_for("sop.competency_page", user_id=current_user.id)))


@bp.route("/competency-assessments/<int:assessment_id>/supervise", methods=["POST"])
@login_required
def supervise_assessment(assessment_id: int):
    require_role(current_user, SUPERVISE, _("rate competency as a supervisor"))
    assessment = get_in_lab(CompetencyAssessment, assessment_id, current_user,
                            what="competency assessment")
    form = SuperviseForm()
    typed = {k: v for k, v in form_input(form).items() if not k.startswith("score_")}
    return post(form, lambda data: personnel.supervise(current_user, assessment, **data),
                typed={**typed, "ratings": form.ratings()},
                render=lambda f: _competency_page(assessment.user,
                                                  supervising=(assessment.id, f)),
                done=lambda a: (_("%(name)s rated: %(outcome)s.", name=a.user.full_name,
                                  outcome=_("competent") if a.is_competent
                                  else _("not yet competent")),
                                url_for("sop.competency_page", user_id=a.user_id)))
