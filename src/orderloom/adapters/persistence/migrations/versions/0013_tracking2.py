"""tracking2: the SLA clock indexes only hold clocks still waiting (partial: due_at / warn_at IS NOT NULL)

Flagging a clock clears its time; with partial indexes the cleared row gets no new entry in them, so a scan's
UPDATE maintains fewer index entries and the indexes stay the size of what is still pending.

Revision ID: 0013
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_INDEXES = (("ix_sla_clocks_due", "due_at"), ("ix_sla_clocks_warn", "warn_at"))


def upgrade() -> None:
    for name, column in _INDEXES:
        op.drop_index(name, table_name="sla_clocks")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "sla_clocks", [column], unique=False, postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for name, column in _INDEXES:
        op.drop_index(name, table_name="sla_clocks")
        op.create_index(name, "sla_clocks", [column], unique=False)
