"""SOP pages: one SOP with its versions (draft a new one), one version's text and required
steps, its way from draft through review and approval (never by its author: the service
refuses, the page says why) to being in force, and read-and-acknowledge with who has not yet.

Reading and acknowledging is for everyone whose work follows SOPs; writing, approving and
putting in force is the lab manager's."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ballistics.auth.access import get_in_lab
from ballistics.core import confirm
from ballistics.core.confirm import ask
from ballistics.core.forms import form_input
from ballistics.extensions import db
from sop.forms import ActivateForm, EmptyForm, RetireForm, SopForm, VersionForm
from sop.models import Sop, SopAcknowledgement, SopVersion
from sop.pages import manager, post, reader
from sop.permissions import MANAGE_QUALITY
from sop.services import documents
from sop.views import bp


def _steps(text: str) -> list[dict]:
    """The steps box as the API's list: one step a line, "title | instruction"."""
    steps = []
    for line in text.splitlines():
        if line.strip():
            title, _sep, instruction = line.partition("|")
            steps.append({"title": title.strip(), "instruction": instruction.strip()})
    return steps


@bp.route("/sops", methods=["POST"])
@login_required
def sop_add():
    manager(_("manage SOPs"))
    from sop.views import sop_list

    return post(SopForm(), lambda data: documents.create_sop(current_user, **data),
                render=lambda f: sop_list(form=f),
                done=lambda s: (_("SOP %(code)s added; draft its first version.", code=s.code),
                                url_for("sop.sop_page", sop_id=s.id)))


@bp.route("/sops/<int:sop_id>")
@login_required
def sop_page(sop_id: int):
    reader(_("read SOPs"))
    return _sop_page(get_in_lab(Sop, sop_id, current_user, what="SOP"))


def _sop_page(sop: Sop, form: VersionForm | None = None) -> str:
    return render_template("sop/sop.html", sop=sop, form=form or VersionForm(formdata=None),
                           can_manage=current_user.has_role(*MANAGE_QUALITY))


@bp.route("/sops/<int:sop_id>/versions", methods=["POST"])
@login_required
def version_add(sop_id: int):
    manager(_("write SOP versions"))
    sop = get_in_lab(Sop, sop_id, current_user, what="SOP")
    form = VersionForm()
    return post(form, lambda data: documents.create_version(current_user, sop, **data),
                extra={"steps": _steps(form_input(form).get("steps", ""))},
                render=lambda f: _sop_page(sop, f),
                done=lambda v: (_("%(label)s drafted; send it for review when it is ready.",
                                  label=v.label),
                                url_for("sop.version_page", version_id=v.id)))


@bp.route("/sop-versions/<int:version_id>")
@login_required
def version_page(version_id: int):
    reader(_("read SOPs"))
    return _version_page(get_in_lab(SopVersion, version_id, current_user, what="SOP version"))


def _version_page(version: SopVersion, activate: ActivateForm | None = None,
                  retire: RetireForm | None = None) -> str:
    done, pending = documents.acknowledgements(version)
    mine = db.session.scalar(select(SopAcknowledgement).where(
        SopAcknowledgement.version_id == version.id,
        SopAcknowledgement.user_id == current_user.id))
    return render_template("sop/version.html", version=version, sop=version.sop,
                           acknowledged=done, pending=pending, mine=mine,
                           button=EmptyForm(formdata=None),
                           activate=activate or ActivateForm(formdata=None),
                           retire=ask(retire or RetireForm(formdata=None),
                                      retire_consequence(version)),
                           can_manage=current_user.has_role(*MANAGE_QUALITY))


def _version_action(version_id: int, call, message):
    version = get_in_lab(SopVersion, version_id, current_user, what="SOP version")
    return post(EmptyForm(), lambda _data: call(version), render=lambda _f: _version_page(version),
                done=lambda v: (message(v), url_for("sop.version_page", version_id=v.id)))


@bp.route("/sop-versions/<int:version_id>/submit-for-review", methods=["POST"])
@login_required
def version_submit(version_id: int):
    manager(_("send SOP versions for review"))
    return _version_action(version_id, lambda v: documents.submit_for_review(current_user, v),
                           lambda v: _("%(label)s sent for review; a manager other than its "
                                       "author approves it.", label=v.label))


@bp.route("/sop-versions/<int:version_id>/approve", methods=["POST"])
@login_required
def version_approve(version_id: int):
    manager(_("approve SOP versions"))
    return _version_action(version_id, lambda v: documents.approve_version(current_user, v),
                           lambda v: _("%(label)s approved; put it in force when ready.",
                                       label=v.label))


@bp.route("/sop-versions/<int:version_id>/activate", methods=["POST"])
@login_required
def version_activate(version_id: int):
    manager(_("put SOP versions in force"))
    version = get_in_lab(SopVersion, version_id, current_user, what="SOP version")
    return post(ActivateForm(),
                lambda data: documents.activate_version(current_user, version, **data),
                render=lambda f: _version_page(version, activate=f),
                done=lambda v: (_("%(label)s is in force from %(day)s.", label=v.label,
                                  day=v.effective_from.isoformat()),
                                url_for("sop.version_page", version_id=v.id)))


@bp.route("/sop-versions/<int:version_id>/retire", methods=["POST"])
@login_required
def version_retire(version_id: int):
    manager(_("retire SOP versions"))
    version = get_in_lab(SopVersion, version_id, current_user, what="SOP version")
    form = ask(RetireForm(), retire_consequence(version))

    def render(bound: RetireForm) -> str:
        return _version_page(version, retire=bound)

    def call(_data: dict) -> SopVersion:
        confirm.require(form, render)  # retiring is not undone: the box names the version
        return documents.retire_version(current_user, version)

    return post(form, call, render=render,
                done=lambda v: (_("%(label)s retired.", label=v.label),
                                url_for("sop.version_page", version_id=v.id)))


def retire_consequence(version: SopVersion) -> str:
    """The sentence a manager ticks before retiring a version."""
    return _("I confirm: %(label)s (%(title)s) is retired today. No examination can be started "
             "under it any more, and it cannot be put back in force.", label=version.label,
             title=version.sop.title)


@bp.route("/sop-versions/<int:version_id>/acknowledge", methods=["POST"])
@login_required
def version_acknowledge(version_id: int):
    reader(_("acknowledge SOPs"))
    return _version_action(version_id, lambda v: documents.acknowledge(current_user, v) and v,
                           lambda v: _("You acknowledged %(label)s.", label=v.label))

