"""Inventory: stock locations, the movement ledger's arithmetic and per SKUxlocation balances.

On-hand changes only through movements. Each movement kind has fixed effects on (on_hand, reserved) and a guard
that the balance must pass first; a refused movement raises an error that names the figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from orderloom.domain.errors import DomainError, FieldError, ValidationFailed
from orderloom.domain.values import Sku

__all__ = [
    "MAX_QUANTITY",
    "Balance",
    "Capability",
    "CapacityExhausted",
    "DuplicateLocation",
    "Guard",
    "IncomingSupply",
    "InsufficientStock",
    "InvalidMovement",
    "Location",
    "LocationNotFound",
    "LocationType",
    "Movement",
    "MovementKind",
    "MovementRule",
    "Reservation",
    "ReservationStatus",
    "StockNotFound",
    "StockView",
    "capacity_day",
    "check_quantity",
    "check_sku",
    "movement_rule",
    "validate_location",
]

_LOCATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,39}$")
_CUTOFF = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_QUANTITY = 1_000_000_000


class LocationType(StrEnum):
    """Kinds of stock location."""

    WAREHOUSE = "warehouse"
    STORE = "store"
    BONDED = "bonded"
    OVERSEAS = "overseas"
    DROP_SHIP = "drop_ship"


class Capability(StrEnum):
    """What a location can do."""

    SHIP = "ship"
    PICKUP = "pickup"
    COLD_CHAIN = "cold_chain"
    CROSS_BORDER = "cross_border"


class MovementKind(StrEnum):
    """The ledger's movement kinds."""

    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    RESERVATION = "reservation"
    RELEASE = "release"
    FULFILMENT = "fulfilment"
    RETURN = "return"
    TRANSFER = "transfer"


class ReservationStatus(StrEnum):
    """A reservation is active until it is released or fulfilled."""

    ACTIVE = "active"
    RELEASED = "released"
    FULFILLED = "fulfilled"


class Guard(StrEnum):
    """What a movement needs from the balance before it applies."""

    NONE = "none"
    FREE = "free"  # on_hand - reserved >= q
    AVAILABLE = "available"  # on_hand - reserved - safety_stock >= q
    RESERVED = "reserved"  # reserved >= q


@dataclass(frozen=True, slots=True)
class MovementRule:
    """The effect of a movement: deltas of on_hand and reserved, and the guard with its required amount."""

    on_hand: int
    reserved: int
    guard: Guard
    need: int


def movement_rule(kind: MovementKind, quantity: int) -> MovementRule:
    """Deltas and guard of a movement; ``quantity`` is signed only for adjustments and transfers."""
    q = quantity
    if kind in (MovementKind.ADJUSTMENT, MovementKind.TRANSFER):
        return MovementRule(q, 0, Guard.FREE if q < 0 else Guard.NONE, -q if q < 0 else 0)
    if q <= 0:
        raise InvalidMovement(f"a {kind} needs a positive quantity, got {q}")
    rules = {
        MovementKind.RECEIPT: MovementRule(q, 0, Guard.NONE, 0),
        MovementKind.RETURN: MovementRule(q, 0, Guard.NONE, 0),
        MovementKind.RESERVATION: MovementRule(0, q, Guard.AVAILABLE, q),
        MovementKind.RELEASE: MovementRule(0, -q, Guard.RESERVED, q),
        MovementKind.FULFILMENT: MovementRule(-q, -q, Guard.RESERVED, q),
    }
    return rules[kind]


class InvalidMovement(DomainError):
    """A movement that makes no sense on its face (zero or negative quantity where a positive one is needed)."""


class InsufficientStock(DomainError):
    """A movement the balance cannot cover; the message names the current figures."""

    def __init__(self, *, kind: MovementKind, quantity: int, balance: Balance) -> None:
        self.kind = kind
        self.quantity = quantity
        self.balance = balance
        b = balance
        figures = f"on hand {b.on_hand}, reserved {b.reserved}, safety stock {b.safety_stock}"
        if kind == MovementKind.RESERVATION:
            what = f"cannot reserve {quantity} of SKU {b.sku} at {b.location_id}"
            figures += f", available {b.available}"
        elif kind in (MovementKind.RELEASE, MovementKind.FULFILMENT):
            verb = "release" if kind == MovementKind.RELEASE else "fulfil"
            what = f"cannot {verb} {quantity} of SKU {b.sku} at {b.location_id}"
        else:
            verb = "adjust" if kind == MovementKind.ADJUSTMENT else "transfer"
            what = f"cannot {verb} SKU {b.sku} at {b.location_id}"
            figures += f", change {quantity:+d}"
        super().__init__(f"{what}: {figures}")


