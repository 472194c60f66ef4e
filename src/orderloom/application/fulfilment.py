"""Fulfilment execution: release fulfilment orders to locations in waves, take their confirmations (picked, packed,
shipped), re-route rejected lines, cancel, and run store pickups. The order's status follows its fulfilment orders.

Every change, its stock movements, shipments and outbox events are written in the caller's unit of work.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from orderloom.application.fulfilment_open import open_fulfilment_orders
from orderloom.application.fulfilment_ports import (
    RELEASE_MODES,
    FulfilmentRepository,
    LocationFulfilment,
    ReleaseChannel,
    StoredConfirmation,
    Wave,
)
from orderloom.application.inventory import (
    adjust_stock,
    fulfil_lines,
    fulfil_parts,
    release_lines,
    reserve_lines,
    take_units,
)
from orderloom.application.inventory_ports import Sourcing
from orderloom.application.orders import apply_action
from orderloom.application.ports import TransactionRunner, UnitOfWork
from orderloom.application.tracking_ports import TrackingUnitOfWork
from orderloom.domain.audit import AuditEntry
from orderloom.domain.canonical import order_to_document
from orderloom.domain.errors import DomainError, FieldError, ValidationFailed
from orderloom.domain.events import Event, to_cloudevent
from orderloom.domain.fulfilment import (
    CancelNotPossible,
    Confirmation,
    ConfirmationReplayConflict,
    FoKind,
    FulfilmentMachine,
    FulfilmentNotFound,
    FulfilmentOrder,
    FulfilmentOrderClosed,
    PickupCodeMismatch,
    UnitsNotReserved,
    code_digest,
    order_path,
    order_target,
    plan_wave,
)
from orderloom.domain.fulfilment_events import (
    FulfilmentCancelRequested,
    FulfilmentOrderAccepted,
    FulfilmentOrderCancelled,
    FulfilmentOrderConfirmed,
    FulfilmentOrderRejected,
    FulfilmentOrderReleased,
    FulfilmentOrderUnsourced,
    PickupCollected,
    PickupExpired,
    ReadyForPickup,
    WaveReleased,
)
from orderloom.domain.ids import new_id
from orderloom.domain.inventory import InsufficientStock, Reservation
from orderloom.domain.lifecycle import Lifecycle
from orderloom.domain.orders import Order
from orderloom.domain.shipments import Shipment, TrackingNumberTaken
from orderloom.domain.sourcing import Demand

__all__ = [
    "Fulfilment",
    "WaveOrdersHandler",
    "accept_fulfilment_order",
    "advance_orders",
    "advance_wave",
    "answer_cancellation",
    "cancel_order_fulfilment",
    "collect_pickup",
    "configure_location",
    "confirm_batch",
    "confirm_fulfilment",
    "dispatch_releases",
    "expire_pickups",
    "pick_list",
    "reject_fulfilment_order",
    "release_wave",
    "sync_order",
]

_ACTOR = "fulfilment"
_DEAD = frozenset({"cancelled", "rejected"})
_PICKUP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """What the fulfilment services need besides the unit of work: the two state machines and sourcing."""

    machine: FulfilmentMachine
    lifecycle: Lifecycle
    sourcing: Sourcing


def _fo_event(kind: type[Any], fo: FulfilmentOrder, now: datetime, **extra: Any) -> Any:
    data = {**fo.as_dict(), **extra}
    return kind(tenant_id=fo.tenant_id, aggregate_id=fo.id, occurred_at=now, data=data)


def advance_orders(
    *, uow: UnitOfWork, lifecycle: Lifecycle, tenant_id: str, order_ids: Sequence[str], now: datetime
) -> dict[str, str]:
    """Move each order forward to the status its fulfilment orders imply, through real lifecycle actions (audited,
    with their status events), reading and writing the orders in bulk; returns each order's status."""
    by_order: dict[str, list[FulfilmentOrder]] = defaultdict(list)
    for fo in uow.fulfilment.of_orders(tenant_id, order_ids):
        by_order[fo.order_id].append(fo)
    statuses: dict[str, str] = {}
    changed: list[tuple[Order, dict[str, Any], int]] = []
    entries: list[AuditEntry] = []
    events: list[Event] = []
    for order in uow.orders.get_many(tenant_id, order_ids):
        target = order_target(by_order[order.id])
        path = (order_path(lifecycle, order.status, target) or []) if target else []
        read_version = order.version
        for action in path:
            params = {"reason": f"fulfilment orders: {target}"}
            before, after = order.apply(action=action, lifecycle=lifecycle, params=params, actor=_ACTOR, now=now)
            entries.append(
                AuditEntry(
                    tenant_id=tenant_id,
                    actor=_ACTOR,
                    action=f"order.{action}",
                    entity_type="order",
                    entity_id=order.id,
                    at=now,
                    before={"status": {"main": before.main, "sub": before.sub}},
                    after={"status": {"main": after.main, "sub": after.sub}, "params": params},
                )
            )
        statuses[order.id] = str(order.status)
        if path:
            changed.append((order, order_to_document(order), read_version))
            events += order.pull_events()
    uow.orders.save_many(changed)
    uow.audit.append_many(entries)
    uow.outbox.add(events)
    return statuses


