"""The case and item lists: their filters (loaded from the query string) and the lab-scoped
queries behind them, paginated by :mod:`ballistics.core.pagination`."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from marshmallow import ValidationError, validate, validates_schema
from sqlalchemy import Select, or_, select

from ballistics.auth.access import lab_select
from ballistics.auth.models import User
from ballistics.core import fields
from ballistics.core.pagination import PageArgs
from ballistics.core.schema import one_of
from ballistics.core.timeutil import day_range_utc
from ballistics.evidence.models import Case, Item, ItemKind, ItemStatus
from ballistics.evidence.services import LIKE_SPECIAL

#: newest first; the id is unique, so the order is total and pages never overlap
CASE_ORDER = (Case.id.desc(),)
ITEM_ORDER = (Item.id.desc(),)
HOLDERS = ("me", "storage", "outside")


def _like(q: str) -> str:
    # What is typed is matched literally: % and _ are not wildcards (serials contain "_").
    return "%" + LIKE_SPECIAL.sub(r"\\\g<0>", q.strip()) + "%"


def _days(stmt: Select, column, start, end, actor: User) -> Select:
    # The days a person picks are their lab's days (its pages show times in its zone).
    lower, upper = day_range_utc(start, end, actor.lab.time_zone or "UTC")
    if lower is not None:
        stmt = stmt.where(column >= lower)
    if upper is not None:
        stmt = stmt.where(column < upper)
    return stmt


class _Dated(PageArgs):
    opened_from = fields.Date()
    opened_to = fields.Date()

    @validates_schema
    def _in_order(self, data: dict, **_kwargs) -> None:
        if data.get("opened_from") and data.get("opened_to") and (
                data["opened_to"] < data["opened_from"]):
            raise ValidationError(_("The end date is before the start date."), "opened_to")


class CaseFilterSchema(_Dated):
    """Free text (case numbers, agency, offence, an item's barcode or serial) and the days (in
    the lab's time zone) the case was opened."""

    q = fields.String(validate=validate.Length(max=200))


class ItemFilterSchema(_Dated):
    """Free text (barcode, serial, make, description), kind, status and who holds it."""

    q = fields.String(validate=validate.Length(max=200))
    kind = fields.String(validate=one_of(*ItemKind))
    status = fields.String(validate=one_of(*ItemStatus))
    holder = fields.String(validate=validate.OneOf(HOLDERS))
    case_id = fields.Integer(validate=validate.Range(min=1))


def cases_select(actor: User, filters: dict[str, Any]) -> Select:
    stmt = lab_select(Case, actor)
    q = filters.get("q", "")
    if q.strip():
        like = _like(q)

        def has(column):
            return column.ilike(like, escape="\\")

        stmt = stmt.where(or_(has(Case.lab_case_number), has(Case.agency_case_number),
                              has(Case.submitting_agency), has(Case.offence),
                              Case.id.in_(select(Item.case_id).where(
                                  Item.lab_id == actor.lab_id,
                                  or_(has(Item.barcode), has(Item.serial_number))))))
    return _days(stmt, Case.created_at, filters.get("opened_from"), filters.get("opened_to"),
                 actor)


def items_select(actor: User, filters: dict[str, Any]) -> Select:
    stmt = lab_select(Item, actor)
    q = filters.get("q", "")
    if q.strip():
        like = _like(q)
        stmt = stmt.where(or_(*(c.ilike(like, escape="\\") for c in (
            Item.barcode, Item.serial_number, Item.make, Item.model, Item.description))))
    if filters.get("kind"):
        stmt = stmt.where(Item.kind == ItemKind(filters["kind"]))
    if filters.get("status"):
        stmt = stmt.where(Item.status == ItemStatus(filters["status"]))
    if filters.get("case_id"):
        stmt = stmt.where(Item.case_id == filters["case_id"])
    holder = filters.get("holder")
    if holder == "me":
        stmt = stmt.where(Item.holder_user_id == actor.id)
    elif holder == "storage":
        stmt = stmt.where(Item.holder_location_id.is_not(None))
    elif holder == "outside":
        stmt = stmt.where(Item.holder_agency.is_not(None))
    return _days(stmt, Item.created_at, filters.get("opened_from"), filters.get("opened_to"),
                 actor)
