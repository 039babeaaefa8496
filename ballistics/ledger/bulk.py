"""Many rows into one table at once, as the sealer writes its leaves and nodes; long lists in
slices a statement takes at once.

psycopg's ``executemany`` (what an INSERT of a list of rows becomes without RETURNING) sends one
INSERT per row: 12,000 statements for 6,000 leaves and their nodes, half of the sealer's CPU
and a statement's overhead in PostgreSQL for each row. On PostgreSQL the rows go as one binary
COPY (no text escaping of the hashes either; as arrays read back by ``unnest`` the text form of
the bytea arrays cost a third of the sealer's CPU). SQLite, in process, keeps ``executemany``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cache

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
    """Insert ``rows``, each with a value for every column the first row names, in the
    caller's transaction."""
    if not rows:
        return
    columns = tuple(rows[0])
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    # Each value as SQLAlchemy would bind it (an enum's value, not its name).
    processors = [table.c[name].type.bind_processor(conn.dialect) for name in columns]
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        with conn.connection.driver_connection.cursor() as cursor, \
                cursor.copy(statement) as copy:
            copy.set_types(_copy_types(table, columns, conn.dialect))
            for row in rows:
                copy.write_row([p(row[name]) if p else row[name]
                                for name, p in zip(columns, processors, strict=True)])
    except dbapi_error as exc:  # as SQLAlchemy raises it (IntegrityError, ...) for callers
        raise DBAPIError.instance(statement, None, exc, dbapi_error) from exc


@cache
def _copy_types(table: Table, columns: tuple[str, ...], dialect: Dialect) -> list[str]:
    # The column's type as PostgreSQL names it, without a length: "VARCHAR(20)" -> "varchar".
    return [re.sub(r"\(.*\)", "", table.c[name].type.compile(dialect)).strip().lower()
            for name in columns]


def chunks(items: Sequence, n: int) -> Iterator[Sequence]:
    """``items`` in consecutive slices of at most ``n`` (an IN list or a batch of rows)."""
    for i in range(0, len(items), n):
        yield items[i:i + n]
