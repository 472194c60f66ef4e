"""The stock handler's batch form: a relay batch allocates in one transaction, one failing order undoes only itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from orderloom.application.inventory import ReceiptLine, create_location, receive_stock, stock_view
from orderloom.application.inventory_handlers import OrderStockHandler
from orderloom.application.inventory_ports import Sourcing, SourcingPlan
from orderloom.application.orders import apply_action, place_order
from orderloom.bootstrap import Container, bootstrap
from orderloom.config import Settings
from orderloom.domain.inventory import Location, LocationType
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order


class FailingFor:
    """Sourcing that refuses one order (as if its plan hit a broken row) and delegates the rest."""

    def __init__(self, inner: Sourcing) -> None:
        self.inner = inner
        self.fail: set[str] = set()

    def plan(self, **kw: Any) -> SourcingPlan:
        if kw["context"].order_id in self.fail:
            raise RuntimeError("routing table unreadable")
        return self.inner.plan(**kw)


@pytest.fixture
def c(db_url: str) -> Any:
    container = bootstrap(Settings(database_url=db_url, relay_enabled=False))
    container.start()
    yield container
    container.close()


def _confirmed_orders(c: Container, tenant_id: str, n: int) -> list[str]:
    now = datetime.now(UTC)
    ids = []
    for _ in range(n):
        new = decode_new_order(msgspec.json.encode(example_order()))
        doc = c.tx.run(
            lambda uow, new=new: place_order(
                uow=uow, tenant_id=tenant_id, new=new, lifecycle=c.lifecycle, actor="t", now=now
            )
        )
        c.tx.run(
            lambda uow, doc=doc: apply_action(
                uow=uow,
                tenant_id=tenant_id,
                order_id=doc["id"],
                action="confirm",
                params={},
                lifecycle=c.lifecycle,
                actor="t",
                now=now,
            )
        )
        ids.append(doc["id"])
    return ids


def test_one_failing_allocation_in_a_batch_leaves_the_others_committed(c: Container, db_url: str) -> None:
    tenant_id, _ = c.tenants.create("acme")
    now = datetime.now(UTC)
    loc = Location(id="loc_sf", tenant_id=tenant_id, name="SF", type=LocationType("warehouse"), country="US")
    c.tx.run(lambda uow: create_location(uow=uow, location=loc, now=now))
    lines = [
        ReceiptLine(sku="TSHIRT-BLK-M", location_id="loc_sf", quantity=100),
        ReceiptLine(sku="MUG-WHT", location_id="loc_sf", quantity=100),
    ]
    c.tx.run(lambda uow: receive_stock(uow=uow, tenant_id=tenant_id, reference="r1", lines=lines, reason="t", now=now))
    ids = _confirmed_orders(c, tenant_id, 4)
    sourcing = FailingFor(c.sourcing)
    sourcing.fail = {ids[1]}
    handler = OrderStockHandler(runner=c.tx, lifecycle=c.lifecycle, sourcing=sourcing, clock=lambda: datetime.now(UTC))
    events = [
        m.cloudevent
        for m in c.outbox.unpublished(100_000)
        if m.type == "orderloom.order.status_changed" and m.tenant_id == tenant_id  # PostgreSQL is shared per session
    ]
    assert len(events) == 4
    results = handler.handle_batch(events)
    assert [type(r).__name__ if r else None for r in results] == [None, "RuntimeError", None, None]
    status = {i: c.queries.get_document(tenant_id, i)["status"]["main"] for i in ids}
    assert status == {ids[0]: "allocated", ids[1]: "confirmed", ids[2]: "allocated", ids[3]: "allocated"}
    assert _reserved(c, tenant_id) == 3 * 2  # two T-shirts per order, three orders; the failed one holds nothing
    # the failed order allocates on its retry, and a replay of the batch changes nothing
    sourcing.fail = set()
    assert handler.handle_batch([events[1]]) == [None]
    assert handler.handle_batch(events) == [None] * 4
    status = {i: c.queries.get_document(tenant_id, i)["status"]["main"] for i in ids}
    assert set(status.values()) == {"allocated"}
    assert _reserved(c, tenant_id) == 4 * 2


def _reserved(c: Container, tenant_id: str) -> int:
    view = c.inventory_reads.read(lambda inv: stock_view(inventory=inv, tenant_id=tenant_id, sku="TSHIRT-BLK-M"))
    return sum(b.reserved for b, _ in view.balances)
