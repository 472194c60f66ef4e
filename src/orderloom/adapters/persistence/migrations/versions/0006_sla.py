"""SLA clocks and exception inbox

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-26 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sla_clocks",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=96), nullable=False),
        _ts("entered_at", nullable=False),
        _ts("warn_at"),
        _ts("due_at"),
        _ts("deadline"),
        _ts("warned_at"),
        _ts("breached_at"),
        sa.Column("owner", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=True),
        sa.Column("carrier", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "subject_kind", "subject_id", name=op.f("pk_sla_clocks")),
    )
    op.create_index("ix_sla_clocks_due", "sla_clocks", ["due_at"], unique=False)
    op.create_index("ix_sla_clocks_warn", "sla_clocks", ["warn_at"], unique=False)
    op.create_table(
        "sla_exceptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=96), nullable=False),
        sa.Column("status_main", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=True),
        sa.Column("carrier", sa.String(length=40), nullable=True),
        _ts("since", nullable=False),
        _ts("due_at", nullable=False),
        _ts("flagged_at", nullable=False),
        _ts("resolved_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_exceptions")),
        sa.UniqueConstraint(
            "tenant_id", "subject_kind", "subject_id", "entry_id", "level", name="uq_sla_exceptions_entry"
        ),
    )
    op.create_index("ix_sla_exceptions_tenant", "sla_exceptions", ["tenant_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sla_exceptions_tenant", table_name="sla_exceptions")
    op.drop_table("sla_exceptions")
    op.drop_index("ix_sla_clocks_warn", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_due", table_name="sla_clocks")
    op.drop_table("sla_clocks")
