"""channel intake: secrets, raw inbox, dedupe keys, order sync points, last-seen SKU prices, merge policies

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-26 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_secrets",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("app_key", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "channel", name=op.f("pk_channel_secrets")),
    )
    op.create_table(
        "channel_inbox",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("channel_order_id", sa.String(length=128), nullable=True),
        sa.Column("channel_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_inbox")),
    )
    op.create_index(
        "ix_channel_inbox_ref", "channel_inbox", ["tenant_id", "channel", "channel_order_id", "state"], unique=False
    )
    op.create_table(
        "channel_dedupe",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("inbox_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "channel", "dedupe_key", name=op.f("pk_channel_dedupe")),
    )
    op.create_table(
        "channel_order_sync",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("channel_order_id", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("channel_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "channel", "channel_order_id", name=op.f("pk_channel_order_sync")),
    )
    op.create_table(
        "sku_prices",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("unit_price", sa.Numeric(20, 4), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "sku", "currency", name=op.f("pk_sku_prices")),
    )
    op.create_table(
        "merge_policies",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_merge_policies")),
    )


def downgrade() -> None:
    op.drop_table("merge_policies")
    op.drop_table("sku_prices")
    op.drop_table("channel_order_sync")
    op.drop_table("channel_dedupe")
    op.drop_index("ix_channel_inbox_ref", table_name="channel_inbox")
    op.drop_table("channel_inbox")
    op.drop_table("channel_secrets")
