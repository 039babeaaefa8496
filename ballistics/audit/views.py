"""Audit log pages for lab managers: the filtered, paginated log with each change's before and
after, its CSV export, a printable page, and the verification state of the lab's log."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ballistics.audit import browse
from ballistics.audit.models import AuditAction
from ballistics.audit.permissions import READ_AUDIT
from ballistics.audit.schemas import AuditFilterSchema
from ballistics.audit.services import record_read
from ballistics.auth.access import require_role
from ballistics.auth.models import Lab
from ballistics.backup import services as backups
from ballistics.core.forms import PageForm
from ballistics.core.pagination import Filters, listed, load_filters, page_filters, paginate
from ballistics.extensions import db
from ballistics.ledger import hublog

bp = Blueprint("audit", __name__)

#: the printable page holds at most this many entries (narrow the filters for more)
PRINT_LIMIT = 500


def _filters(read=load_filters) -> Filters:
    require_role(current_user, READ_AUDIT, "read the audit log")
    return read(AuditFilterSchema)


#: the chain of records that belong to no lab: at the hub, its network records (written by the
#: hub's API and tasks, which act for no lab), sealed in the hub staff lab's ledger log
#: (``ballistics.ledger.hublog``); a lab node keeps little there, in no log
NETWORK_CHAIN = hublog.NETWORK_CHAIN


def _chain(filters: dict) -> int:
    """Whose log the page reads: the user's lab's, or at the hub its network records."""
    if filters.get("log") == "network":
        if current_app.config["APP_ROLE"] != "hub":
            abort(404)
        return NETWORK_CHAIN
    return current_user.lab_id


def _ledger_lab(chain: int) -> int | None:
    """The lab whose ledger log seals the chain (None: no log does)."""
    return hublog.hub_ledger_lab() if chain == NETWORK_CHAIN else chain


def _status(chain: int) -> browse.LogStatus:
    lab_id = _ledger_lab(chain)
    return browse.log_status(chain if lab_id is None else lab_id)


def _zone() -> str:
    """The lab's time zone: the page shows times in it, and a filter's days are its days."""
    return current_user.lab.time_zone or "UTC"


def _context(filters: dict) -> dict:
    chain = _chain(filters)
    names = browse.people(current_user.lab_id)
    types = browse.record_types(chain)
    ledger_lab = _ledger_lab(chain)
    return {"filters": filters, "names": names, "types": types,
            "network_log": chain == NETWORK_CHAIN,
            "ledger_lab": db.session.get(Lab, ledger_lab) if ledger_lab is not None else None,
            "hub": current_app.config["APP_ROLE"] == "hub",
            "actions": [a.value for a in AuditAction], "record_pages": browse.RECORD_PAGES,
            "changes": browse.changes, "actor_name": browse.actor_name, "shown": browse.shown,
            "export_args": {k: v for k, v in _raw(filters).items()
                            if k not in {"page", "per_page"}}}


def _raw(filters: dict) -> dict[str, str]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else str(v))
            for k, v in filters.items() if v not in (None, "")}


@bp.route("/audit")
@login_required
def log_page() -> ResponseReturnValue:
    filters = _filters(page_filters)
    chain = _chain(filters)
    page = listed(filters, lambda: browse.entries_select(chain, filters, _zone()),
                  order_by=browse.ORDER)
    # "verify now" verifies the user's lab's log: the network tab offers it when the network
    # records are sealed in that log (at the hub, the staff lab's)
    return render_template("audit/log.html", page=page, status=_status(chain),
                           backup=backups.status(),
                           verify_form=(VerifyForm(formdata=None)
                                        if _ledger_lab(chain) == current_user.lab_id else None),
                           **_context(filters)), filters.status


@bp.post("/audit/verify")
@login_required
def verify() -> ResponseReturnValue:
    """Verify the lab's whole log now (seconds on a large log) and put the result on record."""
    require_role(current_user, READ_AUDIT, "verify the audit log")
    state = browse.verify_now(current_user.lab_id)
    flash(state.sentence, "success" if state.ok else "error")
    return redirect(url_for(".log_page", _anchor="verification"), 303)


class VerifyForm(PageForm):
    """The "verify now" button: its CSRF token only."""


@bp.route("/audit/print")
@login_required
def print_page() -> ResponseReturnValue:
    filters = _filters()
    chain = _chain(filters)
    page = paginate(browse.entries_select(chain, filters, _zone()), page=1, per_page=PRINT_LIMIT,
                    order_by=browse.ORDER, filters=filters)
    _record_export(filters, "print", page.total)
    return render_template("audit/print.html", page=page, status=_status(chain),
                           limit=PRINT_LIMIT, generated_at=datetime.now(UTC),
                           **_context(filters))


@bp.route("/audit/export.csv")
@login_required
def export_csv() -> ResponseReturnValue:
    filters = _filters()
    chain = _chain(filters)
    total = db.session.scalar(
        browse.entries_select(chain, filters, _zone()).with_only_columns(db.func.count()))
    _record_export(filters, "csv", total)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    filename = f"{current_user.lab.code}-audit-{stamp}.csv"
    return Response(stream_with_context(browse.csv_lines(chain, filters, _zone())),
                    mimetype="text/csv", headers={
                        "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/audit/export.pdf")
@login_required
def export_pdf() -> ResponseReturnValue:
    """The filtered entries (the newest :data:`PRINT_LIMIT`) as a PDF a clerk can file."""
    from ballistics.audit import pdf

    filters = _filters()
    lab = current_user.lab
    chain = _chain(filters)
    page = paginate(browse.entries_select(chain, filters, _zone()), page=1, per_page=PRINT_LIMIT,
                    order_by=browse.ORDER, filters=filters)
    _record_export(filters, "pdf", page.total)
    now = datetime.now(UTC)
    data = pdf.render(lab_name=lab.name, generated_by=current_user.full_name,
                      generated_at=now, filters=_context(filters)["export_args"],
                      entries=page.items, total=page.total, status=_status(chain),
                      names=browse.people(lab.id), actor_name=browse.actor_name,
                      zone=_zone())
    filename = f"{lab.code}-audit-{now.strftime('%Y%m%dT%H%M%SZ')}.pdf"
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def _record_export(filters: dict, form: str, count: int) -> None:
    """An export of the log is a disclosure: it goes on the record (in the same log)."""
    record_read(db.session, lab_id=current_user.lab_id, object_type="audit_entries",
                object_id=f"export:{form}",
                detail={"view": f"audit_export_{form}", "entries": count,
                        "filters": {k: v for k, v in _raw(filters).items()
                                    if k not in {"page", "per_page"}},
                        "url": url_for("audit.log_page", **_raw(filters))})
