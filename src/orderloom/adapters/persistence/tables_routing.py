"""Routing decisions with their explanation, on the shared ``metadata``."""

from __future__ import annotations

import sqlalchemy as sa

from orderloom.adapters.persistence.tables import UtcDateTime, metadata

__all__ = ["routing_decisions"]

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
