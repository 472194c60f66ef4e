"""Inventory use cases: locations, receipts, adjustments, reservations for orders, releases, expiry, reads.

Every movement, its balance update and its outbox event are written in the caller's unit of work (one transaction).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from orderloom.application.fulfilment_open import open_fulfilment_orders
from orderloom.application.inventory_ports import InventoryRepository, Sourcing, SourcingContext, SourcingPlan
from orderloom.application.orders import apply_action
from orderloom.application.ports import UnitOfWork
from orderloom.application.routing_ports import RoutingRecord
from orderloom.domain.canonical import order_to_document
from orderloom.domain.errors import DomainError, FieldError, ValidationFailed
from orderloom.domain.events import Event
from orderloom.domain.ids import new_id
from orderloom.domain.inventory import (
    Balance,
    CapacityExhausted,
    IncomingSupply,
    InsufficientStock,
    Location,
    Movement,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockNotFound,
    StockView,
    capacity_day,
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
    StockReturned,
    StockShort,
)
from orderloom.domain.lifecycle import Lifecycle
from orderloom.domain.orders import Order
from orderloom.domain.sourcing import Demand, ShipTo, rank_single_locations, split_lines

__all__ = [
    "ALLOCATABLE",
    "INCOMING",
    "STOCK",
    "Allocation",
    "DuplicatePurchaseOrder",
    "DuplicateReceipt",
    "NearestFullStockSourcing",
    "OrderNotReservable",
    "PurchaseOrderNotFound",
    "ReceiptLine",
    "ReceiptResult",
    "adjust_stock",
    "allocate_order",
    "create_location",
    "fulfil_lines",
    "fulfil_order",
    "fulfil_parts",
    "ledger_page",
    "pickup_location",
    "promise_presale",
    "receive_purchase_order",
    "receive_stock",
    "record_purchase_order",
    "release_expired",
    "release_lines",
    "release_order",
    "reroute_order",
    "reserve_lines",
    "reserve_order",
    "return_stock",
    "set_stock_level",
    "sourcing_inputs",
    "split_allowed",
    "stock_view",
    "take_units",
    "transfer_stock",
    "update_location",
]

ALLOCATABLE = ("confirmed", "on_hold.stock_shortage", "on_hold.no_source")
STOCK, INCOMING = "stock", "incoming"
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


class DuplicatePurchaseOrder(DomainError):
    """A purchase order reference already recorded."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"purchase order {reference!r} is already recorded")


