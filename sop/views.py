"""Quality pages for the lab manager: dashboard, finding drill-down, nonconformities with
corrective actions, audit export (print HTML and CSV), competency progress. Thin: parse, check
access, call a service, render."""

from __future__ import annotations

import csv
import importlib
import io
from datetime import date

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ballistics.auth.access import get_in_lab, lab_select, require_role
from ballistics.auth.models import User
from ballistics.core import timeutil
from ballistics.core.errors import Unprocessable
from ballistics.core.forms import submit
from ballistics.core.labels import LABELS
from ballistics.core.numbers import number
from ballistics.extensions import db
from sop import charts
from sop.forms import (
    ActionCompleteForm,
    ActionForm,
    ActionVerifyForm,
    CloseForm,
    EmptyForm,
    NonconformityForm,
    SopForm,
)
from sop.models import CorrectiveAction, Examination, Finding, Nonconformity, Sop
from sop.permissions import ACKNOWLEDGE_SOPS, MANAGE_QUALITY, SUPERVISE
from sop.services import dashboard, quality
from sop.services.compliance.engine import refresh_findings
from sop.services.compliance.registry import all_rules
from sop.services.examinations import as_seen_by

bp = Blueprint("sop", __name__, url_prefix="/quality", template_folder="templates",
               static_folder="static", static_url_path="/static")


def _manager() -> None:
    require_role(current_user, MANAGE_QUALITY, "see quality records")


