"""Inventory use cases: locations, receipts, adjustments, reservations for orders, releases, expiry, reads.

Every movement, its balance update and its outbox event are written in the caller's unit of work (one transaction).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from orderloom.application.inventory_ports import InventoryRepository, Sourcing, SourcingPlan
from orderloom.application.orders import apply_action
from orderloom.application.ports import UnitOfWork
from orderloom.domain.errors import DomainError, FieldError, ValidationFailed
from orderloom.domain.events import Event
from orderloom.domain.ids import new_id
from orderloom.domain.inventory import (
    Balance,
    InsufficientStock,
    Location,
    Movement,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockNotFound,
    StockView,
    check_quantity,
    check_sku,
    validate_location,
)
from orderloom.domain.inventory_events import (
    LocationCameOnline,
    LocationCreated,
    LocationWentOffline,
    ReservationExpired,
    ReservationReleased,
    StockAdjusted,
    StockFulfilled,
    StockReceived,
    StockReserved,
    StockShort,
)
from orderloom.domain.lifecycle import Lifecycle
from orderloom.domain.orders import Order
from orderloom.domain.sourcing import Demand, ShipTo, rank_single_locations

__all__ = [
    "ALLOCATABLE",
    "Allocation",
    "DuplicateReceipt",
    "NearestFullStockSourcing",
    "OrderNotReservable",
    "ReceiptLine",
    "ReceiptResult",
    "adjust_stock",
    "allocate_order",
    "create_location",
    "fulfil_order",
    "ledger_page",
    "receive_stock",
    "release_expired",
    "release_order",
    "reserve_order",
    "set_stock_level",
    "stock_view",
    "transfer_stock",
    "update_location",
]

ALLOCATABLE = ("confirmed", "on_hold.stock_shortage")
LOCATION_FIELDS = frozenset(
    {
        "name",
        "type",
        "country",
        "region",
        "city",
        "postal_code",
        "line1",
        "latitude",
        "longitude",
        "capabilities",
        "daily_capacity",
        "cutoff_time",
        "time_zone",
        "active",
    }
)


class DuplicateReceipt(DomainError):
    """A receipt reference already used for different lines."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"receipt {reference!r} was already recorded with different lines")


class OrderNotReservable(DomainError):
    """Stock can't be reserved for an order in its current status (e.g. cancelled)."""

    def __init__(self, order_id: str, status: str) -> None:
        self.order_id = order_id
        self.status = status
        super().__init__(f"can't reserve stock for order {order_id}: it is {status}")


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """Units of a SKU arriving at a location."""

    sku: str
    location_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ReceiptResult:
    """A recorded receipt, or the replay of an earlier one with the same reference."""

    reference: str
    lines: list[dict[str, Any]]
    replayed: bool


@dataclass(frozen=True, slots=True)
class Allocation:
    """Where an order's stock was reserved, or a shortage (location None)."""

    order_id: str
    location_id: str | None
    reservations: list[Reservation]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class NearestFullStockSourcing:
    """The simple rule until routing lands: one active location holding every line, nearest first."""

    def plan(
        self,
        *,
        demand: Sequence[Demand],
        ship_to: ShipTo,
        locations: Sequence[Location],
        available: Mapping[tuple[str, str], int],
    ) -> SourcingPlan:
        """Rank the locations able to ship the whole order."""
        return SourcingPlan(tuple(rank_single_locations(demand, ship_to, locations, available)))


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def _loc_data(loc: Location) -> dict[str, Any]:
    return {"location_id": loc.id, "name": loc.name, "type": str(loc.type), "active": loc.active}


def create_location(*, uow: UnitOfWork, location: Location, now: datetime) -> Location:
    """Validate and add a stock location, recording LocationCreated."""
    validate_location(location, known_zones=_zones())
    uow.inventory.add_location(location)
    uow.outbox.add(
        [
            LocationCreated(
                tenant_id=location.tenant_id, aggregate_id=location.id, occurred_at=now, data=_loc_data(location)
            )
        ]
    )
    return location


def update_location(
    *, uow: UnitOfWork, tenant_id: str, location_id: str, changes: Mapping[str, Any], now: datetime
) -> Location:
    """Change a location's fields; taking it offline records LocationWentOffline (back online, LocationCameOnline)."""
    unknown = sorted(set(changes) - LOCATION_FIELDS)
    if unknown:
        raise ValidationFailed([FieldError(k, "not a field that can be changed") for k in unknown])
    before = uow.inventory.get_location(tenant_id, location_id)
    after = validate_location(replace(before, **changes), known_zones=_zones())
    uow.inventory.save_location(after)
    if before.active != after.active:
        kind = LocationCameOnline if after.active else LocationWentOffline
        uow.outbox.add([kind(tenant_id=tenant_id, aggregate_id=location_id, occurred_at=now, data=_loc_data(after))])
    return after


