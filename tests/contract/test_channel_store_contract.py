"""The channel store contract: the in-memory twin, SQLite and PostgreSQL behave the same behind the ChannelStore port,
and channel intake (receive_delivery) gives the same outcomes on each."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from orderloom.adapters.channels.intake import AdapterMapper
from orderloom.adapters.channels.shopify import ShopifyAdapter
from orderloom.adapters.memory import MemoryTransactionRunner, MemoryUnitOfWork
from orderloom.adapters.memory_channels import MemoryChannelState, MemoryChannelStore
from orderloom.application.channel_intake import receive_delivery
from orderloom.application.channel_ports import ChannelSecret, ChannelStore
from orderloom.application.ports import TransactionRunner, UnitOfWork
from orderloom.bootstrap import Container, bootstrap, load_lifecycle
from orderloom.config import Settings
from tests.conftest import sqlite_url
from tests.unit.test_channel_adapters import FIXTURES

T = TypeVar("T")
NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
LIFECYCLE = load_lifecycle()


class Backend:
    def __init__(
        self,
        runner: TransactionRunner,
        store_for: Callable[[UnitOfWork], ChannelStore],
        new_tenant: Callable[[], str] | None = None,
    ) -> None:
        self.runner = runner
        self.store_for = store_for
        self.new_tenant = new_tenant or tenant

    def run(self, fn: Callable[[ChannelStore, UnitOfWork], T]) -> T:
        return self.runner.run(lambda uow: fn(self.store_for(uow), uow))


def _memory() -> Backend:
    state = MemoryChannelState()

    def store_for(uow: UnitOfWork) -> ChannelStore:
        assert isinstance(uow, MemoryUnitOfWork)
        return MemoryChannelStore(state, uow.state.quarantine, uow.state.orders)

    return Backend(MemoryTransactionRunner(), store_for)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "memory":
        yield _memory()
        return
    url = sqlite_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    container: Container = bootstrap(Settings(database_url=url, relay_enabled=False), group_commit=False)
    try:
        yield Backend(
            container.tx, container.channel_store, lambda: container.tenants.create(f"t-{uuid.uuid4().hex[:8]}")[0]
        )
    finally:
        container.close()


def tenant() -> str:
    return f"ten_{uuid.uuid4().hex[:8]}"


def test_secrets_are_per_tenant_and_channel_and_replaceable(backend: Backend) -> None:
    t1, t2 = tenant(), tenant()
    backend.run(lambda s, _: s.set_secret(t1, "shopify", ChannelSecret("a"), NOW))
    backend.run(lambda s, _: s.set_secret(t1, "shopify", ChannelSecret("b", "key"), NOW))
    assert backend.run(lambda s, _: s.get_secret(t1, "shopify")) == ChannelSecret("b", "key")
    assert backend.run(lambda s, _: s.get_secret(t1, "woocommerce")) is None
    assert backend.run(lambda s, _: s.get_secret(t2, "shopify")) is None


def test_inbox_claims_waiting_and_sync_points(backend: Backend) -> None:
    t = tenant()

    def add(s: ChannelStore, _: Any) -> str:
        return s.add_raw(
            tenant_id=t, channel="shopify", dedupe_key="k", source_ip="10.0.0.1", headers="{}", payload=b"{}", now=NOW
        )

    first, second = backend.run(add), backend.run(add)
    assert backend.run(lambda s, _: s.claim(t, "shopify", "k", first, NOW)) is None
    assert backend.run(lambda s, _: s.claim(t, "shopify", "k", second, NOW)) == first
    assert backend.run(lambda s, _: s.claim(tenant(), "shopify", "k", second, NOW)) is None
    later, earlier = NOW + timedelta(hours=1), NOW
    backend.run(lambda s, _: s.mark(first, state="waiting", channel_order_id="42", channel_time=later))
    backend.run(lambda s, _: s.mark(second, state="waiting", channel_order_id="42", channel_time=earlier))
    assert [e.id for e in backend.run(lambda s, _: s.waiting(t, "shopify", "42"))] == [second, first]
    backend.run(lambda s, _: s.mark(first, state="applied", order_id="ord_1"))
    entry = backend.run(lambda s, _: s.entry(first))
    assert entry is not None and (entry.state, entry.order_id, entry.channel_order_id) == ("applied", "ord_1", "42")
    assert backend.run(lambda s, _: s.sync_point(t, "shopify", "42")) is None
    backend.run(lambda s, _: s.set_sync_point(t, "shopify", "42", order_id="ord_1", channel_time=later, now=NOW))
    backend.run(lambda s, _: s.set_sync_point(t, "shopify", "42", order_id="ord_1", channel_time=earlier, now=NOW))
    assert backend.run(lambda s, _: s.sync_point(t, "shopify", "42")) == later  # never moves back


def test_quarantine_listing_and_resolution(backend: Backend) -> None:
    t = tenant()
    qid = backend.run(
        lambda _, uow: uow.quarantine.put(tenant_id=t, source="webhook:shopify:x", reason="/a: b", payload=b"{}")
    )
    listed = backend.run(lambda s, _: s.list_quarantine(t, limit=10))
    assert [(q.id, q.reason, q.source) for q in listed] == [(qid, "/a: b", "webhook:shopify:x")]
    assert backend.run(lambda s, _: s.get_quarantine(tenant(), qid)) is None
    backend.run(lambda s, _: s.resolve_quarantine(qid, NOW))
    assert backend.run(lambda s, _: s.list_quarantine(t, limit=10)) == []
    (resolved,) = backend.run(lambda s, _: s.list_quarantine(t, limit=10, include_resolved=True))
    assert resolved.resolved_at == NOW


def _deliver(backend: Backend, t: str, body: bytes, key: str) -> Any:
    return receive_delivery(
        tx=backend.runner,
        store_for=backend.store_for,
        mapper=AdapterMapper(ShopifyAdapter()),
        lifecycle=LIFECYCLE,
        tenant_id=t,
        channel="shopify",
        body=body,
        headers="{}",
        source_ip=None,
        dedupe_key=key,
        now=NOW,
    )


def test_intake_dedupes_waits_and_applies_in_order(backend: Backend) -> None:
    t = backend.new_tenant()
    sale = json.loads((FIXTURES / "shopify" / "transaction.json").read_text())
    sale["transaction"].update(kind="sale", created_at="2008-01-10T12:00:00-05:00")
    waiting = _deliver(backend, t, json.dumps(sale).encode(), "t-1")
    assert waiting.state == "waiting"
    order = json.loads((FIXTURES / "shopify" / "order.json").read_text())["order"]
    body = json.dumps(order).encode()
    placed = _deliver(backend, t, body, "o-1")
    assert placed.state == "applied" and placed.applied == ["mark_paid"] and len(placed.orders) == 1
    again = _deliver(backend, t, body, "o-1")
    assert again.state == "duplicate" and again.orders == placed.orders
    bad = _deliver(backend, t, b"[1]", "x-1")
    assert bad.state == "quarantined" and bad.reason is not None and bad.reason.startswith("/0: ")


def test_a_concurrent_first_delivery_becomes_an_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two deliveries of a new order racing: the loser's insert hits the unique channel ref and is an update."""
    from orderloom.adapters import memory

    backend = _memory()
    t = backend.new_tenant()
    order = json.loads((FIXTURES / "shopify" / "order.json").read_text())["order"]
    first = _deliver(backend, t, json.dumps(order).encode(), "o-1")
    real = memory._Orders.find_id_by_channel_ref
    calls = {"n": 0}

    def stale_read(self: Any, tenant_id: str, channel: str, ref: str) -> str | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else real(self, tenant_id, channel, ref)  # the racing read saw nothing

    monkeypatch.setattr(memory._Orders, "find_id_by_channel_ref", stale_read)
    order["updated_at"] = "2008-01-11T11:00:00-05:00"
    second = _deliver(backend, t, json.dumps(order).encode(), "o-2")
    assert second.state == "applied" and second.orders == first.orders and calls["n"] == 2


