"""The demo's shipments: several carriers' real samples end in semantic statuses; telemetry alerts and
notifications reach the log sink through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from orderloom.bootstrap import bootstrap
from orderloom.config import Settings
from orderloom.entrypoints.cli.demo_tracking import load_tracking_demo
from tests.conftest import sqlite_url


def test_demo_shipments_have_semantic_statuses_alerts_and_notifications(tmp_path: Path) -> None:
    container = bootstrap(Settings(database_url=sqlite_url(tmp_path), relay_enabled=False), group_commit=False)
    try:
        tenant = container.tenants.create("demo")[0]
        rows = load_tracking_demo(container, tenant_id=tenant, now=datetime(2030, 1, 1, tzinfo=UTC))
        statuses = {(r["carrier"], r["tracking_number"]): r["status"] for r in rows}
        assert statuses[("dhl_express", "3180831640")] == "delivered.signed"
        assert statuses[("usps", "9400109104250532908587")] == "delivered.left_at_safe_place"
        assert statuses[("canadapost", "7023210039414604")] == "out_for_delivery.with_courier"
        assert statuses[("ups", "1Z023E2X0214323462")] == "delivery_issue.exception"
        assert len({r["carrier"] for r in rows}) >= 8
        assert load_tracking_demo(container, tenant_id=tenant, now=datetime(2030, 1, 1, tzinfo=UTC)) == []  # once
        container.relay.drain()
        sink = container.notifications.notifiers[0]  # type: ignore[union-attr]
        kinds = {m.event_type for m in sink.messages}  # type: ignore[attr-defined]
        assert {"orderloom.shipment.scan_recorded", "orderloom.shipment.status_changed"} <= kinds
        assert {"orderloom.shipment.cold_chain_breached", "orderloom.shipment.arriving_soon"} <= kinds
    finally:
        container.close()