def _stock_event(kind: type[Event], m: Movement, balance: Balance, **extra: Any) -> Event:
    data = {
        "sku": m.sku,
        "location_id": m.location_id,
        "quantity": m.quantity,
        "reason": m.reason,
        "reference": m.reference,
        "on_hand": balance.on_hand,
        "reserved": balance.reserved,
        "available": balance.available,
        **extra,
    }
    return kind(
        tenant_id=m.tenant_id,
        aggregate_id=extra.get("order_id") or f"{m.sku}@{m.location_id}",
        occurred_at=m.at,
        data=data,
    )


def _summary(lines: Sequence[ReceiptLine]) -> str:
    return json.dumps(sorted([ln.sku, ln.location_id, ln.quantity] for ln in lines), separators=(",", ":"))


def _lines_of(summary: str) -> list[dict[str, Any]]:
    return [{"sku": s, "location_id": loc, "quantity": q} for s, loc, q in json.loads(summary)]


def receive_stock(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    reference: str,
    lines: Sequence[ReceiptLine],
    reason: str,
    now: datetime,
) -> ReceiptResult:
    """Record a receipt once per reference: a replay with the same lines returns the first, other lines are refused."""
    errors = [FieldError(f"lines[{i}].quantity", "more than 0") for i, ln in enumerate(lines) if ln.quantity <= 0]
    if not reference.strip() or len(reference) > 128:
        errors.append(FieldError("reference", "1-128 characters"))
    if not lines:
        errors.append(FieldError("lines", "at least one line"))
    if errors:
        raise ValidationFailed(errors)
    summary = _summary(lines)
    earlier = uow.inventory.claim_receipt(tenant_id, reference, summary)
    if earlier is not None:
        if earlier != summary:
            raise DuplicateReceipt(reference)
        return ReceiptResult(reference, _lines_of(summary), replayed=True)
    for i, ln in sorted(enumerate(lines), key=lambda p: (p[1].sku, p[1].location_id)):  # canonical lock order
        check_sku(ln.sku, f"lines[{i}].sku")
        check_quantity(ln.quantity, f"lines[{i}].quantity")
        uow.inventory.get_location(tenant_id, ln.location_id)
        m = Movement(
            tenant_id=tenant_id,
            sku=ln.sku,
            location_id=ln.location_id,
            kind=MovementKind.RECEIPT,
            quantity=ln.quantity,
            reason=reason,
            reference=reference,
            at=now,
        )
        uow.outbox.add([_stock_event(StockReceived, m, uow.inventory.record(m))])
    return ReceiptResult(reference, _lines_of(summary), replayed=False)


def adjust_stock(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    sku: str,
    location_id: str,
    change: int,
    reason: str,
    reference: str | None,
    now: datetime,
) -> Balance:
    """Correct on-hand by ``change`` (signed); refused with the current figures if it would undercut reservations."""
    check_sku(sku)
    check_quantity(change, "change", allow_negative=True)
    if change == 0:
        raise ValidationFailed([FieldError("change", "must not be 0")])
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "say why (count, damage, …)")])
    uow.inventory.get_location(tenant_id, location_id)
    m = Movement(
        tenant_id=tenant_id,
        sku=sku,
        location_id=location_id,
        kind=MovementKind.ADJUSTMENT,
        quantity=change,
        reason=reason,
        reference=reference,
        at=now,
    )
    balance = uow.inventory.record(m)
    uow.outbox.add([_stock_event(StockAdjusted, m, balance)])
    return balance


def set_stock_level(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    sku: str,
    location_id: str,
    quantity: int,
    safety_stock: int | None,
    reason: str,
    now: datetime,
) -> Balance:
    """Bring on-hand to an absolute count (bulk load) through an adjustment; optionally set the safety stock."""
    check_sku(sku)
    check_quantity(quantity)
    uow.inventory.get_location(tenant_id, location_id)
    current = uow.inventory.get_balance(tenant_id, sku, location_id) or Balance(sku, location_id)
    balance = current
    if quantity != current.on_hand:
        balance = adjust_stock(
            uow=uow,
            tenant_id=tenant_id,
            sku=sku,
            location_id=location_id,
            change=quantity - current.on_hand,
            reason=reason,
            reference=None,
            now=now,
        )
    if safety_stock is not None and safety_stock != balance.safety_stock:
        balance = uow.inventory.set_safety_stock(tenant_id, sku, location_id, check_quantity(safety_stock))
    return balance


