"""JetStream on a real nats-server: publish with msg-id dedupe, durable consumers, dead letters, losing a node."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
import sqlalchemy as sa

from orderloom.adapters.messaging.nats_bus import DEAD_LETTER_PREFIX, JetStreamPublisher, NatsLink, subject_for
from orderloom.adapters.persistence.tables import handler_runs, outbox
from orderloom.application.messagebus import Subscription
from orderloom.application.orders import place_order
from orderloom.application.ports import OutboxMessage
from orderloom.bootstrap import Container, bootstrap
from orderloom.config import Settings
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order, sqlite_url
from tests.support.nats_cluster import NatsCluster

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def nats_single(tmp_path: Path) -> Iterator[NatsCluster]:
    """A fresh one-node JetStream server per test (streams may not overlap subjects on one server)."""
    cluster = NatsCluster(tmp_path / "nats1", size=1)
    cluster.start()
    yield cluster
    cluster.stop()


def _stream_messages(urls: list[str], stream: str) -> int:
    async def count() -> int:
        nc = await nats.connect(servers=urls)
        try:
            info = await nc.jetstream().stream_info(stream)
            return int(info.state.messages)
        finally:
            await nc.close()

    return asyncio.run(count())


def _stream_ids(urls: list[str], stream: str) -> list[str]:
    """Every message's Nats-Msg-Id in the stream, read with an ephemeral consumer."""

    async def read() -> list[str]:
        nc = await nats.connect(servers=urls)
        try:
            js = nc.jetstream()
            total = int((await js.stream_info(stream)).state.messages)
            sub = await js.pull_subscribe("orderloom.>", stream=stream)
            ids: list[str] = []
            while len(ids) < total:
                for msg in await sub.fetch(min(500, total - len(ids)), timeout=10):
                    ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))
                    await msg.ack()
            return ids
        finally:
            await nc.close()

    deadline = time.monotonic() + 60
    while True:  # after a node loss the cluster may need a few seconds to elect a new meta leader
        try:
            return asyncio.run(read())
        except nats.errors.TimeoutError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _place(c: Container, tenant_id: str, n: int) -> None:
    for _ in range(n):
        new = decode_new_order(msgspec.json.encode(example_order()))
        c.tx.run(
            lambda uow, new=new: place_order(
                uow=uow, tenant_id=tenant_id, new=new, lifecycle=c.lifecycle, actor="t", now=datetime.now(UTC)
            )
        )


def _container(tmp_path: Path, url: str, stream: str, subscriptions: list[Subscription]) -> Container:
    settings = Settings(
        database_url=sqlite_url(tmp_path), relay_enabled=False, nats_url=url, nats_stream=stream, handler_max_attempts=3
    )
    c = bootstrap(settings, group_commit=False, subscriptions=subscriptions)
    c.ensure_streams()
    return c


def _message(event_id: str, tenant: str = "ten_A") -> OutboxMessage:
    event = {
        "specversion": "1.0",
        "id": event_id,
        "type": "orderloom.order.placed",
        "source": f"/orderloom/tenants/{tenant}",
    }
    return OutboxMessage(seq=1, event_id=event_id, tenant_id=tenant, type="orderloom.order.placed", cloudevent=event)


def test_subject_names_tenant_aggregate_and_event() -> None:
    assert subject_for(_message("e1", "ten_01H")) == "orderloom.ten_01H.order.placed"
    odd = OutboxMessage(seq=1, event_id="e", tenant_id="a.b c", type="orderloom.order.status_changed", cloudevent={})
    assert subject_for(odd) == "orderloom.a_b_c.order.status_changed"


def test_publish_dedupes_on_msg_id(nats_single: NatsCluster) -> None:
    link = NatsLink(nats_single.urls, stream="DEDUPE")
    try:
        link.ensure_streams()
        publisher = JetStreamPublisher(link)
        first = publisher.publish_many([_message("evt-1"), _message("evt-2")])
        again = publisher.publish_many([_message("evt-1"), _message("evt-2"), _message("evt-3")])
        assert first == ["evt-1", "evt-2"]
        assert again == ["evt-1", "evt-2", "evt-3"]  # duplicates are accepted (acked) but stored once
        assert _stream_messages(nats_single.urls, "DEDUPE") == 3
    finally:
        link.close()


