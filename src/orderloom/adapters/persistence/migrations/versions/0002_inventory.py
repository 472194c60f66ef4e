"""inventory: locations, balances, movement ledger, reservations, receipts, incoming supply, capacity

Revision ID: 0002
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inventory_locations",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("region", sa.String(length=120), nullable=True),
        sa.Column("city", sa.String(length=120), nullable=True),
        sa.Column("postal_code", sa.String(length=32), nullable=True),
        sa.Column("line1", sa.String(length=200), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("capabilities", sa.String(length=120), nullable=False),
        sa.Column("daily_capacity", sa.Integer(), nullable=True),
        sa.Column("cutoff_time", sa.String(length=5), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_inventory_locations")),
    )
    op.create_table(
        "inventory_balances",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=40), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reserved", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("safety_stock", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "on_hand >= 0 AND reserved >= 0 AND safety_stock >= 0", name=op.f("ck_inventory_balances_non_negative")
        ),
        sa.CheckConstraint("reserved <= on_hand", name=op.f("ck_inventory_balances_reserved_within_on_hand")),
        sa.PrimaryKeyConstraint("tenant_id", "sku", "location_id", name=op.f("pk_inventory_balances")),
    )
    op.create_table(
        "inventory_movements",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("on_hand_delta", sa.BigInteger(), nullable=False),
        sa.Column("reserved_delta", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_movements")),
    )
    op.create_index("ix_inventory_movements_sku", "inventory_movements", ["tenant_id", "sku", "id"])
    op.create_table(
        "inventory_reservations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=16), server_default="stock", nullable=False),
        sa.Column("source_ref", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_reservations")),
    )
    op.create_index("ix_inventory_reservations_order", "inventory_reservations", ["tenant_id", "order_id"])
    op.create_index("ix_inventory_reservations_source", "inventory_reservations", ["tenant_id", "source_ref"])
    op.create_index("ix_inventory_reservations_expiry", "inventory_reservations", ["status", "expires_at"])
    op.create_table(
        "inventory_receipts",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "reference", name=op.f("pk_inventory_receipts")),
    )
    op.create_table(
        "inventory_incoming",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("promised", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint(
            "promised >= 0 AND promised <= quantity", name=op.f("ck_inventory_incoming_promised_within_quantity")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "reference", "sku", "location_id", name=op.f("pk_inventory_incoming")),
    )
    op.create_index("ix_inventory_incoming_sku", "inventory_incoming", ["tenant_id", "sku", "expected_at"])
    op.create_table(
        "inventory_capacity",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("location_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("used", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_inventory_capacity_used_non_negative")),
        sa.PrimaryKeyConstraint("tenant_id", "location_id", "day", name=op.f("pk_inventory_capacity")),
    )
    op.create_table(
        "inventory_capacity_claims",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("location_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", "location_id", name=op.f("pk_inventory_capacity_claims")),
    )


def downgrade() -> None:
    op.drop_table("inventory_capacity_claims")
    op.drop_table("inventory_capacity")
    op.drop_index("ix_inventory_incoming_sku", table_name="inventory_incoming")
    op.drop_table("inventory_incoming")
    op.drop_index("ix_inventory_reservations_source", table_name="inventory_reservations")
    op.drop_table("inventory_receipts")
    op.drop_index("ix_inventory_reservations_expiry", table_name="inventory_reservations")
    op.drop_index("ix_inventory_reservations_order", table_name="inventory_reservations")
    op.drop_table("inventory_reservations")
    op.drop_index("ix_inventory_movements_sku", table_name="inventory_movements")
    op.drop_table("inventory_movements")
    op.drop_table("inventory_balances")
    op.drop_table("inventory_locations")