def transfer_stock(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    sku: str,
    source: str,
    destination: str,
    quantity: int,
    reference: str,
    now: datetime,
) -> tuple[Balance, Balance]:
    """Move unreserved units between two locations: two ledger rows under one transfer reference."""
    check_sku(sku)
    if check_quantity(quantity) == 0 or source == destination:
        raise ValidationFailed([FieldError("quantity", "a transfer moves at least 1 unit between two locations")])
    out: list[Balance] = []
    for loc, signed in sorted([(source, -quantity), (destination, quantity)]):  # canonical lock order
        uow.inventory.get_location(tenant_id, loc)
        m = Movement(
            tenant_id=tenant_id,
            sku=sku,
            location_id=loc,
            kind=MovementKind.TRANSFER,
            quantity=signed,
            reason=f"transfer {source} -> {destination}",
            reference=reference,
            at=now,
        )
        out.append(uow.inventory.record(m))
        uow.outbox.add([_stock_event(StockAdjusted, m, out[-1])])
    by_loc = {b.location_id: b for b in out}
    return by_loc[source], by_loc[destination]


def _reserve_at(
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    demand: Sequence[Demand],
    location_id: str,
    now: datetime,
    expires_at: datetime | None,
) -> list[Reservation]:
    made: list[Reservation] = []
    events: list[Event] = []
    for d in sorted(demand, key=lambda d: (d.sku, d.line_no)):  # one canonical (sku, location) lock order
        m = Movement(
            tenant_id=tenant_id,
            sku=d.sku,
            location_id=location_id,
            kind=MovementKind.RESERVATION,
            quantity=d.quantity,
            reason="order confirmed",
            reference=order_id,
            at=now,
        )
        balance = uow.inventory.record(m)
        r = Reservation(
            id=new_id("res"),
            tenant_id=tenant_id,
            order_id=order_id,
            line_no=d.line_no,
            sku=d.sku,
            location_id=location_id,
            quantity=d.quantity,
            status=ReservationStatus.ACTIVE,
            created_at=now,
            expires_at=expires_at,
        )
        uow.inventory.add_reservation(r)
        made.append(r)
        events.append(
            _stock_event(StockReserved, m, balance, order_id=order_id, line_no=d.line_no, reservation_id=r.id)
        )
    uow.outbox.add(events)
    return made


def reserve_order(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    demand: Sequence[Demand],
    ship_to: ShipTo,
    sourcing: Sourcing,
    now: datetime,
    expires_at: datetime | None = None,
) -> Allocation:
    """Reserve every line at one location chosen by sourcing; a shortage records StockShort and reserves nothing."""
    held = uow.inventory.reservations_of(tenant_id, order_id, ReservationStatus.ACTIVE)
    if held:
        return Allocation(order_id, held[0].location_id, held, replayed=True)
    skus = sorted({d.sku for d in demand})
    available = {(b.sku, b.location_id): b.available for b in uow.inventory.balances(tenant_id, skus)}
    locations = uow.inventory.list_locations(tenant_id)
    plan = sourcing.plan(demand=demand, ship_to=ship_to, locations=locations, available=available)
    for location_id in plan.candidates:
        try:
            if len(demand) == 1:  # a refused single reservation writes nothing: no savepoint needed
                made = _reserve_at(uow, tenant_id, order_id, demand, location_id, now, expires_at)
            else:
                with uow.savepoint():
                    made = _reserve_at(uow, tenant_id, order_id, demand, location_id, now, expires_at)
        except InsufficientStock:
            continue  # taken by a concurrent order since the plan was made: try the next candidate
        return Allocation(order_id, location_id, made)
    needs = [{"line_no": d.line_no, "sku": d.sku, "quantity": d.quantity} for d in demand]
    atp = {sku: sum(v for (s, _), v in available.items() if s == sku) for sku in skus}
    uow.outbox.add(
        [
            StockShort(
                tenant_id=tenant_id,
                aggregate_id=order_id,
                occurred_at=now,
                data={"order_id": order_id, "lines": needs, "network_available": atp},
            )
        ]
    )
    return Allocation(order_id, None, [])


def _demand(order: Order) -> list[Demand]:
    return [Demand(i + 1, line.sku.code, line.quantity) for i, line in enumerate(order.lines)]


def _ship_to(order: Order) -> ShipTo:
    a = order.shipping_address
    if a is None:
        return ShipTo()
    return ShipTo(country=a.country, latitude=a.latitude, longitude=a.longitude)


def _allocatable(order: Order) -> bool:
    return order.status.main == ALLOCATABLE[0] or str(order.status) == ALLOCATABLE[1]


