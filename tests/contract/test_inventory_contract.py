"""The inventory contract: the in-memory twin, SQLite and PostgreSQL behave the same behind ``uow.inventory``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
import sqlalchemy as sa

from orderloom.adapters.memory import MemoryTransactionRunner
from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.tables import outbox
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import GroupCommitWriter, SqlTransactionRunner
from orderloom.application.inventory import (
    DuplicatePurchaseOrder,
    DuplicateReceipt,
    NearestFullStockSourcing,
    OrderNotReservable,
    ReceiptLine,
    adjust_stock,
    allocate_order,
    create_location,
    fulfil_order,
    fulfil_parts,
    ledger_page,
    promise_presale,
    receive_purchase_order,
    receive_stock,
    record_purchase_order,
    release_expired,
    release_order,
    reserve_order,
    set_stock_level,
    stock_view,
    take_units,
    transfer_stock,
    update_location,
)
from orderloom.application.orders import apply_action, place_order
from orderloom.application.ports import TransactionRunner, UnitOfWork
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.errors import ValidationFailed
from orderloom.domain.inventory import (
    DuplicateLocation,
    InsufficientStock,
    Location,
    LocationNotFound,
    LocationType,
    MovementKind,
    ReservationStatus,
    StockNotFound,
)
from orderloom.domain.sourcing import Demand, ShipTo
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order, sqlite_url

LIFECYCLE = load_lifecycle()
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SOURCING = NearestFullStockSourcing()
CITIES = {
    "SH": (31.2304, 121.4737),
    "HZ": (30.2741, 120.1551),
    "BJ": (39.9042, 116.4074),
}


def _loc(tenant: str, loc_id: str, **kw: Any) -> Location:
    lat, lon = CITIES.get(loc_id, (None, None))
    args: dict[str, Any] = {"latitude": lat, "longitude": lon, "country": "CN", "time_zone": "Asia/Shanghai"}
    args.update(kw)
    return Location(id=loc_id, tenant_id=tenant, name=f"{loc_id} warehouse", type=LocationType.WAREHOUSE, **args)


class InventoryContract:
    """Subclasses provide ``runner``, ``new_tenant`` and ``event_types``."""

    @pytest.fixture
    def runner(self) -> Iterator[TransactionRunner]:
        raise NotImplementedError

    def new_tenant(self) -> str:
        return f"ten_{uuid.uuid4().hex[:8]}"

    def event_types(self, runner: TransactionRunner, tenant: str) -> list[str]:
        raise NotImplementedError

    def network(self, runner: TransactionRunner, stock: dict[str, int], sku: str = "TSHIRT-BLK-M") -> str:
        tenant = self.new_tenant()

        def work(uow: UnitOfWork) -> None:
            for loc_id in CITIES:
                create_location(uow=uow, location=_loc(tenant, loc_id), now=NOW)
            lines = [ReceiptLine(sku, loc, q) for loc, q in stock.items() if q]
            if lines:
                receive_stock(uow=uow, tenant_id=tenant, reference="PO-1", lines=lines, reason="opening", now=NOW)

        runner.run(work)
        return tenant

    def view(self, runner: TransactionRunner, tenant: str, sku: str = "TSHIRT-BLK-M") -> dict[str, tuple[int, int]]:
        v = runner.run(lambda uow: stock_view(inventory=uow.inventory, tenant_id=tenant, sku=sku))
        return {b.location_id: (b.on_hand, b.reserved) for b, _ in v.balances}

    def reconcile(self, runner: TransactionRunner, tenant: str) -> list[Any]:
        return runner.run(lambda uow: uow.inventory.reconcile(tenant))

    # locations
    def test_locations_round_trip_and_are_tenant_scoped(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {})
        loc = runner.run(lambda uow: uow.inventory.get_location(tenant, "SH"))
        assert (loc.latitude, loc.longitude, loc.time_zone, loc.active) == (31.2304, 121.4737, "Asia/Shanghai", True)
        assert [x.id for x in runner.run(lambda uow: uow.inventory.list_locations(tenant))] == ["BJ", "HZ", "SH"]
        with pytest.raises(DuplicateLocation):
            runner.run(lambda uow: create_location(uow=uow, location=_loc(tenant, "SH"), now=NOW))
        other = self.new_tenant()
        with pytest.raises(LocationNotFound):
            runner.run(lambda uow: uow.inventory.get_location(other, "SH"))
        with pytest.raises(ValidationFailed, match="time_zone"):
            runner.run(lambda uow: create_location(uow=uow, location=_loc(tenant, "X", time_zone="Mars/Base"), now=NOW))

    def test_taking_a_location_offline_records_an_event_and_removes_it_from_atp(
        self, runner: TransactionRunner
    ) -> None:
        tenant = self.network(runner, {"SH": 5, "BJ": 2})
        assert (
            runner.run(lambda uow: stock_view(inventory=uow.inventory, tenant_id=tenant, sku="TSHIRT-BLK-M")).atp == 7
        )
        runner.run(
            lambda uow: update_location(uow=uow, tenant_id=tenant, location_id="SH", changes={"active": False}, now=NOW)
        )
        assert runner.run(lambda uow: uow.inventory.get_location(tenant, "SH")).active is False
        assert (
            runner.run(lambda uow: stock_view(inventory=uow.inventory, tenant_id=tenant, sku="TSHIRT-BLK-M")).atp == 2
        )
        assert "orderloom.inventory.location_went_offline" in self.event_types(runner, tenant)
        with pytest.raises(ValidationFailed, match="colour"):
            runner.run(
                lambda uow: update_location(uow=uow, tenant_id=tenant, location_id="SH", changes={"colour": 1}, now=NOW)
            )

    # receipts and adjustments
    def test_receipt_is_idempotent_on_its_reference(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 5})
        again = runner.run(
            lambda uow: receive_stock(
                uow=uow,
                tenant_id=tenant,
                reference="PO-1",
                lines=[ReceiptLine("TSHIRT-BLK-M", "SH", 5)],
                reason="opening",
                now=NOW,
            )
        )
        assert again.replayed is True
        assert self.view(runner, tenant) == {"SH": (5, 0)}
        with pytest.raises(DuplicateReceipt):
            runner.run(
                lambda uow: receive_stock(
                    uow=uow,
                    tenant_id=tenant,
                    reference="PO-1",
                    lines=[ReceiptLine("TSHIRT-BLK-M", "SH", 6)],
                    reason="opening",
                    now=NOW,
                )
            )
        assert self.view(runner, tenant) == {"SH": (5, 0)}

    def test_receipt_to_an_unknown_location_writes_nothing(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 1})
        with pytest.raises(LocationNotFound):
            runner.run(
                lambda uow: receive_stock(
                    uow=uow,
                    tenant_id=tenant,
                    reference="PO-2",
                    lines=[ReceiptLine("TSHIRT-BLK-M", "SH", 4), ReceiptLine("TSHIRT-BLK-M", "NOPE", 1)],
                    reason="r",
                    now=NOW,
                )
            )
        assert self.view(runner, tenant) == {"SH": (1, 0)}
        assert self.reconcile(runner, tenant) == []

    def test_adjustment_below_zero_is_refused_naming_on_hand(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 3})

        def adjust(change: int) -> Any:
            return runner.run(
                lambda uow: adjust_stock(
                    uow=uow,
                    tenant_id=tenant,
                    sku="TSHIRT-BLK-M",
                    location_id="SH",
                    change=change,
                    reason="count",
                    reference=None,
                    now=NOW,
                )
            )

        with pytest.raises(InsufficientStock, match="cannot adjust SKU TSHIRT-BLK-M at SH: on hand 3, reserved 0"):
            adjust(-5)
        assert adjust(-2).on_hand == 1
        assert adjust(+4).on_hand == 5
        assert self.view(runner, tenant) == {"SH": (5, 0)}
        assert self.reconcile(runner, tenant) == []

    def test_stock_level_load_and_safety_stock(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 3})
        b = runner.run(
            lambda uow: set_stock_level(
                uow=uow,
                tenant_id=tenant,
                sku="TSHIRT-BLK-M",
                location_id="SH",
                quantity=10,
                safety_stock=2,
                reason="load",
                now=NOW,
            )
        )
        assert (b.on_hand, b.safety_stock, b.available) == (10, 2, 8)
        assert self.reconcile(runner, tenant) == []

    def test_transfer_moves_unreserved_units(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 3})
        src, dst = runner.run(
            lambda uow: transfer_stock(
                uow=uow,
                tenant_id=tenant,
                sku="TSHIRT-BLK-M",
                source="SH",
                destination="BJ",
                quantity=2,
                reference="TR-1",
                now=NOW,
            )
        )
        assert (src.on_hand, dst.on_hand) == (1, 2)
        with pytest.raises(InsufficientStock, match="cannot transfer"):
            runner.run(
                lambda uow: transfer_stock(
                    uow=uow,
                    tenant_id=tenant,
                    sku="TSHIRT-BLK-M",
                    source="SH",
                    destination="HZ",
                    quantity=2,
                    reference="TR-2",
                    now=NOW,
                )
            )
        assert self.view(runner, tenant) == {"BJ": (2, 0), "SH": (1, 0)}

    def test_unknown_sku_has_no_view(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 3})
        with pytest.raises(StockNotFound):
            self.view(runner, tenant, "NO-SUCH-SKU")

    # reservations
    def test_reservation_takes_nearest_full_location_then_shortage(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 2, "HZ": 1, "BJ": 5})
        hangzhou = ShipTo(country="CN", latitude=30.25, longitude=120.17)

        def reserve(order_id: str, qty: int) -> Any:
            return runner.run(
                lambda uow: reserve_order(
                    uow=uow,
                    tenant_id=tenant,
                    order_id=order_id,
                    demand=[Demand(1, "TSHIRT-BLK-M", qty)],
                    ship_to=hangzhou,
                    sourcing=SOURCING,
                    now=NOW,
                )
            )

        assert reserve("o1", 1).location_id == "HZ"
        assert reserve("o2", 2).location_id == "SH"  # HZ has nothing left; SH is next nearest
        again = reserve("o2", 2)
        assert (again.location_id, again.replayed) == ("SH", True)
        assert reserve("o3", 6).location_id is None  # 5 at BJ is the most any single location holds
        assert self.view(runner, tenant) == {"BJ": (5, 0), "HZ": (1, 1), "SH": (2, 2)}
        assert "orderloom.inventory.stock_short" in self.event_types(runner, tenant)
        n = runner.run(lambda uow: release_order(uow=uow, tenant_id=tenant, order_id="o2", reason="cancel", now=NOW))
        assert n == 1
        assert self.view(runner, tenant)["SH"] == (2, 0)
        assert runner.run(lambda uow: fulfil_order(uow=uow, tenant_id=tenant, order_id="o1", now=NOW)) == 1
        assert self.view(runner, tenant)["HZ"] == (0, 0)
        statuses = runner.run(lambda uow: uow.inventory.reservations_of(tenant, "o1", None))
        assert [r.status for r in statuses] == [ReservationStatus.FULFILLED]
        assert self.reconcile(runner, tenant) == []

    def test_bulk_fulfilment_splits_and_consumes_like_one_at_a_time(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"BJ": 10})
        beijing = ShipTo(country="CN", latitude=39.9, longitude=116.4)
        for order_id, qty in (("o1", 3), ("o2", 4)):
            runner.run(
                lambda uow, order_id=order_id, qty=qty: reserve_order(
                    uow=uow,
                    tenant_id=tenant,
                    order_id=order_id,
                    demand=[Demand(1, "TSHIRT-BLK-M", qty)],
                    ship_to=beijing,
                    sourcing=SOURCING,
                    now=NOW,
                )
            )
        assert self.view(runner, tenant) == {"BJ": (10, 7)}

        def ship(uow: UnitOfWork) -> list[Any]:
            held = uow.inventory.active_reservations_of(tenant, ["o1", "o2", "o9"])
            assert sorted(held) == ["o1", "o2"]
            first = take_units(held["o1"], "BJ", {1: 2})  # part of o1's reservation: it is split
            rest = take_units(held["o1"], "BJ", {1: 1})  # the rest of it, planned in the same batch
            whole = take_units(held["o2"], "BJ", {1: 4})
            assert take_units(held["o2"], "BJ", {1: 1}) is None  # nothing left to cover
            assert first and rest and whole
            assert fulfil_parts(uow=uow, parts=[*first, *rest, *whole], now=NOW) == 7
            return [first, rest, whole]

        runner.run(ship)
        assert self.view(runner, tenant) == {"BJ": (3, 0)}
        for order_id, units in (("o1", [1, 2]), ("o2", [4])):
            rows = runner.run(lambda uow, order_id=order_id: uow.inventory.reservations_of(tenant, order_id, None))
            assert sorted(r.quantity for r in rows) == units
            assert {r.status for r in rows} == {ReservationStatus.FULFILLED}
        moves = runner.run(lambda uow: uow.inventory.movements(tenant, "TSHIRT-BLK-M", after=None, limit=50))
        assert sorted(m.quantity for m in moves if m.kind == MovementKind.FULFILMENT) == [1, 2, 4]
        assert self.reconcile(runner, tenant) == []

    def test_safety_stock_is_not_promised(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 3})
        runner.run(lambda uow: uow.inventory.set_safety_stock(tenant, "TSHIRT-BLK-M", "SH", 2))
        alloc = runner.run(
            lambda uow: reserve_order(
                uow=uow,
                tenant_id=tenant,
                order_id="o1",
                demand=[Demand(1, "TSHIRT-BLK-M", 2)],
                ship_to=ShipTo(),
                sourcing=SOURCING,
                now=NOW,
            )
        )
        assert alloc.location_id is None

    def test_expired_reservations_are_released(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 4})
        for order_id, ttl in (("o1", 5), ("o2", 60)):
            runner.run(
                lambda uow, o=order_id, t=ttl: reserve_order(
                    uow=uow,
                    tenant_id=tenant,
                    order_id=o,
                    demand=[Demand(1, "TSHIRT-BLK-M", 1)],
                    ship_to=ShipTo(),
                    sourcing=SOURCING,
                    now=NOW,
                    expires_at=NOW + timedelta(minutes=t),
                )
            )
        assert self.view(runner, tenant) == {"SH": (4, 2)}
        later = NOW + timedelta(minutes=10)
        assert runner.run(lambda uow: release_expired(uow=uow, now=later)) >= 1
        assert self.view(runner, tenant) == {"SH": (4, 1)}
        assert runner.run(lambda uow: uow.inventory.reservations_of(tenant, "o2", ReservationStatus.ACTIVE))
        assert "orderloom.inventory.reservation_expired" in self.event_types(runner, tenant)

    def test_ledger_pages_with_a_cursor(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 4, "BJ": 1})
        for i in range(3):
            runner.run(
                lambda uow, i=i: adjust_stock(
                    uow=uow,
                    tenant_id=tenant,
                    sku="TSHIRT-BLK-M",
                    location_id="SH",
                    change=-1,
                    reason=f"damaged {i}",
                    reference=None,
                    now=NOW,
                )
            )
        seen: list[str] = []
        cursor = None
        for _ in range(5):
            rows, cursor = runner.run(
                lambda uow, c=cursor: ledger_page(
                    inventory=uow.inventory, tenant_id=tenant, sku="TSHIRT-BLK-M", after=c, limit=2
                )
            )
            seen += [f"{m.kind}:{m.location_id}:{m.quantity}" for m in rows]
            if cursor is None:
                break
        assert seen == ["receipt:BJ:1", "receipt:SH:4", "adjustment:SH:-1", "adjustment:SH:-1", "adjustment:SH:-1"]

    # order integration
    def _order(self, runner: TransactionRunner, tenant: str, **overrides: Any) -> str:
        new = decode_new_order(msgspec.json.encode(example_order(**overrides)))
        doc = runner.run(
            lambda uow: place_order(uow=uow, tenant_id=tenant, new=new, lifecycle=LIFECYCLE, actor="t", now=NOW)
        )
        return str(doc["id"])

    def _act(self, runner: TransactionRunner, tenant: str, order_id: str, action: str) -> str:
        doc = runner.run(
            lambda uow: apply_action(
                uow=uow,
                tenant_id=tenant,
                order_id=order_id,
                action=action,
                params={},
                lifecycle=LIFECYCLE,
                actor="t",
                now=NOW,
            )
        )
        return f"{doc['status']['main']}.{doc['status']['sub']}"

    def _allocate(self, runner: TransactionRunner, tenant: str, order_id: str, *, strict: bool = False) -> Any:
        return runner.run(
            lambda uow: allocate_order(
                uow=uow,
                tenant_id=tenant,
                order_id=order_id,
                lifecycle=LIFECYCLE,
                sourcing=SOURCING,
                now=NOW,
                strict=strict,
            )
        )

    def _status(self, runner: TransactionRunner, tenant: str, order_id: str) -> str:
        return str(runner.run(lambda uow: uow.orders.get(tenant, order_id)).status)

    def test_confirmed_order_is_allocated_or_put_on_hold(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 2})
        runner.run(
            lambda uow: receive_stock(
                uow=uow,
                tenant_id=tenant,
                reference="PO-MUG",
                lines=[ReceiptLine("MUG-WHT", "SH", 2)],
                reason="r",
                now=NOW,
            )
        )
        first = self._order(runner, tenant)  # lines: TSHIRT-BLK-M x2, MUG-WHT x1 (EXAMPLE_ORDER)
        assert self._allocate(runner, tenant, first) is None  # still pending: nothing to do
        assert self._act(runner, tenant, first, "confirm").startswith("confirmed.")
        alloc = self._allocate(runner, tenant, first)
        assert alloc.location_id == "SH"
        assert self._status(runner, tenant, first) == "allocated.reserved"
        assert self._allocate(runner, tenant, first) is None  # already allocated: idempotent

        second = self._order(runner, tenant)
        self._act(runner, tenant, second, "confirm")
        assert self._allocate(runner, tenant, second).location_id is None
        assert self._status(runner, tenant, second) == "on_hold.stock_shortage"
        # stock arrives, allocation is retried from the hold
        runner.run(
            lambda uow: receive_stock(
                uow=uow,
                tenant_id=tenant,
                reference="PO-3",
                lines=[ReceiptLine("TSHIRT-BLK-M", "BJ", 2), ReceiptLine("MUG-WHT", "BJ", 1)],
                reason="r",
                now=NOW,
            )
        )
        assert self._allocate(runner, tenant, second).location_id == "BJ"
        assert self._status(runner, tenant, second) == "allocated.reserved"
        assert self.reconcile(runner, tenant) == []

    def test_cancelled_order_cannot_reserve(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 5})
        order_id = self._order(runner, tenant)
        self._act(runner, tenant, order_id, "cancel")
        with pytest.raises(OrderNotReservable, match="closed"):
            self._allocate(runner, tenant, order_id, strict=True)

    # split policy
    def test_split_policy_allows_lines_from_several_locations(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 2})  # TSHIRT-BLK-M x2 at SH
        runner.run(
            lambda uow: receive_stock(
                uow=uow,
                tenant_id=tenant,
                reference="PO-MUG",
                lines=[ReceiptLine("MUG-WHT", "BJ", 1)],
                reason="r",
                now=NOW,
            )
        )
        whole = self._order(runner, tenant)  # TSHIRT-BLK-M x2 + MUG-WHT x1, no split policy
        self._act(runner, tenant, whole, "confirm")
        assert self._allocate(runner, tenant, whole).location_id is None
        assert self._status(runner, tenant, whole) == "on_hold.stock_shortage"
        split = self._order(runner, tenant, custom_fields={"split_policy": "allow"})
        self._act(runner, tenant, split, "confirm")
        alloc = self._allocate(runner, tenant, split)
        assert (alloc.locations, alloc.partial) == (["BJ", "SH"], False)
        assert self._status(runner, tenant, split) == "allocated.reserved"
        assert self.view(runner, tenant, "MUG-WHT") == {"BJ": (1, 1)}
        # nothing left of the mug: a second split order gets the shirts it can and is partially reserved
        runner.run(
            lambda uow: receive_stock(
                uow=uow,
                tenant_id=tenant,
                reference="PO-TEE",
                lines=[ReceiptLine("TSHIRT-BLK-M", "HZ", 2)],
                reason="r",
                now=NOW,
            )
        )
        partial = self._order(runner, tenant, custom_fields={"split_policy": "allow"})
        self._act(runner, tenant, partial, "confirm")
        alloc = self._allocate(runner, tenant, partial)
        assert (alloc.locations, alloc.partial) == (["HZ"], True)
        assert self._status(runner, tenant, partial) == "allocated.partially_reserved"
        assert self.reconcile(runner, tenant) == []

    # capacity
    def test_daily_capacity_is_reserved_like_stock(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {"SH": 5, "BJ": 5})
        runner.run(
            lambda uow: update_location(
                uow=uow, tenant_id=tenant, location_id="SH", changes={"daily_capacity": 1}, now=NOW
            )
        )
        hangzhou = ShipTo(country="CN", latitude=30.25, longitude=120.17)

        def reserve(order_id: str) -> Any:
            return runner.run(
                lambda uow: reserve_order(
                    uow=uow,
                    tenant_id=tenant,
                    order_id=order_id,
                    demand=[Demand(1, "TSHIRT-BLK-M", 1)],
                    ship_to=hangzhou,
                    sourcing=SOURCING,
                    now=NOW,
                )
            )

        day = NOW.astimezone(ZoneInfo("Asia/Shanghai")).date()
        assert reserve("o1").location_id == "SH"
        assert runner.run(lambda uow: uow.inventory.capacity_used(tenant, "SH", day)) == 1
        assert reserve("o2").location_id == "BJ"  # SH has stock but no capacity left today
        runner.run(lambda uow: release_order(uow=uow, tenant_id=tenant, order_id="o1", reason="cancel", now=NOW))
        assert runner.run(lambda uow: uow.inventory.capacity_used(tenant, "SH", day)) == 0
        assert reserve("o3").location_id == "SH"  # the cancelled order gave its capacity back
        assert self.view(runner, tenant) == {"BJ": (5, 1), "SH": (5, 1)}

    # presale
    def _presale_order(self, runner: TransactionRunner, tenant: str, sku: str, qty: int) -> str:
        body = example_order(
            lines=[{"sku": sku, "quantity": qty, "unit_price": "10.00"}],
            totals={"subtotal": f"{10 * qty}.00", "grand_total": f"{10 * qty}.00"},
            payment={"status": "pending"},
            status={"main": "pending", "sub": "awaiting_deposit"},
        )
        new = decode_new_order(msgspec.json.encode(body))
        doc = runner.run(
            lambda uow: place_order(uow=uow, tenant_id=tenant, new=new, lifecycle=LIFECYCLE, actor="t", now=NOW)
        )
        return str(doc["id"])

    def _promise(self, runner: TransactionRunner, tenant: str, order_id: str, sku: str, qty: int) -> Any:
        return runner.run(
            lambda uow: promise_presale(
                uow=uow, tenant_id=tenant, order_id=order_id, demand=[Demand(1, sku, qty)], now=NOW
            )
        )

    def test_presale_is_promised_incoming_supply_and_allocated_on_receipt(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {})
        runner.run(
            lambda uow: record_purchase_order(
                uow=uow,
                tenant_id=tenant,
                reference="PO-9",
                location_id="SH",
                expected_at=NOW + timedelta(days=10),
                lines=[("PRE-1", 3)],
            )
        )
        with pytest.raises(DuplicatePurchaseOrder):
            runner.run(
                lambda uow: record_purchase_order(
                    uow=uow,
                    tenant_id=tenant,
                    reference="PO-9",
                    location_id="SH",
                    expected_at=NOW,
                    lines=[("PRE-1", 1)],
                )
            )
        first = self._presale_order(runner, tenant, "PRE-1", 2)
        second = self._presale_order(runner, tenant, "PRE-1", 2)
        third = self._presale_order(runner, tenant, "PRE-1", 1)
        promised = self._promise(runner, tenant, first, "PRE-1", 2)
        assert (promised.location_id, promised.reservations[0].kind, promised.reservations[0].source_ref) == (
            "SH",
            "incoming",
            "PO-9",
        )
        assert self._promise(runner, tenant, second, "PRE-1", 2).location_id is None  # only 1 left to promise
        assert self._promise(runner, tenant, third, "PRE-1", 1).location_id == "SH"
        supply = runner.run(lambda uow: uow.inventory.incoming(tenant, ["PRE-1"]))
        assert [(x.quantity, x.promised, x.promisable) for x in supply] == [(3, 3, 0)]
        # the third customer cancels: the promise goes back to the purchase order
        self._act(runner, tenant, third, "cancel")
        runner.run(lambda uow: release_order(uow=uow, tenant_id=tenant, order_id=third, reason="cancel", now=NOW))
        assert runner.run(lambda uow: uow.inventory.incoming(tenant, ["PRE-1"]))[0].promised == 2
        # the first pays the balance before the goods arrive: it waits on the stock-shortage hold
        self._act(runner, tenant, first, "mark_paid")
        assert self._allocate(runner, tenant, first).location_id is None
        assert self._status(runner, tenant, first) == "on_hold.stock_shortage"
        served = runner.run(
            lambda uow: receive_purchase_order(
                uow=uow, tenant_id=tenant, reference="PO-9", lifecycle=LIFECYCLE, sourcing=SOURCING, now=NOW
            )
        )
        assert served == [first]
        assert self._status(runner, tenant, first) == "allocated.reserved"
        assert self.view(runner, tenant, "PRE-1") == {"SH": (3, 2)}
        assert runner.run(lambda uow: uow.inventory.incoming(tenant, ["PRE-1"])) == []
        again = runner.run(
            lambda uow: receive_purchase_order(
                uow=uow, tenant_id=tenant, reference="PO-9", lifecycle=LIFECYCLE, sourcing=SOURCING, now=NOW
            )
        )
        assert again == []  # receiving twice changes nothing
        assert self.view(runner, tenant, "PRE-1") == {"SH": (3, 2)}
        assert self.reconcile(runner, tenant) == []

    def test_presale_promise_expires_when_the_presale_ends(self, runner: TransactionRunner) -> None:
        tenant = self.network(runner, {})
        runner.run(
            lambda uow: record_purchase_order(
                uow=uow,
                tenant_id=tenant,
                reference="PO-7",
                location_id="BJ",
                expected_at=NOW + timedelta(days=3),
                lines=[("PRE-2", 1)],
            )
        )
        order_id = self._presale_order(runner, tenant, "PRE-2", 1)
        runner.run(
            lambda uow: promise_presale(
                uow=uow,
                tenant_id=tenant,
                order_id=order_id,
                demand=[Demand(1, "PRE-2", 1)],
                now=NOW,
                until=NOW + timedelta(days=1),
            )
        )
        assert runner.run(lambda uow: uow.inventory.incoming(tenant, ["PRE-2"]))[0].promisable == 0
        runner.run(lambda uow: release_expired(uow=uow, now=NOW + timedelta(days=2)))
        assert runner.run(lambda uow: uow.inventory.incoming(tenant, ["PRE-2"]))[0].promisable == 1


class TestMemoryInventory(InventoryContract):
    @pytest.fixture
    def runner(self) -> Iterator[TransactionRunner]:
        yield MemoryTransactionRunner()

    def event_types(self, runner: TransactionRunner, tenant: str) -> list[str]:
        assert isinstance(runner, MemoryTransactionRunner)
        return [e.type for e in runner.store.outbox if e.tenant_id == tenant]


def settle_outbox(engine: sa.Engine, tenants: list[str]) -> None:
    """Mark these tenants' outbox rows published: tests that run no relay must not leave order events behind for
    another test's relay (sharing the session's PostgreSQL database) to hand to the inventory handler."""
    if tenants:
        with engine.begin() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.tenant_id.in_(tenants), outbox.c.published_at.is_(None))
                .values(published_at=datetime.now(UTC))
            )


class SqlInventoryContract(InventoryContract):
    url: str
    group_commit = False
    tenants: list[str]

    def new_tenant(self) -> str:
        engines = make_engines(self.url)
        try:
            tenant = SqlTenantDirectory(engines.write, engines.read).create(f"t-{uuid.uuid4().hex[:8]}")[0]
        finally:
            engines.dispose()
        self.tenants.append(tenant)
        return tenant

    def event_types(self, runner: TransactionRunner, tenant: str) -> list[str]:
        engines = make_engines(self.url)
        try:
            with engines.read.connect() as conn:
                q = sa.select(outbox.c.type).where(outbox.c.tenant_id == tenant).order_by(outbox.c.seq)
                return [r.type for r in conn.execute(q)]
        finally:
            engines.dispose()

    def _runner(self) -> Iterator[TransactionRunner]:
        self.tenants = []
        engines = make_engines(self.url)
        if self.group_commit:
            writer = GroupCommitWriter(engines.write)
            writer.start()
            yield writer
            writer.stop()
        else:
            yield SqlTransactionRunner(engines.write)
        settle_outbox(engines.write, self.tenants)
        engines.dispose()


class TestSqliteInventory(SqlInventoryContract):
    @pytest.fixture
    def runner(self, tmp_path: Path) -> Iterator[TransactionRunner]:
        self.url = sqlite_url(tmp_path)
        yield from self._runner()


class TestSqliteGroupCommitInventory(TestSqliteInventory):
    group_commit = True


class TestPostgresInventory(SqlInventoryContract):
    @pytest.fixture
    def runner(self, postgres_url: str) -> Iterator[TransactionRunner]:
        self.url = postgres_url
        yield from self._runner()
