"""Routing simulation: replay an order stream against a network with the online router, a naive baseline and the
hindsight LP bound, all priced with the same cost model.

Policies:

* ``naive`` — nearest location holding every line (each line at the nearest holder when splits are allowed);
* ``online`` — the cost router with opportunity costs from a periodic LP (re-solved every ``lp_every`` orders over
  the remaining expected demand and the remaining stock);
* ``myopic`` — the cost router without opportunity costs;
* ``hindsight`` — the whole stream solved as one transportation LP (each order line a demand; a lower bound on the
  cost of any policy that ships lines whole, splits costed per line).

Expected demand for the periodic LP is the stream's demand per region (1° grid cell) and SKU, scaled to the share of
the stream still to come — a perfect forecast of volumes, not of the order sequence. Orders the network can't serve
cost ``unmet_penalty`` per unit in every policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from orderloom.application.routing_ports import TransportSolver
from orderloom.domain.errors import DomainError
from orderloom.domain.inventory import Capability, Location, LocationType
from orderloom.domain.routing import RateTable, RouteRequest, RoutingDecision, SplitPolicy, route, route_nearest
from orderloom.domain.sourcing import Demand, ShipTo

__all__ = ["InvalidNetwork", "PolicyResult", "SimNetwork", "SimOrder", "parse_network", "parse_orders", "simulate"]

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


class InvalidNetwork(DomainError):
    """A network or order file that can't be simulated; the message names the row."""


@dataclass(frozen=True, slots=True)
class SimOrder:
    """One order of the stream."""

    id: str
    ship_to: ShipTo
    lines: tuple[Demand, ...]
    policy: SplitPolicy = SplitPolicy.NEVER


@dataclass(frozen=True, slots=True)
class SimNetwork:
    """Locations and their starting stock."""

    locations: tuple[Location, ...]
    stock: Mapping[tuple[str, str], int]


