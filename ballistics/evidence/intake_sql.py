"""The rows of one intake (the item, its received event, their audit entries) in as few round
trips as the database allows: one statement on PostgreSQL (INSERTs in data-modifying CTEs, each
row given as one JSON parameter), three on SQLite (which has neither). The same rows either way;
every statement is built once."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Connection, Table, insert, text

from ballistics.audit.models import AuditEntry
from ballistics.audit.services import insert_entries
from ballistics.evidence.models import CustodyEvent, Item

_ITEMS, _EVENTS, _ENTRIES = Item.__table__, CustodyEvent.__table__, AuditEntry.__table__


def _columns(table: Table, skip: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(c.name for c in table.c if c.name not in skip)


_ITEM_COLUMNS, _EVENT_COLUMNS = _columns(_ITEMS), _columns(_EVENTS)
_ENTRY_COLUMNS = _columns(_ENTRIES, skip=("id",))  # drawn from the entries' sequence


def _from_json(table: Table, columns: tuple[str, ...], function: str, param: str) -> str:
    names = ", ".join(columns)
    return (f"INSERT INTO {table.name} ({names}) SELECT {names} "  # noqa: S608 (names from the models)
            f"FROM {function}(NULL::{table.name}, :{param})")


# Why JSON: a statement of 60-odd parameters is converted anew by psycopg at every execution
# (it caches statements of up to 50), which cost more than the two round trips it saved.
# json_populate_record reads each value with the column type's own input function (text for
# the CHECK-constrained enums, timestamps in ISO form, JSON columns as nested JSON). The rows of
# the recordset are inserted in array order: the item's entry is drawn its id before the event's.
_ONE_STATEMENT = text(
    f"WITH new_item AS ({_from_json(_ITEMS, _ITEM_COLUMNS, 'json_populate_record', 'item')}), "
    f"new_event AS ({_from_json(_EVENTS, _EVENT_COLUMNS, 'json_populate_record', 'event')}) "
    + _from_json(_ENTRIES, _ENTRY_COLUMNS, "json_populate_recordset", "entries"))
_INSERT_ITEM, _INSERT_EVENT = insert(_ITEMS), insert(_EVENTS)


def _json_value(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _json(values) -> str:
    return json.dumps(values, default=_json_value, separators=(",", ":"))


def write_intake(conn: Connection, item: dict, event: dict, entries: list[dict]) -> None:
    """Insert the item, its event (ids given) and their audit entries; every column of each
    row has a value (a column left out would be NULL on PostgreSQL and its default on SQLite)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_ONE_STATEMENT, {"item": _json(item), "event": _json(event),
                                      "entries": _json(entries)})
        return
    conn.execute(_INSERT_ITEM, item)
    conn.execute(_INSERT_EVENT, event)
    insert_entries(conn, entries)
