"""Starting an examination from a page: the examiner picks a version in force, items in their
custody and the instruments; the service judges the blocking rules (authorised, version in
force, instruments in calibration) before anything is written."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ballistics.auth.access import get_in_lab, lab_select, require_role
from ballistics.core.labels import label
from ballistics.evidence.models import Item, ItemStatus
from ballistics.extensions import db
from sop.forms import ExamStartForm
from sop.models import Equipment, Examination, SopVersion, VersionStatus
from sop.pages import post, reader
from sop.permissions import PERFORM_EXAMINATIONS
from sop.services import examinations
from sop.services.equipment import current_state
from sop.views import bp


def _choices(form: ExamStartForm) -> ExamStartForm:
    versions = db.session.execute(lab_select(SopVersion, current_user).where(
        SopVersion.status == VersionStatus.EFFECTIVE).order_by(SopVersion.id)).scalars()
    form.sop_version_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(v.id), f"{v.label} · {v.sop.title}") for v in versions]
    items = db.session.execute(lab_select(Item, current_user).where(
        Item.holder_user_id == current_user.id, Item.status == ItemStatus.IN_CUSTODY)
        .order_by(Item.id)).scalars()
    form.item_ids.choices = [SelectChoice(str(i.id), f"{i.barcode} · {label(i.kind)}")
                             for i in items]
    instruments = db.session.execute(lab_select(Equipment, current_user)
                                     .order_by(Equipment.code)).scalars()
    form.equipment_ids.choices = [
        SelectChoice(str(e.id), f"{e.code} · {e.name} ({label(current_state(e).state)})")
        for e in instruments]
    return form


def _start_page(form: ExamStartForm) -> str:
    return render_template("sop/exam_start.html", form=_choices(form))


@bp.route("/examinations/new")
@login_required
def examination_new():
    require_role(current_user, PERFORM_EXAMINATIONS, _("perform examinations"))
    return _start_page(ExamStartForm(formdata=None))


@bp.route("/examinations", methods=["POST"])
@login_required
def examination_start():
    require_role(current_user, PERFORM_EXAMINATIONS, _("perform examinations"))
    form = ExamStartForm()
    # Lists come as every selected value (the form convention reads one value per field).
    return post(form, lambda data: examinations.start(current_user, **data),
                extra={"item_ids": _chosen(form.item_ids),
                       "equipment_ids": _chosen(form.equipment_ids)},
                render=_start_page,
                done=lambda e: (_("Examination #%(id)s started under %(label)s.", id=e.id,
                                  label=e.sop_version.label),
                                url_for("sop.examination_page", exam_id=e.id)))


def _chosen(field) -> list[str]:
    return [v for v in field.raw_data or [] if v.strip()]


@bp.route("/examinations/<int:exam_id>")
@login_required
def examination_page(exam_id: int):
    reader(_("see examinations"))
    exam = examinations.as_seen_by(get_in_lab(Examination, exam_id, current_user,
                                              what="examination"), current_user)
    # each required step with what was recorded for it (none: not recorded)
    records = {r.step_id: r for r in exam.step_records}
    return render_template("sop/examination.html", exam=exam, records=records)