@dataclass
class PolicyResult:
    """Totals of one policy over the stream."""

    name: str
    cost: Decimal = Decimal(0)
    orders: int = 0
    shipments: int = 0
    split_orders: int = 0
    unserved: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready with the per-order figures."""
        n = max(self.orders, 1)
        return {
            "policy": self.name,
            "total_cost": str(self.cost.quantize(Decimal("0.01"))),
            "shipments_per_order": round(self.shipments / n, 4),
            "split_rate": round(self.split_orders / n, 4),
            "unserved_rate": round(self.unserved / n, 4),
            "seconds": round(self.seconds, 4),
            **self.extra,
        }


def _num(raw: Any, where: str, *, integer: bool = False) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError) as e:
        raise InvalidNetwork(f"{where}: not a number ({raw!r})") from e
    if not math.isfinite(value) or value < 0 or (integer and value != int(value)):
        kind = "a whole number ≥ 0" if integer else "a number ≥ 0"
        raise InvalidNetwork(f"{where}: must be {kind} ({raw!r})")
    return value


def _coord(row: Mapping[str, Any], where: str) -> tuple[float, float]:
    try:
        lat, lon = float(row["latitude"]), float(row["longitude"])
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidNetwork(f"{where}: latitude and longitude are required numbers") from e
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidNetwork(f"{where}: coordinates out of range")
    return lat, lon


def parse_network(raw: Mapping[str, Any]) -> SimNetwork:
    """A network from its JSON form ``{"locations": [{id, latitude, longitude, country?, type?, capabilities?,
    stock: {sku: units}}]}``; InvalidNetwork names the bad row."""
    rows = raw.get("locations")
    if not isinstance(rows, list) or not rows:
        raise InvalidNetwork("locations: a non-empty list is required")
    locations: list[Location] = []
    stock: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        where = f"locations[{i}]"
        loc_id = str(row.get("id") or "")
        if not loc_id:
            raise InvalidNetwork(f"{where}.id: required")
        lat, lon = _coord(row, where)
        caps = frozenset(Capability(c) for c in row.get("capabilities", ["ship"]))
        locations.append(
            Location(
                id=loc_id,
                tenant_id="sim",
                name=loc_id,
                type=LocationType(row.get("type", "warehouse")),
                country=row.get("country"),
                latitude=lat,
                longitude=lon,
                capabilities=caps,
            )
        )
        for sku, units in (row.get("stock") or {}).items():
            stock[(str(sku), loc_id)] = int(_num(units, f"{where}.stock.{sku}", integer=True))
    return SimNetwork(tuple(locations), stock)


def parse_orders(rows: Sequence[Mapping[str, Any]]) -> list[SimOrder]:
    """Orders from their JSON form ``[{id, latitude, longitude, country?, split_policy?, lines: [{sku, quantity}]}]``;
    InvalidNetwork names the bad row."""
    orders: list[SimOrder] = []
    for i, row in enumerate(rows):
        where = f"orders[{i}]"
        lat, lon = _coord(row, where)
        lines = row.get("lines")
        if not isinstance(lines, list) or not lines:
            raise InvalidNetwork(f"{where}.lines: a non-empty list is required")
        demand = tuple(
            Demand(n + 1, str(x["sku"]), int(_num(x.get("quantity"), f"{where}.lines[{n}].quantity", integer=True)))
            for n, x in enumerate(lines)
        )
        if any(d.quantity == 0 for d in demand):
            raise InvalidNetwork(f"{where}.lines: quantities must be at least 1")
        policy = str(row.get("split_policy", "never"))
        if policy not in SplitPolicy.__members__.values():
            raise InvalidNetwork(f"{where}.split_policy: never, allow or ship_complete")
        orders.append(
            SimOrder(str(row.get("id", i)), ShipTo(row.get("country"), lat, lon), demand, SplitPolicy(policy))
        )
    return orders


def _unit_cost(table: RateTable, loc: Location, to: ShipTo, sku: str, qty: int) -> float:
    """Per-unit cost of shipping ``qty`` of a SKU alone from a location (the LP's arc cost)."""
    req = RouteRequest(
        demand=[Demand(1, sku, qty)], ship_to=to, locations=(loc,), available={(sku, loc.id): qty}, now=NOW
    )
    d = route(req, table)
    return float(d.total) / qty if d.total is not None else math.inf


def _region(to: ShipTo) -> tuple[int, int]:
    return (math.floor(to.latitude or 0), math.floor(to.longitude or 0))


def _charge(result: PolicyResult, d: RoutingDecision, order: SimOrder, penalty: Decimal) -> None:
    result.orders += 1
    if not d.shipments:
        result.unserved += 1
        result.cost += penalty * sum(x.quantity for x in order.lines)
        return
    result.shipments += len(d.shipments)
    result.split_orders += d.is_split
    # the plan's cost without opportunity costs: what the network really pays
    result.cost += (d.total or Decimal(0)) - sum((s.opportunity for s in d.shipments), Decimal(0))


def _take(stock: dict[tuple[str, str], int], d: RoutingDecision, order: SimOrder) -> None:
    by_line = {x.line_no: x for x in order.lines}
    for s in d.shipments:
        for n in s.lines:
            stock[(by_line[n].sku, s.location_id)] -= by_line[n].quantity


@dataclass
class _Forecast:
    """Expected demand per (region, SKU) and a representative ship-to per region."""

    demand: dict[tuple[tuple[int, int], str], float]
    points: dict[tuple[int, int], ShipTo]

    @classmethod
    def of(cls, orders: Sequence[SimOrder]) -> _Forecast:
        demand: dict[tuple[tuple[int, int], str], float] = {}
        points: dict[tuple[int, int], ShipTo] = {}
        for o in orders:
            r = _region(o.ship_to)
            points.setdefault(r, ShipTo(o.ship_to.country, r[0] + 0.5, r[1] + 0.5))
            for x in o.lines:
                demand[(r, x.sku)] = demand.get((r, x.sku), 0.0) + x.quantity
        return cls(demand, points)


def _duals(
    solve: TransportSolver,
    table: RateTable,
    network: SimNetwork,
    stock: Mapping[tuple[str, str], int],
    forecast: _Forecast,
    share: float,
    penalty: float,
) -> dict[tuple[str, str], Decimal]:
    demands: dict[Hashable, float] = {k: v * share for k, v in forecast.demand.items() if v * share > 0}
    supplies: dict[Hashable, float] = {k: float(v) for k, v in stock.items() if v > 0}
    by_id = {x.id: x for x in network.locations}
    arcs: list[tuple[Hashable, Hashable, float]] = []
    for (region, sku), _ in forecast.demand.items():
        for (s, loc_id), units in stock.items():
            if s == sku and units > 0:
                c = _unit_cost(table, by_id[loc_id], forecast.points[region], sku, 1)
                if math.isfinite(c):
                    arcs.append(((region, sku), (s, loc_id), c))
    sol = solve(demands=demands, supplies=supplies, arcs=arcs, penalty=penalty)
    return {k: v for k, v in sol.opportunity.items() if v > 0}  # type: ignore[misc]


def _hindsight(
    solve: TransportSolver, table: RateTable, network: SimNetwork, orders: Sequence[SimOrder], penalty: float
) -> PolicyResult:
    result = PolicyResult("hindsight_lp")
    demands: dict[Hashable, float] = {}
    arcs: list[tuple[Hashable, Hashable, float]] = []
    for o in orders:
        for x in o.lines:
            demands[(o.id, x.line_no)] = float(x.quantity)
            for loc in network.locations:
                if network.stock.get((x.sku, loc.id), 0) > 0:
                    c = _unit_cost(table, loc, o.ship_to, x.sku, x.quantity)
                    if math.isfinite(c):
                        arcs.append(((o.id, x.line_no), (x.sku, loc.id), c))
    supplies: dict[Hashable, float] = {k: float(v) for k, v in network.stock.items() if v > 0}
    sol = solve(demands=demands, supplies=supplies, arcs=arcs, penalty=penalty)
    result.orders = len(orders)
    result.unserved = len({key[0] for key in sol.unmet if isinstance(key, tuple)})
    result.cost = Decimal(str(round(sol.objective, 2)))
    result.extra = {
        "solver_status": sol.status,
        "note": "LP lower bound; unserved = orders with any unmet (possibly fractional) units",
        "unmet_units": round(sum(sol.unmet.values()), 2),
    }
    return result


def simulate(
    *,
    orders: Sequence[SimOrder],
    network: SimNetwork,
    rates: RateTable,
    solve: TransportSolver,
    clock: Callable[[], float],
    lp_every: int = 250,
    dual_scale: Decimal = Decimal(1),
    unmet_penalty: Decimal = Decimal(100),
) -> list[PolicyResult]:
    """Replay the stream with each policy; results in the order naive, myopic, online, hindsight."""
    forecast = _Forecast.of(orders)
    results: list[PolicyResult] = []
    for name in ("naive", "myopic", "online"):
        result, stock = PolicyResult(name), dict(network.stock)
        duals: dict[tuple[str, str], Decimal] = {}
        lps = 0
        started = clock()
        for i, o in enumerate(orders):
            if name == "online" and i % lp_every == 0:
                share = (len(orders) - i) / len(orders)
                duals = _duals(solve, rates, network, stock, forecast, share, float(unmet_penalty))
                duals = {k: v * dual_scale for k, v in duals.items()}
                lps += 1
            req = RouteRequest(
                demand=o.lines,
                ship_to=o.ship_to,
                locations=network.locations,
                available=stock,
                now=NOW,
                policy=o.policy,
                duals=duals,
            )
            d = route_nearest(req, rates) if name == "naive" else route(req, rates)
            _charge(result, d, o, unmet_penalty)
            _take(stock, d, o)
        result.seconds = clock() - started
        if name == "online":
            result.extra = {"lp_solves": lps}
        results.append(result)
    started = clock()
    hind = _hindsight(solve, rates, network, orders, float(unmet_penalty))
    hind.seconds = clock() - started
    results.append(hind)
    return results
