"""Comparison pages for verification: the reviewer's queue and review page (blind or open),
corrections of case links on the case pages, and the lab's comparison settings. Routes of the
comparisons blueprint; thin, like :mod:`ballistics.comparisons.views`."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from ballistics.auth.access import get_in_lab, lab_select, require_role
from ballistics.comparisons import confirmations, forms, links, panels, render
from ballistics.comparisons import schemas as s
from ballistics.comparisons.models import (
    CaseLink,
    Confirmation,
    ConfirmationStatus,
    CorrectionStatus,
    LinkCorrection,
)
from ballistics.comparisons.permissions import CONFIGURE_COMPARISONS
from ballistics.comparisons.views import bp
from ballistics.core import confirm
from ballistics.core.forms import PageForm, load, submit
from ballistics.evidence.models import Case
from ballistics.evidence.views import case_page_html
from ballistics.extensions import db
from sop.models import Sop
from sop.models.examinations import ReviewOutcome
from sop.services import examinations


def _confirmation(confirmation_id: int) -> Confirmation:
    return get_in_lab(Confirmation, confirmation_id, current_user, what="confirmation")


@bp.route("/verifications")
@login_required
def verification_queue() -> ResponseReturnValue:
    return render_template("comparisons/queue.html",
                           rows=confirmations.queue(current_user),
                           corrections=db.session.scalars(
                               lab_select(LinkCorrection, current_user)
                               .where(LinkCorrection.status == CorrectionStatus.PENDING)
                               .order_by(LinkCorrection.id)).all())


@bp.route("/verifications/<int:confirmation_id>")
@login_required
def verification_page(confirmation_id: int) -> ResponseReturnValue:
    return _verification(_confirmation(confirmation_id))


def _verification(row: Confirmation, bound: PageForm | None = None) -> str:
    candidate = row.candidate
    return render_template(
        "comparisons/verification.html", v=panels.verification(row, bound), c=candidate,
        note=s.VALIDATION_NOTE, **render.stage_context(candidate))


@bp.post("/verifications/<int:confirmation_id>/<step>")
@login_required
def verification_record(confirmation_id: int, step: str) -> ResponseReturnValue:
    """The reviewer's own conclusion (blind verification), then their review."""
    row = _confirmation(confirmation_id)
    exam = row.examination
    if step == "conclusion":
        form, service = forms.ConclusionForm(), examinations.record_reviewer_conclusion
    elif step == "review":
        form, service = forms.ReviewForm(), examinations.technical_review
    else:
        abort(404)
    page = url_for(".verification_page", confirmation_id=row.id)

    def done(result) -> tuple[str, str]:
        if step == "conclusion":
            return (_("Your conclusion is recorded; the examiner's is shown below. Now record "
                      "your review."), page)
        db.session.refresh(row)
        if row.status == ConfirmationStatus.VERIFIED:
            return (_("Review recorded: you agree. The examination is verified; the cases are "
                      "linked.") if _linked(row)
                    else _("Review recorded: you agree. The examination is verified."), page)
        return _("Review recorded: you disagree. Both records are kept."), page

    return submit(form, lambda data: service(current_user, exam, **data), schema=form.schema,
                  render=lambda bound: _verification(row, bound), done=done)


def _linked(row: Confirmation) -> bool:
    return db.session.scalar(select(CaseLink.id).where(
        CaseLink.examination_id == row.examination_id)) is not None


# Case links: withdrawal by a reviewed correction ----------------------------------------------

def _case_back(link: CaseLink) -> Case:
    """The case page the form was posted from (either case of the link)."""
    posted = request.form.get("case_id", type=int)
    return link.case_b if posted == link.case_b_id else link.case_a


@bp.post("/case-links/<int:link_id>/corrections")
@login_required
def link_correction(link_id: int) -> ResponseReturnValue:
    link = get_in_lab(CaseLink, link_id, current_user, what="case link")
    case = _case_back(link)
    return submit(forms.CorrectionForm(),
                  lambda data: links.request_withdrawal(current_user, link, **data),
                  schema=forms.CorrectionForm.schema,
                  render=lambda bound: case_page_html(case, links_bound=(link.id, bound)),
                  done=lambda c: (_("Correction %(id)s recorded: the link stands until an "
                                    "independent reviewer agrees.", id=c.id),
                                  url_for("evidence.case_page", case_id=case.id,
                                          _anchor="linked-cases")))


@bp.post("/link-corrections/<int:correction_id>/review")
@login_required
def link_correction_review(correction_id: int) -> ResponseReturnValue:
    row = get_in_lab(LinkCorrection, correction_id, current_user, what="correction")
    case = _case_back(row.link)
    form = confirm.ask(forms.CorrectionReviewForm(), forms.withdrawal_consequence(row.link))

    def again(bound: forms.CorrectionReviewForm) -> str:
        return case_page_html(case, links_bound=(row.id, bound))

    def call(data: dict):
        if data.get("outcome") == ReviewOutcome.AGREE:
            # Agreeing withdraws the link: refused unless the box naming it was ticked.
            confirm.require(form, again)
        return links.review_correction(current_user, row, **data)

    return submit(form, call, schema=forms.CorrectionReviewForm.schema, render=again,
                  done=lambda c: (_("The link is withdrawn.") if c.status == "accepted"
                                  else _("The correction is rejected: the link stands."),
                                  url_for("evidence.case_page", case_id=case.id,
                                          _anchor="linked-cases")))


# Settings --------------------------------------------------------------------------------------

@bp.route("/comparison-settings")
@login_required
def settings_page() -> ResponseReturnValue:
    require_role(current_user, CONFIGURE_COMPARISONS, "change the comparison settings")
    current = confirmations.settings_of(current_user.lab_id)
    form = forms.SettingsForm(formdata=None,
                              confirmation_sop_id=str(current.confirmation_sop_id or ""),
                              is_blind_verification=current.is_blind_verification)
    return _settings(form)


def _settings(form: forms.SettingsForm) -> str:
    sops = db.session.scalars(lab_select(Sop, current_user).order_by(Sop.code)).all()
    form.confirmation_sop_id.choices = [SelectChoice("", _("— none chosen —")),
                                        *(SelectChoice(str(x.id), f"{x.code} · {x.title}")
                                          for x in sops)]
    return render_template("comparisons/settings.html", form=form,
                           current=confirmations.settings_of(current_user.lab_id))


@bp.post("/comparison-settings")
@login_required
def settings_save() -> ResponseReturnValue:
    form = forms.SettingsForm()

    def call(_data: dict):
        raw = form.confirmation_sop_id.data or ""
        data = {"confirmation_sop_id": int(raw) if raw.isdigit() else (raw or None),
                "is_blind_verification": bool(form.is_blind_verification.data)}
        return confirmations.update_settings(current_user,
                                             **load(form, s.SettingsSchema, _settings, data))

    return submit(form, call, render=_settings,
                  done=lambda row: (_("Comparison settings saved."), url_for(".settings_page")))
