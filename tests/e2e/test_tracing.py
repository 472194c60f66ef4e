"""One trace from the API request through the outbox to the event handlers (W3C traceparent in the CloudEvent)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from orderloom.adapters.observability import tracing
from orderloom.adapters.persistence.tables import outbox
from orderloom.application.messagebus import Subscription
from orderloom.bootstrap import bootstrap
from orderloom.config import Settings
from orderloom.entrypoints.api.app import create_app
from tests.conftest import example_order

EXPORTER = InMemorySpanExporter()
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module", autouse=True)
def _provider() -> None:
    if not tracing.tracing_enabled():
        tracing.make_tracer_provider(EXPORTER)


def test_api_span_continues_into_the_event_handlers(db_url: str) -> None:
    seen: list[dict[str, Any]] = []
    c = bootstrap(
        Settings(database_url=db_url, relay_enabled=False, tracing=True),
        subscriptions=[Subscription("collect", "orderloom.order.placed", seen.append)],
    )
    c.start()
    try:
        _, key = c.tenants.create(f"trace-{TRACE_ID[:6]}-{id(c)}")
        headers = {"Authorization": f"Bearer {key}", "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
        with TestClient(create_app(c, manage_lifecycle=False)) as client:
            r = client.post("/v1/orders", json=example_order(), headers=headers)
        assert r.status_code == 201
        order_id = r.json()["id"]
        with c.engines.read.connect() as conn:
            payload = conn.execute(sa.select(outbox.c.payload).where(outbox.c.aggregate_id == order_id)).scalar_one()
        assert msgspec.json.decode(payload)["traceparent"].split("-")[1] == TRACE_ID
        c.relay.drain()
        assert any(e["data"]["order_id"] == order_id for e in seen)
    finally:
        c.close()
    spans = EXPORTER.get_finished_spans()
    server = [s for s in spans if s.kind.name == "SERVER" and format(s.context.trace_id, "032x") == TRACE_ID]
    consumer = [s for s in spans if s.name == "process orderloom.order.placed"]
    assert server, "FastAPI's server span joined the caller's trace"
    assert any(format(s.context.trace_id, "032x") == TRACE_ID for s in consumer), "the handlers ran in the same trace"
