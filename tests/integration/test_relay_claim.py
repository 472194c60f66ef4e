"""Several relays on one PostgreSQL outbox: rows are claimed with SKIP LOCKED, so none is published twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

from orderloom.application.orders import place_order
from orderloom.application.ports import OutboxMessage
from orderloom.application.relay import OutboxRelay
from orderloom.bootstrap import bootstrap
from orderloom.config import Settings
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order


class Recorder:
    """A publisher that is slow enough for two relays to overlap."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._lock = threading.Lock()

    def publish(self, message: OutboxMessage) -> None:
        self.publish_many([message])

    def publish_many(self, messages: Sequence[OutboxMessage]) -> list[str]:
        time.sleep(0.005)
        with self._lock:
            self.ids.extend(m.event_id for m in messages)
        return [m.event_id for m in messages]


def test_two_relays_share_the_outbox_without_duplicates(postgres_url: str) -> None:
    c = bootstrap(Settings(database_url=postgres_url, relay_enabled=False), group_commit=False)
    try:
        c.relay.drain()  # rows left by other tests in this database
        tenant_id, _ = c.tenants.create("relay-claim")
        for _ in range(300):
            new = decode_new_order(msgspec.json.encode(example_order()))
            c.tx.run(
                lambda uow, new=new: place_order(
                    uow=uow, tenant_id=tenant_id, new=new, lifecycle=c.lifecycle, actor="t", now=datetime.now(UTC)
                )
            )
        recorder = Recorder()
        relays = [OutboxRelay(outbox=c.outbox, publisher=recorder, batch_size=20) for _ in range(2)]
        counts: list[int] = []
        threads = [threading.Thread(target=lambda r=r: counts.append(r.drain())) for r in relays]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(counts) == 300
        assert len(recorder.ids) == 300
        assert len(set(recorder.ids)) == 300
        assert c.outbox.pending_count() == 0
    finally:
        c.close()