def sync_order(*, uow: UnitOfWork, lifecycle: Lifecycle, tenant_id: str, order_id: str, now: datetime) -> str:
    """Move one order forward to the status its fulfilment orders imply; returns its status."""
    return advance_orders(uow=uow, lifecycle=lifecycle, tenant_id=tenant_id, order_ids=[order_id], now=now)[order_id]


def _cancel_order_if_dead(uow: UnitOfWork, lifecycle: Lifecycle, tenant_id: str, order_id: str, now: datetime) -> str:
    """When no fulfilment order is left alive and nothing shipped, the order itself is cancelled."""
    fos = uow.fulfilment.of_order(tenant_id, order_id)
    order = uow.orders.get(tenant_id, order_id)
    if any(fo.status not in _DEAD for fo in fos) or any(fo.shipped_units for fo in fos):
        return sync_order(uow=uow, lifecycle=lifecycle, tenant_id=tenant_id, order_id=order_id, now=now)
    if order.status.main == "closed":
        return str(order.status)
    doc = apply_action(
        uow=uow,
        tenant_id=tenant_id,
        order_id=order_id,
        action="cancel",
        params={"reason": "every fulfilment order cancelled"},
        lifecycle=lifecycle,
        actor=_ACTOR,
        now=now,
    )
    return f"{doc['status']['main']}.{doc['status']['sub']}"


# ---- location settings ---------------------------------------------------------------------------------------------
def configure_location(*, uow: UnitOfWork, settings: LocationFulfilment) -> LocationFulfilment:
    """Set how a location receives fulfilment orders (release mode, wave size and horizon, pickup days)."""
    s = settings
    uow.inventory.get_location(s.tenant_id, s.location_id)
    errors: list[FieldError] = []
    if s.release_mode not in RELEASE_MODES:
        errors.append(FieldError("release_mode", f"one of {', '.join(RELEASE_MODES)}"))
    if s.release_mode == "webhook" and not (s.webhook_url and s.webhook_url.startswith(("http://", "https://"))):
        errors.append(FieldError("webhook_url", "an http(s) URL is needed for webhook release"))
    if s.release_mode == "webhook" and not s.webhook_secret:
        errors.append(FieldError("webhook_secret", "a signing secret is needed for webhook release"))
    if not 1 <= s.max_batch <= 100_000:
        errors.append(FieldError("max_batch", "1-100000"))
    if s.horizon_hours is not None and not 0 <= s.horizon_hours <= 24 * 14:
        errors.append(FieldError("horizon_hours", "0-336"))
    if not 1 <= s.pickup_days <= 60:
        errors.append(FieldError("pickup_days", "1-60"))
    if errors:
        raise ValidationFailed(errors)
    uow.fulfilment.put_settings(s)
    return s


# ---- release -------------------------------------------------------------------------------------------------------
def release_wave(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    location_id: str,
    setup: Fulfilment,
    now: datetime,
    max_batch: int | None = None,
    advance: bool = True,
) -> Wave | None:
    """Release the location's due open fulfilment orders (ship-by first, within its horizon, up to its batch size)
    as one wave; their orders move to ``fulfilling`` in the same transaction, or (``advance=False``) afterwards with
    ``advance_wave``. None when nothing is due."""
    uow.inventory.get_location(tenant_id, location_id)
    cfg = uow.fulfilment.settings(tenant_id, location_id)
    horizon = now + timedelta(hours=cfg.horizon_hours) if cfg.horizon_hours is not None else None
    candidates = uow.fulfilment.open_at(tenant_id, location_id)
    ids = plan_wave(candidates, max_batch=max_batch or cfg.max_batch, horizon=horizon)
    if not ids:
        return None
    wave = Wave(new_id("wav"), tenant_id, location_id, now, len(ids), tuple(sorted(ids)))
    fos = uow.fulfilment.get_many(tenant_id, ids)
    for fo in fos:
        fo.move(setup.machine, "release", now)
        fo.wave_id, fo.released_at = wave.id, now
    uow.fulfilment.add_wave(wave)
    uow.fulfilment.save_many(fos)
    events: list[Any] = [_fo_event(FulfilmentOrderReleased, fo, now, release_mode=cfg.release_mode) for fo in fos]
    data = {"wave_id": wave.id, "location_id": location_id, "count": wave.count, "release_mode": cfg.release_mode}
    events.append(WaveReleased(tenant_id=tenant_id, aggregate_id=wave.id, occurred_at=now, data=data))
    uow.outbox.add(events)
    if advance:
        order_ids = sorted({fo.order_id for fo in fos})
        advance_orders(uow=uow, lifecycle=setup.lifecycle, tenant_id=tenant_id, order_ids=order_ids, now=now)
    return wave


