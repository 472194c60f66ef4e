"""The migrations build exactly the schema the code's tables declare (on SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from orderloom.adapters.persistence.tables import metadata


def test_migrations_match_the_tables(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            diff = [d for d in compare_metadata(context, metadata) if not _ignorable(d)]
    finally:
        engine.dispose()
    assert diff == []


def _ignorable(d: object) -> bool:
    # alembic's own version table is not in our metadata
    return isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version"