class PurchaseOrderNotFound(DomainError):
    """No purchase order with that reference."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"purchase order {reference!r} not found")


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
    partial: bool = False  # some lines could not be reserved (split orders only)
    plan: SourcingPlan | None = None  # what sourcing proposed (with the router's explanation, if any)

    @property
    def locations(self) -> list[str]:
        """Every location holding part of the order."""
        return sorted({r.location_id for r in self.reservations})


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
        allow_split: bool = False,
        context: SourcingContext | None = None,
    ) -> SourcingPlan:
        """Rank the locations able to ship the whole order; place lines one by one if it may be split."""
        candidates = tuple(rank_single_locations(demand, ship_to, locations, available))
        split: tuple[tuple[int, str], ...] = ()
        if allow_split and not candidates:
            split = tuple(sorted(split_lines(demand, ship_to, locations, available).items()))
        return SourcingPlan(candidates, split)


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


def _record(uow: UnitOfWork, m: Movement, event: type[Event], **extra: Any) -> Balance:
    """Apply a movement to its balance and ledger, and announce it with its event."""
    balance = uow.inventory.record(m)
    uow.outbox.add([_stock_event(event, m, balance, **extra)])
    return balance


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
    return _record(uow, m, StockAdjusted)


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
    allow_split: bool = False,
    context: SourcingContext | None = None,
    only_at: str | None = None,
) -> Allocation:
    """Reserve every line at one location chosen by sourcing (``only_at``: that location or none, e.g. the store a
    pickup order is collected from); a shortage records StockShort and reserves nothing.

    With ``allow_split`` (the order's split policy allows it) and no single location able to ship everything, each
    line is reserved whole at the nearest location that has it; lines nobody has stay unreserved (``partial``).
    """
    held = _active_sorted(uow, tenant_id, order_id, STOCK)
    if held and {r.line_no for r in held} >= {d.line_no for d in demand}:
        return Allocation(order_id, held[0].location_id, held, replayed=True)
    for r in held:  # a partial hold (e.g. a presale line whose supply fell short) is given back and sourced afresh
        _close(
            uow, r, kind=MovementKind.RELEASE, reason="re-sourcing the whole order", now=now, event=ReservationReleased
        )
    skus = sorted({d.sku for d in demand})
    available = {(b.sku, b.location_id): b.available for b in uow.inventory.balances(tenant_id, skus)}
    locations = {loc.id: loc for loc in uow.inventory.list_locations(tenant_id) if only_at in (None, loc.id)}
    if context is not None:
        context = replace(context, capacity_left=_capacity_left(uow, list(locations.values()), now))
    plan = sourcing.plan(
        demand=demand,
        ship_to=ship_to,
        locations=list(locations.values()),
        available=available,
        allow_split=allow_split,
        context=context,
    )
    if plan.prefer_split:
        split = _reserve_split(uow, order_id, demand, plan, locations, now, expires_at)
        if split is not None:
            return split
    for location_id in plan.candidates:
        made = _try_location(uow, order_id, demand, locations[location_id], now, expires_at)
        if made is not None:
            return Allocation(order_id, location_id, made, plan=plan)
    if plan.split and not plan.prefer_split:
        split = _reserve_split(uow, order_id, demand, plan, locations, now, expires_at)
        if split is not None:
            return split
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
    return Allocation(order_id, None, [], plan=plan)


def _capacity_left(uow: UnitOfWork, locations: Sequence[Location], now: datetime) -> dict[str, int]:
    """Orders each location with a daily capacity can still take on its current shipping day."""
    return {
        loc.id: loc.daily_capacity - uow.inventory.capacity_used(loc.tenant_id, loc.id, capacity_day(loc, now))
        for loc in locations
        if loc.daily_capacity is not None and loc.active
    }


def _reserve_split(
    uow: UnitOfWork,
    order_id: str,
    demand: Sequence[Demand],
    plan: SourcingPlan,
    locations: Mapping[str, Location],
    now: datetime,
    expires_at: datetime | None,
) -> Allocation | None:
    made: list[Reservation] = []
    for location_id in sorted({loc for _, loc in plan.split}):
        lines = {n for n, loc in plan.split if loc == location_id}
        part = [d for d in demand if d.line_no in lines]
        made += _try_location(uow, order_id, part, locations[location_id], now, expires_at) or []
    if not made:
        return None
    partial = {r.line_no for r in made} != {d.line_no for d in demand}
    return Allocation(order_id, made[0].location_id, made, partial=partial, plan=plan)


def _try_location(
    uow: UnitOfWork,
    order_id: str,
    demand: Sequence[Demand],
    loc: Location,
    now: datetime,
    expires_at: datetime | None,
) -> list[Reservation] | None:
    """Reserve these lines (and a day of capacity) at one location, all or nothing; None if it can't."""
    try:
        if len(demand) == 1 and loc.daily_capacity is None:  # a refused single reservation writes nothing
            return _reserve_at(uow, loc.tenant_id, order_id, demand, loc.id, now, expires_at)
        with uow.savepoint():
            made = _reserve_at(uow, loc.tenant_id, order_id, demand, loc.id, now, expires_at)
            _take_capacity(uow, loc, order_id, now)
            return made
    except (InsufficientStock, CapacityExhausted):
        return None  # taken by a concurrent order since the plan was made, or the day is full


def _take_capacity(uow: UnitOfWork, loc: Location, order_id: str, now: datetime) -> None:
    if loc.daily_capacity is None:
        return
    day = capacity_day(loc, now)
    if not uow.inventory.take_capacity(loc.tenant_id, loc.id, day, loc.daily_capacity, order_id):
        raise CapacityExhausted(loc.id, day, loc.daily_capacity)


def _demand(order: Order) -> list[Demand]:
    return [Demand(i + 1, line.sku.code, line.quantity) for i, line in enumerate(order.lines)]


def _ship_to(order: Order) -> ShipTo:
    a = order.shipping_address
    if a is None:
        return ShipTo()
    return ShipTo(country=a.country, latitude=a.latitude, longitude=a.longitude)


def _allocatable(order: Order) -> bool:
    return order.status.main == ALLOCATABLE[0] or str(order.status) in ALLOCATABLE[1:]


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
    promised = _active_sorted(uow, tenant_id, order_id, INCOMING)
    if promised:  # a presale order waits for its purchase orders; their receipt turns promises into reservations
        if str(order.status) != ALLOCATABLE[1]:
            refs = ", ".join(sorted({r.source_ref or "" for r in promised}))
            _act(uow, order, "stock_shortage", f"waiting for incoming supply ({refs})", lifecycle, now)
        return Allocation(order_id, None, promised)
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
        allow_split=split_allowed(order),
        context=_context(order, now),
        only_at=pickup_location(order),
    )
    summary = _record_routing(uow, order, alloc, now)
    on_hold = str(order.status) in ALLOCATABLE[1:]
    if alloc.partial and on_hold:  # a held order is released only when every line is reserved
        release_order(uow=uow, tenant_id=tenant_id, order_id=order_id, reason="still short on some lines", now=now)
        return Allocation(order_id, None, [])
    if alloc.location_id is None:
        if alloc.plan is not None and alloc.plan.no_source and str(order.status) != "on_hold.no_source":
            _act(uow, order, "no_source", summary or "no location may ship the order", lifecycle, now)
        elif not on_hold:
            _act(uow, order, "stock_shortage", summary or "no active location holds every line", lifecycle, now)
        return alloc
    where = ", ".join(alloc.locations)
    if alloc.partial:
        _act(uow, order, "allocate_partial", f"some lines reserved at {where}", lifecycle, now)
    else:
        _act(uow, order, "allocate", summary or f"stock reserved at {where}", lifecycle, now)
    open_fulfilment_orders(uow=uow, order=order, now=now)
    return alloc


