"""Batch re-optimisation: allocated-but-unreleased orders re-assigned jointly (a MIP over single-location plans)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderloom.application.inventory import STOCK, release_order, reserve_order, sourcing_inputs
from orderloom.application.inventory_ports import SourcingContext, SourcingPlan
from orderloom.application.ports import UnitOfWork
from orderloom.application.routing import CostRouter, promise_changed, promise_of
from orderloom.application.routing_ports import AssignmentSolver, RoutingRecord
from orderloom.domain.inventory import Location, ReservationStatus
from orderloom.domain.routing_events import OrderRerouted
from orderloom.domain.sourcing import Demand, ShipTo

__all__ = ["BatchReport", "optimize_allocations"]


@dataclass(frozen=True, slots=True)
class BatchReport:
    """What a re-optimisation found and (unless a dry run) did."""

    considered: int
    moved: dict[str, tuple[str, str]]  # order → (from, to)
    method: str
    solver_status: str
    cost_before: Decimal
    cost_after: Decimal
    applied: bool
    promise_changed: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # order → (old, new)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "considered": self.considered,
            "moved": {k: {"from": a, "to": b} for k, (a, b) in self.moved.items()},
            "method": self.method,
            "solver_status": self.solver_status,
            "cost_before": str(self.cost_before),
            "cost_after": str(self.cost_after),
            "applied": self.applied,
            "promise_changed": {k: {"from": a, "to": b} for k, (a, b) in self.promise_changed.items()},
        }


@dataclass(frozen=True, slots=True)
class _Fixed:
    """A Sourcing that proposes one given location (the batch's decision)."""

    location_id: str
    explanation: Mapping[str, Any]
    split: tuple[tuple[int, str], ...] = ()  # (line, location): put a split order back as it was

    def plan(self, **_: Any) -> SourcingPlan:
        if self.split:
            return SourcingPlan((), self.split, prefer_split=True, explanation=self.explanation)
        return SourcingPlan((self.location_id,), explanation=self.explanation)


SPLIT = "(current split)"  # the option of keeping a split order's current plan


@dataclass(frozen=True, slots=True)
class _Item:
    order_id: str
    home: str  # the location holding the whole order, or SPLIT
    demand: list[Demand]
    ship_to: ShipTo
    context: SourcingContext
    held: dict[tuple[str, str], int]  # (SKU, location) → units reserved now
    lines: tuple[tuple[int, str], ...]  # (line number, location) of the current plan


def _items(uow: UnitOfWork, tenant_id: str, now: datetime) -> list[_Item]:
    """Allocated orders with every line reserved: whole at one location, or split over several."""
    items = []
    for order_id in uow.routing.orders_allocated_at(tenant_id, None):
        order = uow.orders.get(tenant_id, order_id)
        held = [
            r for r in uow.inventory.reservations_of(tenant_id, order_id, ReservationStatus.ACTIVE) if r.kind == STOCK
        ]
        homes = {r.location_id for r in held}
        demand, ship_to, context = sourcing_inputs(order, now)
        where = {(r.line_no, r.location_id) for r in held}
        if order.status.main != "allocated" or sorted(n for n, _ in where) != sorted(d.line_no for d in demand):
            continue  # not allocated, partly reserved, or a line spread over several locations: left as it is
        units: dict[tuple[str, str], int] = {}
        for r in held:
            units[(r.sku, r.location_id)] = units.get((r.sku, r.location_id), 0) + r.quantity
        home = homes.pop() if len(homes) == 1 else SPLIT
        items.append(_Item(order_id, home, demand, ship_to, context, units, tuple(sorted(where))))
    return items


def _options(
    router: CostRouter, items: Sequence[_Item], locations: list[Location], capacity: Mapping[tuple[str, str], int]
) -> dict[str, dict[str, float]]:
    """Per order: each single location that could hold it all, at its real cost (the joint MIP weighs the stock
    itself, so no dual prices), plus, for a split order, its current plan."""
    options: dict[str, dict[str, float]] = {}
    for it in items:
        decision, _ = router.decide(
            demand=it.demand,
            ship_to=it.ship_to,
            locations=locations,
            available=capacity,
            context=it.context,
            opportunity=False,
        )
        costs = {loc: float(total) for loc, _, total in decision.singles}
        if it.home == SPLIT:
            current = _current_cost(router, it, locations)
            if current is not None:
                costs[SPLIT] = current
        if it.home in costs:
            options[it.order_id] = costs
    return options


def _current_cost(router: CostRouter, it: _Item, locations: Sequence[Location]) -> float | None:
    """The cost of a split order's plan over the locations it is reserved at (the router re-prices that plan)."""
    homes = {loc for _, loc in it.held}
    decision, _ = router.decide(
        demand=it.demand,
        ship_to=it.ship_to,
        locations=[loc for loc in locations if loc.id in homes],
        available=it.held,
        allow_split=True,
        context=replace(it.context, split_policy="allow"),
        opportunity=False,
    )
    return None if decision.total is None else float(decision.total)


def optimize_allocations(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    router: CostRouter,
    solve: AssignmentSolver,
    now: datetime,
    time_limit: float = 10.0,
    apply: bool = True,
) -> BatchReport:
    """Re-assign allocated orders jointly at least total cost; moves go through release + reserve, with a routing
    record and an OrderRerouted event each. ``apply=False`` only reports."""
    items = _items(uow, tenant_id, now)
    locations = uow.inventory.list_locations(tenant_id)
    skus = sorted({d.sku for it in items for d in it.demand})
    capacity = {(b.sku, b.location_id): b.available for b in uow.inventory.balances(tenant_id, skus)}
    for it in items:  # the batch's own reservations are free to move
        for key, units in it.held.items():
            capacity[key] = capacity.get(key, 0) + units
    options = _options(router, items, locations, capacity)
    batch = [it for it in items if it.order_id in options]
    usage = {it.order_id: _usage(it.demand) for it in batch}
    homes = {it.order_id: it.home for it in batch}
    if not batch:
        return BatchReport(0, {}, "none", "empty", Decimal(0), Decimal(0), apply)
    result = solve(
        options=options,
        usage=usage,
        capacity={k: float(v) for k, v in capacity.items()},
        fallback=homes,
        time_limit=time_limit,
        option_usage={(i.order_id, SPLIT): {k: float(v) for k, v in i.held.items()} for i in batch if i.home == SPLIT},
    )
    before = Decimal(str(round(sum(options[o][h] for o, h in homes.items()), 2)))
    after = Decimal(str(round(sum(options[o][c] for o, c in result.choice.items()), 2)))
    moved = {o: (homes[o], c) for o, c in sorted(result.choice.items()) if c != homes[o]}
    changed: dict[str, tuple[str | None, str | None]] = {}
    if apply and moved:
        movers = [it for it in batch if it.order_id in moved]
        placed = _apply(uow, tenant_id, movers, moved, options, result.method, now)
        for it in movers:
            change = _record(uow, tenant_id, it, placed[it.order_id], router, locations, now)
            if change is not None:
                changed[it.order_id] = change
    return BatchReport(len(batch), moved, result.method, result.status, before, after, apply, changed)


def _record(
    uow: UnitOfWork,
    tenant_id: str,
    it: _Item,
    placed: dict[str, Any],
    router: CostRouter,
    locations: Sequence[Location],
    now: datetime,
) -> tuple[str | None, str | None] | None:
    """Store the moved order's routing record with its new shipment and delivery estimate; tell the customer (outbox)
    when the date changed, and return (old, new) then."""
    before = promise_of(uow.routing.of_order(tenant_id, it.order_id))
    where = placed.get("reserved_at") or []
    here = [loc for loc in locations if loc.id in where]
    stock = {(d.sku, loc.id): d.quantity for d in it.demand for loc in here}
    decision, _ = router.decide(
        demand=it.demand, ship_to=it.ship_to, locations=here, available=stock, context=it.context, opportunity=False
    )
    record = {**placed, "chosen": [s.as_dict() for s in decision.shipments]}
    uow.routing.add(RoutingRecord(tenant_id, it.order_id, now, record))
    after = promise_of([RoutingRecord(tenant_id, it.order_id, now, record)])
    event = promise_changed(tenant_id, it.order_id, before, after, "batch re-optimisation", now)
    if event is None:
        return None
    uow.outbox.add([event])
    return (before, after)


def _usage(demand: Sequence[Demand]) -> dict[str, float]:
    out: dict[str, float] = {}
    for d in demand:
        out[d.sku] = out.get(d.sku, 0.0) + d.quantity
    return out


def _apply(
    uow: UnitOfWork,
    tenant_id: str,
    items: Sequence[_Item],
    moved: Mapping[str, tuple[str, str]],
    options: Mapping[str, Mapping[str, float]],
    method: str,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Release every mover, reserve each at its new location (home if refused); the explanation per order."""
    placed: dict[str, dict[str, Any]] = {}
    for it in items:  # release every mover first: swaps between locations need the freed units
        release_order(uow=uow, tenant_id=tenant_id, order_id=it.order_id, reason="batch re-optimisation", now=now)
    for it in items:
        old, new = moved[it.order_id]
        summary = (
            f"re-optimised ({method}): {old} {options[it.order_id][old]:.2f} → {new} {options[it.order_id][new]:.2f}"
        )
        explanation = {"summary": summary, "method": method, "from": old, "to": new}
        alloc = None
        for target in (new, old):  # the MIP respected stock; a daily capacity may still refuse
            alloc = reserve_order(
                uow=uow,
                tenant_id=tenant_id,
                order_id=it.order_id,
                demand=it.demand,
                ship_to=it.ship_to,
                sourcing=_Fixed(target, explanation, it.lines if target == SPLIT else ()),
                now=now,
            )
            if alloc.location_id is not None:
                break
        where = alloc.locations if alloc is not None else []
        placed[it.order_id] = {**explanation, "reserved_at": where}
        uow.outbox.add(
            [
                OrderRerouted(
                    tenant_id=tenant_id,
                    aggregate_id=it.order_id,
                    occurred_at=now,
                    data={"order_id": it.order_id, "from": old, "to": where, "reason": summary},
                )
            ]
        )
    return placed
