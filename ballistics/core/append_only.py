"""Append-only tables: rows may be inserted, never changed or deleted through the ORM.

PostgreSQL and SQLite triggers (created by the migrations) refuse the same through plain SQL.
"""

from __future__ import annotations

from sqlalchemy import Delete, Update, event
from sqlalchemy.orm import Session

from ballistics.core.errors import AppendOnlyViolation

APPEND_ONLY_TABLES: set[str] = set()


def append_only(cls: type) -> type:
    """Class decorator marking a model's table append-only."""
    APPEND_ONLY_TABLES.add(cls.__tablename__)
    event.listen(cls, "before_update", _refuse("update"))
    event.listen(cls, "before_delete", _refuse("delete"))
    return cls


def _refuse(verb: str):
    def listener(mapper, connection, target):
        raise AppendOnlyViolation(f"{target.__tablename__} is append-only: {verb} refused")
    return listener


@event.listens_for(Session, "before_flush")
def _check_flush(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in APPEND_ONLY_TABLES and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation(f"{table} is append-only: change refused")


@event.listens_for(Session, "do_orm_execute")
def _check_bulk(state) -> None:
    stmt = state.statement
    if isinstance(stmt, Update | Delete) and stmt.table.name in APPEND_ONLY_TABLES:
        raise AppendOnlyViolation(f"{stmt.table.name} is append-only: bulk change refused")
