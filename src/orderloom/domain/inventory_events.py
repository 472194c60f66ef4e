"""Inventory events: facts about stock and locations, written to the outbox with the state that caused them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from orderloom.domain.events import Event

__all__ = [
    "LocationCameOnline",
    "LocationCreated",
    "LocationWentOffline",
    "ReservationExpired",
    "ReservationReleased",
    "StockAdjusted",
    "StockFulfilled",
    "StockReceived",
    "StockReserved",
    "StockReturned",
    "StockShort",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class StockReceived(Event):
    """Units arrived at a location."""

    TYPE: ClassVar[str] = "orderloom.inventory.stock_received"
    AGGREGATE: ClassVar[str] = "stock"


@dataclass(frozen=True, slots=True, kw_only=True)
class StockAdjusted(Event):
    """On-hand was corrected (count, damage, load)."""

    TYPE: ClassVar[str] = "orderloom.inventory.stock_adjusted"
    AGGREGATE: ClassVar[str] = "stock"


@dataclass(frozen=True, slots=True, kw_only=True)
class StockReserved(Event):
    """Units were reserved for an order line."""

    TYPE: ClassVar[str] = "orderloom.inventory.stock_reserved"
    AGGREGATE: ClassVar[str] = "order"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationReleased(Event):
    """A reservation was given back (cancellation, expiry, reallocation)."""

    TYPE: ClassVar[str] = "orderloom.inventory.reservation_released"
    AGGREGATE: ClassVar[str] = "order"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationExpired(Event):
    """An unpaid order's reservation ran out and was released."""

    TYPE: ClassVar[str] = "orderloom.inventory.reservation_expired"
    AGGREGATE: ClassVar[str] = "order"


@dataclass(frozen=True, slots=True, kw_only=True)
class StockFulfilled(Event):
    """Reserved units left the location with a shipment."""

    TYPE: ClassVar[str] = "orderloom.inventory.stock_fulfilled"
    AGGREGATE: ClassVar[str] = "order"


@dataclass(frozen=True, slots=True, kw_only=True)
class StockShort(Event):
    """No single active location could cover an order."""

    TYPE: ClassVar[str] = "orderloom.inventory.stock_short"
    AGGREGATE: ClassVar[str] = "order"


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationCreated(Event):
    """A stock location was added."""

    TYPE: ClassVar[str] = "orderloom.inventory.location_created"
    AGGREGATE: ClassVar[str] = "location"


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationWentOffline(Event):
    """A location was taken offline: nothing new is sourced from it."""

    TYPE: ClassVar[str] = "orderloom.inventory.location_went_offline"
    AGGREGATE: ClassVar[str] = "location"


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationCameOnline(Event):
    """A location is back online."""

    TYPE: ClassVar[str] = "orderloom.inventory.location_came_online"
    AGGREGATE: ClassVar[str] = "location"


@dataclass(frozen=True, slots=True, kw_only=True)
class StockReturned(Event):
    """Returned units came back into on-hand at a location (restocked or put aside for refurbishing)."""

    TYPE: ClassVar[str] = "orderloom.inventory.stock_returned"
    AGGREGATE: ClassVar[str] = "stock"