def _context(order: Order, now: datetime) -> SourcingContext:
    promised = order.custom_fields.get("promised_date")
    try:
        promised_by = date.fromisoformat(str(promised)) if promised else None
    except ValueError:
        promised_by = None
    return SourcingContext(
        tenant_id=order.tenant_id,
        order_id=order.id,
        now=now,
        split_policy=str(order.custom_fields.get("split_policy") or "never"),
        document=order_to_document(order),
        promised_by=promised_by,
    )


def _record_routing(uow: UnitOfWork, order: Order, alloc: Allocation, now: datetime) -> str | None:
    """Store the router's explanation (if the sourcing gave one) and return its summary line."""
    if alloc.plan is None or alloc.plan.explanation is None:
        return None
    decision = {**alloc.plan.explanation, "reserved_at": alloc.locations}
    uow.routing.add(RoutingRecord(order.tenant_id, order.id, now, decision))
    return str(decision.get("summary") or "") or None


def reroute_order(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    lifecycle: Lifecycle,
    sourcing: Sourcing,
    reason: str,
    now: datetime,
    unpaid_hold: timedelta = timedelta(minutes=30),
) -> Allocation | None:
    """Give back an allocated order's stock and source it afresh (its location went offline); when nothing can ship
    it the order is held (``no_source`` or ``stock_shortage``). Orders not in ``allocated`` are left alone (None)."""
    order = uow.orders.get(tenant_id, order_id)
    if order.status.main != "allocated":
        return None
    release_order(uow=uow, tenant_id=tenant_id, order_id=order_id, reason=reason, now=now)
    _cancel_open_fos(uow, tenant_id, order_id, now)
    alloc = reserve_order(
        uow=uow,
        tenant_id=tenant_id,
        order_id=order_id,
        demand=_demand(order),
        ship_to=_ship_to(order),
        sourcing=sourcing,
        now=now,
        expires_at=now + unpaid_hold if order.balance_due() else None,
        allow_split=split_allowed(order),
        context=_context(order, now),
        only_at=pickup_location(order),
    )
    summary = _record_routing(uow, order, alloc, now)
    if alloc.location_id is not None and not alloc.partial:
        open_fulfilment_orders(uow=uow, order=order, now=now)
        return alloc
    if alloc.partial:
        release_order(uow=uow, tenant_id=tenant_id, order_id=order_id, reason="still short on some lines", now=now)
    action = "no_source" if alloc.plan is not None and alloc.plan.no_source else "stock_shortage"
    _act(uow, order, action, f"{reason}; {summary or 'no location holds every line'}", lifecycle, now)
    return Allocation(order_id, None, [], plan=alloc.plan)


