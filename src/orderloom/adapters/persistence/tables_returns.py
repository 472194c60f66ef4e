"""Returns (RMAs) and refunds, on the shared ``metadata``."""

from __future__ import annotations

import sqlalchemy as sa

from orderloom.adapters.persistence.tables import UtcDateTime, metadata

__all__ = ["refunds", "returns"]

returns = sa.Table(
    "returns",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("doc", sa.Text(), nullable=False),  # JSON: ReturnRequest.as_document()
    sa.Index("ix_returns_order", "tenant_id", "order_id"),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("return_id", sa.String(40), nullable=True),
    sa.Column("amount", sa.String(32), nullable=False),  # Decimal as text: exact on SQLite and PostgreSQL alike
    sa.Column("shipping", sa.String(32), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("lines", sa.Text(), nullable=False),  # JSON [[line_no, units], ...]
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index("ix_refunds_order", "tenant_id", "order_id", "created_at"),
)
