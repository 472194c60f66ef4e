"""Console tables: operator accounts per tenant and the server secret that signs sessions and tracking links."""

from __future__ import annotations

import sqlalchemy as sa

from orderloom.adapters.persistence.tables import UtcDateTime, metadata, orders

__all__ = ["console_secrets", "console_users"]

console_users = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("username", sa.String(80), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # viewer | operator | admin
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("disabled_at", UtcDateTime(), nullable=True),
    sa.UniqueConstraint("tenant_id", "username", name="uq_console_users_tenant_username"),
)

console_secrets = sa.Table(
    "console_secrets",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

# order search by channel order id alone (the unique key starts with channel)
sa.Index("ix_orders_tenant_channel_order_id", orders.c.tenant_id, orders.c.channel_order_id)
# the unfiltered list, newest first (the console's default view and GET /v1/orders without filters)
sa.Index("ix_orders_tenant_newest", orders.c.tenant_id, orders.c.id)