def _cancel_open_fos(uow: UnitOfWork, tenant_id: str, order_id: str, now: datetime) -> None:
    """Re-sourcing an allocated order drops its not-yet-released fulfilment orders (new ones follow the stock)."""
    dropped = [fo for fo in uow.fulfilment.of_order(tenant_id, order_id) if fo.status == "open"]
    for fo in dropped:
        fo.status, fo.updated_at = "cancelled", now
        for ln in fo.lines:
            ln.cancelled = ln.quantity - ln.shipped
    uow.fulfilment.save_many(dropped)


def sourcing_inputs(order: Order, now: datetime) -> tuple[list[Demand], ShipTo, SourcingContext]:
    """An order's demand lines, ship-to and sourcing context, as allocation hands them to the Sourcing port."""
    return _demand(order), _ship_to(order), _context(order, now)


def pickup_location(order: Order) -> str | None:
    """The store a pickup order (``custom_fields.fulfilment_type`` bopis or ropo) is collected from, if it names one
    in ``custom_fields.pickup_location``: its stock is reserved there or not at all."""
    if str(order.custom_fields.get("fulfilment_type") or "").lower() not in ("bopis", "ropo"):
        return None
    where = order.custom_fields.get("pickup_location")
    return str(where) if where else None


def split_allowed(order: Order) -> bool:
    """True if the order may ship from several locations: ``custom_fields.split_policy`` is ``allow``."""
    return order.custom_fields.get("split_policy") == "allow"


def _act(uow: UnitOfWork, order: Order, action: str, reason: str, lifecycle: Lifecycle, now: datetime) -> None:
    apply_action(
        uow=uow,
        tenant_id=order.tenant_id,
        order_id=order.id,
        action=action,
        params={"reason": reason},
        lifecycle=lifecycle,
        actor="inventory",
        now=now,
    )


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
    _record(uow, m, event, order_id=r.order_id, line_no=r.line_no, reservation_id=r.id)
    status = ReservationStatus.FULFILLED if kind == MovementKind.FULFILMENT else ReservationStatus.RELEASED
    uow.inventory.set_reservation_status(r.tenant_id, r.id, status)


def _active_sorted(uow: UnitOfWork, tenant_id: str, order_id: str, kind: str) -> list[Reservation]:
    held = uow.inventory.reservations_of(tenant_id, order_id, ReservationStatus.ACTIVE)
    return sorted((r for r in held if r.kind == kind), key=lambda r: (r.sku, r.location_id, r.line_no))


