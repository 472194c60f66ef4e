"""The periodic dual-price LP of the running service (Acimovic & Graves 2015 style) and the routing worker's tick.

Expected demand is the mix of the orders currently allocated (SKU units per destination cell: country and 1° of
latitude/longitude), scaled by ``scale`` (expected orders over the horizon / orders in the sample); supply is the
stock available now. The transportation LP meets that demand at the cost model's per-unit price of each (cell,
location) pair, or leaves it unmet at ``penalty`` per unit; the dual of each stock row is its opportunity cost. The
caller stores the prices (``DualPriceStore``) once the read transaction is over; every process's ``CostRouter``
reads them.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderloom.application.inventory import sourcing_inputs
from orderloom.application.ports import UnitOfWork
from orderloom.application.routing_ports import LpSolution, TransportSolver
from orderloom.domain.inventory import Location
from orderloom.domain.routing import RateTable, RouteRequest, route
from orderloom.domain.sourcing import Demand, ShipTo

__all__ = ["Cell", "DualRefresh", "dual_prices", "expected_demand", "refresh_duals", "unit_cost"]

Cell = tuple[str | None, int | None, int | None]  # destination country, floor(latitude), floor(longitude)


@dataclass(frozen=True, slots=True)
class DualRefresh:
    """What one LP run saw and found."""

    tenant_id: str
    orders: int
    demand_cells: int
    supplies: int
    priced: int  # (SKU, location) pairs with a positive opportunity cost
    status: str
    objective: float
    prices: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "tenant_id": self.tenant_id,
            "orders": self.orders,
            "demand_cells": self.demand_cells,
            "supplies": self.supplies,
            "priced": self.priced,
            "status": self.status,
            "objective": round(self.objective, 2),
        }


def _cell(to: ShipTo) -> Cell:
    if to.latitude is None or to.longitude is None:
        return (to.country, None, None)
    return (to.country, math.floor(to.latitude), math.floor(to.longitude))


def expected_demand(
    sample: Sequence[tuple[Sequence[Demand], ShipTo]], scale: float
) -> tuple[dict[tuple[Cell, str], float], dict[Cell, ShipTo]]:
    """Units per (destination cell, SKU) of a sample of orders, times ``scale``, and a ship-to point per cell."""
    demand: dict[tuple[Cell, str], float] = {}
    points: dict[Cell, ShipTo] = {}
    for lines, to in sample:
        cell = _cell(to)
        if cell not in points:
            lat = None if cell[1] is None else cell[1] + 0.5
            lon = None if cell[2] is None else cell[2] + 0.5
            points[cell] = ShipTo(to.country, lat, lon)
        for d in lines:
            demand[(cell, d.sku)] = demand.get((cell, d.sku), 0.0) + d.quantity * scale
    return demand, points


def unit_cost(rates: RateTable, loc: Location, to: ShipTo, sku: str, now: datetime) -> float:
    """The cost model's price of shipping one unit of a SKU alone from a location (inf when it can't)."""
    req = RouteRequest(demand=[Demand(1, sku, 1)], ship_to=to, locations=(loc,), available={(sku, loc.id): 1}, now=now)
    total = route(req, rates).total
    return math.inf if total is None else float(total)


def dual_prices(
    *,
    rates: RateTable,
    locations: Sequence[Location],
    available: Mapping[tuple[str, str], float],
    demand: Mapping[tuple[Cell, str], float],
    points: Mapping[Cell, ShipTo],
    solve: TransportSolver,
    now: datetime,
    penalty: float = 100.0,
) -> tuple[dict[tuple[str, str], Decimal], LpSolution]:
    """Opportunity cost per unit of (SKU, location) stock: the supply duals of the transportation LP."""
    by_id = {loc.id: loc for loc in locations}
    stock = [(sku, loc) for (sku, loc), v in sorted(available.items()) if v > 0 and loc in by_id]
    supplies: dict[Hashable, float] = {k: float(available[k]) for k in stock}
    costs: dict[tuple[Cell, str], float] = {}
    arcs: list[tuple[Hashable, Hashable, float]] = []
    for cell, sku in demand:
        for held, loc_id in stock:
            if held != sku:
                continue
            pair = (cell, loc_id)
            if pair not in costs:
                costs[pair] = unit_cost(rates, by_id[loc_id], points[cell], sku, now)
            if math.isfinite(costs[pair]):
                arcs.append(((cell, sku), (held, loc_id), costs[pair]))
    demands: dict[Hashable, float] = {k: v for k, v in demand.items() if v > 0}
    sol = solve(demands=demands, supplies=supplies, arcs=arcs, penalty=penalty)
    prices = {k: v for k, v in sol.opportunity.items() if v > 0}
    return prices, sol  # type: ignore[return-value]


def refresh_duals(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    rates: RateTable,
    solve: TransportSolver,
    now: datetime,
    scale: float = 1.0,
    penalty: float = 100.0,
) -> DualRefresh:
    """Solve the dual-price LP over the tenant's expected demand and stock now (store ``.prices`` after commit)."""
    sample: list[tuple[Sequence[Demand], ShipTo]] = []
    for order_id in uow.routing.orders_allocated_at(tenant_id, None):
        demand_lines, ship_to, _ = sourcing_inputs(uow.orders.get(tenant_id, order_id), now)
        sample.append((demand_lines, ship_to))
    demand, points = expected_demand(sample, scale)
    if not demand:
        return DualRefresh(tenant_id, 0, 0, 0, 0, "empty", 0.0)
    skus = sorted({sku for _, sku in demand})
    available = {(b.sku, b.location_id): float(b.available) for b in uow.inventory.balances(tenant_id, skus)}
    locations = uow.inventory.list_locations(tenant_id)
    prices, sol = dual_prices(
        rates=rates,
        locations=locations,
        available=available,
        demand=demand,
        points=points,
        solve=solve,
        now=now,
        penalty=penalty,
    )
    supplies = sum(1 for v in available.values() if v > 0)
    return DualRefresh(tenant_id, len(sample), len(points), supplies, len(prices), sol.status, sol.objective, prices)
