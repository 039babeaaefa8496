"""Complaint pages (ISO/IEC 17025 §7.9): the manager's register (by status, overdue
acknowledgments; record one) and a complaint's page with the next steps as forms. The rules,
impartiality included, are the service's: a refusal is shown beside the field, nothing saved."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ballistics.auth.access import get_in_lab, require_role
from ballistics.core.errors import Unprocessable
from ballistics.core.forms import PageForm, form_input
from ballistics.core.labels import label
from ballistics.evidence.models import Case
from ballistics.extensions import db
from sop.forms import (
    ComplaintAcknowledgeForm,
    ComplaintAssignForm,
    ComplaintCloseForm,
    ComplaintDecideForm,
    ComplaintForm,
    ComplaintInformForm,
    ComplaintRejectForm,
)
from sop.models import Complaint
from sop.models.complaints import ComplaintStatus
from sop.pages import manager, members, post
from sop.permissions import MANAGE_QUALITY
from sop.services import complaints
from sop.views import bp


@bp.route("/complaints")
@login_required
def complaint_list():
    manager(_("see complaints"))
    return _register(ComplaintForm(formdata=None))


def _register(form: ComplaintForm) -> str:
    status = request.args.get("status", "")
    status = status if status in {s.value for s in ComplaintStatus} else ""
    overdue = request.args.get("overdue") == "1"
    rows = complaints.register(current_user, status=status or None, overdue=overdue)
    today = current_user.lab.today()
    return render_template("sop/complaints.html", rows=rows, form=form, status=status,
                           overdue=overdue, statuses=list(ComplaintStatus),
                           late={c.id for c in rows
                                 if complaints.is_acknowledgment_overdue(c, today)},
                           due=complaints.acknowledgment_due)


def _case_ids(text: str) -> list[int]:
    """The lab's cases named by their lab case numbers; an unknown one is refused naming the
    field."""
    numbers = [n for n in re.split(r"[\s,;]+", text.strip()) if n]
    if not numbers:
        return []
    found = dict(db.session.execute(select(Case.lab_case_number, Case.id).where(
        Case.lab_id == current_user.lab_id, Case.lab_case_number.in_(numbers))).all())
    missing = [n for n in numbers if n not in found]
    if missing:
        raise Unprocessable(_("No case %(ids)s in your lab.", ids=", ".join(missing)),
                            fields={"cases": [_("Unknown case in this lab.")]})
    return [found[n] for n in numbers]


@bp.route("/complaints", methods=["POST"])
@login_required
def complaint_add():
    manager(_("record complaints"))
    form = ComplaintForm()
    typed = {k: v for k, v in form_input(form).items() if k != "cases"}
    return post(form, lambda data: complaints.record(
                    current_user, **{**data, "case_ids": _case_ids(form.cases.data or "")}),
                typed=typed, render=_register,
                done=lambda c: (_("Complaint %(ref)s recorded; acknowledge its receipt to the "
                                  "complainant.", ref=c.reference),
                                url_for("sop.complaint_page", complaint_id=c.id)))


def _investigators(form: ComplaintAssignForm, involved: set[int]) -> ComplaintAssignForm:
    # Those involved in the work complained of are left out of the list (the service refuses
    # them anyway).
    form.investigator_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(u.id), u.full_name) for u in members() if u.id not in involved]
    return form


#: the steps a complaint's page posts: form, service call, what is flashed
STEPS: dict[str, tuple[type[PageForm], Callable[..., Any], Callable[[Complaint], str]]] = {
    "acknowledge": (ComplaintAcknowledgeForm, complaints.acknowledge,
                    lambda c: _("Receipt of %(ref)s acknowledged.", ref=c.reference)),
    "inform": (ComplaintInformForm, complaints.inform,
               lambda c: _("Contact with the complainant recorded.")),
    "reject": (ComplaintRejectForm, complaints.reject,
               lambda c: _("%(ref)s closed as not upheld: not about the lab's activities.",
                           ref=c.reference)),
    "assign": (ComplaintAssignForm, complaints.assign,
               lambda c: _("%(name)s investigates %(ref)s.", name=c.investigator.full_name,
                           ref=c.reference)),
    "decide": (ComplaintDecideForm, complaints.decide,
               lambda c: _("%(ref)s decided: %(decision)s.", ref=c.reference,
                           decision=label(c.decision))),
    "close": (ComplaintCloseForm, complaints.close,
              lambda c: _("%(ref)s closed; the outcome was communicated.", ref=c.reference)),
}


@bp.route("/complaints/<int:complaint_id>")
@login_required
def complaint_page(complaint_id: int):
    return _page(_visible(complaint_id))


def _visible(complaint_id: int) -> Complaint:
    complaint = get_in_lab(Complaint, complaint_id, current_user, what="complaint")
    if not complaints.can_see(current_user, complaint):
        require_role(current_user, MANAGE_QUALITY, "see complaints")
    return complaint


def _page(complaint: Complaint, step: str | None = None, form: PageForm | None = None) -> str:
    forms = {name: cls(formdata=None, prefix=name) for name, (cls, _c, _d) in STEPS.items()}
    if step is not None:
        forms[step] = form
    _investigators(forms["assign"], complaints.involved_ids(complaint))
    return render_template("sop/complaint.html", c=complaint, forms=forms,
                           can_manage=current_user.has_role(*MANAGE_QUALITY))


@bp.route("/complaints/<int:complaint_id>/<step>", methods=["POST"])
@login_required
def complaint_step(complaint_id: int, step: str):
    if step not in STEPS:
        abort(404)
    complaint = _visible(complaint_id)
    cls, call, said = STEPS[step]
    form = cls(prefix=step)
    if step == "assign":
        _investigators(form, complaints.involved_ids(complaint))
    return post(form, lambda data: call(current_user, complaint, **data),
                render=lambda f: _page(complaint, step, f),
                done=lambda result: (said(complaint),
                                     url_for("sop.complaint_page", complaint_id=complaint.id)))