def advance_wave(
    *, runner: TransactionRunner, tenant_id: str, wave_id: str, lifecycle: Lifecycle, now: datetime, chunk: int = 500
) -> int:
    """Move the orders of a released wave to ``fulfilling`` in transactions of ``chunk`` orders (a large wave then
    never holds the write lock for long); idempotent. Returns how many orders it looked at."""
    wave = runner.run(lambda uow: uow.fulfilment.get_wave(tenant_id, wave_id))
    fos = runner.run(lambda uow: uow.fulfilment.get_many(tenant_id, list(wave.fulfilment_order_ids)))
    order_ids = sorted({fo.order_id for fo in fos})
    for i in range(0, len(order_ids), chunk):
        part = order_ids[i : i + chunk]
        runner.run(partial(_advance, lifecycle=lifecycle, tenant_id=tenant_id, order_ids=part, now=now))
    return len(order_ids)


def _advance(uow: UnitOfWork, *, lifecycle: Lifecycle, tenant_id: str, order_ids: list[str], now: datetime) -> None:
    advance_orders(uow=uow, lifecycle=lifecycle, tenant_id=tenant_id, order_ids=order_ids, now=now)


@dataclass
class WaveOrdersHandler:
    """Reacts to ``orderloom.fulfilment.wave_released``: the wave's orders follow to ``fulfilling`` (a safety net for
    a release whose caller stopped before advancing them; a no-op when they are there already)."""

    runner: TransactionRunner
    lifecycle: Lifecycle
    clock: Callable[[], datetime]

    def __call__(self, event: dict[str, Any]) -> None:
        """Advance the wave's orders."""
        data = event.get("data") or {}
        wave_id = str(data.get("wave_id") or "")
        tenant_id = str(event.get("source", "")).rsplit("/", 1)[-1]
        if wave_id and tenant_id:
            advance_wave(
                runner=self.runner, tenant_id=tenant_id, wave_id=wave_id, lifecycle=self.lifecycle, now=self.clock()
            )


def accept_fulfilment_order(
    *, uow: UnitOfWork, tenant_id: str, fo_id: str, machine: FulfilmentMachine, now: datetime
) -> FulfilmentOrder:
    """The location takes a released fulfilment order on."""
    fo = uow.fulfilment.get(tenant_id, fo_id)
    fo.move(machine, "accept", now)
    uow.fulfilment.save_many([fo])
    uow.outbox.add([_fo_event(FulfilmentOrderAccepted, fo, now)])
    return fo


def _missing(fo: FulfilmentOrder, missing: Mapping[int, int]) -> dict[int, int]:
    errors: list[FieldError] = []
    out: dict[int, int] = {}
    for line_no, q in sorted(missing.items()):
        ln = fo.line(line_no)
        if not 0 < q <= ln.open:
            errors.append(FieldError(f"missing[{line_no}]", f"1-{ln.open} (units of line {line_no} still open)"))
        out[line_no] = q
    if errors:
        raise ValidationFailed(errors)
    return out


def _write_off(uow: UnitOfWork, fo: FulfilmentOrder, missing: Mapping[int, int], reason: str, now: datetime) -> None:
    """The units the shelf did not have leave the books (an adjustment, as much as the free stock allows)."""
    for line_no, q in sorted(missing.items()):
        sku = fo.line(line_no).sku
        balance = uow.inventory.get_balance(fo.tenant_id, sku, fo.location_id)
        free = 0 if balance is None else balance.on_hand - balance.reserved
        change = min(q, free)
        if change <= 0:
            continue
        try:
            with uow.savepoint():
                adjust_stock(
                    uow=uow,
                    tenant_id=fo.tenant_id,
                    sku=sku,
                    location_id=fo.location_id,
                    change=-change,
                    reason=f"missing at pick: {reason}"[:200],
                    reference=fo.id,
                    now=now,
                )
        except InsufficientStock:
            continue


