"""Engines: SQLite (WAL, synchronous=FULL, one writer) or PostgreSQL, selected by ORDERLOOM_DATABASE_URL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

__all__ = ["Engines", "make_engines", "normalize_url"]


@dataclass(frozen=True)
class Engines:
    """One engine for writes (a single connection on SQLite) and one for reads."""

    write: sa.Engine
    read: sa.Engine
    url: str

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.write.dialect.name

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write.dispose()
        self.read.dispose()


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs and create the folder of a SQLite file."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return url


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> sa.Engine:
    engine = sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0 if immediate else 8,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (pysqlite's own handling breaks SAVEPOINT)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_engines(url: str) -> Engines:
    """Engines for a database URL."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        return Engines(
            write=_sqlite_engine(url, immediate=True, pool_size=1),
            read=_sqlite_engine(url, immediate=False, pool_size=8),
            url=url,
        )
    engine = sa.create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        pool_timeout=5,  # a request waits at most this long for a connection, then gets a 503
        connect_args={"connect_timeout": 5},
    )
    return Engines(write=engine, read=engine, url=url)
