"""The store contract: the in-memory twin, SQLite and PostgreSQL behave the same behind the UnitOfWork port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from orderloom.adapters.memory import MemoryTransactionRunner
from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.tables import audit_log, outbox
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import GroupCommitWriter, SqlTransactionRunner
from orderloom.application.orders import apply_action, place_order
from orderloom.application.ports import StoredResponse, TransactionRunner, UnitOfWork
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.audit import GENESIS, AuditEntry
from orderloom.domain.errors import ConcurrencyConflict, DuplicateOrder, IllegalTransition, OrderNotFound
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order, sqlite_url

LIFECYCLE = load_lifecycle()
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _new(**overrides: Any) -> Any:
    return decode_new_order(msgspec.json.encode(example_order(**overrides)))


def _place(runner: TransactionRunner, tenant: str, **overrides: Any) -> dict[str, Any]:
    new = _new(**overrides)
    return runner.run(
        lambda uow: place_order(uow=uow, tenant_id=tenant, new=new, lifecycle=LIFECYCLE, actor="t", now=NOW)
    )


class StoreContract:
    """Subclasses provide ``runner`` and ``events_of``/``audit_of`` readers."""

    @pytest.fixture
    def runner(self) -> Iterator[TransactionRunner]:
        raise NotImplementedError

    def new_tenant(self) -> str:
        return f"ten_{uuid.uuid4().hex[:8]}"

    def events_of(self, runner: TransactionRunner, order_id: str) -> list[str]:
        raise NotImplementedError

    def audit_of(self, runner: TransactionRunner, tenant: str) -> list[tuple[int, str, str]]:
        raise NotImplementedError

    def test_place_then_get_round_trips(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        doc = _place(runner, tenant)
        order = runner.run(lambda uow: uow.orders.get(tenant, doc["id"]))
        assert order.id == doc["id"]
        assert str(order.totals.grand_total) == "70.03"
        assert [line.sku.code for line in order.lines] == ["TSHIRT-BLK-M", "MUG-WHT"]
        assert str(order.status) == "pending.awaiting_confirmation"
        assert self.events_of(runner, doc["id"]) == ["orderloom.order.placed"]

    def test_other_tenant_cannot_read(self, runner: TransactionRunner) -> None:
        doc = _place(runner, self.new_tenant())
        other = self.new_tenant()
        with pytest.raises(OrderNotFound):
            runner.run(lambda uow: uow.orders.get(other, doc["id"]))

    def test_duplicate_channel_order_id_is_refused_and_nothing_written(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        doc = _place(runner, tenant, channel_order_id="DUP-1")
        with pytest.raises(DuplicateOrder):
            _place(runner, tenant, channel_order_id="DUP-1")
        found = runner.run(lambda uow: uow.orders.find_id_by_channel_ref(tenant, "web", "DUP-1"))
        assert found == doc["id"]
        assert len(self.audit_of(runner, tenant)) == 1
        # the same channel order id is fine for another tenant
        _place(runner, self.new_tenant(), channel_order_id="DUP-1")

    def test_stale_save_is_a_concurrency_conflict(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        doc = _place(runner, tenant)

        def stale(uow: UnitOfWork) -> None:
            a = uow.orders.get(tenant, doc["id"])
            b = uow.orders.get(tenant, doc["id"])
            a.apply(action="confirm", lifecycle=LIFECYCLE, params={}, actor="t", now=NOW)
            uow.orders.save(a)
            b.apply(action="cancel", lifecycle=LIFECYCLE, params={}, actor="t", now=NOW)
            uow.orders.save(b)

        with pytest.raises(ConcurrencyConflict):
            runner.run(stale)

    def test_actions_chain_audit_and_events(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        doc = _place(runner, tenant)
        for action in ("confirm", "allocate", "cancel"):
            doc = runner.run(
                lambda uow, a=action, oid=doc["id"]: apply_action(
                    uow=uow,
                    tenant_id=tenant,
                    order_id=oid,
                    action=a,
                    params={},
                    lifecycle=LIFECYCLE,
                    actor="t",
                    now=NOW,
                )
            )
        assert doc["status"] == {"main": "closed", "sub": "cancelled"}
        assert doc["version"] == 4
        chain = self.audit_of(runner, tenant)
        assert [seq for seq, _, _ in chain] == [1, 2, 3, 4]
        assert chain[0][1] == GENESIS
        assert all(chain[i][1] == chain[i - 1][2] for i in range(1, 4))
        assert self.events_of(runner, doc["id"]) == ["orderloom.order.placed"] + ["orderloom.order.status_changed"] * 3
        with pytest.raises(IllegalTransition, match="it is closed"):
            runner.run(
                lambda uow: apply_action(
                    uow=uow,
                    tenant_id=tenant,
                    order_id=doc["id"],
                    action="confirm",
                    params={},
                    lifecycle=LIFECYCLE,
                    actor="t",
                    now=NOW,
                )
            )

    def test_savepoint_undoes_its_writes_only(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        kept = _new()
        dropped = _new()

        def work(uow: UnitOfWork) -> None:
            place_order(uow=uow, tenant_id=tenant, new=kept, lifecycle=LIFECYCLE, actor="t", now=NOW)
            with pytest.raises(RuntimeError), uow.savepoint():
                place_order(uow=uow, tenant_id=tenant, new=dropped, lifecycle=LIFECYCLE, actor="t", now=NOW)
                raise RuntimeError("boom")
            uow.audit.append(
                AuditEntry(
                    tenant_id=tenant,
                    actor="t",
                    action="x",
                    entity_type="test",
                    entity_id="1",
                    at=NOW,
                    before=None,
                    after={"ok": True},
                )
            )

        runner.run(work)
        refs = runner.run(
            lambda uow: [uow.orders.find_id_by_channel_ref(tenant, "web", n.channel_order_id) for n in (kept, dropped)]
        )
        assert refs[0] is not None and refs[1] is None
        assert [seq for seq, _, _ in self.audit_of(runner, tenant)] == [1, 2]

    def test_idempotency_store(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        stored = StoredResponse("h1", 201, b'{"id":"ord_1"}', "ord_1")
        runner.run(lambda uow: uow.idempotency.put(tenant, "k1", stored))
        assert runner.run(lambda uow: uow.idempotency.get(tenant, "k1")) == stored
        other = self.new_tenant()
        assert runner.run(lambda uow: uow.idempotency.get(other, "k1")) is None

    def test_quarantine_returns_an_id(self, runner: TransactionRunner) -> None:
        qid = runner.run(lambda uow: uow.quarantine.put(tenant_id=None, source="t", reason="bad", payload=b"{"))
        assert qid.startswith("qtn_")


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def runner(self) -> Iterator[TransactionRunner]:
        yield MemoryTransactionRunner()

    def events_of(self, runner: TransactionRunner, order_id: str) -> list[str]:
        assert isinstance(runner, MemoryTransactionRunner)
        return [e.type for e in runner.store.outbox if e.aggregate_id == order_id]

    def audit_of(self, runner: TransactionRunner, tenant: str) -> list[tuple[int, str, str]]:
        assert isinstance(runner, MemoryTransactionRunner)
        return [(a.seq, a.prev_hash, a.hash) for a in runner.store.audit if a.tenant_id == tenant]


class SqlStoreContract(StoreContract):
    url: str

    def new_tenant(self) -> str:
        engines = make_engines(self.url)
        try:
            return SqlTenantDirectory(engines.write, engines.read).create(f"t-{uuid.uuid4().hex[:8]}")[0]
        finally:
            engines.dispose()

    def _read(self, query: Any) -> list[Any]:
        engines = make_engines(self.url)
        try:
            with engines.read.connect() as conn:
                return list(conn.execute(query).all())
        finally:
            engines.dispose()

    def events_of(self, runner: TransactionRunner, order_id: str) -> list[str]:
        rows = self._read(sa.select(outbox.c.type).where(outbox.c.aggregate_id == order_id).order_by(outbox.c.seq))
        return [r.type for r in rows]

    def audit_of(self, runner: TransactionRunner, tenant: str) -> list[tuple[int, str, str]]:
        rows = self._read(
            sa.select(audit_log.c.seq, audit_log.c.prev_hash, audit_log.c.hash)
            .where(audit_log.c.tenant_id == tenant)
            .order_by(audit_log.c.seq)
        )
        return [(r.seq, r.prev_hash, r.hash) for r in rows]


def _sql_runner(url: str, *, group_commit: bool) -> Iterator[TransactionRunner]:
    engines = make_engines(url)
    if group_commit:
        writer = GroupCommitWriter(engines.write)
        writer.start()
        yield writer
        writer.stop()
    else:
        yield SqlTransactionRunner(engines.write)
    engines.dispose()


class TestSqliteStore(SqlStoreContract):
    group_commit = False

    @pytest.fixture
    def runner(self, tmp_path: Path) -> Iterator[TransactionRunner]:
        self.url = sqlite_url(tmp_path)
        yield from _sql_runner(self.url, group_commit=self.group_commit)


class TestSqliteGroupCommit(TestSqliteStore):
    group_commit = True


class TestPostgresStore(SqlStoreContract):
    group_commit = False

    @pytest.fixture
    def runner(self, postgres_url: str) -> Iterator[TransactionRunner]:
        self.url = postgres_url
        yield from _sql_runner(self.url, group_commit=self.group_commit)


class TestPostgresGroupCommit(TestPostgresStore):
    group_commit = True
