"""The findings list: every stored finding of the lab, filtered and paginated (the dashboard
shows only the newest few)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from marshmallow import ValidationError, validate, validates_schema
from sqlalchemy import Select

from ballistics.core import fields
from ballistics.core.pagination import PageArgs
from ballistics.core.schema import one_of
from ballistics.core.timeutil import day_range_utc
from sop.models import Examination, Finding
from sop.models.quality import Severity
from sop.services.compliance.registry import all_rules
from sop.services.dashboard import findings_joined

#: newest examination first; the finding's id makes the order total (stable pages)
ORDER = (Examination.performed_at.desc(), Finding.id.desc())


class FindingFilterSchema(PageArgs):
    """Days (the lab's) the examination was performed, rule, severity and examiner."""

    start = fields.Date()
    end = fields.Date()
    rule = fields.String(validate=validate.Length(max=40))
    severity = fields.String(validate=one_of(*Severity))
    examiner_id = fields.Integer(validate=validate.Range(min=1))

    @validates_schema
    def _check(self, data: dict, **_kwargs) -> None:
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ValidationError(_("The end date is before the start date."), "end")
        if data.get("rule") and data["rule"] not in {r.id for r in all_rules()}:
            raise ValidationError(_("No such rule."), "rule")


def findings_select(lab_id: int, filters: dict[str, Any], zone: str = "UTC") -> Select:
    """Rows of (Finding, performed_at, examiner name, SOP code, version number, case number).
    The start and end are whole days in ``zone`` (the lab's time zone)."""
    stmt = findings_joined().where(Finding.lab_id == lab_id, Examination.lab_id == lab_id)
    lower, upper = day_range_utc(filters.get("start"), filters.get("end"), zone)
    if lower is not None:
        stmt = stmt.where(Examination.performed_at >= lower)
    if upper is not None:
        stmt = stmt.where(Examination.performed_at < upper)
    if filters.get("rule"):
        stmt = stmt.where(Finding.rule_id == filters["rule"])
    if filters.get("severity"):
        stmt = stmt.where(Finding.severity == Severity(filters["severity"]))
    if filters.get("examiner_id"):
        stmt = stmt.where(Examination.examiner_id == filters["examiner_id"])
    return stmt
