"""Demo fulfilment: release waves of the demo tenant's open fulfilment orders, then have the (fake) warehouse accept
some, ship one in full with a label bought from the fake carrier, and ship another in part."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from orderloom.adapters.carriers.fake_booking import FakeCarrier
from orderloom.application.fulfilment import accept_fulfilment_order, confirm_fulfilment, release_wave
from orderloom.application.fulfilment_ports import Shipment, Wave
from orderloom.application.ports import UnitOfWork
from orderloom.application.tracking_ports import TrackingUnitOfWork
from orderloom.bootstrap import Container
from orderloom.domain.fulfilment import Confirmation, FulfilmentOrder, Package

__all__ = ["load_fulfilment_demo"]

WAVE_SIZE = 25


def _label(carrier: FakeCarrier, fo: FulfilmentOrder, units: int) -> Package:
    rate = carrier.rates(Shipment("US", "US", None, 0.4 * units, (30, 20, 10)))[0]
    label = carrier.buy(rate.id)
    return Package(0.4 * units, (30, 20, 10), label.carrier, label.service, label.tracking_number)


def _ship(
    c: Container, tenant_id: str, fo: FulfilmentOrder, lines: list[tuple[int, int]], tag: str, now: datetime
) -> str:
    assert c.fulfilment is not None
    setup, carrier = c.fulfilment, FakeCarrier()
    package = _label(carrier, fo, sum(q for _, q in lines))
    conf = Confirmation(f"demo-{tag}-{fo.id}", "shipped", tuple(lines), (package,))

    def work(uow: UnitOfWork) -> dict[str, Any]:
        return confirm_fulfilment(
            uow=cast(TrackingUnitOfWork, uow), tenant_id=tenant_id, fo_id=fo.id, confirmation=conf, setup=setup, now=now
        )

    return str(c.tx.run(work)["order_status"])


def _releaser(tenant_id: str, location_id: str, c: Container, now: datetime) -> Callable[[UnitOfWork], Wave | None]:
    assert c.fulfilment is not None
    setup = c.fulfilment

    def work(uow: UnitOfWork) -> Wave | None:
        return release_wave(
            uow=uow, tenant_id=tenant_id, location_id=location_id, setup=setup, now=now, max_batch=WAVE_SIZE
        )

    return work


def _accepter(tenant_id: str, fo_id: str, c: Container, now: datetime) -> Callable[[UnitOfWork], FulfilmentOrder]:
    assert c.fulfilment is not None
    machine = c.fulfilment.machine

    def work(uow: UnitOfWork) -> FulfilmentOrder:
        return accept_fulfilment_order(uow=uow, tenant_id=tenant_id, fo_id=fo_id, machine=machine, now=now)

    return work


def load_fulfilment_demo(c: Container, *, tenant_id: str, now: datetime) -> list[dict[str, Any]]:
    """Release a wave at each location holding open fulfilment orders and confirm a few; rows to print."""
    assert c.fulfilment is not None
    locations = c.inventory_reads.read(lambda inv: inv.list_locations(tenant_id))
    rows: list[dict[str, Any]] = []
    released: list[FulfilmentOrder] = []
    for loc in locations:
        wave = c.tx.run(_releaser(tenant_id, loc.id, c, now))
        if wave is None:
            continue
        rows.append({"wave_id": wave.id, "location_id": loc.id, "count": wave.count})

        def read(uow: UnitOfWork, ids: tuple[str, ...] = wave.fulfilment_order_ids) -> list[FulfilmentOrder]:
            return uow.fulfilment.get_many(tenant_id, list(ids))

        released += c.tx.run(read)
    for fo in released[:4]:
        c.tx.run(_accepter(tenant_id, fo.id, c, now))
    if released:
        fo = released[0]
        rows.append({"fulfilment_order_id": fo.id, "order_status": _ship(c, tenant_id, fo, _all(fo), "full", now)})
    part = next((fo for fo in released[1:] if sum(ln.quantity for ln in fo.lines) > 1), None)
    if part is not None:
        first = part.lines[0]
        status = _ship(c, tenant_id, part, [(first.line_no, 1)], "part", now)
        rows.append({"fulfilment_order_id": part.id, "order_status": status})
    return rows


def _all(fo: FulfilmentOrder) -> list[tuple[int, int]]:
    return [(ln.line_no, ln.quantity) for ln in fo.lines]