def reject_fulfilment_order(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    fo_id: str,
    missing: Mapping[int, int],
    reason: str,
    setup: Fulfilment,
    now: datetime,
) -> dict[str, Any]:
    """The location can't fulfil units: with ``missing`` just those units (a short pick: the FO goes on with the
    rest), otherwise every open unit (the FO is rejected). The units' reservations are given back, the missing ones
    written off there, and just those lines re-routed to other locations (new open FOs); lines nobody has are
    reported."""
    fo = uow.fulfilment.get(tenant_id, fo_id)
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "say why (stock missing, damaged, ...)")])
    if fo.status in ("open", "cancel_requested") or setup.machine.terminal(fo.status):
        raise FulfilmentOrderClosed(fo.id, fo.status)
    missing = _missing(fo, missing)
    moved = dict(missing) or {ln.line_no: ln.open for ln in fo.lines if ln.open > 0}
    release_lines(
        uow=uow,
        tenant_id=tenant_id,
        order_id=fo.order_id,
        location_id=fo.location_id,
        lines=moved,
        reason=f"refused by {fo.location_id}: {reason}"[:200],
        now=now,
    )
    for line_no, q in moved.items():
        fo.line(line_no).cancelled += q
    if all(ln.open == 0 for ln in fo.lines):
        fo.move(setup.machine, "ship" if fo.shipped_units else "reject", now)
    uow.fulfilment.save_many([fo])
    _write_off(uow, fo, missing, reason, now)
    units = [[n, q] for n, q in sorted(moved.items())]
    uow.outbox.add([_fo_event(FulfilmentOrderRejected, fo, now, reason=reason, units=units)])
    demand = [Demand(n, fo.line(n).sku, q) for n, q in sorted(moved.items())]
    made = reserve_lines(
        uow=uow,
        tenant_id=tenant_id,
        order_id=fo.order_id,
        demand=demand,
        sourcing=setup.sourcing,
        exclude=frozenset({fo.location_id}),
        now=now,
    )
    order = uow.orders.get(tenant_id, fo.order_id)
    new_fos = open_fulfilment_orders(uow=uow, order=order, now=now) if made else []
    if fo.status == "shipped":
        sync_order(uow=uow, lifecycle=setup.lifecycle, tenant_id=tenant_id, order_id=fo.order_id, now=now)
    placed = {r.line_no for r in made}
    unsourced = [
        {"line_no": d.line_no, "sku": d.sku, "quantity": d.quantity} for d in demand if d.line_no not in placed
    ]
    if unsourced:
        data = {"order_id": fo.order_id, "fulfilment_order_id": fo.id, "lines": unsourced}
        uow.outbox.add(
            [FulfilmentOrderUnsourced(tenant_id=tenant_id, aggregate_id=fo.order_id, occurred_at=now, data=data)]
        )
    return {
        "fulfilment_order": fo.as_dict(),
        "rerouted_to": [x.as_dict() for x in new_fos],
        "unsourced": unsourced,
        "order_status": str(uow.orders.get(tenant_id, fo.order_id).status),
    }


# ---- confirmations -------------------------------------------------------------------------------------------------
def _replay(stored: StoredConfirmation, fo_id: str, c: Confirmation) -> dict[str, Any]:
    if stored.fo_id != fo_id or stored.digest != c.digest():
        raise ConfirmationReplayConflict(c.event_id)
    return {**stored.result, "replayed": True}


@dataclass
class _Batch:
    """What a batch of confirmations has done so far (written once at the end)."""

    stored: dict[str, StoredConfirmation]
    fos: dict[str, FulfilmentOrder]
    touched: dict[str, FulfilmentOrder]
    applied: list[tuple[str, StoredConfirmation]]
    events: list[Event]
    claimed: set[tuple[str, str]]
    shipments: list[Shipment]
    moved: set[str]  # orders whose derived status may change (units shipped, a pickup became ready)
    held: dict[str, list[Reservation]] = field(default_factory=dict)  # active stock reservations per order
    consume: list[tuple[Reservation, int]] = field(default_factory=list)  # planned; written once at the end


def _groups(c: Confirmation) -> list[tuple[str, str | None, list[str]]]:
    """The packages' tracking numbers per (carrier, service): one shipment each."""
    groups: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for p in c.packages:
        if p.tracking_number:
            groups[(p.carrier or "unknown", p.service)].append(p.tracking_number)
    return [(carrier, service, numbers) for (carrier, service), numbers in sorted(groups.items(), key=_group_key)]


