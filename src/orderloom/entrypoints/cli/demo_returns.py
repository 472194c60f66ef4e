"""Demo return: a US order goes through the real forward flow (confirmed, reserved at a warehouse, shipped from the
ledger, delivered), then one line comes back (authorised by the default return rules), is received and restocked,
and refunded with its share of the discount unwound."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from orderloom.application.inventory import fulfil_order
from orderloom.application.orders import apply_action, place_order
from orderloom.application.ports import UnitOfWork
from orderloom.application.returns import (
    RequestedLine,
    ReturnsSetup,
    issue_refund,
    receive_return,
    request_return,
)
from orderloom.application.returns_ports import ReturnsUnitOfWork
from orderloom.bootstrap import Container
from orderloom.domain.errors import DuplicateOrder
from orderloom.domain.returns import Disposition, InspectedLine
from orderloom.domain.values import Address, Customer, NewLine, NewOrder, Payment, Totals

__all__ = ["DEMO_RETURN_ORDER", "load_returns_demo"]

DEMO_RETURN_ORDER = "WEB-RMA-1"
_WAREHOUSE = "US-CA1"


def _new_order(now: datetime) -> NewOrder:
    address = Address(
        name="Grace Hopper", line1="1 Demo Street", city="Seattle", region="WA", postal_code="98101", country="US"
    )
    lines = [
        NewLine(
            sku="TSHIRT-BLK-M",
            name="T-shirt, black, M",
            quantity=2,
            unit_price=Decimal("24.99"),
            discount=Decimal("5.00"),
            tax=Decimal("3.60"),
        ),
        NewLine(sku="MUG-WHT", name="Mug, white", quantity=1, unit_price=Decimal("12.50"), tax=Decimal("1.00")),
    ]
    totals = Totals(
        subtotal=Decimal("62.48"),
        discount=Decimal("5.00"),
        shipping=Decimal("7.95"),
        tax=Decimal("4.60"),
        grand_total=Decimal("70.03"),
    )
    return NewOrder(
        channel="web",
        channel_order_id=DEMO_RETURN_ORDER,
        currency="USD",
        placed_at=now,
        lines=lines,
        totals=totals,
        customer=Customer(id="cus_rma", email="grace@example.com", name="Grace Hopper"),
        shipping_address=address,
        billing_address=address,
        payment=Payment(status="paid", method="card", reference="ch_demo_rma"),
        tags=["demo"],
    )


def _act(uow: UnitOfWork, container: Container, tenant_id: str, oid: str, action: str, now: datetime) -> None:
    doc = uow.orders.get(tenant_id, oid)
    if action in container.lifecycle.available_actions(doc.status):
        apply_action(
            uow=uow,
            tenant_id=tenant_id,
            order_id=oid,
            action=action,
            params={},
            lifecycle=container.lifecycle,
            actor="demo",
            now=now,
        )


def _ship_and_deliver(uow: UnitOfWork, container: Container, tenant_id: str, oid: str, now: datetime) -> None:
    fulfil_order(uow=uow, tenant_id=tenant_id, order_id=oid, now=now)  # reserved units leave the warehouse
    for action in ("ship", "deliver"):
        _act(uow, container, tenant_id, oid, action, now)


def _return_and_refund(uow: ReturnsUnitOfWork, setup: ReturnsSetup, tenant_id: str, oid: str, now: datetime) -> Any:
    common: dict[str, Any] = {"uow": uow, "setup": setup, "tenant_id": tenant_id, "actor": "demo", "now": now}
    line = RequestedLine(line_no=1, quantity=1, reason="wrong_size", condition="opened")
    ret = request_return(order_id=oid, lines=[line], source="tracking_page", **common)
    restock = InspectedLine(line_no=1, quantity=1, disposition=Disposition.RESTOCK)
    located = [loc.id for loc in uow.inventory.list_locations(tenant_id)]
    where = _WAREHOUSE if _WAREHOUSE in located else (located[0] if located else None)
    receive_return(return_id=ret["id"], location_id=where, inspected=[restock], **common)
    result = issue_refund(return_id=ret["id"], amount=None, reason="demo return", **common)
    return {"return": ret, "location": where, **result}


def load_returns_demo(container: Container, *, tenant_id: str, now: datetime) -> list[dict[str, Any]]:
    """Place the demo order, take it to delivered, return one line and refund it; [] if it was loaded before."""
    setup = container.returns
    if setup is None:
        return []
    try:
        oid = container.tx.run(
            lambda uow: place_order(
                uow=uow, tenant_id=tenant_id, new=_new_order(now), lifecycle=container.lifecycle, actor="demo", now=now
            )
        )["id"]
    except DuplicateOrder:
        return []
    container.relay.drain()  # intake rules and the stock handler: confirmed and reserved at a warehouse
    container.tx.run(lambda uow: _act(uow, container, tenant_id, oid, "confirm", now))
    container.relay.drain()
    container.tx.run(lambda uow: _act(uow, container, tenant_id, oid, "allocate", now))
    container.tx.run(lambda uow: _ship_and_deliver(uow, container, tenant_id, oid, now))

    def reverse(uow: UnitOfWork) -> Any:
        if not hasattr(uow, "returns"):
            raise TypeError("returns need a unit of work with a return store")
        return _return_and_refund(cast(ReturnsUnitOfWork, uow), setup, tenant_id, oid, now)

    result = container.tx.run(reverse)
    container.relay.drain()
    status = container.tx.run(lambda uow: str(uow.orders.get(tenant_id, oid).status))
    return [{"order_id": oid, "order_status": status, **result}]
