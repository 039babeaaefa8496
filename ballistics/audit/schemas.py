"""The audit viewer's filters, loaded from the query string (text mode) with strict fields."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, validate, validates_schema

from ballistics.audit.models import AuditAction
from ballistics.core import fields
from ballistics.core.pagination import PageArgs
from ballistics.core.schema import one_of


class AuditFilterSchema(PageArgs):
    """Person, date range (UTC days, both ends included), record (type and id) and action."""

    actor_id = fields.Integer(validate=validate.Range(min=1))
    date_from = fields.Date()
    date_to = fields.Date()
    object_type = fields.String(validate=validate.Regexp(
        r"^[a-z][a-z0-9_]{0,79}$", error=_l("A table name: lower-case letters, digits and _.")))
    object_id = fields.String(validate=validate.Length(max=80))
    action = fields.String(validate=one_of(*AuditAction))
    #: at the regional hub: "network", the hub's own records (members, keys, shared records,
    #: searches, leads, exchanges), kept apart from its staff's lab
    log = fields.String(validate=validate.OneOf(["network"]))

    @validates_schema
    def _dates_in_order(self, data: dict, **_kwargs) -> None:
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            raise ValidationError(_("The end date is before the start date."), "date_to")
        if data.get("object_id") and not data.get("object_type"):
            raise ValidationError(_("Give the record type with its id."), "object_type")

