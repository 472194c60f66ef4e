"""fulfilment: fulfilment orders, waves, per-location release settings, applied confirmations

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fulfilment_orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("location_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("ship_by", _TS, nullable=True),
        sa.Column("wave_id", sa.String(length=40), nullable=True),
        sa.Column("pickup_expires_at", _TS, nullable=True),
        sa.Column("dispatched_at", _TS, nullable=True),
        sa.Column("dispatch_error", sa.String(length=400), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilment_orders")),
    )
    op.create_index("ix_fulfilment_orders_order", "fulfilment_orders", ["tenant_id", "order_id"])
    op.create_index("ix_fulfilment_orders_location", "fulfilment_orders", ["tenant_id", "location_id", "status", "id"])
    op.create_index("ix_fulfilment_orders_wave", "fulfilment_orders", ["tenant_id", "wave_id"])
    op.create_index("ix_fulfilment_orders_pickup", "fulfilment_orders", ["status", "pickup_expires_at"])
    op.create_table(
        "fulfilment_waves",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("location_id", sa.String(length=40), nullable=False),
        sa.Column("released_at", _TS, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilment_waves")),
    )
    op.create_index("ix_fulfilment_waves_location", "fulfilment_waves", ["tenant_id", "location_id", "released_at"])
    op.create_table(
        "fulfilment_locations",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("location_id", sa.String(length=40), nullable=False),
        sa.Column("release_mode", sa.String(length=16), nullable=False),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.Column("max_batch", sa.Integer(), nullable=False),
        sa.Column("horizon_hours", sa.Integer(), nullable=True),
        sa.Column("pickup_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "location_id", name=op.f("pk_fulfilment_locations")),
    )
    op.create_table(
        "fulfilment_confirmations",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("fo_id", sa.String(length=40), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("applied_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "event_id", name=op.f("pk_fulfilment_confirmations")),
    )


def downgrade() -> None:
    op.drop_table("fulfilment_confirmations")
    op.drop_table("fulfilment_locations")
    op.drop_index("ix_fulfilment_waves_location", table_name="fulfilment_waves")
    op.drop_table("fulfilment_waves")
    for name in ("pickup", "wave", "location", "order"):
        op.drop_index(f"ix_fulfilment_orders_{name}", table_name="fulfilment_orders")
    op.drop_table("fulfilment_orders")