def test_merge_policy_and_customer_orders(backend: Backend) -> None:
    from datetime import timedelta

    from orderloom.domain.order_merge import MergePolicy

    t = backend.new_tenant()
    assert backend.run(lambda s, _: s.merge_policy(t)) == MergePolicy()
    policy = MergePolicy(enabled=True, window=timedelta(minutes=90))
    backend.run(lambda s, _: s.set_merge_policy(t, policy))
    assert backend.run(lambda s, _: s.merge_policy(t)) == policy
    order = json.loads((FIXTURES / "shopify" / "order.json").read_text())["order"]
    first = _deliver(backend, t, json.dumps(order).encode(), "m-1")
    order["id"] = 450789470
    order["created_at"] = "2008-01-10T12:00:00-05:00"
    second = _deliver(backend, t, json.dumps(order).encode(), "m-2")
    assert second.notes and second.notes[-1].startswith("merged into mrg_")
    since, until = datetime(2008, 1, 10, tzinfo=UTC), datetime(2008, 1, 11, tzinfo=UTC)
    found = backend.run(lambda s, _: s.orders_of_customer(t, "email:bob.norman@hostmail.com", since, until))
    assert sorted(found) == sorted(first.orders + second.orders)
    assert backend.run(lambda s, _: s.orders_of_customer(t, "email:nobody@x.com", since, until)) == []
