"""Routing decisions with their explanation, on the shared ``metadata``."""

from __future__ import annotations

import sqlalchemy as sa

from orderloom.adapters.persistence.tables import UtcDateTime, metadata

__all__ = ["routing_decisions", "routing_dual_prices"]

routing_decisions = sa.Table(
    "routing_decisions",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("decided_at", UtcDateTime(), nullable=False),
    sa.Column("decision", sa.Text(), nullable=False),  # JSON: candidates, costs, rules fired, chosen plan, summary
    sa.Index("ix_routing_decisions_order", "tenant_id", "order_id", "id"),
)

# the dual prices (opportunity cost per unit) of stock per SKU and location, from the periodic LP of
# `orderloom worker routing`; the online router of every process reads them (cached for a minute)
routing_dual_prices = sa.Table(
    "routing_dual_prices",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("location_id", sa.String(40), primary_key=True),
    sa.Column("price", sa.String(24), nullable=False),  # Decimal as text, in the rate table's currency
    sa.Column("computed_at", UtcDateTime(), nullable=False),
)
