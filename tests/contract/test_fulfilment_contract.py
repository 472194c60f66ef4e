"""The FulfilmentRepository contract, run against the in-memory twin, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from orderloom.adapters.memory import MemoryTransactionRunner
from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.writer import SqlTransactionRunner
from orderloom.application.fulfilment_ports import LocationFulfilment, StoredConfirmation, Wave
from orderloom.application.ports import TransactionRunner, UnitOfWork
from orderloom.domain.errors import ConcurrencyConflict
from orderloom.domain.fulfilment import FoKind, FoLine, FulfilmentNotFound, FulfilmentOrder, WaveNotFound
from orderloom.domain.ids import new_id
from tests.conftest import sqlite_url

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _fo(
    tenant: str, order_id: str, location: str, *, ship_by: datetime | None = None, status: str = "open"
) -> FulfilmentOrder:
    return FulfilmentOrder(
        id=new_id("fo"),
        tenant_id=tenant,
        order_id=order_id,
        location_id=location,
        kind=FoKind.SHIP,
        status=status,
        lines=[FoLine(1, "SKU-1", 3, picked=1), FoLine(2, "SKU-2", 1)],
        created_at=NOW,
        updated_at=NOW,
        ship_by=ship_by,
        notes={"gift_message": "hi"},
    )


class FulfilmentContract:
    runner: TransactionRunner

    def test_round_trip_and_queries(self) -> None:
        tenant = new_id("t")
        a = _fo(tenant, "ord_1", "WH", ship_by=NOW + timedelta(hours=2))
        b = _fo(tenant, "ord_1", "ST")
        c = _fo(tenant, "ord_2", "WH", status="released")
        self.runner.run(lambda uow: uow.fulfilment.add_many([a, b, c]))
        got = self.runner.run(lambda uow: uow.fulfilment.get(tenant, a.id))
        assert got.as_dict() == a.as_dict()
        assert got.lines[0].picked == 1 and got.notes == {"gift_message": "hi"}
        assert sorted(f.id for f in self.runner.run(lambda uow: uow.fulfilment.of_order(tenant, "ord_1"))) == sorted(
            [a.id, b.id]
        )
        assert self.runner.run(lambda uow: uow.fulfilment.open_at(tenant, "WH")) == [(a.id, a.ship_by)]
        released = self.runner.run(lambda uow: uow.fulfilment.at_location(tenant, "WH", "released", 10, None))
        assert [f.id for f in released] == [c.id]
        assert self.runner.run(lambda uow: uow.fulfilment.at_location("other", "WH", None, 10, None)) == []
        with pytest.raises(FulfilmentNotFound):
            self.runner.run(lambda uow: uow.fulfilment.get("other", a.id))

    def test_save_bumps_version_and_refuses_stale_writes(self) -> None:
        tenant = new_id("t")
        a = _fo(tenant, "ord_1", "WH")
        self.runner.run(lambda uow: uow.fulfilment.add_many([a]))
        first = self.runner.run(lambda uow: uow.fulfilment.get(tenant, a.id))
        stale = first.copy()

        def ship(uow: UnitOfWork) -> None:
            first.status = "released"
            first.lines[1].shipped = 1
            uow.fulfilment.save_many([first])

        self.runner.run(ship)
        again = self.runner.run(lambda uow: uow.fulfilment.get(tenant, a.id))
        assert (again.status, again.version, again.lines[1].shipped) == ("released", 2, 1)
        with pytest.raises(ConcurrencyConflict):
            self.runner.run(lambda uow: uow.fulfilment.save_many([stale]))

    def test_waves_settings_confirmations_pickups(self) -> None:
        tenant = new_id("t")
        a = _fo(tenant, "ord_1", "WH")
        a.wave_id = "wav_1"
        p = _fo(tenant, "ord_2", "ST", status="ready_for_pickup")
        p.pickup_expires_at = NOW - timedelta(minutes=1)

        def setup(uow: UnitOfWork) -> None:
            uow.fulfilment.add_many([a, p])
            uow.fulfilment.add_wave(Wave("wav_1", tenant, "WH", NOW, 1))
            uow.fulfilment.put_settings(LocationFulfilment(tenant_id=tenant, location_id="WH", max_batch=7))
            uow.fulfilment.add_confirmations(tenant, [("evt-1", StoredConfirmation(a.id, "d" * 64, {"x": [1]}))], NOW)

        self.runner.run(setup)
        wave = self.runner.run(lambda uow: uow.fulfilment.get_wave(tenant, "wav_1"))
        assert (wave.location_id, wave.count, wave.fulfilment_order_ids) == ("WH", 1, (a.id,))
        with pytest.raises(WaveNotFound):
            self.runner.run(lambda uow: uow.fulfilment.get_wave(tenant, "wav_2"))
        assert self.runner.run(lambda uow: uow.fulfilment.settings(tenant, "WH")).max_batch == 7
        assert self.runner.run(lambda uow: uow.fulfilment.settings(tenant, "ST")).release_mode == "pull"
        stored = self.runner.run(lambda uow: uow.fulfilment.confirmations(tenant, ["evt-1", "evt-2"]))
        assert stored == {"evt-1": StoredConfirmation(a.id, "d" * 64, {"x": [1]})}
        due = self.runner.run(lambda uow: uow.fulfilment.pickups_due(NOW, 10, tenant))
        assert [f.id for f in due] == [p.id]
        assert self.runner.run(lambda uow: uow.fulfilment.pickups_due(NOW - timedelta(hours=1), 10, tenant)) == []

        def collected(uow: UnitOfWork) -> None:  # leave nothing due behind in a shared database
            got = uow.fulfilment.get(tenant, p.id)
            got.status = "shipped"
            uow.fulfilment.save_many([got])

        self.runner.run(collected)

    def test_undispatched_webhook_releases(self) -> None:
        tenant = new_id("t")
        a = _fo(tenant, "ord_1", "WH", status="released")
        b = _fo(tenant, "ord_2", "PULL", status="released")

        def setup(uow: UnitOfWork) -> None:
            uow.fulfilment.add_many([a, b])
            uow.fulfilment.put_settings(
                LocationFulfilment(
                    tenant_id=tenant,
                    location_id="WH",
                    release_mode="webhook",
                    webhook_url="http://x",
                    webhook_secret="s",
                )
            )

        self.runner.run(setup)
        todo = [f.id for f in self.runner.run(lambda uow: uow.fulfilment.undispatched(100)) if f.tenant_id == tenant]
        assert todo == [a.id]
        self.runner.run(lambda uow: uow.fulfilment.mark_dispatched(tenant, a.id, NOW, None))
        todo = [f.id for f in self.runner.run(lambda uow: uow.fulfilment.undispatched(100)) if f.tenant_id == tenant]
        assert todo == []


class TestMemoryFulfilment(FulfilmentContract):
    @pytest.fixture(autouse=True)
    def _runner(self) -> None:
        self.runner = MemoryTransactionRunner()


class TestSqliteFulfilment(FulfilmentContract):
    @pytest.fixture(autouse=True)
    def _runner(self, tmp_path: object) -> Iterator[None]:
        from pathlib import Path

        assert isinstance(tmp_path, Path)
        engines = make_engines(sqlite_url(tmp_path))
        self.runner = SqlTransactionRunner(engines.write)
        yield
        engines.dispose()


class TestPostgresFulfilment(FulfilmentContract):
    @pytest.fixture(autouse=True)
    def _runner(self, postgres_url: str) -> Iterator[None]:
        engines = make_engines(postgres_url)
        self.runner = SqlTransactionRunner(engines.write)
        yield
        engines.dispose()
