"""The shipment store contract: the in-memory twin, SQLite and PostgreSQL behave the same behind the
ShipmentRepository port, and the shipment use cases (scans, dedupe, time order, order follow) work on each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from orderloom.adapters.carriers.code_maps import CodeMapStore, load_shipment_actions
from orderloom.adapters.carriers.registry import default_registry
from orderloom.adapters.memory import MemoryTransactionRunner
from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import SqlTransactionRunner
from orderloom.application.orders import apply_action, place_order
from orderloom.application.ports import TransactionRunner
from orderloom.application.shipments import apply_tracking, create_shipment, record_telemetry
from orderloom.application.tracking import read_tracking
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.errors import ConcurrencyConflict, OrderNotFound
from orderloom.domain.shipments import ShipmentNotFound, TrackingNumberTaken
from orderloom.domain.telemetry import Reading
from orderloom.domain.tracking import ShipmentStatus, TrackingEvent, TrackingResult
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order, sqlite_url

LIFECYCLE = load_lifecycle()
STATUSES = [str(s) for s in LIFECYCLE.all_statuses()]
MAPS = CodeMapStore(STATUSES)
ACTIONS = load_shipment_actions(LIFECYCLE.actions, STATUSES)
REGISTRY = default_registry()
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "carriers"
NOW = datetime(2024, 11, 23, 12, 0, tzinfo=UTC)
T0 = datetime(2024, 11, 20, 8, 0, tzinfo=UTC)
TRANSIT = ShipmentStatus("in_transit", "in_transit")
DELIVERED = ShipmentStatus("delivered", "signed")


def ev(minutes: int, code: str, status: ShipmentStatus | None, mapping: str = "mapped") -> TrackingEvent:
    return TrackingEvent(T0 + timedelta(minutes=minutes), code, f"scan {code}", status=status, mapping=mapping)  # type: ignore[arg-type]


def result(number: str, *events: TrackingEvent) -> TrackingResult:
    return TrackingResult("usps", "rest", number, tuple(events))


class ShipmentContract:
    @pytest.fixture
    def runner(self) -> Iterator[TransactionRunner]:
        raise NotImplementedError

    def new_tenant(self) -> str:
        return f"ten_{uuid.uuid4().hex[:8]}"

    def order(self, runner: TransactionRunner, tenant: str, status: str = "shipped.handed_to_carrier") -> str:
        main, sub = status.split(".")
        new = decode_new_order(msgspec.json.encode(example_order(status={"main": main, "sub": sub})))
        doc = runner.run(
            lambda uow: place_order(uow=uow, tenant_id=tenant, new=new, lifecycle=LIFECYCLE, actor="t", now=T0)
        )
        return str(doc["id"])

    def shipment(
        self, runner: TransactionRunner, tenant: str, order_id: str, *numbers: str, carrier: str = "usps"
    ) -> Any:
        return runner.run(
            lambda uow: create_shipment(
                uow=uow,  # type: ignore[arg-type]
                tenant_id=tenant,
                order_id=order_id,
                carrier=carrier,
                tracking_numbers=numbers,
                now=T0 - timedelta(hours=1),
            )
        )

    def ingest(self, runner: TransactionRunner, tenant: str, *outcomes: Any, carrier: str = "usps") -> list[Any]:
        return runner.run(
            lambda uow: apply_tracking(
                uow=uow,  # type: ignore[arg-type]
                tenant_id=tenant,
                carrier=carrier,
                outcomes=list(outcomes),
                lifecycle=LIFECYCLE,
                actions=ACTIONS,
                now=NOW,
                payload=b"{}",
            )
        )

    def test_add_get_find_and_tenant_scoping(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        order_id = self.order(runner, tenant)
        s = self.shipment(runner, tenant, order_id, "N1", "N2")
        got = runner.run(lambda uow: uow.shipments.get(tenant, s.id))  # type: ignore[attr-defined]
        assert (got.order_id, got.tracking_numbers, got.status, got.version) == (order_id, ("N1", "N2"), None, 1)
        assert runner.run(lambda uow: uow.shipments.find_by_number(tenant, "usps", "N2")).id == s.id  # type: ignore[attr-defined]
        assert runner.run(lambda uow: uow.shipments.find_by_number(tenant, "ups", "N2")) is None  # type: ignore[attr-defined]
        other = self.new_tenant()
        with pytest.raises(ShipmentNotFound):
            runner.run(lambda uow: uow.shipments.get(other, s.id))  # type: ignore[attr-defined]
        assert [x.id for x in runner.run(lambda uow: uow.shipments.for_order(tenant, order_id))] == [s.id]  # type: ignore[attr-defined]

    def test_taken_number_and_unknown_order_are_refused(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        order_id = self.order(runner, tenant)
        self.shipment(runner, tenant, order_id, "DUP")
        with pytest.raises(TrackingNumberTaken):
            self.shipment(runner, tenant, order_id, "DUP")
        with pytest.raises(OrderNotFound):
            self.shipment(runner, tenant, "ord_nope", "X1")

    def test_stale_save_is_a_conflict(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        s = self.shipment(runner, tenant, self.order(runner, tenant), "V1")
        s.version += 5
        with pytest.raises(ConcurrencyConflict):
            runner.run(lambda uow: uow.shipments.save(s))  # type: ignore[attr-defined]

    def test_out_of_order_duplicates_and_order_follows(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        order_id = self.order(runner, tenant)
        s = self.shipment(runner, tenant, order_id, "OOO1")
        first = self.ingest(runner, tenant, result("OOO1", ev(300, "01", DELIVERED)))
        assert (first[0].recorded, first[0].status, first[0].order_status) == (
            1,
            "delivered.signed",
            "delivered.signed",
        )
        late = self.ingest(
            runner, tenant, result("OOO1", ev(0, "TL", TRANSIT), ev(100, "TL", TRANSIT), ev(300, "01", DELIVERED))
        )
        assert (late[0].recorded, late[0].duplicates, late[0].status, late[0].status_changed) == (
            2,
            1,
            "delivered.signed",
            False,
        )
        scans = runner.run(lambda uow: uow.shipments.scans(tenant, s.id))  # type: ignore[attr-defined]
        assert [x.event.occurred_at for x in scans] == [T0, T0 + timedelta(minutes=100), T0 + timedelta(minutes=300)]
        got = runner.run(lambda uow: uow.shipments.get(tenant, s.id))  # type: ignore[attr-defined]
        assert got.last_event_at == T0 + timedelta(minutes=300)
        assert str(runner.run(lambda uow: uow.orders.get(tenant, order_id)).status) == "delivered.signed"

    def test_unmapped_future_and_unknown_numbers(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        self.shipment(runner, tenant, self.order(runner, tenant), "U1")
        future = TrackingEvent(NOW + timedelta(days=3), "01", "delivered", status=DELIVERED, mapping="mapped")
        reports = self.ingest(
            runner,
            tenant,
            result("U1", ev(0, "ZZ", None, "unmapped"), ev(5, "ZZ2", None, "unmapped"), future),
            result("U1", ev(10, "ZZ", None, "unmapped")),
            result("NOPE", ev(0, "TL", TRANSIT)),
        )
        assert (reports[0].recorded, reports[0].unmapped, reports[0].flagged, reports[0].status) == (3, 2, 1, None)
        assert reports[2].error is not None and reports[2].error["kind"] == "unknown_tracking_number"
        counts = runner.run(lambda uow: uow.shipments.unmapped(tenant))  # type: ignore[attr-defined]
        assert [(u.code_key, u.count) for u in counts] == [("ZZ", 2), ("ZZ2", 1)]

    def test_real_sample_moves_the_order_through_the_state_machine(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        order_id = self.order(runner, tenant, "confirmed.paid")
        runner.run(
            lambda uow: apply_action(
                uow=uow,
                tenant_id=tenant,
                order_id=order_id,
                action="allocate",
                params={},
                lifecycle=LIFECYCLE,
                actor="t",
                now=T0,
            )
        )
        self.shipment(runner, tenant, order_id, "9400109104250532908587")
        outcomes = read_tracking(
            carrier="usps",
            payload=(FIXTURES / "usps" / "tracking_delivered_raw.json").read_bytes(),
            parsers=REGISTRY,
            maps=MAPS,
        )
        reports = self.ingest(runner, tenant, *outcomes)
        assert reports[0].recorded == 12
        assert reports[0].order_sync == "applied:ship+deliver_to_safe_place"
        assert str(runner.run(lambda uow: uow.orders.get(tenant, order_id)).status) == "delivered.left_at_safe_place"

    def test_refused_transition_is_recorded_not_raised(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        order_id = self.order(runner, tenant, "pending.awaiting_payment")
        self.shipment(runner, tenant, order_id, "R1")
        reports = self.ingest(runner, tenant, result("R1", ev(0, "01", DELIVERED)))
        assert reports[0].order_sync is not None and reports[0].order_sync.startswith("refused:")
        assert reports[0].status == "delivered.signed"
        assert str(runner.run(lambda uow: uow.orders.get(tenant, order_id)).status) == "pending.awaiting_payment"

    def test_order_follows_all_its_shipments(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        order_id = self.order(runner, tenant)
        self.shipment(runner, tenant, order_id, "P1")
        self.shipment(runner, tenant, order_id, "P2")

        def order_status() -> str:
            return str(runner.run(lambda uow: uow.orders.get(tenant, order_id)).status)

        self.ingest(runner, tenant, result("P1", ev(0, "01", DELIVERED)))
        assert order_status() == "shipped.handed_to_carrier"  # P2 has no scan yet: not all delivered
        self.ingest(runner, tenant, result("P2", ev(10, "TL", TRANSIT)))
        assert order_status() == "in_transit.in_transit"  # the least advanced parcel
        issue = ShipmentStatus("delivery_issue", "failed_attempt")
        out = ShipmentStatus("out_for_delivery", "with_courier")
        self.ingest(runner, tenant, result("P2", ev(20, "OF", out), ev(30, "02", issue)))
        assert order_status() == "delivery_issue.failed_attempt"  # any issue wins
        self.ingest(runner, tenant, result("P2", ev(40, "01", DELIVERED)))
        assert order_status() == "delivered.signed"  # all delivered

    def test_telemetry_state_persists_between_batches(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        s = self.shipment(runner, tenant, self.order(runner, tenant), "TEL1")

        def send(*pairs: tuple[int, float]) -> Any:
            readings = [Reading(T0 + timedelta(seconds=sec), temperature_c=c) for sec, c in pairs]
            return runner.run(
                lambda uow: record_telemetry(uow=uow, tenant_id=tenant, shipment_id=s.id, readings=readings, now=NOW)  # type: ignore[arg-type]
            )

        assert send((0, 9.0), (100, 9.5))["alerts"] == []
        second = send((121, 9.9), (50, 1.0))
        assert [a["kind"] for a in second["alerts"]] == ["cold_chain_breached"]
        assert second["ignored_out_of_order"] == 1
        assert send((300, 9.0))["alerts"] == []  # same excursion: alerted once

    def test_batch_lookups_and_writes(self, runner: TransactionRunner) -> None:
        tenant, other = self.new_tenant(), self.new_tenant()
        order_id = self.order(runner, tenant)
        a = self.shipment(runner, tenant, order_id, "BA1", "BA2")
        b = self.shipment(runner, tenant, order_id, "BB1")
        self.shipment(runner, other, self.order(runner, other), "BC1")

        def lookups(uow: Any) -> Any:
            found = uow.shipments.find_by_numbers(tenant, "usps", ["BA1", "BA2", "BB1", "BC1", "nope", "BA1"])
            return found, uow.shipments.for_orders(tenant, [order_id, "ord_none"])

        found, siblings = runner.run(lookups)
        assert set(found) == {"BA1", "BA2", "BB1"}  # another tenant's number is not found
        assert found["BA1"] is found["BA2"] and found["BA1"].id == a.id and found["BB1"].id == b.id
        assert [s.id for s in siblings[order_id]] == sorted([a.id, b.id])  # same created_at: by id, as for_order
        assert siblings["ord_none"] == []
        self.ingest(runner, tenant, result("BA1", ev(0, "TL", TRANSIT)), result("BB1", ev(5, "TL", TRANSIT)))
        keys = runner.run(
            lambda uow: uow.shipments.known_keys_for(
                tenant, "usps", {"BA1": [T0, T0 + timedelta(minutes=5)], "BB1": [T0], "BA2": [T0]}
            )
        )
        assert {(k[1], k[2]) for k in keys} == {("BA1", T0)}  # BB1's scan is at minute 5, not asked for at T0

    def test_save_many_refuses_a_stale_version(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        s = self.shipment(runner, tenant, self.order(runner, tenant), "SV1")

        def stale(uow: Any) -> None:
            fresh = uow.shipments.get(tenant, s.id)
            fresh.version += 1
            uow.shipments.save_many([(fresh, s.version + 5)])

        with pytest.raises(ConcurrencyConflict):
            runner.run(stale)

        def ok(uow: Any) -> int:
            fresh = uow.shipments.get(tenant, s.id)
            read_at = fresh.version
            fresh.version += 2  # two changes in one batch, one write
            uow.shipments.save_many([(fresh, read_at)])
            return int(uow.shipments.get(tenant, s.id).version)

        assert runner.run(ok) == s.version + 2

    def test_one_call_with_many_payloads_dedupes_and_orders(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        o1, o2 = self.order(runner, tenant), self.order(runner, tenant)
        s1 = self.shipment(runner, tenant, o1, "M1")
        s2 = self.shipment(runner, tenant, o2, "M2")
        self.ingest(runner, tenant, result("M1", ev(0, "TL", TRANSIT)))
        reports = self.ingest(
            runner,
            tenant,
            result("M1", ev(60, "01", DELIVERED), ev(0, "TL", TRANSIT)),  # one stored already
            result("M2", ev(60, "TL", TRANSIT)),
            result("M1", ev(30, "TL", TRANSIT), ev(60, "01", DELIVERED)),  # older scan late; a repeat in the call
            result("unknown-number", ev(1, "TL", TRANSIT)),
        )
        assert [(r.recorded, r.duplicates) for r in reports[:3]] == [(1, 1), (1, 0), (1, 1)]
        assert reports[3].error is not None and reports[3].error["kind"] == "unknown_tracking_number"
        assert reports[0].status == reports[2].status == "delivered.signed"  # the newer scan keeps its status
        assert reports[0].order_sync is not None and reports[0].order_sync.startswith("applied:")
        assert reports[2].order_sync is None  # the order moved once, with the shipment's first change
        assert reports[1].order_sync is not None and reports[1].order_sync.startswith("applied:")

        def state(uow: Any) -> Any:
            return (
                len(uow.shipments.scans(tenant, s1.id)),
                str(uow.shipments.get(tenant, s1.id).status),
                str(uow.orders.get(tenant, o1).status),
                str(uow.orders.get(tenant, o2).status),
                len(uow.shipments.scans(tenant, s2.id)),
            )

        assert runner.run(state) == (3, "delivered.signed", "delivered.signed", "in_transit.in_transit", 1)


class TestMemoryShipments(ShipmentContract):
    @pytest.fixture
    def runner(self) -> Iterator[TransactionRunner]:
        yield MemoryTransactionRunner()


class SqlShipmentContract(ShipmentContract):
    url: str

    def new_tenant(self) -> str:
        engines = make_engines(self.url)
        try:
            return SqlTenantDirectory(engines.write, engines.read).create(f"t-{uuid.uuid4().hex[:8]}")[0]
        finally:
            engines.dispose()

    def _runner(self) -> Iterator[TransactionRunner]:
        engines = make_engines(self.url)
        try:
            yield SqlTransactionRunner(engines.write)
        finally:
            engines.dispose()


class TestSqliteShipments(SqlShipmentContract):
    @pytest.fixture
    def runner(self, tmp_path: Path) -> Iterator[TransactionRunner]:
        self.url = sqlite_url(tmp_path)
        yield from self._runner()


class TestPostgresShipments(SqlShipmentContract):
    @pytest.fixture
    def runner(self, postgres_url: str) -> Iterator[TransactionRunner]:
        self.url = postgres_url
        yield from self._runner()