def _drop_promise(uow: UnitOfWork, r: Reservation, *, reason: str, now: datetime, event: type[Event]) -> None:
    assert r.source_ref is not None
    uow.inventory.unpromise_incoming(r.tenant_id, r.source_ref, r.sku, r.location_id, r.quantity)
    uow.inventory.set_reservation_status(r.tenant_id, r.id, ReservationStatus.RELEASED)
    data = {
        "order_id": r.order_id,
        "line_no": r.line_no,
        "reservation_id": r.id,
        "sku": r.sku,
        "location_id": r.location_id,
        "quantity": r.quantity,
        "purchase_order": r.source_ref,
        "reason": reason,
    }
    uow.outbox.add([event(tenant_id=r.tenant_id, aggregate_id=r.order_id, occurred_at=now, data=data)])


def _release(uow: UnitOfWork, r: Reservation, *, reason: str, now: datetime, event: type[Event]) -> None:
    if r.kind == INCOMING:
        _drop_promise(uow, r, reason=reason, now=now, event=event)
    else:
        _close(uow, r, kind=MovementKind.RELEASE, reason=reason, now=now, event=event)


def release_order(*, uow: UnitOfWork, tenant_id: str, order_id: str, reason: str, now: datetime) -> int:
    """Give back an order's active reservations, presale promises and capacity (cancellation); returns how many."""
    held = _active_sorted(uow, tenant_id, order_id, STOCK) + _active_sorted(uow, tenant_id, order_id, INCOMING)
    for r in held:
        _release(uow, r, reason=reason, now=now, event=ReservationReleased)
    uow.inventory.return_capacity(tenant_id, order_id)
    return len(held)


def fulfil_order(*, uow: UnitOfWork, tenant_id: str, order_id: str, now: datetime) -> int:
    """The order's reserved units leave their locations (shipped): on-hand and reserved both drop."""
    held = _active_sorted(uow, tenant_id, order_id, STOCK)
    for r in held:
        _close(uow, r, kind=MovementKind.FULFILMENT, reason="shipped", now=now, event=StockFulfilled)
    return len(held)


def _line_reservations(
    uow: UnitOfWork, tenant_id: str, order_id: str, location_id: str, line_no: int
) -> list[Reservation]:
    held = uow.inventory.reservations_of(tenant_id, order_id, ReservationStatus.ACTIVE)
    return sorted(
        (r for r in held if r.kind == STOCK and r.location_id == location_id and r.line_no == line_no),
        key=lambda r: (r.created_at, r.id),
    )


def _take(uow: UnitOfWork, r: Reservation, quantity: int) -> Reservation:
    """Split ``quantity`` off an active reservation: the rest stays active under the old id."""
    if quantity >= r.quantity:
        return r
    uow.inventory.resize_reservation(r.tenant_id, r.id, r.quantity - quantity)
    part = replace(r, id=new_id("res"), quantity=quantity)
    uow.inventory.add_reservation(part)
    return part


def _close_lines(
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    location_id: str,
    lines: Mapping[int, int],
    *,
    kind: MovementKind,
    reason: str,
    now: datetime,
) -> int:
    done = 0
    event = StockFulfilled if kind == MovementKind.FULFILMENT else ReservationReleased
    for line_no, quantity in sorted(lines.items()):
        left = quantity
        for r in _line_reservations(uow, tenant_id, order_id, location_id, line_no):
            if left <= 0:
                break
            part = _take(uow, r, left)
            _close(uow, part, kind=kind, reason=reason, now=now, event=event)
            left -= part.quantity
            done += part.quantity
    return done


def take_units(
    held: list[Reservation], location_id: str, lines: Mapping[int, int]
) -> list[tuple[Reservation, int]] | None:
    """Plan which active reservations (oldest first) cover these units of lines at a location, deducting them from
    ``held`` in memory; None (``held`` unchanged) when they do not cover every unit."""
    parts: list[tuple[Reservation, int]] = []
    left_of = {r.id: r.quantity for r in held}
    for line_no, quantity in sorted(lines.items()):
        left = quantity
        mine = [r for r in held if r.location_id == location_id and r.line_no == line_no]
        for r in sorted(mine, key=lambda r: (r.created_at, r.id)):
            if left <= 0:
                break
            q = min(left, left_of[r.id])
            if q > 0:
                parts.append((replace(r, quantity=left_of[r.id]), q))
                left_of[r.id] -= q
                left -= q
        if left > 0:
            return None
    held[:] = [replace(r, quantity=left_of[r.id]) for r in held if left_of[r.id] > 0]
    return parts


