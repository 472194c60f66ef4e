"""The schema, as SQLAlchemy Core tables. Migrations under ``migrations/`` create and evolve it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = [
    "BigId",
    "UtcDateTime",
    "api_keys",
    "audit_log",
    "chain_heads",
    "handler_runs",
    "idempotency_keys",
    "metadata",
    "orders",
    "outbox",
    "quarantine",
    "tenants",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (stored naive UTC) and PostgreSQL (timestamptz)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: OrderLoom stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False, index=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("channel_order_id", sa.String(128), nullable=False),
    sa.Column("status_main", sa.String(32), nullable=False),
    sa.Column("status_sub", sa.String(48), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("grand_total", sa.String(32), nullable=False),
    sa.Column("customer_email", sa.String(254), nullable=True),
    sa.Column("tags", sa.Text(), nullable=False, server_default=""),
    sa.Column("placed_at", UtcDateTime(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("doc", sa.Text(), nullable=False),
    sa.UniqueConstraint("tenant_id", "channel", "channel_order_id", name="uq_orders_channel_ref"),
    sa.Index("ix_orders_tenant_status", "tenant_id", "status_main", "id"),
    sa.Index("ix_orders_tenant_channel", "tenant_id", "channel", "id"),
    sa.Index("ix_orders_tenant_placed", "tenant_id", "placed_at"),
    sa.Index("ix_orders_tenant_email", "tenant_id", "customer_email"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("action", sa.String(80), nullable=False),
    sa.Column("entity_type", sa.String(40), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("before", sa.Text(), nullable=False),
    sa.Column("after", sa.Text(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("tenant_id", "seq", name="uq_audit_log_tenant_seq"),
    sa.Index("ix_audit_log_entity", "tenant_id", "entity_id"),
)

chain_heads = sa.Table(
    "chain_heads",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("first_seq", sa.BigInteger(), nullable=False, server_default="1"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(40), nullable=False, unique=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("aggregate_type", sa.String(40), nullable=False),
    sa.Column("aggregate_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(120), nullable=False),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("published_at", UtcDateTime(), nullable=True),
    sa.Index("ix_outbox_aggregate", "tenant_id", "aggregate_id"),
    sa.Index(
        "ix_outbox_unpublished",
        "seq",
        sqlite_where=sa.text("published_at IS NULL"),
        postgresql_where=sa.text("published_at IS NULL"),
    ),
)

handler_runs = sa.Table(
    "handler_runs",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("handler", sa.String(80), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # done | failed | dead
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_handler_runs_due", "status", "next_attempt_at"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer(), nullable=False),
    sa.Column("resource_id", sa.String(64), nullable=True),
    sa.Column("response", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(40), nullable=True, index=True),
    sa.Column("source", sa.String(80), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("payload", sa.LargeBinary(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("resolved_at", UtcDateTime(), nullable=True),
)

# Tables of other areas live in their own modules on the same metadata; importing them here makes `metadata` whole.
from orderloom.adapters.persistence import tables_channels as _tables_channels  # noqa: E402
from orderloom.adapters.persistence import tables_console as _tables_console  # noqa: E402
from orderloom.adapters.persistence import tables_fulfilment as _tables_fulfilment  # noqa: E402
from orderloom.adapters.persistence import tables_inventory as _tables_inventory  # noqa: E402
from orderloom.adapters.persistence import tables_returns as _tables_returns  # noqa: E402
from orderloom.adapters.persistence import tables_routing as _tables_routing  # noqa: E402
from orderloom.adapters.persistence import tables_rules as _tables_rules  # noqa: E402
from orderloom.adapters.persistence import tables_scale as _tables_scale  # noqa: E402
from orderloom.adapters.persistence import tables_sla as _tables_sla  # noqa: E402
from orderloom.adapters.persistence import tables_tracking as _tables_tracking  # noqa: E402

del _tables_channels, _tables_console, _tables_inventory, _tables_routing, _tables_rules, _tables_scale
del _tables_sla, _tables_tracking, _tables_fulfilment, _tables_returns
