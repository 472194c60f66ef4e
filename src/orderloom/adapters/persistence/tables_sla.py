"""SLA tables: one clock per subject (indexed by its warning and deadline times) and the exception inbox."""

from __future__ import annotations

import sqlalchemy as sa

from orderloom.adapters.persistence.tables import UtcDateTime, metadata

__all__ = ["sla_clocks", "sla_exceptions"]

sla_clocks = sa.Table(
    "sla_clocks",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("subject_kind", sa.String(16), primary_key=True),  # order | shipment
    sa.Column("subject_id", sa.String(64), primary_key=True),
    sa.Column("entry_id", sa.String(40), nullable=False),  # the event that entered the status
    sa.Column("state", sa.String(96), nullable=False),
    sa.Column("entered_at", UtcDateTime(), nullable=False),
    sa.Column("warn_at", UtcDateTime(), nullable=True),  # NULL once warned (or no rule)
    sa.Column("due_at", UtcDateTime(), nullable=True),  # NULL once breached (or no rule)
    sa.Column("deadline", UtcDateTime(), nullable=True),  # the due time, kept after flagging
    sa.Column("warned_at", UtcDateTime(), nullable=True),
    sa.Column("breached_at", UtcDateTime(), nullable=True),
    sa.Column("owner", sa.String(32), nullable=True),
    sa.Column("action", sa.String(64), nullable=True),
    sa.Column("channel", sa.String(40), nullable=True),
    sa.Column("carrier", sa.String(40), nullable=True),
    # partial: a flagged clock (time cleared) leaves the index, so a scan's UPDATE adds no entry for it (0013)
    sa.Index(
        "ix_sla_clocks_due",
        "due_at",
        postgresql_where=sa.text("due_at IS NOT NULL"),
        sqlite_where=sa.text("due_at IS NOT NULL"),
    ),
    sa.Index(
        "ix_sla_clocks_warn",
        "warn_at",
        postgresql_where=sa.text("warn_at IS NOT NULL"),
        sqlite_where=sa.text("warn_at IS NOT NULL"),
    ),
)

sla_exceptions = sa.Table(
    "sla_exceptions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("subject_kind", sa.String(16), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("entry_id", sa.String(40), nullable=False),
    sa.Column("level", sa.String(8), nullable=False),  # warning | breach
    sa.Column("state", sa.String(96), nullable=False),
    sa.Column("status_main", sa.String(32), nullable=False),
    sa.Column("owner", sa.String(32), nullable=True),
    sa.Column("action", sa.String(64), nullable=True),
    sa.Column("channel", sa.String(40), nullable=True),
    sa.Column("carrier", sa.String(40), nullable=True),
    sa.Column("since", UtcDateTime(), nullable=False),
    sa.Column("due_at", UtcDateTime(), nullable=False),
    sa.Column("flagged_at", UtcDateTime(), nullable=False),
    sa.Column("resolved_at", UtcDateTime(), nullable=True),
    sa.UniqueConstraint("tenant_id", "subject_kind", "subject_id", "entry_id", "level", name="uq_sla_exceptions_entry"),
    sa.Index("ix_sla_exceptions_tenant", "tenant_id", "id"),
)