def allocate_order(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    lifecycle: Lifecycle,
    sourcing: Sourcing,
    now: datetime,
    unpaid_hold: timedelta = timedelta(minutes=30),
    strict: bool = False,
) -> Allocation | None:
    """Reserve a confirmed order's stock and apply ``allocate``, or ``stock_shortage`` when no location can cover it.

    Orders not in a status that allocates are skipped (None), or refused with OrderNotReservable when ``strict``.
    Reservations of an order with a balance due expire after ``unpaid_hold``.
    """
    order = uow.orders.get(tenant_id, order_id)
    if not _allocatable(order):
        if strict:
            raise OrderNotReservable(order_id, str(order.status))
        return None
    expires_at = now + unpaid_hold if order.balance_due() else None
    alloc = reserve_order(
        uow=uow,
        tenant_id=tenant_id,
        order_id=order_id,
        demand=_demand(order),
        ship_to=_ship_to(order),
        sourcing=sourcing,
        now=now,
        expires_at=expires_at,
    )
    if alloc.location_id is not None:
        action, reason = "allocate", f"stock reserved at {alloc.location_id}"
    elif str(order.status) != ALLOCATABLE[1]:
        action, reason = "stock_shortage", "no single active location holds every line"
    else:
        return alloc  # still short: stays on hold
    apply_action(
        uow=uow,
        tenant_id=tenant_id,
        order_id=order_id,
        action=action,
        params={"reason": reason},
        lifecycle=lifecycle,
        actor="inventory",
        now=now,
    )
    return alloc


def _close(
    uow: UnitOfWork, r: Reservation, *, kind: MovementKind, reason: str, now: datetime, event: type[Event]
) -> None:
    m = Movement(
        tenant_id=r.tenant_id,
        sku=r.sku,
        location_id=r.location_id,
        kind=kind,
        quantity=r.quantity,
        reason=reason,
        reference=r.order_id,
        at=now,
    )
    balance = uow.inventory.record(m)
    status = ReservationStatus.FULFILLED if kind == MovementKind.FULFILMENT else ReservationStatus.RELEASED
    uow.inventory.set_reservation_status(r.tenant_id, r.id, status)
    uow.outbox.add([_stock_event(event, m, balance, order_id=r.order_id, line_no=r.line_no, reservation_id=r.id)])


def _active_sorted(uow: UnitOfWork, tenant_id: str, order_id: str) -> list[Reservation]:
    held = uow.inventory.reservations_of(tenant_id, order_id, ReservationStatus.ACTIVE)
    return sorted(held, key=lambda r: (r.sku, r.location_id, r.line_no))


def release_order(*, uow: UnitOfWork, tenant_id: str, order_id: str, reason: str, now: datetime) -> int:
    """Give back every active reservation of an order (cancellation, reallocation); returns how many."""
    held = _active_sorted(uow, tenant_id, order_id)
    for r in held:
        _close(uow, r, kind=MovementKind.RELEASE, reason=reason, now=now, event=ReservationReleased)
    return len(held)


def fulfil_order(*, uow: UnitOfWork, tenant_id: str, order_id: str, now: datetime) -> int:
    """The order's reserved units leave their locations (shipped): on-hand and reserved both drop."""
    held = _active_sorted(uow, tenant_id, order_id)
    for r in held:
        _close(uow, r, kind=MovementKind.FULFILMENT, reason="shipped", now=now, event=StockFulfilled)
    return len(held)


def release_expired(*, uow: UnitOfWork, now: datetime, limit: int = 500) -> int:
    """Release active reservations of unpaid orders whose hold has expired; returns how many."""
    expired = sorted(uow.inventory.expired_reservations(now, limit), key=lambda r: (r.sku, r.location_id))
    for r in expired:
        _close(uow, r, kind=MovementKind.RELEASE, reason="unpaid hold expired", now=now, event=ReservationExpired)
    return len(expired)


def stock_view(*, inventory: InventoryRepository, tenant_id: str, sku: str) -> StockView:
    """A SKU's balance at every location and its network ATP; StockNotFound if no location has a record."""
    check_sku(sku)
    balances = inventory.balances(tenant_id, [sku])
    if not balances:
        raise StockNotFound(sku)
    active = {loc.id: loc.active for loc in inventory.list_locations(tenant_id)}
    return StockView(sku, tuple((b, active.get(b.location_id, False)) for b in balances))


def ledger_page(
    *, inventory: InventoryRepository, tenant_id: str, sku: str, after: int | None, limit: int
) -> tuple[list[Movement], int | None]:
    """Ledger rows of a SKU oldest first, ``limit`` at a time, and the cursor of the next page."""
    check_sku(sku)
    rows = inventory.movements(tenant_id, sku, after=after, limit=limit + 1)
    if not rows and after is None:
        raise StockNotFound(sku)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