class LocationNotFound(DomainError):
    """No such location for this tenant."""

    def __init__(self, location_id: str) -> None:
        self.location_id = location_id
        super().__init__(f"location {location_id} not found")


class DuplicateLocation(DomainError):
    """A location with that id already exists."""

    def __init__(self, location_id: str) -> None:
        self.location_id = location_id
        super().__init__(f"location {location_id} already exists")


class StockNotFound(DomainError):
    """No stock record for a SKU (at a location, if given)."""

    def __init__(self, sku: str, location_id: str | None = None) -> None:
        self.sku = sku
        self.location_id = location_id
        where = f" at {location_id}" if location_id else ""
        super().__init__(f"no stock record for SKU {sku}{where}")


@dataclass(frozen=True, slots=True)
class Balance:
    """Figures of one SKU at one location."""

    sku: str
    location_id: str
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0

    @property
    def available(self) -> int:
        """What can still be promised here: on hand minus reserved minus safety stock (never below 0)."""
        return max(self.on_hand - self.reserved - self.safety_stock, 0)

    def passes(self, rule: MovementRule) -> bool:
        """True if the balance allows a movement with this rule."""
        if rule.guard == Guard.FREE:
            return self.on_hand - self.reserved >= rule.need
        if rule.guard == Guard.AVAILABLE:
            return self.on_hand - self.reserved - self.safety_stock >= rule.need
        if rule.guard == Guard.RESERVED:
            return self.reserved >= rule.need and self.on_hand >= -rule.on_hand
        return True

    def apply(self, kind: MovementKind, quantity: int) -> Balance:
        """The balance after a movement, or InsufficientStock naming the figures."""
        rule = movement_rule(kind, quantity)
        if not self.passes(rule):
            raise InsufficientStock(kind=kind, quantity=quantity, balance=self)
        return replace(self, on_hand=self.on_hand + rule.on_hand, reserved=self.reserved + rule.reserved)


@dataclass(frozen=True, slots=True, kw_only=True)
class Movement:
    """One ledger row: what changed, why and with what reference (order, shipment, transfer, receipt)."""

    tenant_id: str
    sku: str
    location_id: str
    kind: MovementKind
    quantity: int
    reason: str
    reference: str | None
    at: datetime
    id: int | None = None

    @property
    def rule(self) -> MovementRule:
        """Its deltas and guard."""
        return movement_rule(self.kind, self.quantity)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reservation:
    """Stock held for one order line at one location (or, for a presale, promised against incoming supply)."""

    id: str
    tenant_id: str
    order_id: str
    line_no: int
    sku: str
    location_id: str
    quantity: int
    status: ReservationStatus
    created_at: datetime
    expires_at: datetime | None = None
    kind: str = "stock"  # stock: held at the location now; incoming: promised against a purchase order (presale)
    source_ref: str | None = None  # the purchase order of an incoming reservation


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """A place that holds stock: a warehouse, store, bonded or overseas warehouse, or a drop-ship supplier."""

    id: str
    tenant_id: str
    name: str
    type: LocationType
    country: str | None = None
    region: str | None = None
    city: str | None = None
    postal_code: str | None = None
    line1: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    capabilities: frozenset[Capability] = field(default_factory=lambda: frozenset({Capability.SHIP}))
    daily_capacity: int | None = None
    cutoff_time: str | None = None
    time_zone: str = "UTC"
    active: bool = True


def _coordinate_errors(loc: Location) -> list[FieldError]:
    errors: list[FieldError] = []
    if (loc.latitude is None) != (loc.longitude is None):
        errors.append(FieldError("latitude", "give both latitude and longitude, or neither"))
    if loc.latitude is not None and not -90 <= loc.latitude <= 90:
        errors.append(FieldError("latitude", "between -90 and 90"))
    if loc.longitude is not None and not -180 <= loc.longitude <= 180:
        errors.append(FieldError("longitude", "between -180 and 180"))
    return errors


