"""Bus handlers that keep stock in step with orders: allocate on confirmation, release on cancel, fulfil on ship.

They are durable subscriptions (the bus runs each at most once successfully per event id) and idempotent on their own
too: each re-reads the order and its reservations, so a redelivered event changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orderloom.application.inventory import allocate_order, fulfil_order, release_order
from orderloom.application.inventory_ports import Sourcing
from orderloom.application.messagebus import Subscription
from orderloom.application.ports import TransactionRunner, UnitOfWork
from orderloom.domain.lifecycle import Lifecycle

__all__ = ["OrderStockHandler", "inventory_subscriptions"]

_RELEASING = frozenset({"closed"})
_FULFILLING = frozenset({"shipped", "delivered", "completed"})


def _tenant_of(event: dict[str, Any]) -> str:
    return str(event["source"]).rsplit("/", 1)[-1]


@dataclass
class OrderStockHandler:
    """Reacts to ``orderloom.order.placed`` and ``orderloom.order.status_changed``."""

    runner: TransactionRunner
    lifecycle: Lifecycle
    sourcing: Sourcing
    clock: Callable[[], datetime]
    unpaid_hold: timedelta = timedelta(minutes=30)

    def __call__(self, event: dict[str, Any]) -> None:
        """Allocate, release or fulfil the order's stock, depending on where it went."""
        data = event.get("data") or {}
        to = data.get("to") or data.get("status") or {}
        before = (data.get("from") or {}).get("main")
        order_id = str(data.get("order_id") or "")
        if not order_id or not to:
            return
        tenant_id = _tenant_of(event)
        main = to.get("main")
        if main == "confirmed":
            self.runner.run(lambda uow: self._allocate(uow, tenant_id, order_id))
        elif main in _RELEASING and before not in _RELEASING:
            reason = f"order {data.get('action') or 'closed'}"
            self.runner.run(
                lambda uow: release_order(
                    uow=uow, tenant_id=tenant_id, order_id=order_id, reason=reason, now=self.clock()
                )
            )
        elif main in _FULFILLING and before not in _FULFILLING:
            self.runner.run(lambda uow: fulfil_order(uow=uow, tenant_id=tenant_id, order_id=order_id, now=self.clock()))

    def _allocate(self, uow: UnitOfWork, tenant_id: str, order_id: str) -> None:
        if not uow.inventory.list_locations(tenant_id):
            return  # the tenant does not manage stock in OrderLoom
        allocate_order(
            uow=uow,
            tenant_id=tenant_id,
            order_id=order_id,
            lifecycle=self.lifecycle,
            sourcing=self.sourcing,
            now=self.clock(),
            unpaid_hold=self.unpaid_hold,
        )


def inventory_subscriptions(handler: OrderStockHandler) -> list[Subscription]:
    """The durable subscriptions of the stock handler."""
    return [
        Subscription("inventory.order_placed", "orderloom.order.placed", handler),
        Subscription("inventory.order_status", "orderloom.order.status_changed", handler),
    ]