def fulfil_parts(*, uow: UnitOfWork, parts: Sequence[tuple[Reservation, int]], now: datetime) -> int:
    """Consume planned (reservation, units) pairs in bulk: a reservation covering more is split first, then one
    guarded balance update per SKU and location, one ledger insert, one status update and the events."""
    closing = [_take(uow, r, q) for r, q in parts]
    if not closing:
        return 0
    movements = [
        Movement(
            tenant_id=r.tenant_id,
            sku=r.sku,
            location_id=r.location_id,
            kind=MovementKind.FULFILMENT,
            quantity=r.quantity,
            reason="shipped",
            reference=r.order_id,
            at=now,
        )
        for r in closing
    ]
    balances = uow.inventory.record_many(movements)
    uow.inventory.set_reservation_statuses(closing[0].tenant_id, [r.id for r in closing], ReservationStatus.FULFILLED)
    uow.outbox.add(
        [
            _stock_event(StockFulfilled, m, b, order_id=r.order_id, line_no=r.line_no, reservation_id=r.id)
            for r, m, b in zip(closing, movements, balances, strict=True)
        ]
    )
    return sum(r.quantity for r in closing)


def fulfil_lines(
    *, uow: UnitOfWork, tenant_id: str, order_id: str, location_id: str, lines: Mapping[int, int], now: datetime
) -> int:
    """Units of these lines left ``location_id`` (shipped or collected): their reservations are consumed, a
    reservation covering more than what left is split (the shipped part fulfilled, the rest still active)."""
    return _close_lines(
        uow, tenant_id, order_id, location_id, lines, kind=MovementKind.FULFILMENT, reason="shipped", now=now
    )


def release_lines(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    location_id: str,
    lines: Mapping[int, int],
    reason: str,
    now: datetime,
) -> int:
    """Give back the reservations of these units of lines at a location (partial cancellation, rejection)."""
    return _close_lines(uow, tenant_id, order_id, location_id, lines, kind=MovementKind.RELEASE, reason=reason, now=now)


def reserve_lines(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    demand: Sequence[Demand],
    sourcing: Sourcing,
    exclude: frozenset[str],
    now: datetime,
) -> list[Reservation]:
    """Reserve just these lines afresh (re-routing after a location refused them), not at ``exclude``; the lines
    are placed whole at one location if one holds them all, else line by line; [] if nowhere has them."""
    order = uow.orders.get(tenant_id, order_id)
    skus = sorted({d.sku for d in demand})
    available = {
        (b.sku, b.location_id): b.available
        for b in uow.inventory.balances(tenant_id, skus)
        if b.location_id not in exclude
    }
    locations = {loc.id: loc for loc in uow.inventory.list_locations(tenant_id) if loc.id not in exclude}
    plan = sourcing.plan(
        demand=demand,
        ship_to=_ship_to(order),
        locations=list(locations.values()),
        available=available,
        allow_split=True,
        context=_context(order, now),
    )
    for location_id in plan.candidates:
        made = _try_location(uow, order_id, demand, locations[location_id], now, None)
        if made is not None:
            return made
    split = _reserve_split(uow, order_id, demand, plan, locations, now, None) if plan.split else None
    return split.reservations if split is not None else []


def release_expired(*, uow: UnitOfWork, now: datetime, limit: int = 500) -> int:
    """Release reservations of unpaid orders and presale promises whose time is up; returns how many."""
    expired = sorted(uow.inventory.expired_reservations(now, limit), key=lambda r: (r.sku, r.location_id))
    for r in expired:
        reason = "presale ended" if r.kind == INCOMING else "unpaid hold expired"
        _release(uow, r, reason=reason, now=now, event=ReservationExpired)
    for tenant_id, order_id in sorted({(r.tenant_id, r.order_id) for r in expired if r.kind == STOCK}):
        uow.inventory.return_capacity(tenant_id, order_id)
    return len(expired)