def _group_key(kv: tuple[tuple[str, str | None], list[str]]) -> tuple[str, str]:
    return kv[0][0], kv[0][1] or ""


def _new_shipments(fo: FulfilmentOrder, c: Confirmation, now: datetime) -> list[Shipment]:
    """One shipment per carrier and service of the packages (built before anything changes: it may refuse)."""
    return [
        Shipment.create(
            tenant_id=fo.tenant_id,
            order_id=fo.order_id,
            carrier=carrier,
            tracking_numbers=numbers,
            now=now,
            service=service,
            origin_location_id=fo.location_id,
            shipped_at=now,
        )
        for carrier, service, numbers in _groups(c)
    ]


def _covered(held: Sequence[Reservation], location_id: str, wanted: Mapping[int, int]) -> int:
    """How many of the wanted units of lines are still reserved at the location."""
    at = [r for r in held if r.location_id == location_id]
    return sum(min(q, sum(r.quantity for r in at if r.line_no == n)) for n, q in wanted.items())


def _check_numbers(b: _Batch, c: Confirmation) -> set[tuple[str, str]]:
    """The package numbers; TrackingNumberTaken (before anything changes) if one belongs to a shipment already."""
    pairs = [(carrier, n) for carrier, _, numbers in _groups(c) for n in numbers]
    for carrier, number in pairs:
        if (carrier, number) in b.claimed or pairs.count((carrier, number)) > 1:
            raise TrackingNumberTaken(carrier, number)
    return set(pairs)


def _ready_for_pickup(uow: UnitOfWork, fo: FulfilmentOrder, now: datetime) -> str:
    code = "".join(secrets.choice(_PICKUP_ALPHABET) for _ in range(8))
    days = uow.fulfilment.settings(fo.tenant_id, fo.location_id).pickup_days
    fo.pickup_code_hash = code_digest(fo.id, code)
    fo.pickup_expires_at = now + timedelta(days=days)
    uow.outbox.add([_fo_event(ReadyForPickup, fo, now, pickup_code=code)])
    return code


def _apply_one(
    uow: TrackingUnitOfWork, b: _Batch, fo_id: str, c: Confirmation, setup: Fulfilment, now: datetime
) -> dict[str, Any]:
    c.check()
    stored = b.stored.get(c.event_id)
    if stored is not None:
        return _replay(stored, fo_id, c)
    fo = b.fos.get(fo_id)
    if fo is None:
        raise FulfilmentNotFound(fo_id)
    if c.type == "shipped" and fo.kind != FoKind.SHIP:
        raise ValidationFailed([FieldError("type", f"{fo.kind} orders are handed over with POST .../pickup")])
    made = _new_shipments(fo, c, now) if c.type == "shipped" else []
    numbers = _check_numbers(b, c) if made else set()
    before = fo.copy()
    fo.confirm(setup.machine, c, now)
    if made:  # exactly these units leave: their reservations are consumed in the ledger (in bulk, at the end)
        wanted = c.totals()
        held = b.held.setdefault(fo.order_id, [])
        parts = take_units(held, fo.location_id, wanted)
        if parts is None:
            b.fos[fo_id] = before
            if fo_id in b.touched:
                b.touched[fo_id] = before
            raise UnitsNotReserved(fo.id, sum(wanted.values()), _covered(held, fo.location_id, wanted))
        b.consume += parts
        b.shipments += made
    b.claimed |= numbers
    shipments = [x.id for x in made]
    code = _ready_for_pickup(uow, fo, now) if fo.status == "ready_for_pickup" and c.type == "packed" else None
    b.touched[fo.id] = fo
    if c.type == "shipped" or fo.status == "ready_for_pickup":
        b.moved.add(fo.order_id)
    data = {"event_id": c.event_id, "type": c.type, "units": [[n, q] for n, q in c.lines], "shipments": shipments}
    b.events.append(FulfilmentOrderConfirmed(tenant_id=fo.tenant_id, aggregate_id=fo.id, occurred_at=now, data=data))
    result: dict[str, Any] = {"event_id": c.event_id, "fulfilment_order": fo.as_dict(), "shipment_ids": shipments}
    if code is not None:
        result["pickup_code"] = code
    b.stored[c.event_id] = StoredConfirmation(fo.id, c.digest(), result)
    b.applied.append((c.event_id, b.stored[c.event_id]))
    return {**result, "replayed": False}