def _date(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise Unprocessable(_("%(name)s must be a date (YYYY-MM-DD).", name=name),
                            fields={name: [_("Not a date.")]}) from exc


def _zone() -> str:
    # the lab's calendar: its days and months, not UTC's (labs span several time zones)
    return current_user.lab.time_zone or "UTC"


def _period() -> dashboard.Period:
    zone = _zone()
    period = dashboard.Period.default(timeutil.local_today(zone), zone)
    period = dashboard.Period(_date("start") or period.start, _date("end") or period.end, zone)
    if period.end < period.start:
        raise Unprocessable(_("The period ends before it starts."),
                            fields={"end": [_("Before start.")]})
    return period


@bp.route("/")
@login_required
def dashboard_page():
    _manager()
    rule_id = request.args.get("rule") or None
    rules = {r.id: r for r in all_rules()}
    if rule_id and rule_id not in rules:
        raise Unprocessable(_("Unknown rule %(rule)s.", rule=rule_id),
                            fields={"rule": [_("Unknown rule.")]})
    today = timeutil.local_today(_zone())
    dash = dashboard.build(current_user.lab_id, today, _period(), rule_id)
    by_rule = charts.horizontal([(r["rule"].id, r["rate"],
                                  ngettext("%(count)s finding", "%(count)s findings",
                                           r["broken"], count=number(r["broken"])))
                                 for r in dash.by_rule])
    by_month = charts.vertical([(m["month"], m["rate"],
                                 _("%(num)s of %(total)s with findings",
                                   num=number(m["with_findings"]),
                                   total=number(m["examinations"])))
                                for m in dash.by_month])
    return render_template("sop/dashboard.html", dash=dash, by_rule=by_rule, by_month=by_month,
                           rules=rules, rule_id=rule_id, form=EmptyForm(), today=today)


@bp.route("/evaluate", methods=["POST"])
@login_required
def evaluate():
    _manager()

    def done(summary) -> tuple[str, str]:
        exams = ngettext("%(count)s examination", "%(count)s examinations",
                         summary.examinations, count=number(summary.examinations))
        findings = ngettext("%(count)s finding", "%(count)s findings", summary.findings,
                            count=number(summary.findings))
        return (_("Re-evaluated %(exams)s: %(findings)s.", exams=exams, findings=findings),
                url_for("sop.dashboard_page"))

    return submit(EmptyForm(), lambda _data: refresh_findings(current_user.lab_id),
                  render=lambda _form: dashboard_page(), done=done)


@bp.route("/findings/<int:finding_id>")
@login_required
def finding_page(finding_id: int):
    _manager()
    return _finding_page(get_in_lab(Finding, finding_id, current_user, what="finding"))


#: the keys of a finding's evidence (:mod:`sop.services.compliance.rules`) as a manager reads
#: them; the stored keys stay English (the API and the CSV give them as they are)
EVIDENCE_LABELS = {
    "acknowledged_at": _l("acknowledged at"), "assessed_on": _l("assessed on"),
    "assessment_id": _l("assessment no."), "at": _l("when"),
    "authorisation_id": _l("authorisation no."), "authorisations": _l("authorisations"),
    "calibration_id": _l("calibration record no."), "custody_event_id": _l("custody event no."),
    "days": _l("days"), "due_on": _l("due on"), "effective_from": _l("in force from"),
    "effective_until": _l("in force until"), "equipment": _l("equipment"),
    "equipment_id": _l("instrument no."), "expires_on": _l("expires on"),
    "is_competent": _l("competent"), "is_passed": _l("passed"),
    "is_satisfactory": _l("satisfactory"), "item_id": _l("item no."), "items": _l("items"),
    "kind": _l("kind"), "max": _l("maximum"), "min": _l("minimum"),
    "occurred_at": _l("occurred at"), "outcome": _l("outcome"),
    "performed_on": _l("performed on"), "position": _l("step"), "problem": _l("problem"),
    "proficiency_test_id": _l("proficiency test no."), "provider": _l("provider"),
    "requested_at": _l("requested at"), "review_id": _l("review no."),
    "reviewed_at": _l("reviewed at"), "reviewer_id": _l("reviewer no."),
    "revoked_on": _l("revoked on"), "seq": _l("custody event"), "sop_id": _l("SOP no."),
    "sop_version_id": _l("SOP version no."), "starts_on": _l("starts on"), "state": _l("state"),
    "status": _l("status"), "step_id": _l("step no."), "steps": _l("steps"),
    "taken_on": _l("taken on"), "target_days": _l("target (days)"), "user_id": _l("user no."),
    "valid_until": _l("valid until"), "value": _l("value"), "version": _l("version"),
}
#: evidence values that are words the rules wrote in English: said in the reader's language
_EVIDENCE_WORDS = {"start": _l("at the start"), "not recorded": _l("not recorded")}


def evidence_key(key: str) -> str:
    return str(EVIDENCE_LABELS.get(key, key.replace("_", " ")))


def evidence_value(value: object) -> str:
    """One evidence value as a manager reads it: yes/no, a stored code's label, a rule's word
    in the reader's language; ids, numbers and days as stored."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str):
        if value in _EVIDENCE_WORDS:
            return str(_EVIDENCE_WORDS[value])
        if value in LABELS:
            return str(LABELS[value])
    return str(value)


def _finding_page(finding: Finding, form: NonconformityForm | None = None) -> str:
    # A manager who also verifies stays blind here too (blind verification).
    exam = as_seen_by(db.session.get(Examination, finding.examination_id), current_user)
    rule = {r.id: r for r in all_rules()}.get(finding.rule_id)
    ncs = db.session.execute(lab_select(Nonconformity, current_user).where(
        Nonconformity.examination_id == exam.id, Nonconformity.rule_id == finding.rule_id)
    ).scalars().all()
    if form is None:
        form = NonconformityForm(formdata=None,
                                 title=f"{finding.rule_id}: {rule.title if rule else ''}"[:200],
                                 description=finding.said)
    return render_template("sop/finding.html", finding=finding, exam=exam, rule=rule, ncs=ncs,
                           evidence_key=evidence_key, evidence_value=evidence_value,
                           form=form)


@bp.route("/findings/<int:finding_id>/nonconformity", methods=["POST"])
@login_required
def finding_nonconformity(finding_id: int):
    _manager()
    finding = get_in_lab(Finding, finding_id, current_user, what="finding")

    def call(data: dict) -> Nonconformity:
        return quality.open_nonconformity(current_user, title=data["title"],
                                          description=data["description"], finding=finding)

    return submit(NonconformityForm(), call, schema=NonconformityForm.schema,
                  render=lambda form: _finding_page(finding, form),
                  done=lambda nc: (_("Nonconformity %(ref)s recorded; plan its corrective action.",
                                     ref=nc.reference),
                                   url_for("sop.nonconformity_page", nc_id=nc.id)))


def _owners(form: ActionForm) -> ActionForm:
    users = db.session.execute(lab_select(User, current_user).where(
        User.is_active_account.is_(True)).order_by(User.full_name)).scalars()
    form.owner_id.choices = [SelectChoice(u.id, u.full_name) for u in users]
    return form


@bp.route("/nonconformities/<int:nc_id>")
@login_required
def nonconformity_page(nc_id: int):
    nc = get_in_lab(Nonconformity, nc_id, current_user, what="nonconformity")
    # An action's owner sees the nonconformity to do and complete their action; the rest of
    # it (planning, verifying, closing) stays the manager's.
    if not any(a.owner_id == current_user.id for a in nc.actions):
        _manager()
    return _nonconformity_page(nc)


def _nonconformity_page(nc: Nonconformity, form: ActionForm | None = None,
                        completing: tuple[int, ActionCompleteForm] | None = None,
                        verifying: tuple[int, ActionVerifyForm] | None = None,
                        closing: CloseForm | None = None) -> str:
    if form is None:
        form = _owners(ActionForm(formdata=None, owner_id=str(current_user.id)))
    completes = {a.id: ActionCompleteForm(formdata=None) for a in nc.actions}
    if completing is not None:
        completes[completing[0]] = completing[1]
    verifies = {a.id: ActionVerifyForm(formdata=None) for a in nc.actions}
    if verifying is not None:
        verifies[verifying[0]] = verifying[1]
    return render_template("sop/nonconformity.html", nc=nc, form=form, completes=completes,
                           verifies=verifies, close=closing or CloseForm(formdata=None),
                           can_manage=current_user.has_role(*MANAGE_QUALITY))


@bp.route("/nonconformities/<int:nc_id>/actions", methods=["POST"])
@login_required
def nonconformity_action(nc_id: int):
    _manager()
    nc = get_in_lab(Nonconformity, nc_id, current_user, what="nonconformity")

    def done(action: CorrectiveAction) -> tuple[str, str]:
        facts = {"name": action.owner.full_name, "due": format_date(action.due_on)}
        message = (_("Corrective action planned for %(name)s, due %(due)s.", **facts)
                   if action.kind == "corrective" else
                   _("Preventive action planned for %(name)s, due %(due)s.", **facts))
        return message, url_for("sop.nonconformity_page", nc_id=nc.id)

    return submit(_owners(ActionForm()), lambda data: quality.add_action(current_user, nc, **data),
                  schema=ActionForm.schema, render=lambda form: _nonconformity_page(nc, form),
                  done=done)


@bp.route("/corrective-actions/<int:action_id>/complete", methods=["POST"])
@login_required
def action_complete(action_id: int):
    action = get_in_lab(CorrectiveAction, action_id, current_user, what="corrective action")
    nc = action.nonconformity
    return submit(ActionCompleteForm(),
                  lambda data: quality.complete_action(current_user, action, **data),
                  schema=ActionCompleteForm.schema,
                  render=lambda form: _nonconformity_page(nc, completing=(action.id, form)),
                  done=lambda _a: (_("Action marked done; its effectiveness is verified next."),
                                   url_for("sop.nonconformity_page", nc_id=nc.id)))


@bp.route("/export")
@login_required
def export():
    """The audit export for a period: print HTML (save as PDF from the browser) or CSV."""
    _manager()
    period = _period()
    rows = dashboard.export_rows(current_user.lab_id, period)
    if request.args.get("format") == "csv":
        return _csv(rows, period)
    total, compliant, by_rule, by_month = dashboard.compliance_rates(current_user.lab_id,
                                                                     period)
    flagged = [(r, fs) for r, fs in rows if fs]
    return render_template("sop/export.html", period=period, total=total, compliant=compliant,
                           by_rule=by_rule, by_month=by_month, flagged=flagged,
                           generated_at=timeutil.utcnow(), lab=current_user.lab)


def _csv(rows, period: dashboard.Period) -> Response:
    # Data for a spreadsheet, not a page: its header, codes and ISO times are the same for every
    # reader, so the findings keep their stored English (the printed report is the reader's).
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["examination_id", "lab_case_number", "sop", "version", "examiner",
                     "performed_at", "completed_at", "released_at", "status", "result",
                     "compliant", "rule_ids", "findings"])
    for r, fs in rows:
        writer.writerow([r.id, r.lab_case_number or "", r.code, r.number, _cell(r.full_name),
                         *map(timeutil.iso_utc, (r.performed_at, r.completed_at, r.released_at)),
                         r.status, r.result or "", "yes" if not fs else "no",
                         " ".join(f.rule_id for f in fs),
                         _cell(" | ".join(f"{f.rule_id}: {f.message}" for f in fs))])
    name = f"compliance-{current_user.lab.code}-{period.start}-{period.end}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _cell(text: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@bp.route("/sops")
@login_required
def sop_list(form: SopForm | None = None):
    # Everyone whose work follows SOPs reads them; the competency links are for supervisors.
    require_role(current_user, ACKNOWLEDGE_SOPS, "read SOPs")
    sops = db.session.execute(lab_select(Sop, current_user).order_by(Sop.code)).scalars().all()
    examiners = (db.session.execute(select(User).where(User.lab_id == current_user.lab_id)
                                    .order_by(User.full_name)).scalars().all()
                 if current_user.has_role(*SUPERVISE) else [])
    return render_template("sop/sops.html", sops=sops, examiners=examiners,
                           form=form or SopForm(formdata=None),
                           can_manage=current_user.has_role(*MANAGE_QUALITY))


# The page groups register their routes on ``bp`` (imported last: they import it).
for _group in ("personnel", "equipment", "documents", "capa", "examinations", "complaints"):
    importlib.import_module(f"sop.pages.{_group}")
# The findings list lives in its own module on this blueprint too.
importlib.import_module("sop.finding_views")