def test_outbox_to_jetstream_to_durable_consumer_exactly_once(nats_single: NatsCluster, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    c = _container(tmp_path, nats_single.url, "E2E", [Subscription("collect", "orderloom.order.placed", seen.append)])
    try:
        tenant_id, _ = c.tenants.create("acme")
        _place(c, tenant_id, 25)
        assert c.relay.drain() == 25
        # a relay that crashed before marking rows sent publishes them again: the stream keeps one copy
        with c.engines.write.begin() as conn:
            conn.execute(outbox.update().values(published_at=None))
        assert c.relay.drain() == 25
        assert _stream_messages(nats_single.urls, "E2E") == 25
        consumer = c.consumer("collector")
        got = 0
        for _ in range(20):
            got += consumer.run_once(batch=10, wait=0.5)
            if got >= 25:
                break
        assert got == 25
        assert len(seen) == 25
        assert len({e["id"] for e in seen}) == 25
        assert consumer.pending() == 0
    finally:
        c.close()


def test_failing_handler_is_redelivered_then_dead_lettered(nats_single: NatsCluster, tmp_path: Path) -> None:
    calls: list[str] = []

    def always_fails(event: dict[str, Any]) -> None:
        calls.append(event["id"])
        raise RuntimeError("downstream is broken")

    c = _container(tmp_path, nats_single.url, "DLQ", [Subscription("broken", "orderloom.order.placed", always_fails)])
    try:
        c.bus.backoff_base = 0.01
        tenant_id, _ = c.tenants.create("acme")
        _place(c, tenant_id, 1)
        assert c.relay.drain() == 1
        consumer = c.consumer("broken-consumer")
        consumer._backoff_base = 0.01
        for _ in range(40):
            consumer.run_once(batch=10, wait=0.2)
            if len(calls) >= 3 and _stream_messages(nats_single.urls, "DLQ_DEAD") >= 1:
                break
        assert len(calls) == 3  # max_deliver = handler_max_attempts = 3
        assert _stream_messages(nats_single.urls, "DLQ_DEAD") == 1
        with c.engines.read.connect() as conn:
            status = conn.execute(sa.select(handler_runs.c.status).where(handler_runs.c.handler == "broken")).scalar()
        assert status == "dead"
        assert consumer.pending() == 0
    finally:
        c.close()
    assert DEAD_LETTER_PREFIX == "orderloom_dead"


def test_three_node_cluster_loses_nothing_when_a_node_dies(tmp_path: Path) -> None:
    cluster = NatsCluster(tmp_path / "nats3", size=3)
    cluster.start()
    link = NatsLink(cluster.urls, stream="HA", replicas=3)
    try:
        link.ensure_streams()
        publisher = JetStreamPublisher(link)
        acked: list[str] = []
        target = 1500

        def load() -> None:
            # like the relay: ids the stream did not acknowledge are published again with the same msg id
            waiting = [f"ha-{i}" for i in range(target)]
            deadline = time.monotonic() + 240
            while waiting and time.monotonic() < deadline:
                batch, waiting = waiting[:20], waiting[20:]
                accepted = publisher.publish_many([_message(i) for i in batch])
                acked.extend(accepted)
                waiting = [i for i in batch if i not in accepted] + waiting

        worker = threading.Thread(target=load)
        worker.start()
        while len(acked) < 300 and worker.is_alive():
            time.sleep(0.01)
        cluster.stop_node(2, kill=True)
        worker.join(300)
        assert len(acked) == target
        # every acknowledged message is in the stream exactly once, read from the surviving nodes
        ids = _stream_ids(cluster.urls[:2], "HA")
        assert len(ids) == len(set(ids))
        assert set(acked) <= set(ids)
    finally:
        link.close()
        cluster.stop()
