"""Driver-level INSERTs for the ingest hot path: the SQL is built once per table and dialect, values go straight to
the DBAPI cursor (SQLAlchemy Core's per-execute bookkeeping costs about five times the insert itself here).

Only plain columns are supported; datetimes are converted as SQLAlchemy would store them (naive UTC text on SQLite,
aware ``timestamptz`` on PostgreSQL), so rows read back through Core exactly as if Core had written them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

__all__ = ["COPY_MIN_ROWS", "bulk_insert_rows", "insert_rows"]


@cache
def _sql(table: sa.Table, columns: tuple[str, ...], dialect: str) -> str:
    marker = "?" if dialect == "sqlite" else "%s"
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join([marker] * len(columns))})'


def _value(value: Any, sqlite: bool) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: OrderLoom stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value
    return value


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys) through the driver; raises the driver's own IntegrityError."""
    if not rows:
        return
    columns = tuple(rows[0])
    dialect = conn.dialect.name
    sqlite = dialect == "sqlite"
    params = [tuple(_value(row[c], sqlite) for c in columns) for row in rows]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if len(params) == 1:
            cursor.execute(_sql(table, columns, dialect), params[0])
        else:
            cursor.executemany(_sql(table, columns, dialect), params)
    finally:
        cursor.close()


COPY_MIN_ROWS = 200
"""From this many rows on PostgreSQL, ``bulk_insert_rows`` streams them with COPY (one round trip) instead of an
``executemany`` (one statement per row, even pipelined)."""


def bulk_insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Like ``insert_rows``; large batches on PostgreSQL go through ``COPY … FROM STDIN``. For tables without
    conflicts to expect (COPY has no ON CONFLICT; a violation still raises the driver's IntegrityError)."""
    if conn.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
        insert_rows(conn, table, rows)
        return
    columns = tuple(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(tuple(_value(row[c], False) for c in columns))
    finally:
        cursor.close()