def confirm_batch(
    *,
    uow: TrackingUnitOfWork,
    tenant_id: str,
    items: Sequence[tuple[str, Confirmation]],
    setup: Fulfilment,
    now: datetime,
) -> list[dict[str, Any] | DomainError]:
    """Apply many picked/packed/shipped confirmations in one transaction, each once per event id (a replay returns
    the first answer, the same id with other content is refused). Each item answers with its result, or the error
    that refused it (nothing of a refused item is written). Shipped units create shipments and consume exactly
    their reservations."""
    numbers = [(carrier, n) for _, c in items if c.type == "shipped" for carrier, _, ns in _groups(c) for n in ns]
    b = _Batch(
        stored=uow.fulfilment.confirmations(tenant_id, [c.event_id for _, c in items]),
        fos={fo.id: fo for fo in uow.fulfilment.get_many(tenant_id, sorted({fo_id for fo_id, _ in items}))},
        touched={},
        applied=[],
        events=[],
        claimed=uow.shipments.taken(tenant_id, numbers) if numbers else set(),
        shipments=[],
        moved=set(),
    )
    shipping = {b.fos[fo_id].order_id for fo_id, c in items if c.type == "shipped" and fo_id in b.fos}
    b.held = uow.inventory.active_reservations_of(tenant_id, sorted(shipping)) if shipping else {}
    out: list[dict[str, Any] | DomainError] = []
    for fo_id, c in items:
        try:
            out.append(_apply_one(uow, b, fo_id, c, setup, now))
        except DomainError as exc:
            out.append(exc)
    fulfil_parts(uow=uow, parts=b.consume, now=now)
    uow.fulfilment.save_many(list(b.touched.values()))
    uow.shipments.add_many(b.shipments)
    uow.outbox.add([e for shipment in b.shipments for e in shipment.pull_events()] + b.events)
    order_ids = sorted(b.moved)  # picking and packing alone never move an order (see domain order_target)
    statuses = advance_orders(uow=uow, lifecycle=setup.lifecycle, tenant_id=tenant_id, order_ids=order_ids, now=now)
    for _, stored in b.applied:
        stored.result["order_status"] = statuses.get(b.fos[stored.fo_id].order_id)
    for item in out:
        if isinstance(item, dict) and item.get("order_status") is None:
            item["order_status"] = statuses.get(str(item["fulfilment_order"]["order_id"]))
    uow.fulfilment.add_confirmations(tenant_id, b.applied, now)
    return out


def confirm_fulfilment(
    *,
    uow: TrackingUnitOfWork,
    tenant_id: str,
    fo_id: str,
    confirmation: Confirmation,
    setup: Fulfilment,
    now: datetime,
) -> dict[str, Any]:
    """Apply one picked/packed/shipped confirmation once per event id (see ``confirm_batch``); raises its error."""
    [result] = confirm_batch(uow=uow, tenant_id=tenant_id, items=[(fo_id, confirmation)], setup=setup, now=now)
    if isinstance(result, DomainError):
        raise result
    return result


# ---- cancellation --------------------------------------------------------------------------------------------------
def _spread(live: Sequence[FulfilmentOrder], line_no: int, q: int, plan: dict[str, dict[int, int]]) -> int:
    """Put ``q`` units of a line to cancel on the live FOs (latest first); returns what did not fit."""
    left = q
    for fo in sorted(live, key=lambda f: f.created_at, reverse=True):
        for ln in fo.lines:
            take = min(ln.open - fo.cancel_lines.get(line_no, 0), left) if ln.line_no == line_no else 0
            if take > 0:
                plan[fo.id][line_no] = take
                left -= take
    return left


def _cancel_units(
    fos: Sequence[FulfilmentOrder], lines: Mapping[int, int] | None
) -> list[tuple[FulfilmentOrder, dict[int, int]]]:
    """How many open units of each line to cancel on which FO (later FOs first); CancelNotPossible if more than
    is open (those units already shipped: a return, not a cancellation)."""
    live = [fo for fo in fos if fo.status not in _DEAD]
    wanted: dict[int, int] = defaultdict(int)
    if lines is not None:
        wanted.update(lines)
    else:
        for fo in live:
            for ln in fo.lines:
                wanted[ln.line_no] += ln.open
    plan: dict[str, dict[int, int]] = defaultdict(dict)
    for line_no, q in sorted(wanted.items()):
        left = _spread(live, line_no, q, plan)
        if left > 0:
            shipped = sum(ln.shipped for fo in fos for ln in fo.lines if ln.line_no == line_no)
            raise CancelNotPossible(
                fos[0].id if fos else "-",
                f"{left} of the {q} units of line {line_no} are not open ({shipped} shipped): request a return",
            )
    if lines is None and not plan:
        raise CancelNotPossible(fos[0].id if fos else "-", "everything already shipped: request a return")
    return [(fo, plan[fo.id]) for fo in live if fo.id in plan]


