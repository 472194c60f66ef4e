"""Fulfilment events: facts about fulfilment orders and waves, written to the outbox with the state that caused them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from orderloom.domain.events import Event

__all__ = [
    "FulfilmentCancelRequested",
    "FulfilmentOrderAccepted",
    "FulfilmentOrderCancelled",
    "FulfilmentOrderConfirmed",
    "FulfilmentOrderOpened",
    "FulfilmentOrderRejected",
    "FulfilmentOrderReleased",
    "FulfilmentOrderUnsourced",
    "PickupCollected",
    "PickupExpired",
    "ReadyForPickup",
    "WaveReleased",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentOrderOpened(Event):
    """Allocation created a fulfilment order at a location."""

    TYPE: ClassVar[str] = "orderloom.fulfilment_order.opened"
    AGGREGATE: ClassVar[str] = "fulfilment_order"


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentOrderReleased(Event):
    """A fulfilment order was released to its location in a wave (what a WMS webhook receives)."""

    TYPE: ClassVar[str] = "orderloom.fulfilment_order.released"
    AGGREGATE: ClassVar[str] = "fulfilment_order"


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveReleased(Event):
    """A wave of fulfilment orders was released to a location."""

    TYPE: ClassVar[str] = "orderloom.fulfilment.wave_released"
    AGGREGATE: ClassVar[str] = "wave"


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentOrderAccepted(Event):
    """The location accepted a fulfilment order."""

    TYPE: ClassVar[str] = "orderloom.fulfilment_order.accepted"
    AGGREGATE: ClassVar[str] = "fulfilment_order"


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentOrderRejected(Event):
    """The location refused a fulfilment order; its lines were re-routed."""

    TYPE: ClassVar[str] = "orderloom.fulfilment_order.rejected"
    AGGREGATE: ClassVar[str] = "fulfilment_order"


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentOrderUnsourced(Event):
    """Re-routing found no other location for some lines; they wait for an operator."""

    TYPE: ClassVar[str] = "orderloom.fulfilment_order.unsourced"
    AGGREGATE: ClassVar[str] = "order"


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentOrderConfirmed(Event):
    """The location confirmed units picked, packed or shipped."""

    TYPE: ClassVar[str] = "orderloom.fulfilment_order.confirmed"
    AGGREGATE: ClassVar[str] = "fulfilment_order"


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentCancelRequested(Event):
    """Cancellation of released lines was asked of the location."""

    TYPE: ClassVar[str] = "orderloom.fulfilment_order.cancel_requested"
    AGGREGATE: ClassVar[str] = "fulfilment_order"


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentOrderCancelled(Event):
    """Units of a fulfilment order were cancelled and their reservations given back."""

    TYPE: ClassVar[str] = "orderloom.fulfilment_order.cancelled"
    AGGREGATE: ClassVar[str] = "fulfilment_order"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadyForPickup(Event):
    """A store pickup is packed and waiting: the customer notification carries the pickup code."""

    TYPE: ClassVar[str] = "orderloom.fulfilment_order.ready_for_pickup"
    AGGREGATE: ClassVar[str] = "fulfilment_order"


@dataclass(frozen=True, slots=True, kw_only=True)
class PickupCollected(Event):
    """The customer collected a store pickup with the right code."""

    TYPE: ClassVar[str] = "orderloom.fulfilment_order.collected"
    AGGREGATE: ClassVar[str] = "fulfilment_order"


@dataclass(frozen=True, slots=True, kw_only=True)
class PickupExpired(Event):
    """A store pickup was not collected in time; its units went back to stock."""

    TYPE: ClassVar[str] = "orderloom.fulfilment_order.pickup_expired"
    AGGREGATE: ClassVar[str] = "fulfilment_order"
