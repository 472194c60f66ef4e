"""Routing decisions stored in SQL (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from orderloom.adapters.persistence.tables_inventory import inventory_reservations
from orderloom.adapters.persistence.tables_routing import routing_decisions
from orderloom.application.routing_ports import RoutingRecord

__all__ = ["SqlRoutingReads", "SqlRoutingRecords"]


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
