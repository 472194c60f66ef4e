"""Outbox relay and message bus on the real store: at-least-once, idempotent handlers, failures retried and dead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from orderloom.adapters.persistence.tables import handler_runs
from orderloom.application.messagebus import MessageBus, Subscription, backoff_seconds
from orderloom.application.orders import place_order
from orderloom.application.relay import OutboxRelay
from orderloom.bootstrap import Container, bootstrap
from orderloom.config import Settings
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order, sqlite_url


class FlakyHandler:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[str] = []

    def __call__(self, event: dict[str, Any]) -> None:
        self.calls.append(event["id"])
        if len(self.calls) <= self.failures:
            raise RuntimeError(f"failure {len(self.calls)}")


def _place(c: Container, tenant_id: str) -> None:
    new = decode_new_order(msgspec.json.encode(example_order()))
    c.tx.run(
        lambda uow: place_order(
            uow=uow, tenant_id=tenant_id, new=new, lifecycle=c.lifecycle, actor="t", now=datetime.now(UTC)
        )
    )


@pytest.fixture
def store(tmp_path: Path) -> Container:
    return bootstrap(Settings(database_url=sqlite_url(tmp_path), relay_enabled=False), group_commit=False)


def test_relay_delivers_each_event_once_in_order(store: Container) -> None:
    seen: list[dict[str, Any]] = []
    tenant_id, _ = store.tenants.create("acme")
    bus = MessageBus(
        ledger=store.ledger,
        clock=lambda: datetime.now(UTC),
        subscriptions=[Subscription("collect", "orderloom.order.placed", seen.append)],
    )
    relay = OutboxRelay(outbox=store.outbox, publisher=bus, batch_size=2)
    for _ in range(5):
        _place(store, tenant_id)
    assert relay.drain() == 5
    assert relay.drain() == 0
    assert [e["specversion"] for e in seen] == ["1.0"] * 5
    assert len({e["id"] for e in seen}) == 5
    # re-publishing (a crash between publish and mark) does not run the handler twice
    for message in [store.outbox.get(e["id"]) for e in seen]:
        assert message is not None
        bus.publish(message)
    assert len(seen) == 5
    store.close()


def test_failing_handler_is_recorded_retried_with_backoff_then_succeeds(store: Container) -> None:
    tenant_id, _ = store.tenants.create("acme")
    flaky = FlakyHandler(failures=2)
    now = [datetime.now(UTC)]
    bus = MessageBus(
        ledger=store.ledger, clock=lambda: now[0], max_attempts=5, subscriptions=[Subscription("flaky", "*", flaky)]
    )
    relay = OutboxRelay(outbox=store.outbox, publisher=bus)
    _place(store, tenant_id)
    assert relay.drain() == 1
    with store.engines.read.connect() as conn:
        row = conn.execute(sa.select(handler_runs)).one()
    assert row.status == "failed" and row.attempts == 1 and "failure 1" in row.last_error
    assert bus.retry_due(store.outbox) == 0  # not yet due
    now[0] += timedelta(hours=1)
    assert bus.retry_due(store.outbox) == 0  # second failure
    now[0] += timedelta(hours=1)
    assert bus.retry_due(store.outbox) == 1
    assert len(flaky.calls) == 3
    with store.engines.read.connect() as conn:
        row = conn.execute(sa.select(handler_runs)).one()
    assert row.status == "done"
    store.close()


def test_handler_goes_dead_after_max_attempts(store: Container) -> None:
    tenant_id, _ = store.tenants.create("acme")
    now = [datetime.now(UTC)]
    bus = MessageBus(
        ledger=store.ledger,
        clock=lambda: now[0],
        max_attempts=3,
        subscriptions=[Subscription("broken", "*", FlakyHandler(failures=99))],
    )
    OutboxRelay(outbox=store.outbox, publisher=bus).drain()
    _place(store, tenant_id)
    OutboxRelay(outbox=store.outbox, publisher=bus).drain()
    for _ in range(5):
        now[0] += timedelta(days=1)
        bus.retry_due(store.outbox)
    with store.engines.read.connect() as conn:
        row = conn.execute(sa.select(handler_runs)).one()
    assert row.status == "dead" and row.attempts == 3 and row.next_attempt_at is None
    store.close()


def test_backoff_grows_and_is_capped() -> None:
    import random

    rng = random.Random(1)
    values = [backoff_seconds(n, base=1.0, cap=60.0, rng=rng) for n in range(1, 10)]
    assert 0.5 <= values[0] <= 1.0
    assert 4.0 <= values[3] <= 8.0
    assert all(30.0 <= v <= 60.0 for v in values[6:])


class BatchCollector:
    """A durable batch handler that fails the events whose ids are listed."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.single: list[str] = []
        self.fail = fail or set()

    def __call__(self, event: dict[str, Any]) -> None:
        self.single.append(event["id"])

    def batch(self, events: Any) -> list[Exception | None]:
        self.calls.append([e["id"] for e in events])
        return [RuntimeError("shelf empty") if e["id"] in self.fail else None for e in events]


def test_a_relay_batch_reaches_a_batch_handler_in_one_call_and_the_ledger_in_one_write(store: Container) -> None:
    tenant_id, _ = store.tenants.create("acme")
    for _ in range(6):
        _place(store, tenant_id)
    messages = store.outbox.unpublished(100)
    ids = [m.event_id for m in messages]
    collector = BatchCollector(fail={ids[2]})
    plain: list[str] = []
    now = [datetime.now(UTC)]
    bus = MessageBus(
        ledger=store.ledger,
        clock=lambda: now[0],
        subscriptions=[
            Subscription("batched", "orderloom.order.placed", collector, batch=collector.batch),
            Subscription("plain", "*", lambda e: plain.append(e["id"]), durable=False),
        ],
    )
    assert bus.dispatch_many(messages) == [i != 2 for i in range(6)]
    assert collector.calls == [ids] and collector.single == []
    assert plain == ids
    with store.engines.read.connect() as conn:
        rows = {r.event_id: (r.status, r.attempts) for r in conn.execute(sa.select(handler_runs))}
    assert rows == {e: (("failed", 1) if e == ids[2] else ("done", 0)) for e in ids}
    # redelivery of the whole batch: only the failed event reaches the handler again
    assert bus.dispatch_many(messages) == [i != 2 for i in range(6)]
    assert collector.calls[1] == [ids[2]]
    # the ledger's retry runs the single-event handler
    now[0] += timedelta(hours=1)
    assert bus.retry_due(store.outbox) == 1
    assert collector.single == [ids[2]]
    assert bus.dispatch_many(messages) == [True] * 6 and len(collector.calls) == 2
    store.close()


def test_a_batch_handler_that_raises_fails_every_event_of_its_batch(store: Container) -> None:
    tenant_id, _ = store.tenants.create("acme")
    for _ in range(3):
        _place(store, tenant_id)
    messages = store.outbox.unpublished(100)

    def broken(events: Any) -> list[Exception | None]:
        raise ConnectionError("database went away")

    bus = MessageBus(
        ledger=store.ledger,
        clock=lambda: datetime.now(UTC),
        subscriptions=[Subscription("broken", "orderloom.order.placed", lambda e: None, batch=broken)],
    )
    assert bus.dispatch_many(messages) == [False] * 3
    with store.engines.read.connect() as conn:
        rows = conn.execute(sa.select(handler_runs.c.status, handler_runs.c.last_error)).all()
    assert [(r.status, "database went away" in r.last_error) for r in rows] == [("failed", True)] * 3
    store.close()
