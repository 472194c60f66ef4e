"""Routing events: facts about where an order ships from, written to the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from orderloom.domain.events import Event

__all__ = ["OrderPromiseChanged", "OrderRerouted"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRerouted(Event):
    """An allocated order was moved to other locations (its location went offline); carries old and new locations,
    the new estimated delivery and the explanation's summary, for the timeline and customer notifications."""

    TYPE: ClassVar[str] = "orderloom.order.rerouted"
    AGGREGATE: ClassVar[str] = "order"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPromiseChanged(Event):
    """Re-routing changed the delivery date the customer was given (``from`` → ``to``; ``to`` is None when the order
    is held and has no date now). Customer notifications pick it up (``status: rescheduled``, ``eta``)."""

    TYPE: ClassVar[str] = "orderloom.order.promise_changed"
    AGGREGATE: ClassVar[str] = "order"
