"""Delay risk in the shipment flow on the in-memory twin, SQLite and PostgreSQL: a shipment to Fortaleza promised for
tomorrow after two days with the carrier raises ``orderloom.shipment.delay_predicted`` exactly once (at creation, not
again on later scans); one to São Paulo with twelve days to spare raises none; the alert is in the order's audit
trail. Plus the mapping of a shipment onto the model's facts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from orderloom.adapters.carriers.code_maps import load_shipment_actions
from orderloom.adapters.delay_model_file import load_delay_model
from orderloom.adapters.memory import MemoryTransactionRunner
from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.tables import audit_log, outbox
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import SqlTransactionRunner
from orderloom.application.orders import place_order
from orderloom.application.ports import TransactionRunner
from orderloom.application.shipment_delay import promised_at, shipment_facts
from orderloom.application.shipments import apply_tracking, create_shipment
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.inventory import Location, LocationType
from orderloom.domain.shipments import Shipment
from orderloom.domain.tracking import ShipmentStatus, TrackingEvent, TrackingResult
from orderloom.domain.values import Address
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order, sqlite_url

LIFECYCLE = load_lifecycle()
ACTIONS = load_shipment_actions(LIFECYCLE.actions, [str(s) for s in LIFECYCLE.all_statuses()])
MODEL = load_delay_model()
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
DELAY = "orderloom.shipment.delay_predicted"
FORTALEZA = {"city": "Fortaleza", "region": "CE", "postal_code": "60110-000", "country": "BR"}
SAO_PAULO = {"city": "São Paulo", "region": "SP", "postal_code": "01310-100", "country": "BR"}
TRANSIT = ShipmentStatus("in_transit", "in_transit")


def _address(place: dict[str, str], lat: float, lon: float) -> dict[str, Any]:
    base = dict(example_order()["shipping_address"])
    return {**base, **place, "latitude": lat, "longitude": lon}


def test_a_shipment_maps_onto_the_model_facts() -> None:
    s = Shipment.create(
        tenant_id="t",
        order_id="o",
        carrier="dhl_express",
        tracking_numbers=["N"],
        now=NOW,
        promised_date=date(2026, 11, 27),
    )
    assert promised_at(s) == datetime(2026, 11, 28, tzinfo=UTC)  # end of the promised day
    home = Location(
        id="L",
        tenant_id="t",
        name="SP",
        type=LocationType.WAREHOUSE,
        country="BR",
        region="SP",
        latitude=-23.55,
        longitude=-46.63,
    )
    to = Address(region="CE", country="BR", latitude=-3.73, longitude=-38.52)
    facts = shipment_facts(shipment=s, ordered_at=NOW - timedelta(days=3), address=to, origin=home)
    assert facts is not None
    assert facts.handed_over_at == NOW  # no shipped_at: registered time
    assert (facts.origin, facts.destination) == ((-23.55, -46.63), (-3.73, -38.52))
    assert (facts.origin_region, facts.destination_region, facts.carrier) == ("SP", "CE", "dhl_express")
    us = Address(region="PA", country="US", latitude=40.0, longitude=-75.0)  # Pennsylvania, not Pará
    assert shipment_facts(shipment=s, ordered_at=None, address=us, origin=None).destination_region is None  # type: ignore[union-attr]
    s.promised_date = None
    assert shipment_facts(shipment=s, ordered_at=None, address=to, origin=home) is None


class DelayFlowContract:
    @pytest.fixture
    def runner(self) -> Iterator[TransactionRunner]:
        raise NotImplementedError

    def new_tenant(self) -> str:
        return f"ten_{uuid.uuid4().hex[:8]}"

    def delay_events(self, runner: TransactionRunner, tenant: str, shipment_id: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def audit_actions(self, runner: TransactionRunner, tenant: str, order_id: str) -> list[str]:
        raise NotImplementedError

    def ship(
        self, runner: TransactionRunner, tenant: str, address: dict[str, Any], *, days_with_carrier: float, promise: int
    ) -> Shipment:
        body = example_order(status={"main": "shipped", "sub": "handed_to_carrier"}, shipping_address=address)
        new = decode_new_order(msgspec.json.encode(body))
        shipped = NOW - timedelta(days=days_with_carrier)
        number = f"N{uuid.uuid4().hex[:10]}"

        def work(uow: Any) -> Shipment:
            doc = place_order(uow=uow, tenant_id=tenant, new=new, lifecycle=LIFECYCLE, actor="t", now=shipped)
            return create_shipment(
                uow=uow,
                tenant_id=tenant,
                order_id=doc["id"],
                carrier="dhl_express",
                tracking_numbers=[number],
                now=NOW,
                shipped_at=shipped,
                promised_date=(NOW + timedelta(days=promise)).date(),
                delay=MODEL,
            )

        return runner.run(work)

    def scan(self, runner: TransactionRunner, tenant: str, s: Shipment, hours_after: int) -> Any:
        at = NOW + timedelta(hours=hours_after)
        event = TrackingEvent(at - timedelta(minutes=5), f"T{hours_after}", "in transit", status=TRANSIT)
        outcome = TrackingResult("dhl_express", "json", s.tracking_numbers[0], (event,))
        return runner.run(
            lambda uow: apply_tracking(
                uow=uow,  # type: ignore[arg-type]
                tenant_id=tenant,
                carrier="dhl_express",
                outcomes=[outcome],
                lifecycle=LIFECYCLE,
                actions=ACTIONS,
                now=at,
                delay=MODEL,
            )
        )[0]

    def test_tight_promise_raises_exactly_one_delay_prediction(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        s = self.ship(runner, tenant, _address(FORTALEZA, -3.7319, -38.5267), days_with_carrier=2, promise=1)
        for hours in (1, 3, 6):
            assert self.scan(runner, tenant, s, hours).recorded == 1
        events = self.delay_events(runner, tenant, s.id)
        assert len(events) == 1
        data = events[0]
        assert data["shipment_id"] == s.id and data["order_id"] == s.order_id and data["alert"] is True
        assert data["probability"] >= MODEL.threshold == data["threshold"]
        assert data["promised_at"] == "2026-11-28T00:00:00Z"
        assert data["hours_before_promise"] == 39.0  # raised at creation (09:00 → the end of the 27th)
        stored = runner.run(lambda uow: uow.shipments.delay_alert(tenant, s.id))  # type: ignore[attr-defined]
        assert stored == data
        assert self.audit_actions(runner, tenant, s.order_id).count("shipment.delay_predicted") == 1

    def test_comfortable_promise_raises_none(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        s = self.ship(runner, tenant, _address(SAO_PAULO, -23.5614, -46.6559), days_with_carrier=0.25, promise=12)
        self.scan(runner, tenant, s, 2)
        assert self.delay_events(runner, tenant, s.id) == []
        assert runner.run(lambda uow: uow.shipments.delay_alert(tenant, s.id)) is None  # type: ignore[attr-defined]
        assert "shipment.delay_predicted" not in self.audit_actions(runner, tenant, s.order_id)

    def test_no_alert_within_four_hours_of_the_promise(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        body = _address(FORTALEZA, -3.7319, -38.5267)
        s = self.ship(runner, tenant, body, days_with_carrier=2, promise=0)  # promise: end of today, 15 h ahead
        assert len(self.delay_events(runner, tenant, s.id)) == 1
        late = self.ship(runner, tenant, body, days_with_carrier=2, promise=-1)  # promise already passed
        self.scan(runner, tenant, late, 1)
        assert self.delay_events(runner, tenant, late.id) == []


class TestMemoryDelayFlow(DelayFlowContract):
    @pytest.fixture
    def runner(self) -> Iterator[TransactionRunner]:
        yield MemoryTransactionRunner()

    def delay_events(self, runner: TransactionRunner, tenant: str, shipment_id: str) -> list[dict[str, Any]]:
        store = runner.store  # type: ignore[attr-defined]
        return [
            dict(e.data)
            for e in store.outbox
            if e.type == DELAY and e.tenant_id == tenant and e.aggregate_id == shipment_id
        ]

    def audit_actions(self, runner: TransactionRunner, tenant: str, order_id: str) -> list[str]:
        store = runner.store  # type: ignore[attr-defined]
        return [a.action for a in store.audit if a.tenant_id == tenant and a.entity_id == order_id]


class SqlDelayFlow(DelayFlowContract):
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

    def _rows(self, q: Any) -> list[Any]:
        engines = make_engines(self.url)
        try:
            with engines.read.connect() as conn:
                return list(conn.execute(q))
        finally:
            engines.dispose()

    def delay_events(self, runner: TransactionRunner, tenant: str, shipment_id: str) -> list[dict[str, Any]]:
        q = sa.select(outbox.c.payload).where(
            outbox.c.tenant_id == tenant, outbox.c.aggregate_id == shipment_id, outbox.c.type == DELAY
        )
        return [msgspec.json.decode(r.payload)["data"] for r in self._rows(q)]

    def audit_actions(self, runner: TransactionRunner, tenant: str, order_id: str) -> list[str]:
        q = sa.select(audit_log.c.action).where(audit_log.c.tenant_id == tenant, audit_log.c.entity_id == order_id)
        return [r.action for r in self._rows(q)]


class TestSqliteDelayFlow(SqlDelayFlow):
    @pytest.fixture
    def runner(self, tmp_path: Path) -> Iterator[TransactionRunner]:
        self.url = sqlite_url(tmp_path)
        yield from self._runner()


class TestPostgresDelayFlow(SqlDelayFlow):
    @pytest.fixture
    def runner(self, postgres_url: str) -> Iterator[TransactionRunner]:
        self.url = postgres_url
        yield from self._runner()
