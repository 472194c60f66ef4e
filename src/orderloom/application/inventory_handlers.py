"""Bus handlers that keep stock in step with orders: allocate on confirmation, promise presale supply when the
deposit is paid, release on cancel, fulfil on ship.

They are durable subscriptions (the bus runs each at most once successfully per event id) and idempotent on their own
too: each re-reads the order and its reservations, so a redelivered event changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orderloom.application.inventory import allocate_order, fulfil_order, promise_presale, release_order
from orderloom.application.inventory_ports import Sourcing
from orderloom.application.messagebus import Subscription
from orderloom.application.ports import TransactionRunner, UnitOfWork
from orderloom.domain.lifecycle import Lifecycle
from orderloom.domain.orders import Order
from orderloom.domain.sourcing import Demand

__all__ = ["OrderStockHandler", "inventory_subscriptions"]

_RELEASING = frozenset({"closed"})
_FULFILLING = frozenset({"shipped", "delivered", "completed"})


def _presale_end(order: Order) -> datetime | None:
    """The order's ``custom_fields.presale_ends_at`` (RFC 3339 with offset), if it has one."""
    raw = order.custom_fields.get("presale_ends_at")
    if not isinstance(raw, str):
        return None
    try:
        end = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return end if end.tzinfo is not None else None


def _from_sub(data: dict[str, Any]) -> str | None:
    sub = (data.get("from") or {}).get("sub")
    return None if sub is None else str(sub)


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
        work = self.work_for(event)
        if work is not None:
            self.runner.run(work)

    def handle_batch(self, events: Sequence[dict[str, Any]]) -> list[Exception | None]:
        """A relay batch in one transaction, each event's work in its own savepoint (a failure undoes only its own)."""
        plan = [(i, w) for i, w in enumerate(map(self.work_for, events)) if w is not None]
        results: list[Exception | None] = [None] * len(events)
        if not plan:
            return results

        def run_all(uow: UnitOfWork) -> None:
            for i, work in plan:
                results[i] = None
                try:
                    with uow.savepoint():
                        work(uow)
                except Exception as exc:  # this event is retried through the ledger; the others commit
                    results[i] = exc

        self.runner.run(run_all)
        return results

    def work_for(self, event: dict[str, Any]) -> Callable[[UnitOfWork], object] | None:
        """What the event asks of stock, as a unit of work (None: nothing to do)."""
        data = event.get("data") or {}
        to = data.get("to") or data.get("status") or {}
        before = (data.get("from") or {}).get("main")
        order_id = str(data.get("order_id") or "")
        if not order_id or not to:
            return None
        tenant_id = _tenant_of(event)
        main = to.get("main")
        if main == "confirmed":
            return lambda uow: self._allocate(uow, tenant_id, order_id)
        if (main, to.get("sub")) == ("pending", "partially_paid") and _from_sub(data) in (None, "awaiting_deposit"):
            return lambda uow: self._promise(uow, tenant_id, order_id)
        if main in _RELEASING and before not in _RELEASING:
            reason = f"order {data.get('action') or 'closed'}"
            return lambda uow: release_order(
                uow=uow, tenant_id=tenant_id, order_id=order_id, reason=reason, now=self.clock()
            )
        if main in _FULFILLING and before not in _FULFILLING:
            return lambda uow: fulfil_order(uow=uow, tenant_id=tenant_id, order_id=order_id, now=self.clock())
        return None

    def _promise(self, uow: UnitOfWork, tenant_id: str, order_id: str) -> None:
        if not uow.inventory.list_locations(tenant_id):
            return
        order = uow.orders.get(tenant_id, order_id)
        if str(order.status) != "pending.partially_paid":
            return
        demand = [Demand(i + 1, line.sku.code, line.quantity) for i, line in enumerate(order.lines)]
        promise_presale(
            uow=uow, tenant_id=tenant_id, order_id=order_id, demand=demand, now=self.clock(), until=_presale_end(order)
        )

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
        Subscription("inventory.order_placed", "orderloom.order.placed", handler, batch=handler.handle_batch),
        Subscription("inventory.order_status", "orderloom.order.status_changed", handler, batch=handler.handle_batch),
    ]
