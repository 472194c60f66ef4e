"""SQLAlchemy Core persistence for SQLite and PostgreSQL."""

__all__: list[str] = []
