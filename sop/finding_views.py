"""The findings list page (on the quality blueprint): filtered, paginated, the lab's only."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from ballistics.auth.access import require_role
from ballistics.auth.models import User
from ballistics.core.pagination import listed, page_filters
from ballistics.extensions import db
from sop.models.quality import Severity
from sop.permissions import MANAGE_QUALITY
from sop.services import finding_list
from sop.services.compliance.registry import all_rules
from sop.views import bp


@bp.route("/findings")
@login_required
def findings_page() -> ResponseReturnValue:
    require_role(current_user, MANAGE_QUALITY, "see quality records")
    filters = page_filters(finding_list.FindingFilterSchema)
    page = listed(filters, lambda: finding_list.findings_select(
        current_user.lab_id, filters, current_user.lab.time_zone or "UTC"),
        order_by=finding_list.ORDER, scalars=False)
    examiners = db.session.execute(select(User.id, User.full_name)
                                   .where(User.lab_id == current_user.lab_id)
                                   .order_by(User.full_name)).all()
    return render_template("sop/findings.html", page=page, filters=filters,
                           rules=[r.id for r in all_rules()],
                           severities=[s.value for s in Severity],
                           examiners=examiners), filters.status
