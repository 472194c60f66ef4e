"""Schema migrations with Alembic: ``orderloom db upgrade`` on an empty or an already-migrated database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from orderloom.adapters.persistence.engine import Engines

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engines: Engines, revision: str = "head") -> None:
    """Migrate the database to ``revision``."""
    cfg = alembic_config(engines.url)
    with engines.write.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()


def head_revision() -> str | None:
    """The newest revision shipped with this version."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engines: Engines) -> str | None:
    """The revision the database is at (None if never migrated)."""
    with engines.read.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
