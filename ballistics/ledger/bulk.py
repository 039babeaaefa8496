"""Many rows into one table in one statement per chunk, as the sealer writes its leaves and
nodes.

psycopg's ``executemany`` (what an INSERT of a list of rows becomes without RETURNING) sends one
INSERT per row: 12,000 statements for 6,000 leaves and their nodes, half of the sealer's CPU
and a statement's overhead in PostgreSQL for each row. On PostgreSQL the rows go as one array
per column, read back by ``unnest``: one statement, prepared once, whatever the chunk's length.
SQLite, in process, keeps ``executemany``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

from sqlalchemy import Connection, Table, TextClause, insert, text
from sqlalchemy.engine import Dialect

#: rows per statement (a chunk's arrays stay well under a megabyte)
CHUNK = 2000


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
    """Insert ``rows`` (every row with a value for every column of ``table`` it names; the
    first row names them)."""
    if not rows:
        return
    columns = tuple(rows[0])
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    statement = _unnest_insert(table, columns, conn.dialect)
    processors = [table.c[name].type.bind_processor(conn.dialect) for name in columns]
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        conn.execute(statement, {f"c{i}": _column(chunk, name, processors[i])
                                 for i, name in enumerate(columns)})


def _column(rows: Iterable[dict], name: str, process) -> list:
    # The column type's own bind processing (an enum's value, not its name), as an INSERT
    # through SQLAlchemy would store it.
    values = [row[name] for row in rows]
    return [process(v) for v in values] if process else values


@cache
def _unnest_insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> TextClause:
    arrays = ", ".join(f"CAST(:c{i} AS {table.c[name].type.compile(dialect)}[])"
                       for i, name in enumerate(columns))
    names = ", ".join(columns)
    return text(f"INSERT INTO {table.name} ({names}) "  # noqa: S608 (names from the model)
                f"SELECT * FROM unnest({arrays})")
