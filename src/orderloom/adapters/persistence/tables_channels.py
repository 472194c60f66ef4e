"""Channel intake tables: per-tenant channel secrets, the raw webhook inbox (stored before anything else), the
dedupe keys (written in the same transaction as the order), and the per-order channel sync point."""

from __future__ import annotations

import sqlalchemy as sa

from orderloom.adapters.persistence.tables import UtcDateTime, metadata

__all__ = ["channel_dedupe", "channel_inbox", "channel_order_sync", "channel_secrets", "merge_policies", "sku_prices"]

channel_secrets = sa.Table(
    "channel_secrets",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("channel", sa.String(40), primary_key=True),
    sa.Column("secret", sa.Text(), nullable=False),
    sa.Column("app_key", sa.String(200), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# every signed delivery, raw, before it is parsed: nothing accepted with a valid signature is ever lost
channel_inbox = sa.Table(
    "channel_inbox",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("dedupe_key", sa.String(200), nullable=False),
    sa.Column("source_ip", sa.String(64), nullable=True),
    sa.Column("headers", sa.Text(), nullable=False),
    sa.Column("payload", sa.LargeBinary(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    # received → applied | duplicate | stale | waiting (for its order) | quarantined | refused
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text(), nullable=True),
    sa.Column("channel_order_id", sa.String(128), nullable=True),
    sa.Column("channel_time", UtcDateTime(), nullable=True),
    sa.Column("order_id", sa.String(40), nullable=True),
    sa.Index("ix_channel_inbox_ref", "tenant_id", "channel", "channel_order_id", "state"),
)

channel_dedupe = sa.Table(
    "channel_dedupe",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("channel", sa.String(40), primary_key=True),
    sa.Column("dedupe_key", sa.String(200), primary_key=True),
    sa.Column("inbox_id", sa.String(40), nullable=False),
    sa.Column("order_id", sa.String(40), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

channel_order_sync = sa.Table(
    "channel_order_sync",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("channel", sa.String(40), primary_key=True),
    sa.Column("channel_order_id", sa.String(128), primary_key=True),
    sa.Column("order_id", sa.String(40), nullable=True),
    sa.Column("channel_time", UtcDateTime(), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# the last accepted unit price per SKU and currency (price-conflict check)
sku_prices = sa.Table(
    "sku_prices",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("unit_price", sa.Numeric(20, 4), nullable=False),
)

merge_policies = sa.Table(
    "merge_policies",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("window_seconds", sa.Integer(), nullable=False),
)
