"""Shipped quantities per order line, read from the inventory ledger (with a status fallback).

The contract with fulfilment: the units shipped on an order line are its FULFILLED stock reservations. A tenant that
does not keep stock in OrderLoom (no locations), or an order without reservations, counts every line as fully
shipped once the order's status says it left (shipped, in transit, delivered, …).
"""

from __future__ import annotations

from orderloom.application.ports import UnitOfWork
from orderloom.domain.inventory import ReservationStatus
from orderloom.domain.orders import Order

__all__ = ["SHIPPED_STATUSES", "LedgerShippedQuantities", "status_says_shipped"]

SHIPPED_STATUSES = frozenset(
    {
        "shipped",
        "in_transit",
        "out_for_delivery",
        "delivered",
        "delivery_issue",
        "returning",
        "closed.completed",
        "closed.refunded",
        "closed.partially_refunded",
        "closed.returned",
    }
)


def status_says_shipped(order: Order) -> bool:
    """True when the order's status means its goods have left."""
    return order.status.main in SHIPPED_STATUSES or str(order.status) in SHIPPED_STATUSES


class LedgerShippedQuantities:
    """Fulfilled reservations per line; whole lines by status when stock is not managed here."""

    def shipped(self, uow: UnitOfWork, order: Order) -> dict[int, int]:
        """Line number → units shipped."""
        reservations = uow.inventory.reservations_of(order.tenant_id, order.id, None)
        stock = [r for r in reservations if r.kind == "stock"]
        if not stock or not uow.inventory.list_locations(order.tenant_id):
            full = status_says_shipped(order)
            return {i: (line.quantity if full else 0) for i, line in enumerate(order.lines, 1)}
        shipped = dict.fromkeys(range(1, len(order.lines) + 1), 0)
        for r in stock:
            if r.status is ReservationStatus.FULFILLED and r.line_no in shipped:
                shipped[r.line_no] += r.quantity
        return shipped
