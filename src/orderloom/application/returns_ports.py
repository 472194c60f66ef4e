"""Ports of returns and refunds: the return store, shipped quantities, return authorisation and return labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from orderloom.application.ports import UnitOfWork
from orderloom.domain.orders import Order
from orderloom.domain.returns import RefundRecord, ReturnRequest
from orderloom.domain.rules import Decision

__all__ = [
    "ReturnLabel",
    "ReturnLabels",
    "ReturnPolicy",
    "ReturnStore",
    "ReturnsUnitOfWork",
    "ShippedQuantities",
]


class ReturnStore(Protocol):
    """Returns and refunds of one transaction; every call is scoped by tenant."""

    def add(self, ret: ReturnRequest) -> None:
        """Insert a new return."""

    def get(self, tenant_id: str, return_id: str) -> ReturnRequest:
        """The return, or ReturnNotFound (also for another tenant's return)."""

    def save(self, ret: ReturnRequest) -> None:
        """Write a changed return; ConcurrencyConflict if it changed since it was read."""

    def for_order(self, tenant_id: str, order_id: str) -> list[ReturnRequest]:
        """The order's returns, oldest first."""

    def add_refund(self, refund: RefundRecord) -> None:
        """Insert a refund."""

    def refunds_of(self, tenant_id: str, order_id: str) -> list[RefundRecord]:
        """The order's refunds, oldest first."""

    def delivered_at(self, tenant_id: str, order_id: str) -> datetime | None:
        """When the order was last marked delivered (its ``deliver`` action in the audit trail), if ever."""


class ReturnsUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also holds returns and refunds."""

    @property
    def returns(self) -> ReturnStore: ...


class ShippedQuantities(Protocol):
    """Units shipped per order line (1-based line number): what a return may ask back at most."""

    def shipped(self, uow: UnitOfWork, order: Order) -> dict[int, int]:
        """Line number → units shipped."""


class ReturnPolicy(Protocol):
    """Return authorisation: the tenant's ``returns`` rule set (or the default one) on one line's context."""

    def evaluate(self, *, tenant_id: str, order_document: Mapping[str, Any], line: Mapping[str, Any]) -> Decision:
        """The decision for one return line (``line``: the ``rma.*`` values without the prefix)."""


@dataclass(frozen=True, slots=True)
class ReturnLabel:
    """A prepaid return label."""

    carrier: str
    tracking_number: str
    label_url: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {"carrier": self.carrier, "tracking_number": self.tracking_number, "label_url": self.label_url}


class ReturnLabels(Protocol):
    """Books return labels with a carrier (a fake one here; the lead unifies it with carrier booking)."""

    def create(self, *, tenant_id: str, return_id: str, order: Order) -> ReturnLabel:
        """A label for the customer to send the return back."""