def stock_view(*, inventory: InventoryRepository, tenant_id: str, sku: str) -> StockView:
    """A SKU's balance at every location and its network ATP; StockNotFound if no location has a record."""
    check_sku(sku)
    balances = inventory.balances(tenant_id, [sku])
    incoming = inventory.incoming(tenant_id, [sku])
    if not balances and not incoming:
        raise StockNotFound(sku)
    active = {loc.id: loc.active for loc in inventory.list_locations(tenant_id)}
    return StockView(sku, tuple((b, active.get(b.location_id, False)) for b in balances), tuple(incoming))


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


def record_purchase_order(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    reference: str,
    location_id: str,
    expected_at: datetime,
    lines: Sequence[tuple[str, int]],
) -> list[IncomingSupply]:
    """Record future supply (a purchase order expected at a location) that presale orders may be promised."""
    errors = [FieldError(f"lines[{i}].quantity", "more than 0") for i, (_, q) in enumerate(lines) if q <= 0]
    if not lines:
        errors.append(FieldError("lines", "at least one line"))
    if expected_at.tzinfo is None:
        errors.append(FieldError("expected_at", "give a UTC offset"))
    if errors:
        raise ValidationFailed(errors)
    uow.inventory.get_location(tenant_id, location_id)
    if uow.inventory.incoming_of(tenant_id, reference):
        raise DuplicatePurchaseOrder(reference)
    for i, (sku, qty) in enumerate(lines):
        check_sku(sku, f"lines[{i}].sku")
        supply = IncomingSupply(
            tenant_id=tenant_id,
            reference=reference,
            sku=sku,
            location_id=location_id,
            quantity=check_quantity(qty, f"lines[{i}].quantity"),
            promised=0,
            expected_at=expected_at,
        )
        if not uow.inventory.add_incoming(supply):
            raise DuplicatePurchaseOrder(reference)
    return uow.inventory.incoming_of(tenant_id, reference)


def _promise_line(
    uow: UnitOfWork, tenant_id: str, order_id: str, d: Demand, until: datetime | None, now: datetime
) -> Reservation:
    for supply in uow.inventory.incoming(tenant_id, [d.sku]):
        if supply.promisable < d.quantity:
            continue
        if uow.inventory.promise_incoming(tenant_id, supply.reference, d.sku, supply.location_id, d.quantity):
            r = Reservation(
                id=new_id("res"),
                tenant_id=tenant_id,
                order_id=order_id,
                line_no=d.line_no,
                sku=d.sku,
                location_id=supply.location_id,
                quantity=d.quantity,
                status=ReservationStatus.ACTIVE,
                created_at=now,
                expires_at=until,
                kind=INCOMING,
                source_ref=supply.reference,
            )
            uow.inventory.add_reservation(r)
            return r
    raise InsufficientStock(kind=MovementKind.RESERVATION, quantity=d.quantity, balance=Balance(d.sku, "(incoming)"))


