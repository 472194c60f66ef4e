"""Opening fulfilment orders from an order's reservations (called by allocation, in its transaction)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from orderloom.application.ports import UnitOfWork
from orderloom.domain.fulfilment import FoKind, FoLine, FulfilmentOrder, next_cutoff
from orderloom.domain.fulfilment_events import FulfilmentOrderOpened
from orderloom.domain.ids import new_id
from orderloom.domain.inventory import ReservationStatus
from orderloom.domain.orders import Order

__all__ = ["fo_kind", "open_fulfilment_orders"]

_LIVE_EXCLUDED = frozenset({"cancelled", "rejected"})


def fo_kind(order: Order) -> FoKind:
    """Ship, or store pickup: ``custom_fields.fulfilment_type`` ``bopis`` (paid online) or ``ropo`` (pay in store)."""
    raw = str(order.custom_fields.get("fulfilment_type") or "ship").lower()
    return FoKind(raw) if raw in {k.value for k in FoKind} else FoKind.SHIP


def _notes(order: Order) -> dict[str, str]:
    keys = ("gift_message", "packing_notes", "delivery_instructions")
    return {k: str(order.custom_fields[k])[:500] for k in keys if order.custom_fields.get(k)}


def open_fulfilment_orders(*, uow: UnitOfWork, order: Order, now: datetime) -> list[FulfilmentOrder]:
    """One open FO per location for the order's reserved units not yet on a live FO (idempotent)."""
    held = [r for r in uow.inventory.reservations_of(order.tenant_id, order.id, ReservationStatus.ACTIVE)]
    held = [r for r in held if r.kind == "stock"]
    if not held:
        return []
    covered: dict[tuple[int, str], int] = defaultdict(int)
    for fo in uow.fulfilment.of_order(order.tenant_id, order.id):
        if fo.status not in _LIVE_EXCLUDED:
            for ln in fo.lines:
                covered[(ln.line_no, fo.location_id)] += ln.active - ln.shipped
    wanted: dict[str, dict[int, FoLine]] = defaultdict(dict)
    for r in sorted(held, key=lambda r: (r.location_id, r.line_no)):
        take = r.quantity - covered[(r.line_no, r.location_id)]
        covered[(r.line_no, r.location_id)] = max(covered[(r.line_no, r.location_id)] - r.quantity, 0)
        if take <= 0:
            continue
        line = wanted[r.location_id].setdefault(r.line_no, FoLine(r.line_no, r.sku, 0))
        line.quantity += take
    kind = fo_kind(order)
    made = [_new_fo(uow, order, location_id, list(lines.values()), kind, now) for location_id, lines in wanted.items()]
    uow.fulfilment.add_many(made)
    uow.outbox.add(
        [
            FulfilmentOrderOpened(tenant_id=fo.tenant_id, aggregate_id=fo.id, occurred_at=now, data=fo.as_dict())
            for fo in made
        ]
    )
    if kind == FoKind.ROPO:
        _hold_until_pickup(uow, order, made, now)
    return made


def _new_fo(
    uow: UnitOfWork, order: Order, location_id: str, lines: list[FoLine], kind: FoKind, now: datetime
) -> FulfilmentOrder:
    loc = uow.inventory.get_location(order.tenant_id, location_id)
    return FulfilmentOrder(
        id=new_id("fo"),
        tenant_id=order.tenant_id,
        order_id=order.id,
        location_id=location_id,
        kind=kind,
        status="open",
        lines=sorted(lines, key=lambda ln: ln.line_no),
        created_at=now,
        updated_at=now,
        service_level=str(order.custom_fields.get("service_level") or "standard")[:40],
        ship_by=next_cutoff(loc.cutoff_time, loc.time_zone, now),
        notes=_notes(order),
    )


def _hold_until_pickup(uow: UnitOfWork, order: Order, fos: list[FulfilmentOrder], now: datetime) -> None:
    """ROPO: the unpaid reservation is held until the pickup window ends, not the online unpaid hold."""
    for fo in fos:
        days = uow.fulfilment.settings(order.tenant_id, fo.location_id).pickup_days
        until = now + timedelta(days=days)
        for r in uow.inventory.reservations_of(order.tenant_id, order.id, ReservationStatus.ACTIVE):
            if r.location_id == fo.location_id and r.expires_at is not None:
                uow.inventory.resize_reservation(order.tenant_id, r.id, r.quantity, until)
