"""The order aggregate: it changes only through ``place`` and ``apply``, each recording an event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orderloom.domain.errors import FieldError, ValidationFailed
from orderloom.domain.events import Event, OrderPlaced, OrderStatusChanged
from orderloom.domain.ids import new_id
from orderloom.domain.lifecycle import GuardContext, Lifecycle, Status
from orderloom.domain.order_validation import validate_new_order
from orderloom.domain.values import (
    PAID_STATES,
    Address,
    Customer,
    FulfilmentGroup,
    NewOrder,
    OrderLine,
    Payment,
    Totals,
)

__all__ = ["Order"]


@dataclass(eq=False, kw_only=True)
class Order:
    """The order aggregate: changes only through ``place`` and ``apply``, each recording an event."""

    id: str
    tenant_id: str
    channel: str
    channel_order_id: str
    currency: str
    placed_at: datetime
    customer: Customer
    shipping_address: Address | None
    billing_address: Address | None
    lines: list[OrderLine]
    totals: Totals
    payment: Payment
    taxes_included: bool
    status: Status
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    fulfilment_groups: list[FulfilmentGroup] = field(default_factory=list)
    version: int = 1
    events: list[Event] = field(default_factory=list, repr=False)

    @classmethod
    def place(cls, *, tenant_id: str, new: NewOrder, lifecycle: Lifecycle, now: datetime) -> Order:
        """Validate a submitted order and create it in its entry status, recording OrderPlaced."""
        lines = validate_new_order(new)
        status = _entry_status(new, lifecycle)
        order = cls(
            id=new_id("ord"),
            tenant_id=tenant_id,
            channel=new.channel,
            channel_order_id=new.channel_order_id,
            currency=new.currency,
            placed_at=new.placed_at.astimezone(UTC),
            customer=new.customer,
            shipping_address=new.shipping_address,
            billing_address=new.billing_address,
            lines=lines,
            totals=new.totals,
            payment=new.payment,
            taxes_included=new.taxes_included,
            status=status,
            tags=list(dict.fromkeys(new.tags)),
            custom_fields=dict(new.custom_fields),
            created_at=now,
            updated_at=now,
        )
        order.events.append(
            OrderPlaced(
                tenant_id=tenant_id,
                aggregate_id=order.id,
                occurred_at=now,
                data={
                    "order_id": order.id,
                    "channel": order.channel,
                    "channel_order_id": order.channel_order_id,
                    "status": {"main": status.main, "sub": status.sub},
                    "grand_total": str(order.totals.grand_total),
                    "currency": order.currency,
                },
            )
        )
        return order

    def balance_due(self) -> bool:
        """True while the buyer still owes money on this order."""
        return self.payment.status not in PAID_STATES and self.totals.grand_total > 0

    def apply(
        self, *, action: str, lifecycle: Lifecycle, params: dict[str, Any], actor: str, now: datetime
    ) -> tuple[Status, Status]:
        """Apply a lifecycle action; returns (before, after) and records OrderStatusChanged."""
        ctx = GuardContext(payment_status=self.payment.status, balance_due=self.balance_due(), params=params)
        target = lifecycle.next_status(order_id=self.id, current=self.status, action=action, ctx=ctx)
        before = self.status
        self.status = target
        self.updated_at = now
        self.version += 1
        if action == "mark_paid":
            self.payment = Payment(status="paid", method=self.payment.method, reference=self.payment.reference)
        self.events.append(
            OrderStatusChanged(
                tenant_id=self.tenant_id,
                aggregate_id=self.id,
                occurred_at=now,
                data={
                    "order_id": self.id,
                    "action": action,
                    "actor": actor,
                    "from": {"main": before.main, "sub": before.sub},
                    "to": {"main": target.main, "sub": target.sub},
                    "reason": params.get("reason"),
                },
            )
        )
        return before, target

    def add_tags(self, tags: list[str], *, now: datetime) -> list[str]:
        """Add tags not yet on the order (e.g. from rules); returns those added (a new version if any)."""
        added = [t for t in dict.fromkeys(tags) if t and t not in self.tags]
        if added:
            self.tags.extend(added)
            self.updated_at = now
            self.version += 1
        return added

    def pull_events(self) -> list[Event]:
        """Hand over and forget the events recorded since the last call."""
        events, self.events = self.events, []
        return events


def _entry_status(new: NewOrder, lifecycle: Lifecycle) -> Status:
    if new.status is not None:
        status = Status(new.status.main, new.status.sub)
        if status not in lifecycle.entry:
            allowed = ", ".join(str(s) for s in lifecycle.entry)
            raise ValidationFailed([FieldError("status", f"an order can't be created as {status}; one of {allowed}")])
        return status
    wanted = "pending.awaiting_confirmation" if new.payment.status in PAID_STATES else "pending.awaiting_payment"
    for status in lifecycle.entry:
        if str(status) == wanted:
            return status
    return lifecycle.entry[0]
