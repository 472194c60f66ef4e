"""Routing decisions stored in SQL (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from orderloom.adapters.persistence.tables_inventory import inventory_reservations
from orderloom.adapters.persistence.tables_routing import routing_decisions, routing_dual_prices
from orderloom.application.routing_ports import RoutingRecord

__all__ = ["SqlDualPrices", "SqlRoutingReads", "SqlRoutingRecords"]


class SqlRoutingRecords:
    """Routing decisions on one connection (inside the caller's transaction)."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, record: RoutingRecord) -> None:
        """Append a decision."""
        self._conn.execute(
            routing_decisions.insert().values(
                tenant_id=record.tenant_id,
                order_id=record.order_id,
                decided_at=record.decided_at,
                decision=json.dumps(record.decision, sort_keys=True),
            )
        )

    def of_order(self, tenant_id: str, order_id: str) -> list[RoutingRecord]:
        """An order's decisions, oldest first."""
        t = routing_decisions
        rows = self._conn.execute(
            sa.select(t.c.decided_at, t.c.decision)
            .where(t.c.tenant_id == tenant_id, t.c.order_id == order_id)
            .order_by(t.c.id)
        ).all()
        return [RoutingRecord(tenant_id, order_id, r.decided_at, json.loads(r.decision)) for r in rows]

    def orders_allocated_at(self, tenant_id: str, location_id: str | None) -> list[str]:
        """Ids of orders holding active stock reservations at a location (None: anywhere), sorted."""
        t = inventory_reservations
        query = sa.select(t.c.order_id).where(t.c.tenant_id == tenant_id, t.c.status == "active", t.c.kind == "stock")
        if location_id is not None:
            query = query.where(t.c.location_id == location_id)
        return list(self._conn.execute(query.distinct().order_by(t.c.order_id)).scalars())


class SqlRoutingReads:
    """Routing decisions read on the read engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def of_order(self, tenant_id: str, order_id: str) -> list[RoutingRecord]:
        """An order's decisions, oldest first."""
        with self._engine.connect() as conn:
            return SqlRoutingRecords(conn).of_order(tenant_id, order_id)


class SqlDualPrices:
    """Dual prices of stock per tenant, replaced as a whole by each LP run."""

    def __init__(self, write: sa.Engine, read: sa.Engine) -> None:
        self._write, self._read = write, read

    def replace(self, tenant_id: str, prices: Mapping[tuple[str, str], Decimal], at: datetime) -> None:
        """Store a tenant's prices (SKU, location) → price, dropping the previous set."""
        t = routing_dual_prices
        rows = [
            {"tenant_id": tenant_id, "sku": sku, "location_id": loc, "price": str(p), "computed_at": at}
            for (sku, loc), p in sorted(prices.items())
        ]
        with self._write.begin() as conn:
            conn.execute(t.delete().where(t.c.tenant_id == tenant_id))
            if rows:
                conn.execute(t.insert(), rows)

    def load(self, tenant_id: str) -> dict[tuple[str, str], Decimal]:
        """A tenant's current prices (empty before the first LP run)."""
        t = routing_dual_prices
        with self._read.connect() as conn:
            rows = conn.execute(sa.select(t.c.sku, t.c.location_id, t.c.price).where(t.c.tenant_id == tenant_id))
            return {(r.sku, r.location_id): Decimal(r.price) for r in rows}
