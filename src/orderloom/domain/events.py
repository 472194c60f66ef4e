"""Domain events: facts in the past tense, written to the outbox with the state that caused them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from orderloom.domain.ids import new_id

__all__ = ["Event", "OrderPlaced", "OrderStatusChanged", "to_cloudevent"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something that happened to an aggregate."""

    TYPE: ClassVar[str] = "orderloom.event"
    AGGREGATE: ClassVar[str] = "order"

    tenant_id: str
    aggregate_id: str
    occurred_at: datetime
    data: dict[str, Any]
    id: str = field(default_factory=lambda: new_id("evt"))

    @property
    def type(self) -> str:
        """The CloudEvents type, e.g. ``orderloom.order.placed``."""
        return self.TYPE


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlaced(Event):
    """A new order was accepted."""

    TYPE: ClassVar[str] = "orderloom.order.placed"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStatusChanged(Event):
    """An action moved an order from one status to another."""

    TYPE: ClassVar[str] = "orderloom.order.status_changed"


def to_cloudevent(event: Event) -> dict[str, Any]:
    """The event as a CloudEvents 1.0 JSON-ready dict."""
    return {
        "specversion": "1.0",
        "id": event.id,
        "source": f"/orderloom/tenants/{event.tenant_id}",
        "type": event.type,
        "subject": f"{event.AGGREGATE}/{event.aggregate_id}",
        "time": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": event.data,
    }
