"""The search list: its filters (from the query string) and the lab-scoped query, paginated by
:mod:`ballistics.core.pagination`; and how many searches an item page shows."""

from __future__ import annotations

from typing import Any

from marshmallow import validate
from sqlalchemy import Select, func, select

from ballistics.auth.access import lab_select
from ballistics.auth.models import User
from ballistics.comparisons.models import Scan, Search, SearchScope, SearchStatus
from ballistics.core import fields
from ballistics.core.pagination import PageArgs
from ballistics.core.schema import one_of
from ballistics.evidence.models import Item
from ballistics.extensions import db

#: newest first, by id (unique: a total, stable order)
SEARCH_ORDER = (Search.id.desc(),)
#: the item page lists this many of the item's searches, newest first, and links the rest
ITEM_PAGE_SEARCHES = 10


class SearchFilterSchema(PageArgs):
    """Which item or scan was searched, the search's status and scope, automatic or manual."""

    item_id = fields.Integer(validate=validate.Range(min=1))
    scan_id = fields.Integer(validate=validate.Range(min=1))
    status = fields.String(validate=one_of(*SearchStatus))
    scope = fields.String(validate=one_of(*SearchScope))
    automatic = fields.Boolean()


def searches_select(actor: User, filters: dict[str, Any]) -> Select:
    """The lab's searches with their query scan and item: rows of (Search, Scan, Item)."""
    stmt = (select(Search, Scan, Item).join(Scan, Scan.id == Search.query_scan_id)
            .join(Item, Item.id == Scan.item_id).where(Search.lab_id == actor.lab_id))
    if filters.get("item_id"):
        stmt = stmt.where(Scan.item_id == filters["item_id"])
    if filters.get("scan_id"):
        stmt = stmt.where(Search.query_scan_id == filters["scan_id"])
    if filters.get("status"):
        stmt = stmt.where(Search.status == SearchStatus(filters["status"]))
    if filters.get("scope"):
        stmt = stmt.where(Search.scope == SearchScope(filters["scope"]))
    if filters.get("automatic") is not None:
        stmt = stmt.where(Search.is_automatic.is_(filters["automatic"]))
    return stmt


def latest_for_item(actor: User, item: Item, limit: int = ITEM_PAGE_SEARCHES
                    ) -> tuple[list[Search], int]:
    """The item's newest ``limit`` searches (over all its scans) and how many it has."""
    base = lab_select(Search, actor).join(Scan, Scan.id == Search.query_scan_id).where(
        Scan.item_id == item.id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = db.session.scalars(base.order_by(*SEARCH_ORDER).limit(limit)).all()
    return list(rows), total
