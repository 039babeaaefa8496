"""Nonconformity pages beyond the one opened from a finding: the lab's register (record one
from any source), verifying an action's effectiveness (never by its owner: the service
refuses) and closing once every action is verified effective."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ballistics.auth.access import get_in_lab, lab_select
from ballistics.extensions import db
from sop.forms import ActionVerifyForm, CloseForm, NewNonconformityForm
from sop.models import CorrectiveAction, Nonconformity
from sop.pages import manager, post
from sop.services import complaints, quality
from sop.views import _nonconformity_page, bp


@bp.route("/nonconformities")
@login_required
def nonconformity_list():
    manager(_("see nonconformities"))
    return _register(NewNonconformityForm(formdata=None))


def _register(form: NewNonconformityForm) -> str:
    ncs = db.session.execute(lab_select(Nonconformity, current_user)
                             .order_by(Nonconformity.raised_at.desc(),
                                       Nonconformity.id.desc())).scalars().all()
    return render_template("sop/nonconformities.html", ncs=ncs, form=form,
                           open_complaints=complaints.open_count(current_user.lab_id))


@bp.route("/nonconformities", methods=["POST"])
@login_required
def nonconformity_add():
    manager(_("record nonconformities"))
    return post(NewNonconformityForm(),
                lambda data: quality.open_nonconformity(current_user, title=data["title"],
                                                        description=data["description"],
                                                        severity=data["severity"]),
                render=_register,
                done=lambda nc: (_("Nonconformity %(ref)s recorded; plan its corrective "
                                   "action.", ref=nc.reference),
                                 url_for("sop.nonconformity_page", nc_id=nc.id)))


@bp.route("/corrective-actions/<int:action_id>/verify", methods=["POST"])
@login_required
def action_verify(action_id: int):
    manager(_("verify corrective actions"))
    action = get_in_lab(CorrectiveAction, action_id, current_user, what="corrective action")
    nc = action.nonconformity

    def done(a: CorrectiveAction) -> tuple[str, str]:
        message = (_("Action verified effective.") if a.is_effective else
                   _("Action found not effective: it is reopened for its owner."))
        return message, url_for("sop.nonconformity_page", nc_id=nc.id)

    return post(ActionVerifyForm(),
                lambda data: quality.verify_action(current_user, action, **data),
                render=lambda f: _nonconformity_page(nc, verifying=(action.id, f)), done=done)


@bp.route("/nonconformities/<int:nc_id>/close", methods=["POST"])
@login_required
def nonconformity_close(nc_id: int):
    manager(_("close nonconformities"))
    nc = get_in_lab(Nonconformity, nc_id, current_user, what="nonconformity")
    return post(CloseForm(), lambda data: quality.close_nonconformity(current_user, nc, **data),
                render=lambda f: _nonconformity_page(nc, closing=f),
                done=lambda n: (_("%(ref)s closed.", ref=n.reference),
                                url_for("sop.nonconformity_page", nc_id=n.id)))
