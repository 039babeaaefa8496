"""Evidence pages (server-rendered)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from ballistics.evidence.services import search_cases

bp = Blueprint("evidence", __name__)


@bp.route("/cases")
@login_required
def case_list():
    q = request.args.get("q", "").strip()
    return render_template("evidence/case_list.html", cases=search_cases(current_user, q), q=q)
