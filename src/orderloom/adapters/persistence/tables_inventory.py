"""Inventory tables: locations, per SKUxlocation balances, the append-only movement ledger, reservations, receipts."""

from __future__ import annotations

import sqlalchemy as sa

from orderloom.adapters.persistence.tables import BigId, UtcDateTime, metadata

__all__ = [
    "inventory_balances",
    "inventory_capacity",
    "inventory_capacity_claims",
    "inventory_incoming",
    "inventory_locations",
    "inventory_movements",
    "inventory_receipts",
    "inventory_reservations",
]

inventory_locations = sa.Table(
    "inventory_locations",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("country", sa.String(2), nullable=True),
    sa.Column("region", sa.String(120), nullable=True),
    sa.Column("city", sa.String(120), nullable=True),
    sa.Column("postal_code", sa.String(32), nullable=True),
    sa.Column("line1", sa.String(200), nullable=True),
    sa.Column("latitude", sa.Float(), nullable=True),
    sa.Column("longitude", sa.Float(), nullable=True),
    sa.Column("capabilities", sa.String(120), nullable=False),
    sa.Column("daily_capacity", sa.Integer(), nullable=True),
    sa.Column("cutoff_time", sa.String(5), nullable=True),
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
)

inventory_balances = sa.Table(
    "inventory_balances",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("location_id", sa.String(40), primary_key=True),
    sa.Column("on_hand", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("reserved", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("safety_stock", sa.BigInteger(), nullable=False, server_default="0"),
    sa.CheckConstraint("on_hand >= 0 AND reserved >= 0 AND safety_stock >= 0", name="non_negative"),
    sa.CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
)

inventory_movements = sa.Table(
    "inventory_movements",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("location_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("quantity", sa.BigInteger(), nullable=False),
    sa.Column("on_hand_delta", sa.BigInteger(), nullable=False),
    sa.Column("reserved_delta", sa.BigInteger(), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("reference", sa.String(128), nullable=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Index("ix_inventory_movements_sku", "tenant_id", "sku", "id"),
)

inventory_reservations = sa.Table(
    "inventory_reservations",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("order_id", sa.String(40), nullable=False),
    sa.Column("line_no", sa.Integer(), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("location_id", sa.String(40), nullable=False),
    sa.Column("quantity", sa.BigInteger(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="stock"),  # stock | incoming (presale)
    sa.Column("source_ref", sa.String(128), nullable=True),  # the purchase order of an incoming reservation
    sa.Index("ix_inventory_reservations_order", "tenant_id", "order_id"),
    sa.Index("ix_inventory_reservations_source", "tenant_id", "source_ref"),
    sa.Index("ix_inventory_reservations_expiry", "status", "expires_at"),
)

inventory_receipts = sa.Table(
    "inventory_receipts",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("reference", sa.String(128), primary_key=True),
    sa.Column("summary", sa.Text(), nullable=False),
)

inventory_incoming = sa.Table(
    "inventory_incoming",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("reference", sa.String(128), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("location_id", sa.String(40), primary_key=True),
    sa.Column("quantity", sa.BigInteger(), nullable=False),
    sa.Column("promised", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("expected_at", UtcDateTime(), nullable=False),
    sa.Column("received", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.CheckConstraint("promised >= 0 AND promised <= quantity", name="promised_within_quantity"),
    sa.Index("ix_inventory_incoming_sku", "tenant_id", "sku", "expected_at"),
)

inventory_capacity = sa.Table(
    "inventory_capacity",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("location_id", sa.String(40), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("used", sa.BigInteger(), nullable=False, server_default="0"),
    sa.CheckConstraint("used >= 0", name="used_non_negative"),
)

inventory_capacity_claims = sa.Table(
    "inventory_capacity_claims",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("order_id", sa.String(40), primary_key=True),
    sa.Column("location_id", sa.String(40), primary_key=True),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
)