def _cancel_now(uow: UnitOfWork, fo: FulfilmentOrder, units: Mapping[int, int], reason: str, now: datetime) -> None:
    release_lines(
        uow=uow,
        tenant_id=fo.tenant_id,
        order_id=fo.order_id,
        location_id=fo.location_id,
        lines=units,
        reason=reason,
        now=now,
    )
    for line_no, q in units.items():
        fo.line(line_no).cancelled += q
    uow.outbox.add([_fo_event(FulfilmentOrderCancelled, fo, now, units=[[n, q] for n, q in sorted(units.items())])])


def cancel_order_fulfilment(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    lines: Mapping[int, int] | None,
    reason: str,
    setup: Fulfilment,
    now: datetime,
) -> dict[str, Any]:
    """Cancel an order's units (all, or some per line): open FOs are cancelled at once and their stock given back;
    released ones get a cancellation request the location confirms or refuses; shipped units must be returned."""
    bad = [FieldError(f"lines[{n}].quantity", "more than 0") for n, q in sorted((lines or {}).items()) if q <= 0]
    if bad or (lines is not None and not lines):
        raise ValidationFailed(bad or [FieldError("lines", "at least one line, or leave lines out to cancel all")])
    order = uow.orders.get(tenant_id, order_id)
    fos = uow.fulfilment.of_order(tenant_id, order_id)
    if not fos:
        raise CancelNotPossible("-", f"order {order_id} has no fulfilment orders (it is {order.status})")
    changed: list[FulfilmentOrder] = []
    for fo, units in _cancel_units(fos, lines):
        if fo.status == "open":
            _cancel_now(uow, fo, units, reason, now)
            if all(ln.active == 0 for ln in fo.lines):
                fo.move(setup.machine, "cancel", now)
        else:
            fo.before_cancel = fo.status
            for line_no, q in units.items():
                fo.cancel_lines[line_no] = fo.cancel_lines.get(line_no, 0) + q
            fo.move(setup.machine, "request_cancel", now)
            uow.outbox.add([_fo_event(FulfilmentCancelRequested, fo, now, reason=reason)])
        changed.append(fo)
    uow.fulfilment.save_many(changed)
    status = _cancel_order_if_dead(uow, setup.lifecycle, tenant_id, order_id, now)
    return {
        "order_id": order_id,
        "order_status": status,
        "fulfilment_orders": [fo.as_dict() for fo in uow.fulfilment.of_order(tenant_id, order_id)],
    }


def answer_cancellation(
    *, uow: UnitOfWork, tenant_id: str, fo_id: str, confirmed: bool, setup: Fulfilment, now: datetime
) -> dict[str, Any]:
    """The location confirms (units given back, FO cancelled or finished) or refuses (FO goes on) a cancellation."""
    fo = uow.fulfilment.get(tenant_id, fo_id)
    if fo.status != "cancel_requested":
        raise FulfilmentOrderClosed(fo.id, fo.status)
    if confirmed:
        _cancel_now(uow, fo, dict(fo.cancel_lines), "cancellation confirmed by the location", now)
    if confirmed and all(ln.open == 0 for ln in fo.lines):
        fo.move(setup.machine, "close_shipped" if fo.shipped_units else "cancel_confirmed", now)
    else:
        fo.status, fo.updated_at = fo.before_cancel or "released", now
    fo.before_cancel, fo.cancel_lines = None, {}
    uow.fulfilment.save_many([fo])
    status = _cancel_order_if_dead(uow, setup.lifecycle, tenant_id, fo.order_id, now)
    return {"fulfilment_order": fo.as_dict(), "order_status": status}


