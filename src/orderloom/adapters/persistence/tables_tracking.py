"""Shipment tracking tables (same ``metadata`` as tables.py): shipments, their tracking numbers, carrier scans and
counts of raw codes we could not map."""

from __future__ import annotations

import sqlalchemy as sa

from orderloom.adapters.persistence.tables import BigId, UtcDateTime, metadata

__all__ = [
    "notification_ledger",
    "shipment_events",
    "shipment_numbers",
    "shipment_telemetry",
    "shipment_telemetry_state",
    "shipments",
    "unmapped_codes",
]

shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("order_id", sa.String(40), nullable=False),
    sa.Column("carrier", sa.String(40), nullable=False),
    sa.Column("service", sa.String(120), nullable=True),
    sa.Column("tracking_numbers", sa.Text(), nullable=False),
    sa.Column("origin_location_id", sa.String(64), nullable=True),
    sa.Column("promised_date", sa.Date(), nullable=True),
    sa.Column("eta", sa.Date(), nullable=True),
    sa.Column("status_main", sa.String(32), nullable=True),
    sa.Column("status_sub", sa.String(48), nullable=True),
    sa.Column("last_event_at", UtcDateTime(), nullable=True),
    sa.Column("shipped_at", UtcDateTime(), nullable=True),
    sa.Column("status_at", UtcDateTime(), nullable=True),
    sa.Column("dest_latitude", sa.Float(), nullable=True),
    sa.Column("dest_longitude", sa.Float(), nullable=True),
    sa.Column("arrival_radius_m", sa.Float(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Index("ix_shipments_tenant_order", "tenant_id", "order_id"),
    sa.Index("ix_shipments_tenant_status", "tenant_id", "status_main", "last_event_at"),
)

shipment_numbers = sa.Table(
    "shipment_numbers",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("carrier", sa.String(40), primary_key=True),
    sa.Column("tracking_number", sa.String(80), primary_key=True),
    sa.Column("shipment_id", sa.String(40), nullable=False),
)

shipment_events = sa.Table(
    "shipment_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("shipment_id", sa.String(40), nullable=False),
    sa.Column("carrier", sa.String(40), nullable=False),
    sa.Column("tracking_number", sa.String(80), nullable=False),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    sa.Column("code_key", sa.String(200), nullable=False),
    sa.Column("raw_code", sa.String(80), nullable=True),
    sa.Column("raw_description", sa.Text(), nullable=True),
    sa.Column("status_main", sa.String(32), nullable=True),
    sa.Column("status_sub", sa.String(48), nullable=True),
    sa.Column("mapping", sa.String(16), nullable=False),
    sa.Column("unmapped", sa.Boolean(), nullable=False),
    sa.Column("flag", sa.String(24), nullable=True),
    sa.Column("doc", sa.Text(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint(
        "tenant_id", "carrier", "tracking_number", "occurred_at", "code_key", name="uq_shipment_events_dedupe"
    ),
    sa.Index("ix_shipment_events_shipment", "tenant_id", "shipment_id", "occurred_at"),
)

unmapped_codes = sa.Table(
    "unmapped_codes",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("carrier", sa.String(40), primary_key=True),
    sa.Column("code_key", sa.String(200), primary_key=True),
    sa.Column("raw_code", sa.String(80), nullable=True),
    sa.Column("sample_description", sa.Text(), nullable=True),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Column("first_seen", UtcDateTime(), nullable=False),
    sa.Column("last_seen", UtcDateTime(), nullable=False),
)

shipment_telemetry = sa.Table(
    "shipment_telemetry",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("shipment_id", sa.String(40), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("temperature_c", sa.Float(), nullable=True),
    sa.Column("latitude", sa.Float(), nullable=True),
    sa.Column("longitude", sa.Float(), nullable=True),
    sa.Column("ignored", sa.Boolean(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Index("ix_shipment_telemetry_shipment", "tenant_id", "shipment_id", "at"),
)

shipment_telemetry_state = sa.Table(
    "shipment_telemetry_state",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("shipment_id", sa.String(40), primary_key=True),
    sa.Column("excursion_since", UtcDateTime(), nullable=True),
    sa.Column("excursion_max_c", sa.Float(), nullable=True),
    sa.Column("alerted", sa.Boolean(), nullable=False),
    sa.Column("arriving_sent", sa.Boolean(), nullable=False),
    sa.Column("last_at", UtcDateTime(), nullable=True),
)

notification_ledger = sa.Table(
    "notification_ledger",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("channel", sa.String(24), primary_key=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("order_id", sa.String(40), nullable=False),
    sa.Column("event_type", sa.String(120), nullable=False),
    sa.Column("recipient", sa.String(254), nullable=True),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("subject", sa.Text(), nullable=False),
    sa.Column("claimed_at", UtcDateTime(), nullable=False),
    sa.Index("ix_notification_ledger_tenant", "tenant_id", "claimed_at"),
)