def validate_location(loc: Location, *, known_zones: frozenset[str] | None = None) -> Location:
    """The location if every field is sound, else ValidationFailed listing each problem."""
    errors: list[FieldError] = []
    if not _LOCATION_ID.match(loc.id):
        errors.append(FieldError("id", "1-40 letters, digits, '.', '_' or '-', starting with a letter or digit"))
    if not loc.name.strip() or len(loc.name) > 120:
        errors.append(FieldError("name", "1-120 characters"))
    if loc.country is not None and not re.fullmatch(r"[A-Z]{2}", loc.country):
        errors.append(FieldError("country", "an ISO 3166-1 alpha-2 code such as CN or US"))
    errors += _coordinate_errors(loc)
    if loc.daily_capacity is not None and not 0 <= loc.daily_capacity <= MAX_QUANTITY:
        errors.append(FieldError("daily_capacity", "orders per day, 0 or more"))
    if loc.cutoff_time is not None and not _CUTOFF.match(loc.cutoff_time):
        errors.append(FieldError("cutoff_time", "local time as HH:MM, e.g. 16:00"))
    if known_zones is not None and loc.time_zone not in known_zones:
        errors.append(FieldError("time_zone", f"unknown IANA time zone {loc.time_zone!r}"))
    if errors:
        raise ValidationFailed(errors)
    return loc


def check_sku(code: str, field_name: str = "sku") -> str:
    """The SKU code if well formed, else ValidationFailed."""
    try:
        return Sku(code).code
    except ValueError as exc:
        raise ValidationFailed([FieldError(field_name, str(exc))]) from None


def check_quantity(value: int, field_name: str = "quantity", *, allow_negative: bool = False) -> int:
    """A whole quantity within bounds, else ValidationFailed."""
    low = -MAX_QUANTITY if allow_negative else 0
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_QUANTITY:
        wanted = "a whole number" if allow_negative else "a whole number, 0 or more"
        raise ValidationFailed([FieldError(field_name, f"{wanted} (at most {MAX_QUANTITY:,}), got {value!r}")])
    return value


@dataclass(frozen=True, slots=True)
class StockView:
    """A SKU across the network: per-location balances and the network available-to-promise."""

    sku: str
    balances: tuple[tuple[Balance, bool], ...]  # (balance, location active)
    incoming: tuple[IncomingSupply, ...] = ()  # open purchase orders

    @property
    def promisable_incoming(self) -> int:
        """Units on open purchase orders not yet promised to presale orders."""
        return sum(s.promisable for s in self.incoming)

    @property
    def atp(self) -> int:
        """Available-to-promise: the sum of what active locations can still promise."""
        return sum(b.available for b, active in self.balances if active)

    @property
    def on_hand(self) -> int:
        """Units physically held across the network."""
        return sum(b.on_hand for b, _ in self.balances)

    @property
    def reserved(self) -> int:
        """Units held for orders across the network."""
        return sum(b.reserved for b, _ in self.balances)


class CapacityExhausted(DomainError):
    """A location has taken as many orders as it can ship for that day."""

    def __init__(self, location_id: str, day: date, capacity: int) -> None:
        self.location_id = location_id
        self.day = day
        self.capacity = capacity
        super().__init__(f"location {location_id} is at its daily capacity of {capacity} orders for {day.isoformat()}")


def capacity_day(location: Location, now: datetime) -> date:
    """The local shipping day an order placed ``now`` counts against: after the cut-off it is the next day."""
    local = now.astimezone(ZoneInfo(location.time_zone))
    if location.cutoff_time is not None:
        hours, minutes = (int(x) for x in location.cutoff_time.split(":"))
        if local.time() >= time(hours, minutes):
            return local.date() + timedelta(days=1)
    return local.date()


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingSupply:
    """Units on a purchase order, expected at a location: presale orders may be promised against them."""

    tenant_id: str
    reference: str
    sku: str
    location_id: str
    quantity: int
    promised: int
    expected_at: datetime
    received: bool = False

    @property
    def promisable(self) -> int:
        """Units not yet promised to presale orders."""
        return 0 if self.received else max(self.quantity - self.promised, 0)