# ---- store pickup --------------------------------------------------------------------------------------------------
def collect_pickup(
    *, uow: UnitOfWork, tenant_id: str, fo_id: str, code: str, paid: bool, setup: Fulfilment, now: datetime
) -> dict[str, Any]:
    """The customer collects a store pickup with its code (ROPO: once paid at the counter); the stock leaves."""
    fo = uow.fulfilment.get(tenant_id, fo_id)
    if fo.status != "ready_for_pickup":
        raise FulfilmentOrderClosed(fo.id, fo.status)
    if fo.pickup_code_hash is None or code_digest(fo.id, code) != fo.pickup_code_hash:
        raise PickupCodeMismatch(fo.id)
    if fo.kind == FoKind.ROPO and not paid:
        raise ValidationFailed([FieldError("paid", "a reserve-online-pay-in-store order is handed over once paid")])
    units = {ln.line_no: ln.open for ln in fo.lines if ln.open > 0}
    for ln in fo.lines:
        ln.shipped += ln.open
    fo.move(setup.machine, "ship", now)
    fulfil_lines(uow=uow, tenant_id=tenant_id, order_id=fo.order_id, location_id=fo.location_id, lines=units, now=now)
    uow.fulfilment.save_many([fo])
    uow.outbox.add([_fo_event(PickupCollected, fo, now, paid_in_store=fo.kind == FoKind.ROPO)])
    status = sync_order(uow=uow, lifecycle=setup.lifecycle, tenant_id=tenant_id, order_id=fo.order_id, now=now)
    return {"fulfilment_order": fo.as_dict(), "order_status": status}


def expire_pickups(
    *, uow: UnitOfWork, setup: Fulfilment, now: datetime, limit: int = 500, tenant_id: str | None = None
) -> int:
    """Store pickups not collected in time (of one tenant, or all): their units go back to stock and the FO is
    cancelled (the order too, when nothing else is left of it). Returns how many expired."""
    due = uow.fulfilment.pickups_due(now, limit, tenant_id)
    for fo in due:
        units = {ln.line_no: ln.open for ln in fo.lines if ln.open > 0}
        release_lines(
            uow=uow,
            tenant_id=fo.tenant_id,
            order_id=fo.order_id,
            location_id=fo.location_id,
            lines=units,
            reason="pickup not collected in time",
            now=now,
        )
        for ln in fo.lines:
            ln.cancelled += ln.open
        fo.move(setup.machine, "expire_pickup", now)
        uow.fulfilment.save_many([fo])
        uow.outbox.add([_fo_event(PickupExpired, fo, now)])
        _cancel_order_if_dead(uow, setup.lifecycle, fo.tenant_id, fo.order_id, now)
    return len(due)


# ---- pick lists and webhook release --------------------------------------------------------------------------------
def pick_list(*, store: FulfilmentRepository, tenant_id: str, wave_id: str) -> list[dict[str, Any]]:
    """One row per FO line of a wave (what a file-only warehouse picks), by FO then line."""
    wave = store.get_wave(tenant_id, wave_id)
    rows = []
    for fo in store.get_many(tenant_id, list(wave.fulfilment_order_ids)):
        for ln in fo.lines:
            rows.append(
                {
                    "wave_id": wave.id,
                    "location_id": fo.location_id,
                    "fulfilment_order_id": fo.id,
                    "order_id": fo.order_id,
                    "status": fo.status,
                    "ship_by": fo.ship_by.isoformat() if fo.ship_by else "",
                    "service_level": fo.service_level,
                    "line_no": ln.line_no,
                    "sku": ln.sku,
                    "quantity": ln.open,
                    "gift_message": fo.notes.get("gift_message", ""),
                    "packing_notes": fo.notes.get("packing_notes", ""),
                }
            )
    return rows


def _mark(uow: UnitOfWork, *, fo: FulfilmentOrder, at: datetime | None, error: str | None) -> None:
    uow.fulfilment.mark_dispatched(fo.tenant_id, fo.id, at, error)


def dispatch_releases(
    *, runner: TransactionRunner, channel: ReleaseChannel, now: Callable[[], datetime], limit: int = 100
) -> tuple[int, int]:
    """Send released FOs of webhook-mode locations to their WMS as signed CloudEvents; (delivered, failed).
    Failures stay undispatched and are retried on the next run."""
    todo: list[tuple[FulfilmentOrder, LocationFulfilment]] = runner.run(
        lambda uow: [
            (fo, uow.fulfilment.settings(fo.tenant_id, fo.location_id)) for fo in uow.fulfilment.undispatched(limit)
        ]
    )
    sent = failed = 0
    for fo, cfg in todo:
        event = to_cloudevent(_fo_event(FulfilmentOrderReleased, fo, now(), release_mode="webhook"))
        error: str | None = None
        try:
            code = channel.send(url=cfg.webhook_url or "", secret=cfg.webhook_secret or "", event=event)
            error = None if 200 <= code < 300 else f"HTTP {code}"
        except (OSError, RuntimeError, DomainError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        at = None if error else now()
        runner.run(partial(_mark, fo=fo, at=at, error=error))
        sent, failed = (sent + 1, failed) if error is None else (sent, failed + 1)
    return sent, failed
