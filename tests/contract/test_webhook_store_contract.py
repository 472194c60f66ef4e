"""The webhook store port: the in-memory twin and SQL (SQLite, PostgreSQL) behave the same."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from orderloom.adapters.memory_webhooks import MemoryWebhookStore
from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.webhooks import SqlWebhookStore
from orderloom.application.ports import WebhookStore
from orderloom.domain.webhooks import Delivery, DeliveryStatus, Subscription

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sql"])
def store(request: pytest.FixtureRequest, db_url: str) -> WebhookStore:
    if request.param == "memory":
        return MemoryWebhookStore()
    engines = make_engines(db_url)
    request.addfinalizer(engines.dispose)
    return SqlWebhookStore(engines.write, engines.read)


def _sub(tenant: str, n: int = 0) -> Subscription:
    return Subscription(
        f"whk_{uuid.uuid4().hex[:12]}",
        tenant,
        f"https://r{n}.example/h",
        ("orderloom.order.*",),
        "s" * 20,
        True,
        T0 + timedelta(seconds=n),
    )


def _delivery(sub: Subscription, event_id: str, due: datetime = T0) -> Delivery:
    return Delivery(
        f"dlv_{uuid.uuid4().hex[:12]}",
        sub.tenant_id,
        sub.id,
        event_id,
        "orderloom.order.placed",
        DeliveryStatus.PENDING,
        0,
        due,
        None,
        None,
        None,
        T0,
    )


def test_subscriptions_are_tenant_scoped_and_deactivate(store: WebhookStore) -> None:
    tenant, other = f"ten_{uuid.uuid4().hex[:8]}", f"ten_{uuid.uuid4().hex[:8]}"
    a, b = _sub(tenant, 1), _sub(tenant, 2)
    store.add_subscription(a)
    store.add_subscription(b)
    store.add_subscription(_sub(other))
    assert [s.id for s in store.subscriptions(tenant)] == [a.id, b.id]
    assert store.get_subscription(other, a.id) is None
    assert store.get_subscription(tenant, a.id) == a
    assert store.deactivate(tenant, a.id) is True
    assert store.deactivate(other, b.id) is False
    got = store.get_subscription(tenant, a.id)
    assert got is not None and got.active is False


def test_deliveries_dedupe_come_due_and_record_attempts(store: WebhookStore) -> None:
    tenant = f"ten_{uuid.uuid4().hex[:8]}"
    sub = _sub(tenant)
    store.add_subscription(sub)
    first = _delivery(sub, "evt-1")
    assert store.add_deliveries([first, _delivery(sub, "evt-2", T0 + timedelta(minutes=5))]) == 2
    assert store.add_deliveries([_delivery(sub, "evt-1")]) == 0  # one delivery per (subscription, event)
    assert [d.event_id for d in store.due(T0, 10)] == ["evt-1"]
    retry = T0 + timedelta(seconds=30)
    store.record_attempt(
        first.id, status=DeliveryStatus.PENDING, status_code=500, error="HTTP 500", next_attempt_at=retry, at=T0
    )
    assert [d.event_id for d in store.due(T0 + timedelta(seconds=10), 10)] == []
    assert [d.event_id for d in store.due(T0 + timedelta(minutes=10), 10)] == ["evt-1", "evt-2"]
    store.record_attempt(
        first.id, status=DeliveryStatus.DELIVERED, status_code=204, error=None, next_attempt_at=None, at=retry
    )
    done = store.get_delivery(tenant, first.id)
    assert done is not None
    assert (done.status, done.attempts, done.last_status_code, done.delivered_at) == ("delivered", 2, 204, retry)
    store.requeue(first.id, at=retry)
    again = store.get_delivery(tenant, first.id)
    assert again is not None and (again.status, again.attempts) == ("pending", 0)
    assert [d.event_id for d in store.deliveries(tenant, sub.id, 10)] and store.get_delivery("ten_x", first.id) is None
