"""routing: dual prices of stock from the periodic LP (read by every process's online router)

Revision ID: 0012
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_dual_prices",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=40), nullable=False),
        sa.Column("price", sa.String(length=24), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "sku", "location_id", name=op.f("pk_routing_dual_prices")),
    )


def downgrade() -> None:
    op.drop_table("routing_dual_prices")
