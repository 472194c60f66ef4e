"""The console's look-ups use indexes (SQLite's query planner on a migrated store), so they stay fast on 1M orders."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.tables import orders
from tests.conftest import sqlite_url


def _plan(engine: sa.Engine, stmt: sa.Select[tuple[str]]) -> str:
    compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        return " | ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))


def test_search_lookups_use_indexes(tmp_path: Path) -> None:
    engine = make_engines(sqlite_url(tmp_path)).read
    t = "ten_x"
    base = sa.select(orders.c.id).where(orders.c.tenant_id == t)
    cases = {
        "channel order id": (base.where(orders.c.channel_order_id == "WEB-1"), "ix_orders_tenant_channel_order_id"),
        "customer email": (base.where(orders.c.customer_email == "a@b.c"), "ix_orders_tenant_email"),
        "order id": (base.where(orders.c.id == "ord_1"), "sqlite_autoindex_orders_1"),  # the primary key
        "status, newest first": (
            base.where(orders.c.status_main == "on_hold").order_by(orders.c.id.desc()).limit(51),
            "ix_orders_tenant_status",
        ),
        "newest first": (base.order_by(orders.c.id.desc()).limit(51), "ix_orders_tenant_newest"),
        "channel, newest first": (
            base.where(orders.c.channel == "web").order_by(orders.c.id.desc()).limit(51),
            "ix_orders_tenant_channel",
        ),
    }
    for name, (stmt, index) in cases.items():
        plan = _plan(engine, stmt)
        assert plan.startswith("SEARCH orders USING") and index in plan, f"{name}: {plan}"
        assert "TEMP B-TREE" not in plan, f"{name} sorts instead of reading the index in order: {plan}"


def test_timeline_and_kpi_reads_go_through_the_orders_audit_index(tmp_path: Path) -> None:
    from orderloom.adapters.persistence.tables import audit_log

    engine = make_engines(sqlite_url(tmp_path)).read
    timeline = sa.select(audit_log).where(audit_log.c.tenant_id == "t", audit_log.c.entity_id == "ord_1")
    assert "ix_audit_log_entity" in _plan(engine, timeline)  # type: ignore[arg-type]
    marks = (
        sa.select(audit_log.c.entity_id, audit_log.c.action, sa.func.min(audit_log.c.at))
        .where(
            audit_log.c.tenant_id == "t",
            audit_log.c.entity_id.in_(["ord_1", "ord_2"]),
            audit_log.c.action.in_(["order.allocate", "order.hold"]),
        )
        .group_by(audit_log.c.entity_id, audit_log.c.action)
    )
    plan = _plan(engine, marks)  # type: ignore[arg-type]
    assert "ix_audit_log_entity (tenant_id=? AND entity_id=?)" in plan, plan