def promise_presale(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    demand: Sequence[Demand],
    now: datetime,
    until: datetime | None = None,
) -> Allocation:
    """Promise a presale order's lines against open purchase orders (earliest first), all lines or none.

    The promises turn into stock reservations when the purchase order is received, and are released if the order is
    cancelled or the presale ends (``until``) first.
    """
    held = _active_sorted(uow, tenant_id, order_id, INCOMING)
    if held:
        return Allocation(order_id, held[0].location_id, held, replayed=True)
    try:
        with uow.savepoint():
            made = [
                _promise_line(uow, tenant_id, order_id, d, until, now)
                for d in sorted(demand, key=lambda d: (d.sku, d.line_no))
            ]
    except InsufficientStock:
        needs = [{"line_no": d.line_no, "sku": d.sku, "quantity": d.quantity} for d in demand]
        data = {"order_id": order_id, "lines": needs, "presale": True}
        uow.outbox.add([StockShort(tenant_id=tenant_id, aggregate_id=order_id, occurred_at=now, data=data)])
        return Allocation(order_id, None, [])
    uow.outbox.add(
        [
            StockReserved(
                tenant_id=tenant_id,
                aggregate_id=order_id,
                occurred_at=now,
                data={
                    "order_id": order_id,
                    "line_no": r.line_no,
                    "reservation_id": r.id,
                    "sku": r.sku,
                    "location_id": r.location_id,
                    "quantity": r.quantity,
                    "purchase_order": r.source_ref,
                    "presale": True,
                },
            )
            for r in made
        ]
    )
    return Allocation(order_id, made[0].location_id, made)


def _convert(uow: UnitOfWork, promise: Reservation, now: datetime) -> str | None:
    """Turn a presale promise into a stock reservation; returns the order id, or None if the stock is not there."""
    m = Movement(
        tenant_id=promise.tenant_id,
        sku=promise.sku,
        location_id=promise.location_id,
        kind=MovementKind.RESERVATION,
        quantity=promise.quantity,
        reason="presale supply received",
        reference=promise.order_id,
        at=now,
    )
    try:
        with uow.savepoint():
            balance = uow.inventory.record(m)
    except InsufficientStock:
        _drop_promise(uow, promise, reason="not enough stock at receipt", now=now, event=ReservationReleased)
        return None
    uow.inventory.set_reservation_status(promise.tenant_id, promise.id, ReservationStatus.FULFILLED)
    r = replace(promise, id=new_id("res"), kind=STOCK, expires_at=None, created_at=now)
    uow.inventory.add_reservation(r)
    uow.outbox.add(
        [_stock_event(StockReserved, m, balance, order_id=r.order_id, line_no=r.line_no, reservation_id=r.id)]
    )
    return promise.order_id


def receive_purchase_order(
    *, uow: UnitOfWork, tenant_id: str, reference: str, lifecycle: Lifecycle, sourcing: Sourcing, now: datetime
) -> list[str]:
    """Receive a purchase order in full: its units become stock, its presale promises become reservations, and
    presale orders waiting on the stock-shortage hold are allocated. Returns the ids of the orders it served."""
    supply = uow.inventory.incoming_of(tenant_id, reference)
    if not supply:
        raise PurchaseOrderNotFound(reference)
    if all(s.received for s in supply):
        return []
    promises = uow.inventory.promises_against(tenant_id, reference)
    lines = [ReceiptLine(s.sku, s.location_id, s.quantity) for s in supply]
    receive_stock(uow=uow, tenant_id=tenant_id, reference=reference, lines=lines, reason="purchase order", now=now)
    uow.inventory.mark_incoming_received(tenant_id, reference)
    served = sorted({oid for p in promises if (oid := _convert(uow, p, now)) is not None})
    for order_id in served:
        order = uow.orders.get(tenant_id, order_id)
        if str(order.status) == ALLOCATABLE[1] and not _active_sorted(uow, tenant_id, order_id, INCOMING):
            allocate_order(
                uow=uow, tenant_id=tenant_id, order_id=order_id, lifecycle=lifecycle, sourcing=sourcing, now=now
            )
    return served


def return_stock(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    sku: str,
    location_id: str,
    quantity: int,
    reason: str,
    reference: str,
    now: datetime,
) -> Balance:
    """Returned units back into on-hand at a location: a RETURN movement in the ledger and StockReturned."""
    check_sku(sku)
    check_quantity(quantity, "quantity")
    uow.inventory.get_location(tenant_id, location_id)
    m = Movement(
        tenant_id=tenant_id,
        sku=sku,
        location_id=location_id,
        kind=MovementKind.RETURN,
        quantity=quantity,
        reason=reason,
        reference=reference,
        at=now,
    )
    return _record(uow, m, StockReturned)
