"""A 10 % gray release affects ≈10 % of 2,000 new orders, end to end: orders stored through the bulk path, the
relay delivers OrderPlaced to the intake handler, the handler evaluates the version each order's bucket selects."""

from __future__ import annotations

import math

import msgspec
import sqlalchemy as sa

from orderloom.adapters.persistence.tables import orders
from orderloom.application.orders import record_placed_orders
from orderloom.bootstrap import Container, utc_now
from orderloom.domain.orders import Order
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order

N = 2000
NOTHING = {"rules": [{"id": "nothing", "when": "false", "then": ["hold('never')"]}]}
EVERYTHING = {"rules": [{"id": "everything", "when": "true", "then": ["hold('gray release')"]}]}


def test_ten_percent_gray_release_holds_about_ten_percent_of_2000_orders(container: Container) -> None:
    tenant_id, _ = container.tenants.create("gray")
    rules = container.rules
    v1 = rules.create_version(tenant_id=tenant_id, kind="hold", document=NOTHING, actor="t")
    v2 = rules.create_version(tenant_id=tenant_id, kind="hold", document=EVERYTHING, actor="t")
    rules.activate(tenant_id=tenant_id, kind="hold", version=v1.version, actor="t")
    rules.activate(tenant_id=tenant_id, kind="hold", version=v2.version, actor="t", percent=10)
    now = utc_now()
    placed = [
        Order.place(
            tenant_id=tenant_id,
            new=decode_new_order(msgspec.json.encode(example_order())),
            lifecycle=container.lifecycle,
            now=now,
        )
        for _ in range(N)
    ]
    container.tx.run(lambda uow: record_placed_orders(uow=uow, orders=placed, actor="t"))
    while container.relay.drain():
        pass
    with container.engines.read.connect() as conn:
        held = conn.execute(
            sa.select(sa.func.count())
            .select_from(orders)
            .where(orders.c.tenant_id == tenant_id, orders.c.status_main == "on_hold")
        ).scalar_one()
    sigma = math.sqrt(N * 0.1 * 0.9)  # Binomial(2000, 0.1): mean 200, sd 13.4
    assert abs(held - N * 0.1) <= 4 * sigma, held
    # exactly the orders whose stable bucket falls under 1,000 of 10,000
    act = rules.activation(tenant_id=tenant_id, kind="hold")
    assert act is not None
    expected = sum(act.version_for(order_id=o.id, channel=o.channel) == v2.version for o in placed)
    assert held == expected
