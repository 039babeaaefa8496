"""Lists that scale: validated filters and one paginator for every list page.

A list page loads its query string with a filter schema (:func:`page_filters`; a bad value is
refused, never ignored: the page answers 400 with the filters as typed and each refusal beside
them, and lists nothing), builds a lab-scoped SELECT and hands it to :func:`listed`, which
orders it by the given columns with the primary key last (a stable order: two rows never swap
between pages) and cuts one bounded page out of it. The template shows it with ``pager(page)``
and the refusals with ``refused(filters)`` from ``templates/_pagination.html``. Exports, which
have no form to show an error beside, refuse with :func:`load_filters` (a 400 naming it).

Offset pagination: a list is read by people a page or two at a time, and a page number is
something a person can bookmark and quote. The page size is bounded (:data:`MAX_PER_PAGE`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError, validate
from sqlalchemy import Select, func, select

from ballistics.core import fields
from ballistics.core.errors import AppError
from ballistics.core.fields import text_input
from ballistics.core.schema import BaseSchema, flat_messages
from ballistics.core.validation_messages import localize_all
from ballistics.extensions import db

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
#: the deepest page one may ask for (a bound on the OFFSET the database has to skip)
MAX_PAGE = 10_000


class BadFilter(AppError):
    """A list's query string named a filter value that does not fit: refused, naming it."""

    status, code = 400, "bad_filter"


class PageArgs(BaseSchema):
    """``page`` and ``per_page``: every list schema extends this one."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=DEFAULT_PER_PAGE,
                              validate=validate.Range(min=1, max=MAX_PER_PAGE))


class Filters(dict):
    """A list page's filters as loaded or, when the query string was refused, as typed (so the
    form shows them again), with ``refused``: each bad filter's messages."""

    def __init__(self, values: Mapping[str, Any], refused: dict[str, list[str]] | None = None
                 ) -> None:
        super().__init__(values)
        self.refused = refused or {}

    @property
    def status(self) -> int:
        return 400 if self.refused else 200


def page_filters(schema: type[BaseSchema], args: Mapping[str, str] | None = None) -> Filters:
    """The query string (``request.args`` by default) loaded by ``schema`` in text mode; blank
    values are left out, so an empty filter box means "no filter". A refused one is said in
    the reader's language (a filter is typed on a page)."""
    raw = request.args if args is None else args
    data = {k: v for k, v in raw.items() if str(v).strip() != ""}
    try:
        with text_input():
            return Filters(schema().load(data))
    except ValidationError as exc:
        with text_input():
            defaults = schema().load({})
        return Filters({**defaults, **data}, localize_all(flat_messages(exc.messages)))


def load_filters(schema: type[BaseSchema], args: Mapping[str, str] | None = None) -> Filters:
    """:func:`page_filters` for what has no form to show a refusal beside (an export): a bad
    filter is a 400 naming it."""
    filters = page_filters(schema, args)
    if filters.refused:
        detail = "; ".join(f"{name}: {' '.join(texts)}"
                           for name, texts in filters.refused.items())
        raise BadFilter(_("Invalid filter: %(detail)s", detail=detail), fields=filters.refused)
    return filters


def listed(filters: Filters, select_rows: Callable[[], Select], *, order_by: Sequence[Any],
           scalars: bool = True) -> Page:
    """The page of the list the filters ask for; nothing (and no query) if they were refused,
    since the rows a refused filter would select are not known."""
    if filters.refused:
        return Page([], 1, DEFAULT_PER_PAGE, 0)
    return paginate(select_rows(), page=filters["page"], per_page=filters["per_page"],
                    order_by=order_by, filters=filters, scalars=scalars)


@dataclass
class Page:
    """One page of a list, and what the pager needs to link the others."""

    items: list
    page: int
    per_page: int
    total: int
    #: the filters in force, repeated in every page link (raw query-string values)
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        """1-based position of the first row shown (0 when the page is empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and a few around this one (None = gap)."""
        keep = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        out: list[int | None] = []
        for n in sorted(k for k in keep if 1 <= k <= self.pages):
            if out and out[-1] is not None and n > out[-1] + 1:
                out.append(None)
            out.append(n)
        return out

    def url(self, page: int, **extra: Any) -> str:
        """This list at another page, with the same filters and page size."""
        args = {**self.filters, **extra, "page": page}
        if self.per_page != DEFAULT_PER_PAGE:
            args["per_page"] = self.per_page
        return url_for(request.endpoint, **(request.view_args or {}), **args)


def paginate(stmt: Select, *, page: int = 1, per_page: int = DEFAULT_PER_PAGE,
             order_by: Sequence[Any], filters: Mapping[str, Any] | None = None,
             scalars: bool = True) -> Page:
    """One page of ``stmt`` in the order ``order_by`` (which must end on a unique column, so
    the order is total and stable); ``filters`` are kept for the page links."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, min(page, MAX_PAGE))
    total = db.session.scalar(select(func.count()).select_from(
        stmt.order_by(None).subquery())) or 0
    rows = db.session.execute(stmt.order_by(*order_by).limit(per_page)
                              .offset((page - 1) * per_page))
    items = list(rows.scalars() if scalars else rows)
    kept = {k: _text(v) for k, v in (filters or {}).items()
            if k not in {"page", "per_page"} and v not in (None, "")}
    return Page(items, page, per_page, total, kept)


def _text(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum member
        return str(value.value)
    return str(value)
