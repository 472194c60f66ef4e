"""Fulfilment tables: fulfilment orders (lines as JSON), waves, per-location release settings, applied confirmations."""

from __future__ import annotations

import sqlalchemy as sa

from orderloom.adapters.persistence.tables import UtcDateTime, metadata

__all__ = ["fulfilment_confirmations", "fulfilment_locations", "fulfilment_orders", "fulfilment_waves"]

fulfilment_orders = sa.Table(
    "fulfilment_orders",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("order_id", sa.String(40), nullable=False),
    sa.Column("location_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("ship_by", UtcDateTime(), nullable=True),
    sa.Column("wave_id", sa.String(40), nullable=True),
    sa.Column("pickup_expires_at", UtcDateTime(), nullable=True),
    sa.Column("dispatched_at", UtcDateTime(), nullable=True),
    sa.Column("dispatch_error", sa.String(400), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("doc", sa.Text(), nullable=False),  # JSON: the whole FO (lines with their counters, notes, ...)
    sa.Index("ix_fulfilment_orders_order", "tenant_id", "order_id"),
    sa.Index("ix_fulfilment_orders_location", "tenant_id", "location_id", "status", "id"),
    sa.Index("ix_fulfilment_orders_wave", "tenant_id", "wave_id"),
    sa.Index("ix_fulfilment_orders_pickup", "status", "pickup_expires_at"),
)

fulfilment_waves = sa.Table(
    "fulfilment_waves",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("location_id", sa.String(40), nullable=False),
    sa.Column("released_at", UtcDateTime(), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Index("ix_fulfilment_waves_location", "tenant_id", "location_id", "released_at"),
)

fulfilment_locations = sa.Table(
    "fulfilment_locations",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("location_id", sa.String(40), primary_key=True),
    sa.Column("release_mode", sa.String(16), nullable=False),
    sa.Column("webhook_url", sa.String(2000), nullable=True),
    sa.Column("webhook_secret", sa.String(200), nullable=True),
    sa.Column("max_batch", sa.Integer(), nullable=False),
    sa.Column("horizon_hours", sa.Integer(), nullable=True),
    sa.Column("pickup_days", sa.Integer(), nullable=False),
)

fulfilment_confirmations = sa.Table(
    "fulfilment_confirmations",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("fo_id", sa.String(40), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("result", sa.Text(), nullable=False),
    sa.Column("applied_at", UtcDateTime(), nullable=False),
)
