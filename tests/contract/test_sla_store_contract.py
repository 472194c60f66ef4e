"""The SLA store contract: the in-memory twin, SQLite and PostgreSQL behave the same behind the SlaStore port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from orderloom.adapters.memory_sla import MemorySlaStore
from orderloom.adapters.persistence.engine import Engines, make_engines
from orderloom.adapters.persistence.fastinsert import COPY_MIN_ROWS
from orderloom.adapters.persistence.sla_store import SqlSlaStore
from orderloom.adapters.persistence.tables import outbox
from orderloom.adapters.sla_policy_file import load_sla_policy
from orderloom.application.sla_ports import SlaInboxFilter, SlaStore
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.errors import ValidationFailed
from orderloom.domain.lifecycle import Status
from orderloom.domain.sla import SlaClock
from tests.conftest import sqlite_url

POLICY = load_sla_policy(load_lifecycle())
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def clock(tenant: str, subject: str, status: str, at: datetime = T0, kind: str = "order", **kw: Any) -> SlaClock:
    return POLICY.clock(
        tenant_id=tenant,
        kind=kind,
        subject_id=subject,
        entry_id=kw.pop("entry_id", f"evt_{uuid.uuid4().hex[:20]}"),
        status=Status.parse(status),
        entered_at=at,
        **kw,
    )


class SlaStoreContract:
    @pytest.fixture
    def store(self) -> Iterator[SlaStore]:
        raise NotImplementedError

    def events_of(self, store: SlaStore, subject_id: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def tenant(self) -> str:
        return f"ten_{uuid.uuid4().hex[:8]}"

    def test_enter_then_current_round_trips(self, store: SlaStore) -> None:
        t = self.tenant()
        c = clock(t, "ord_1", "confirmed.paid", channel="amazon")
        assert store.enter(c) is True
        got = store.current(t, "order", "ord_1")
        assert got == c
        assert got.due_at == T0 + timedelta(hours=1) and got.action == "allocate"
        assert store.current(t, "shipment", "ord_1") is None
        assert store.current(self.tenant(), "order", "ord_1") is None

    def test_same_or_older_entry_changes_nothing(self, store: SlaStore) -> None:
        t = self.tenant()
        new = clock(t, "ord_1", "allocated.reserved", at=T0 + timedelta(hours=1))
        assert store.enter(new)
        assert store.enter(new) is False
        assert store.enter(clock(t, "ord_1", "confirmed.paid", at=T0)) is False
        assert store.current(t, "order", "ord_1") == new

    def test_breach_and_warning_flagged_once_each_with_one_event(self, store: SlaStore) -> None:
        t = self.tenant()
        store.enter(clock(t, "ord_b", "confirmed.paid"))  # due 11:00, warn 10:36
        store.enter(clock(t, "ord_w", "on_hold.manual_review"))  # due T0+24h, warn T0+19h12
        store.enter(clock(t, "ord_q", "in_transit.in_transit"))  # due T0+72h
        store.enter(clock(t, "ord_c", "closed.completed"))  # no deadline
        now = T0 + timedelta(hours=20)
        flags = store.flag_due(now, limit=100)
        assert sorted((f.clock.subject_id, f.level) for f in flags) == [("ord_b", "breach"), ("ord_w", "warning")]
        breach = next(f for f in flags if f.level == "breach")
        assert breach.deadline == T0 + timedelta(hours=2) and breach.overdue_by == timedelta(hours=18)
        assert store.flag_due(now, limit=100) == []
        assert [e["type"] for e in self.events_of(store, "ord_b")] == ["orderloom.sla.breached"]
        warning = self.events_of(store, "ord_w")
        assert [e["type"] for e in warning] == ["orderloom.sla.warning"]
        assert warning[0]["data"]["owner"] == "merchant" and warning[0]["data"]["suggested_action"] == "release"
        assert warning[0]["subject"] == "order/ord_w"
        later = store.flag_due(T0 + timedelta(hours=25), limit=100)
        assert [(f.clock.subject_id, f.level) for f in later] == [("ord_w", "breach")]
        last = store.flag_due(T0 + timedelta(hours=73), limit=100)
        assert [(f.clock.subject_id, f.level) for f in last] == [("ord_q", "breach")]
        assert store.flag_due(T0 + timedelta(days=365), limit=100) == []

    def test_limit_takes_the_oldest_deadlines_first(self, store: SlaStore) -> None:
        t = self.tenant()
        for i in range(5):
            store.enter(clock(t, f"ord_{i}", "confirmed.paid", at=T0 + timedelta(minutes=i)))
        first = store.flag_due(T0 + timedelta(days=1), limit=2)
        assert [f.clock.subject_id for f in first] == ["ord_0", "ord_1"]
        rest = store.flag_due(T0 + timedelta(days=1), limit=10)
        assert [f.clock.subject_id for f in rest] == ["ord_2", "ord_3", "ord_4"]

    def test_new_entry_resolves_open_exceptions_and_can_breach_again(self, store: SlaStore) -> None:
        t = self.tenant()
        store.enter(clock(t, "ord_1", "confirmed.paid"))
        store.flag_due(T0 + timedelta(hours=3), limit=10)
        store.enter(clock(t, "ord_1", "allocated.reserved", at=T0 + timedelta(hours=4)))
        assert store.inbox(t, SlaInboxFilter(), limit=10, cursor=None).items == []
        everything = store.inbox(t, SlaInboxFilter(open_only=False), limit=10, cursor=None).items
        assert [i.resolved_at for i in everything] == [T0 + timedelta(hours=4)]
        again = store.flag_due(T0 + timedelta(hours=17), limit=10)
        assert [(f.clock.state, f.level) for f in again] == [("allocated.reserved", "breach")]

    def test_enter_many_applies_each_clock_in_order_like_enter(self, store: SlaStore) -> None:
        t = self.tenant()
        store.enter(clock(t, "ord_old", "confirmed.paid"))
        store.flag_due(T0 + timedelta(hours=3), limit=10)  # ord_old breaches: one open exception
        newer = clock(t, "ord_1", "allocated.reserved", at=T0 + timedelta(hours=2))
        moved = clock(t, "ord_old", "allocated.reserved", at=T0 + timedelta(hours=4))
        batch = [
            clock(t, "ord_1", "confirmed.paid", at=T0 + timedelta(hours=1), channel="amazon"),
            newer,
            clock(t, "ord_1", "confirmed.paid", at=T0),  # older than what the batch already entered: ignored
            newer,  # the same entry again: ignored
            moved,
            clock(t, "ord_2", "confirmed.paid", at=T0, channel="web"),
        ]
        assert store.enter_many(batch) == 4  # ord_1 twice, ord_old, ord_2
        assert store.current(t, "order", "ord_1") == newer
        assert store.current(t, "order", "ord_old") == moved
        assert store.inbox(t, SlaInboxFilter(), limit=10, cursor=None).items == []
        resolved = store.inbox(t, SlaInboxFilter(open_only=False), limit=10, cursor=None).items
        assert [i.resolved_at for i in resolved] == [T0 + timedelta(hours=4)]
        assert store.enter_many([newer, moved]) == 0
        assert store.enter_many([]) == 0
        assert store.channels_of(t, "order", ["ord_2", "ord_1", "ord_x"]) == {"ord_2": "web", "ord_1": None}
        assert store.channels_of(t, "shipment", ["ord_2"]) == {}

    def test_inbox_filters_and_cursor_paging(self, store: SlaStore) -> None:
        t = self.tenant()
        other = self.tenant()
        store.enter(clock(t, "ord_1", "confirmed.paid"))
        store.enter(clock(t, "ord_2", "on_hold.address_verification"))
        store.enter(clock(t, "ord_3", "on_hold.manual_review"))
        store.enter(clock(t, "shp_1", "in_transit.in_transit", kind="shipment", carrier="dhl_express"))
        store.enter(clock(other, "ord_9", "confirmed.paid"))
        store.flag_due(T0 + timedelta(days=10), limit=100)

        def ids(**kw: Any) -> list[str]:
            page = store.inbox(t, SlaInboxFilter(**kw), limit=10, cursor=None)
            return sorted(i.flag.clock.subject_id for i in page.items)

        assert ids() == ["ord_1", "ord_2", "ord_3", "shp_1"]
        assert ids(owner="customer") == ["ord_2"]
        assert ids(status="on_hold") == ["ord_2", "ord_3"]
        assert ids(status="on_hold.manual_review") == ["ord_3"]
        assert ids(kind="shipment") == ["shp_1"]
        assert ids(level="warning") == []
        shipment = store.inbox(t, SlaInboxFilter(kind="shipment"), limit=10, cursor=None).items[0]
        assert shipment.flag.clock.carrier == "dhl_express"
        assert shipment.flag.deadline == T0 + timedelta(hours=48)
        seen: list[str] = []
        cursor = None
        while True:
            page = store.inbox(t, SlaInboxFilter(), limit=3, cursor=cursor)
            seen += [i.flag.id for i in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == 4 and seen == sorted(seen, reverse=True)
        with pytest.raises(ValidationFailed):
            store.inbox(t, SlaInboxFilter(), limit=3, cursor="bm9wZQ")

    def test_a_large_batch_is_flagged_with_every_event_and_inbox_row(self, store: SlaStore) -> None:
        # above COPY_MIN_ROWS: PostgreSQL writes the inbox rows and events with COPY, the others row by row
        t = self.tenant()
        n = COPY_MIN_ROWS + 50
        for i in range(n):
            store.enter(clock(t, f"ord_{i:04d}", "confirmed.paid", at=T0 + timedelta(seconds=i)))
        flags = [f for f in store.flag_due(T0 + timedelta(days=2), limit=10 * n) if f.clock.tenant_id == t]
        assert len(flags) == n and {f.level for f in flags} == {"breach"}
        events = self.events_of(store, "ord_0007")
        assert [e["type"] for e in events] == ["orderloom.sla.breached"]
        assert events[0]["subject"] == "order/ord_0007" and events[0]["data"]["owner"]
        inbox = store.inbox(t, SlaInboxFilter(), limit=n + 1, cursor=None)
        assert len(inbox.items) == n and inbox.next_cursor is None
        assert {i.flag.clock.subject_id for i in inbox.items} == {f"ord_{i:04d}" for i in range(n)}


class TestMemorySlaStore(SlaStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[SlaStore]:
        yield MemorySlaStore()

    def events_of(self, store: SlaStore, subject_id: str) -> list[dict[str, Any]]:
        from orderloom.domain.events import to_cloudevent

        assert isinstance(store, MemorySlaStore)
        return [to_cloudevent(e) for e in store.events if e.aggregate_id == subject_id]


class SqlSlaStoreContract(SlaStoreContract):
    engines: Engines

    def events_of(self, store: SlaStore, subject_id: str) -> list[dict[str, Any]]:
        with self.engines.read.connect() as conn:
            rows = conn.execute(
                sa.select(outbox.c.payload).where(outbox.c.aggregate_id == subject_id).order_by(outbox.c.seq)
            ).all()
        return [msgspec.json.decode(r.payload) for r in rows]


class TestSqliteSlaStore(SqlSlaStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SlaStore]:
        self.engines = make_engines(sqlite_url(tmp_path))
        yield SqlSlaStore(self.engines.write, self.engines.read)
        self.engines.dispose()


class TestPostgresSlaStore(SqlSlaStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[SlaStore]:
        self.engines = make_engines(postgres_url)
        with self.engines.write.begin() as conn:  # the scan is global: start each test from empty SLA tables
            conn.execute(sa.text("TRUNCATE sla_clocks, sla_exceptions"))
        yield SqlSlaStore(self.engines.write, self.engines.read)
        self.engines.dispose()


class ConcurrentScanners:
    """Two scanners on their own engines over the same clocks: every clock is flagged once, by one of them."""

    url: str
    engines: Engines

    def tenant(self) -> str:
        return f"ten_{uuid.uuid4().hex[:8]}"

    def test_two_scanners_flag_each_clock_once(self, store: SlaStore) -> None:
        import threading

        t = self.tenant()
        for i in range(300):
            store.enter(clock(t, f"ord_{i:04d}", "confirmed.paid", at=T0 + timedelta(seconds=i)))
        now = T0 + timedelta(days=2)
        found: list[list[str]] = [[], []]

        def scan(slot: int) -> None:
            engines = make_engines(self.url)
            try:
                own = SqlSlaStore(engines.write, engines.read)
                while flags := own.flag_due(now, limit=7):
                    found[slot] += [f.clock.subject_id for f in flags if f.clock.tenant_id == t]
            finally:
                engines.dispose()

        threads = [threading.Thread(target=scan, args=(i,)) for i in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        flagged = found[0] + found[1]
        assert sorted(flagged) == [f"ord_{i:04d}" for i in range(300)]
        assert len(self.events_of_tenant(t)) == 300

    def events_of_tenant(self, tenant: str) -> list[Any]:
        engines = make_engines(self.url)
        try:
            with engines.read.connect() as conn:
                return list(
                    conn.execute(
                        sa.select(outbox.c.event_id).where(
                            outbox.c.tenant_id == tenant, outbox.c.type == "orderloom.sla.breached"
                        )
                    ).all()
                )
        finally:
            engines.dispose()


class TestSqliteConcurrentScanners(ConcurrentScanners):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SlaStore]:
        self.url = sqlite_url(tmp_path)
        self.engines = make_engines(self.url)
        yield SqlSlaStore(self.engines.write, self.engines.read)
        self.engines.dispose()


class TestPostgresConcurrentScanners(ConcurrentScanners):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[SlaStore]:
        self.url = postgres_url
        self.engines = make_engines(postgres_url)
        with self.engines.write.begin() as conn:
            conn.execute(sa.text("TRUNCATE sla_clocks, sla_exceptions"))
        yield SqlSlaStore(self.engines.write, self.engines.read)
        self.engines.dispose()
