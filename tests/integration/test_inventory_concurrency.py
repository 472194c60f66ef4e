"""Reservation under concurrency on PostgreSQL: no oversell, no deadlock leaking out, no lock left behind."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from orderloom.adapters.persistence.engine import Engines, make_engines
from orderloom.adapters.persistence.retrying import RetryingRunner
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import SqlTransactionRunner
from orderloom.application.inventory import (
    NearestFullStockSourcing,
    ReceiptLine,
    allocate_order,
    create_location,
    receive_stock,
    reserve_order,
)
from orderloom.application.orders import apply_action, place_order
from orderloom.application.ports import TransactionRunner, UnitOfWork
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.inventory import Location, LocationType
from orderloom.domain.sourcing import Demand, ShipTo
from orderloom.domain.values import NewLine, NewOrder, Payment, Totals
from tests.contract.test_inventory_contract import settle_outbox

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]
LIFECYCLE = load_lifecycle()
CLIENTS = 64
T = TypeVar("T")


@pytest.fixture
def engines(postgres_url: str) -> Iterator[Engines]:
    e = make_engines(postgres_url)
    yield e
    with e.read.connect() as conn:
        tenants = [r[0] for r in conn.execute(sa.text("SELECT id FROM tenants WHERE name LIKE 'conc-%'"))]
    settle_outbox(e.write, tenants)
    e.dispose()


def _network(engines: Engines, stock: dict[tuple[str, str], int]) -> str:
    tenant, _ = SqlTenantDirectory(engines.write, engines.read).create(f"conc-{uuid.uuid4().hex[:8]}")
    now = datetime.now(UTC)

    def work(uow: UnitOfWork) -> None:
        for loc in sorted({loc for _, loc in stock}):
            create_location(
                uow=uow,
                location=Location(id=loc, tenant_id=tenant, name=loc, type=LocationType.WAREHOUSE, country="CN"),
                now=now,
            )
        lines = [ReceiptLine(sku, loc, q) for (sku, loc), q in stock.items()]
        receive_stock(uow=uow, tenant_id=tenant, reference="OPEN", lines=lines, reason="opening", now=now)

    SqlTransactionRunner(engines.write).run(work)
    return tenant


def _all_at_once(fns: list[Callable[[], T]]) -> list[T | BaseException]:
    barrier = threading.Barrier(len(fns))

    def call(fn: Callable[[], T]) -> T | BaseException:
        barrier.wait()
        try:
            return fn()
        except BaseException as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(fns)) as pool:
        return list(pool.map(call, fns))


def _figures(engines: Engines, tenant: str) -> dict[tuple[str, str], tuple[int, int]]:
    with engines.read.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT sku, location_id, on_hand, reserved FROM inventory_balances WHERE tenant_id = :t"),
            {"t": tenant},
        )
        return {(r.sku, r.location_id): (int(r.on_hand), int(r.reserved)) for r in rows}


def _locks_left(engines: Engines) -> int:
    with engines.read.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() "
                    "AND l.locktype IN ('tuple', 'transactionid') "
                )
            ).scalar_one()
        )


def _reconcile(engines: Engines, tenant: str) -> list[Any]:
    return SqlTransactionRunner(engines.write).run(lambda uow: uow.inventory.reconcile(tenant))


def test_64_clients_reserving_the_last_10_units_across_3_locations(engines: Engines) -> None:
    tenant = _network(engines, {("LAST", "L1"): 4, ("LAST", "L2"): 3, ("LAST", "L3"): 3})
    runner: TransactionRunner = RetryingRunner(SqlTransactionRunner(engines.write))

    def client(i: int) -> Callable[[], Any]:
        def go() -> Any:
            return runner.run(
                lambda uow: reserve_order(
                    uow=uow,
                    tenant_id=tenant,
                    order_id=f"ord_{i}",
                    demand=[Demand(1, "LAST", 1)],
                    ship_to=ShipTo(country="CN"),
                    sourcing=NearestFullStockSourcing(),
                    now=datetime.now(UTC),
                )
            )

        return go

    results = _all_at_once([client(i) for i in range(CLIENTS)])
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    reserved = [r for r in results if r.location_id is not None]
    short = [r for r in results if r.location_id is None]
    assert (len(reserved), len(short)) == (10, CLIENTS - 10)
    assert _figures(engines, tenant) == {("LAST", "L1"): (4, 4), ("LAST", "L2"): (3, 3), ("LAST", "L3"): (3, 3)}
    assert _reconcile(engines, tenant) == []
    assert _locks_left(engines) == 0


def _order(n: int, skus: list[str]) -> NewOrder:
    return NewOrder(
        channel="web",
        channel_order_id=f"C-{uuid.uuid4().hex[:10]}-{n}",
        currency="USD",
        placed_at=datetime.now(UTC),
        lines=[NewLine(sku=s, quantity=1, unit_price=Decimal("5.00")) for s in skus],
        totals=Totals(subtotal=Decimal(5 * len(skus)), grand_total=Decimal(5 * len(skus))),
        payment=Payment(status="paid"),
    )


def test_64_two_sku_orders_half_in_opposite_order_end_reserved_or_short(engines: Engines) -> None:
    stock = {(sku, loc): 10 for sku in ("SKU-X", "SKU-Y") for loc in ("L1", "L2", "L3")}
    tenant = _network(engines, stock)
    plain = SqlTransactionRunner(engines.write)  # no retry: a deadlock would surface as an error here
    now = datetime.now(UTC)
    order_ids: list[str] = []
    for n in range(CLIENTS):
        new_order = _order(n, ["SKU-X", "SKU-Y"] if n % 2 == 0 else ["SKU-Y", "SKU-X"])

        def place(uow: UnitOfWork, new: NewOrder = new_order) -> str:
            doc = place_order(uow=uow, tenant_id=tenant, new=new, lifecycle=LIFECYCLE, actor="t", now=now)
            apply_action(
                uow=uow,
                tenant_id=tenant,
                order_id=doc["id"],
                action="confirm",
                params={},
                lifecycle=LIFECYCLE,
                actor="t",
                now=now,
            )
            return str(doc["id"])

        order_ids.append(plain.run(place))

    def client(order_id: str) -> Callable[[], Any]:
        return lambda: plain.run(
            lambda uow: allocate_order(
                uow=uow,
                tenant_id=tenant,
                order_id=order_id,
                lifecycle=LIFECYCLE,
                sourcing=NearestFullStockSourcing(),
                now=datetime.now(UTC),
            )
        )

    results = _all_at_once([client(o) for o in order_ids])
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    statuses = [str(plain.run(lambda uow, o=o: uow.orders.get(tenant, o)).status) for o in order_ids]
    assert set(statuses) <= {"allocated.reserved", "on_hold.stock_shortage"}
    allocated = statuses.count("allocated.reserved")
    assert allocated == 30  # 10 of each SKU at 3 locations: 30 single-location orders fit, 34 are short
    figures = _figures(engines, tenant)
    assert sum(reserved for (sku, _), (_, reserved) in figures.items() if sku == "SKU-X") == allocated
    assert sum(reserved for (sku, _), (_, reserved) in figures.items() if sku == "SKU-Y") == allocated
    assert all(reserved <= on_hand for on_hand, reserved in figures.values())
    assert _reconcile(engines, tenant) == []
    assert _locks_left(engines) == 0
