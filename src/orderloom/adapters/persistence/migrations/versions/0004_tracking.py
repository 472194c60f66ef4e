"""shipment tracking: shipments, tracking numbers, carrier scans, unmapped code counts

Revision ID: 0004
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=120), nullable=True),
        sa.Column("tracking_numbers", sa.Text(), nullable=False),
        sa.Column("origin_location_id", sa.String(length=64), nullable=True),
        sa.Column("promised_date", sa.Date(), nullable=True),
        sa.Column("eta", sa.Date(), nullable=True),
        sa.Column("status_main", sa.String(length=32), nullable=True),
        sa.Column("status_sub", sa.String(length=48), nullable=True),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dest_latitude", sa.Float(), nullable=True),
        sa.Column("dest_longitude", sa.Float(), nullable=True),
        sa.Column("arrival_radius_m", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
    )
    op.create_index("ix_shipments_tenant_order", "shipments", ["tenant_id", "order_id"])
    op.create_index("ix_shipments_tenant_status", "shipments", ["tenant_id", "status_main", "last_event_at"])
    op.create_table(
        "shipment_numbers",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("tracking_number", sa.String(length=80), nullable=False),
        sa.Column("shipment_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "carrier", "tracking_number", name=op.f("pk_shipment_numbers")),
    )
    op.create_table(
        "shipment_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("shipment_id", sa.String(length=40), nullable=False),
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("tracking_number", sa.String(length=80), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code_key", sa.String(length=200), nullable=False),
        sa.Column("raw_code", sa.String(length=80), nullable=True),
        sa.Column("raw_description", sa.Text(), nullable=True),
        sa.Column("status_main", sa.String(length=32), nullable=True),
        sa.Column("status_sub", sa.String(length=48), nullable=True),
        sa.Column("mapping", sa.String(length=16), nullable=False),
        sa.Column("unmapped", sa.Boolean(), nullable=False),
        sa.Column("flag", sa.String(length=24), nullable=True),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_events")),
        sa.UniqueConstraint(
            "tenant_id", "carrier", "tracking_number", "occurred_at", "code_key", name="uq_shipment_events_dedupe"
        ),
    )
    op.create_index("ix_shipment_events_shipment", "shipment_events", ["tenant_id", "shipment_id", "occurred_at"])
    op.create_table(
        "unmapped_codes",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("code_key", sa.String(length=200), nullable=False),
        sa.Column("raw_code", sa.String(length=80), nullable=True),
        sa.Column("sample_description", sa.Text(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "carrier", "code_key", name=op.f("pk_unmapped_codes")),
    )

    op.create_table(
        "shipment_telemetry",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("shipment_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("ignored", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_telemetry")),
    )
    op.create_index("ix_shipment_telemetry_shipment", "shipment_telemetry", ["tenant_id", "shipment_id", "at"])
    op.create_table(
        "shipment_telemetry_state",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("shipment_id", sa.String(length=40), nullable=False),
        sa.Column("excursion_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("excursion_max_c", sa.Float(), nullable=True),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.Column("arriving_sent", sa.Boolean(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "shipment_id", name=op.f("pk_shipment_telemetry_state")),
    )
    op.create_table(
        "notification_ledger",
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "channel", name=op.f("pk_notification_ledger")),
    )
    op.create_index("ix_notification_ledger_tenant", "notification_ledger", ["tenant_id", "claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_notification_ledger_tenant", table_name="notification_ledger")
    op.drop_table("notification_ledger")
    op.drop_table("shipment_telemetry_state")
    op.drop_index("ix_shipment_telemetry_shipment", table_name="shipment_telemetry")
    op.drop_table("shipment_telemetry")
    op.drop_table("unmapped_codes")
    op.drop_index("ix_shipment_events_shipment", table_name="shipment_events")
    op.drop_table("shipment_events")
    op.drop_table("shipment_numbers")
    op.drop_index("ix_shipments_tenant_status", table_name="shipments")
    op.drop_index("ix_shipments_tenant_order", table_name="shipments")
    op.drop_table("shipments")
