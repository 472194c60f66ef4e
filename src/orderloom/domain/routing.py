"""Cost-based routing: which location(s) and carrier service ship an order at the lowest total cost.

A candidate is a (location, carrier service) pair. Its cost is the location's handling cost, the shipping cost from
the rate table (zone by great-circle distance band, first kilogram plus each further started kilogram), the
opportunity cost of the stock it uses (LP dual prices per SKU and location, when known) and a lateness penalty when
the estimate (next shipping day after the cut-off + transit days) misses the promised date. Hard constraints: stock,
capacity left, cold chain, cross border, rule-set exclusions and ``route_to``. A split is considered only when the
split policy allows it, and chosen only when it is cheaper than every single-location plan (or none exists); each
extra shipment costs the split penalty. Ties break on opportunity cost, shipments, distance (whole km), location id
then service name, so decisions are deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import combinations
from typing import Any

from orderloom.domain.errors import DomainError
from orderloom.domain.inventory import Capability, Location, capacity_day
from orderloom.domain.routing_feeds import FeedAdjustments
from orderloom.domain.routing_trade import TradeRules
from orderloom.domain.sourcing import Demand, ShipTo, haversine_km, rank_single_locations, split_lines

__all__ = [
    "CarrierService",
    "InvalidRateTable",
    "RateTable",
    "RouteRequest",
    "RoutingDecision",
    "Shipment",
    "SplitPolicy",
    "explain_line",
    "parse_rate_table",
    "route",
    "route_nearest",
]

CENT = Decimal("0.01")
_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "BRL": "R$"}
MAX_SPLIT = 3  # at most this many shipments per order


class SplitPolicy(StrEnum):
    """A customer's split preference: ``never`` one shipment; ``allow`` splits (and partial holds); ``ship_complete``
    splits but everything or nothing."""

    NEVER = "never"
    ALLOW = "allow"
    SHIP_COMPLETE = "ship_complete"


class InvalidRateTable(DomainError):
    """A rate table that can't be used; names the entry."""


@dataclass(frozen=True, slots=True)
class CarrierService:
    """A carrier service: per zone the first-kilogram price, the price per further kilogram and the transit days."""

    name: str
    first_kg: tuple[Decimal, ...]
    extra_kg: tuple[Decimal, ...]
    transit_days: tuple[int, ...]
    cross_border: bool = True
    daily_capacity: int | None = None  # shipments a day the carrier takes from us (None: unlimited)

    def cost(self, zone: int, weight_kg: Decimal) -> Decimal:
        """Price of one parcel of this weight in this zone."""
        extra = max(0, math.ceil(weight_kg) - 1)
        return self.first_kg[zone] + self.extra_kg[zone] * extra


@dataclass(frozen=True, slots=True)
class RateTable:
    """Zones by distance band, carrier services, handling per location type (or id) and the fixed penalties."""

    currency: str
    zone_limits_km: tuple[float, ...]  # upper bound of each zone but the last, ascending
    services: tuple[CarrierService, ...]
    handling: Mapping[str, Decimal]  # by location id or location type
    split_penalty: Decimal
    late_penalty: Decimal
    unit_weight_kg: Decimal
    default_distance_km: float = 1000.0  # when coordinates are missing
    cross_border_surcharge: Decimal = Decimal(0)

    def zone(self, km: float) -> int:
        """The zone index of a distance."""
        for i, limit in enumerate(self.zone_limits_km):
            if km <= limit:
                return i
        return len(self.zone_limits_km)

    def handling_of(self, loc: Location) -> Decimal:
        """Handling cost per shipment at a location (its id, else its type, else ``default``)."""
        return self.handling.get(loc.id) or self.handling.get(str(loc.type)) or self.handling.get("default", Decimal(0))


def _dec(value: Any, where: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except ArithmeticError as e:
        raise InvalidRateTable(f"{where}: not a number ({value!r})") from e
    if not d.is_finite() or d < 0:
        raise InvalidRateTable(f"{where}: must be a number ≥ 0 ({value!r})")
    return d


def _service(raw: Mapping[str, Any], zones: int) -> CarrierService:
    name = str(raw.get("name") or "")
    if not name:
        raise InvalidRateTable("services: every service needs a name")
    rows = raw.get("zones")
    if not isinstance(rows, list) or len(rows) != zones:
        raise InvalidRateTable(f"service {name}: zones must list {zones} entries (one per zone)")
    first = tuple(_dec(r.get("first_kg"), f"service {name} zone {i} first_kg") for i, r in enumerate(rows))
    extra = tuple(_dec(r.get("extra_kg", 0), f"service {name} zone {i} extra_kg") for i, r in enumerate(rows))
    days = tuple(int(_dec(r.get("days"), f"service {name} zone {i} days")) for i, r in enumerate(rows))
    cap = raw.get("daily_capacity")
    capacity = None if cap is None else int(_dec(cap, f"service {name} daily_capacity"))
    return CarrierService(name, first, extra, days, bool(raw.get("cross_border", True)), capacity)


def parse_rate_table(raw: Mapping[str, Any]) -> RateTable:
    """A rate table from its data form (``data/routing/rates.yaml``); InvalidRateTable names a bad entry."""
    limits = tuple(float(_dec(x, "zone_limits_km")) for x in raw.get("zone_limits_km") or ())
    if list(limits) != sorted(limits):
        raise InvalidRateTable("zone_limits_km: must be ascending")
    services = tuple(_service(s, len(limits) + 1) for s in raw.get("services") or ())
    if not services:
        raise InvalidRateTable("services: at least one carrier service")
    return RateTable(
        currency=str(raw.get("currency", "CNY")),
        zone_limits_km=limits,
        services=services,
        handling={str(k): _dec(v, f"handling {k}") for k, v in (raw.get("handling") or {}).items()},
        split_penalty=_dec(raw.get("split_penalty", 0), "split_penalty"),
        late_penalty=_dec(raw.get("late_penalty", 0), "late_penalty"),
        unit_weight_kg=_dec(raw.get("unit_weight_kg", "0.5"), "unit_weight_kg"),
        default_distance_km=float(_dec(raw.get("default_distance_km", 1000), "default_distance_km")),
        cross_border_surcharge=_dec(raw.get("cross_border_surcharge", 0), "cross_border_surcharge"),
    )


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """Everything the router needs about one order and the network at this moment."""

    demand: Sequence[Demand]
    ship_to: ShipTo
    locations: Sequence[Location]
    available: Mapping[tuple[str, str], int]
    now: datetime
    capacity_left: Mapping[str, int] = field(default_factory=dict)  # locations absent: unlimited
    policy: SplitPolicy = SplitPolicy.NEVER
    cold_chain: bool = False
    promised_by: date | None = None
    route_to: str | None = None
    excluded: frozenset[str] = frozenset()
    preferred_service: str | None = None
    duals: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    dest_region: str | None = None
    feeds: FeedAdjustments | None = None
    # carrier service → (daily capacity in shipments, shipments already booked today); absent: unlimited
    service_load: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    order_value: Decimal = Decimal(0)  # in the trade table's currency (0: unknown → no duty, no value limit)
    trade: TradeRules | None = None


@dataclass(frozen=True, slots=True)
class Shipment:
    """Lines shipped from one location by one service, with its cost parts."""

    location_id: str
    service: str
    lines: tuple[int, ...]
    handling: Decimal
    shipping: Decimal
    opportunity: Decimal
    late: bool
    delivery: date
    duty: Decimal = Decimal(0)
    distance_km: float = 0.0

    @property
    def cost(self) -> Decimal:
        """Handling + shipping + duty + opportunity (+ nothing for lateness; the plan adds that)."""
        return self.handling + self.shipping + self.duty + self.opportunity

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "location_id": self.location_id,
            "service": self.service,
            "lines": list(self.lines),
            "handling": str(self.handling),
            "shipping": str(self.shipping),
            "opportunity": str(self.opportunity),
            "duty": str(self.duty),
            "late": self.late,
            "estimated_delivery": self.delivery.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class _Plan:
    shipments: tuple[Shipment, ...]
    total: Decimal

    def key(self) -> tuple[Decimal, Decimal, int, int, tuple[tuple[str, str], ...]]:
        """Cheapest first; at equal cost the plan using less scarce stock, then fewer shipments, shorter distance
        (whole km), then by id."""
        ships = self.shipments
        if len(ships) == 1:
            s = ships[0]
            return (self.total, s.opportunity, 1, round(s.distance_km), ((s.location_id, s.service),))
        scarce = sum((s.opportunity for s in ships), Decimal(0))
        km = round(sum(s.distance_km for s in ships))
        return (self.total, scarce, len(ships), km, tuple((s.location_id, s.service) for s in ships))


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The chosen plan (shipments; empty if none), the ranked single-location plans and why others lost."""

    currency: str
    policy: SplitPolicy
    shipments: tuple[Shipment, ...]
    total: Decimal | None
    singles: tuple[tuple[str, str, Decimal], ...]  # (location, service, total) of feasible single plans, best first
    excluded: tuple[tuple[str, str], ...]  # (location, reason), by location id
    split_considered: bool
    no_source: bool  # a location holds everything but may not ship it (rules, cold chain, capacity...)

    @property
    def locations(self) -> tuple[str, ...]:
        """Locations of the chosen plan."""
        return tuple(s.location_id for s in self.shipments)

    @property
    def is_split(self) -> bool:
        """True when the chosen plan ships from more than one location."""
        return len(self.shipments) > 1

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the human summary line."""
        return {
            "currency": self.currency,
            "policy": str(self.policy),
            "chosen": [s.as_dict() for s in self.shipments],
            "total": None if self.total is None else str(self.total),
            "candidates": [{"location_id": loc, "service": svc, "total": str(t)} for loc, svc, t in self.singles],
            "excluded": [{"location_id": loc, "reason": why} for loc, why in self.excluded],
            "split_considered": self.split_considered,
            "no_source": self.no_source,
            "summary": explain_line(self),
        }


def _money(amount: Decimal, currency: str) -> str:
    return f"{_SYMBOLS.get(currency, currency + ' ')}{amount.quantize(CENT)}"


def explain_line(d: RoutingDecision) -> str:
    """One line for people: what was chosen and at what cost, the runner-up, and why others were excluded."""
    parts: list[str] = []
    if d.shipments and d.total is not None:
        where = " + ".join(f"{s.location_id} ({s.service})" for s in d.shipments)
        head = f"{where} chosen: {_money(d.total, d.currency)}"
        rivals = [(loc, t) for loc, _, t in d.singles if loc not in d.locations][:2]
        if rivals:
            head += " vs " + ", ".join(f"{loc} {_money(t, d.currency)}" for loc, t in rivals)
        parts.append(head)
    else:
        parts.append("no location can ship the order")
    parts += [f"{loc} excluded: {why}" for loc, why in d.excluded]
    return "; ".join(parts)


def _distance(loc: Location, to: ShipTo, table: RateTable) -> float:
    if None in (loc.latitude, loc.longitude, to.latitude, to.longitude):
        same = to.country is not None and loc.country == to.country
        return table.default_distance_km if same or to.country is None else table.default_distance_km * 3
    return haversine_km(to.latitude, to.longitude, loc.latitude, loc.longitude)  # type: ignore[arg-type]


def _hard_reason(loc: Location, req: RouteRequest, table: RateTable) -> str | None:
    """Why the location may not ship this order at all (stock aside), or None."""
    if not loc.active:
        return "offline"
    if Capability.SHIP not in loc.capabilities:
        return "does not ship"
    if req.route_to is not None and loc.id != req.route_to:
        return f"rule routes to {req.route_to}"
    if loc.id in req.excluded:
        return "excluded by rule"
    if req.cold_chain and Capability.COLD_CHAIN not in loc.capabilities:
        return "no cold chain"
    if _cross_border(loc, req.ship_to) and Capability.CROSS_BORDER not in loc.capabilities:
        return f"cannot ship cross-border to {req.ship_to.country}"
    if req.capacity_left.get(loc.id, 1) <= 0:
        return "capacity full for the day"
    return _external_reason(loc, req, table)


def _external_reason(loc: Location, req: RouteRequest, table: RateTable) -> str | None:
    """Feeds (closed regions, closed or full lanes) and trade limits that bar the location, or None."""
    if req.feeds is not None:
        closed = req.feeds.region_closed(loc.region)
        if closed:
            return f"region {loc.region} closed ({closed})"
        closed = req.feeds.region_closed(req.dest_region)
        if closed:
            return f"ship-to region {req.dest_region} closed ({closed})"
    if req.trade is not None and req.order_value > 0:
        limit = req.trade.value_limit(str(loc.type))
        if limit is not None and req.order_value > limit:
            cur = req.trade.currency
            return (
                f"order value {_money(req.order_value, cur)} over the {loc.type} per-order limit {_money(limit, cur)}"
            )
    cross = _cross_border(loc, req.ship_to)
    if not (cross or req.feeds is not None or req.service_load):
        return None  # every service may carry: nothing to check per service
    blocked = [_lane_reason(loc, svc, req, cross) for svc in table.services]
    if blocked and all(blocked):
        return "; ".join(dict.fromkeys(b for b in blocked if b))
    return None


def _lane_reason(loc: Location, svc: CarrierService, req: RouteRequest, cross: bool) -> str | None:
    """Why this service can't carry from the location (cross border, lane closed, daily capacity), or None."""
    if cross and not svc.cross_border:
        return f"{svc.name} does not ship cross-border"
    factor = 1.0
    if req.feeds is not None:
        closed, _, factor = req.feeds.lane(svc.name, loc.region)
        if closed:
            return f"{svc.name} lane closed ({closed})"
    load = req.service_load.get(svc.name)
    if load is not None and load[1] >= math.floor(load[0] * factor):
        return f"{svc.name} daily capacity reached ({load[1]}/{math.floor(load[0] * factor)})"
    return None


def _cross_border(loc: Location, to: ShipTo) -> bool:
    return to.country is not None and loc.country is not None and loc.country != to.country


class _Pricer:
    """Prices shipments of a request; caches each location's zone and handling."""

    def __init__(self, req: RouteRequest, table: RateTable) -> None:
        self.req, self.table = req, table
        self.by_id = {loc.id: loc for loc in req.locations}
        self._zones: dict[str, int] = {}
        self._km: dict[str, float] = {}
        self._days: dict[str, date] = {}
        self._memo: dict[tuple[str, tuple[int, ...]], Shipment | None] = {}

    def zone(self, loc: Location) -> int:
        """The location's zone for this ship-to, computed when first priced."""
        zone = self._zones.get(loc.id)
        if zone is None:
            km = self._km[loc.id] = _distance(loc, self.req.ship_to, self.table)
            zone = self._zones[loc.id] = self.table.zone(km)
        return zone

    def ship_day(self, loc: Location) -> date:
        """The location's next shipping day (after its cut-off: tomorrow), once per request."""
        day = self._days.get(loc.id)
        if day is None:
            day = self._days[loc.id] = capacity_day(loc, self.req.now)
        return day

    def best(self, loc_id: str, lines: Sequence[Demand]) -> Shipment | None:
        """The cheapest service shipping these lines from a location (memoised per request)."""
        key = (loc_id, tuple(d.line_no for d in lines))
        if key not in self._memo:
            self._memo[key] = self._best(loc_id, lines)
        return self._memo[key]

    def _best(self, loc_id: str, lines: Sequence[Demand]) -> Shipment | None:
        """The cheapest service shipping these lines from a location (the preferred service wins ties)."""
        loc, table, req = self.by_id[loc_id], self.table, self.req
        zone = self.zone(loc)
        weight = table.unit_weight_kg * sum(d.quantity for d in lines)
        handling = table.handling_of(loc)
        cross = _cross_border(loc, req.ship_to)
        opportunity = sum((req.duals.get((d.sku, loc_id), Decimal(0)) * d.quantity for d in lines), Decimal(0))
        ship_day = self.ship_day(loc)
        if req.feeds is not None:
            ship_day += timedelta(days=self.delay(loc))
        duty = self.duty(loc, lines) if cross else Decimal(0)
        best: tuple[tuple[Decimal, int, str], CarrierService, Decimal, date, bool] | None = None
        checked = cross or req.feeds is not None or bool(req.service_load)
        for svc in table.services:
            if checked and _lane_reason(loc, svc, req, cross) is not None:
                continue
            shipping = svc.cost(zone, weight) + (table.cross_border_surcharge if cross else Decimal(0))
            if req.feeds is not None:
                shipping += req.feeds.lane(svc.name, loc.region)[1]
            delivery = ship_day + timedelta(days=svc.transit_days[zone])
            late = req.promised_by is not None and delivery > req.promised_by
            key = (
                handling + shipping + duty + opportunity + (table.late_penalty if late else 0),
                0 if svc.name == req.preferred_service else 1,
                svc.name,
            )
            if best is None or key < best[0]:
                best = (key, svc, shipping, delivery, late)
        if best is None:
            return None
        _, svc, shipping, delivery, late = best
        return Shipment(
            loc_id,
            svc.name,
            tuple(d.line_no for d in lines),
            handling,
            shipping,
            opportunity,
            late,
            delivery,
            duty,
            self._km[loc_id],
        )

    def delay(self, loc: Location) -> int:
        """Extra transit days the feeds announce for the origin and the destination region."""
        feeds = self.req.feeds
        if feeds is None:
            return 0
        return feeds.delay_days.get(loc.region or "", 0) + feeds.delay_days.get(self.req.dest_region or "", 0)

    def duty(self, loc: Location, lines: Sequence[Demand]) -> Decimal:
        """Import duty on these lines' share of the order value (tariff by origin and destination country)."""
        req = self.req
        if req.trade is None or req.order_value <= 0:
            return Decimal(0)
        rate = req.trade.duty_rate(loc.country, req.ship_to.country)
        units = sum(d.quantity for d in req.demand) or 1
        share = Decimal(sum(d.quantity for d in lines)) / units
        return (req.order_value * share * rate).quantize(CENT)

    def plan(self, groups: Sequence[tuple[str, Sequence[Demand]]]) -> _Plan | None:
        shipments: list[Shipment] = []
        for loc_id, lines in groups:
            s = self.best(loc_id, lines)
            if s is None:
                return None
            shipments.append(s)
        if len(shipments) == 1:
            only = shipments[0]
            total = only.cost + (self.table.late_penalty if only.late else 0)
            return _Plan((only,), total.quantize(CENT))
        total = sum((s.cost for s in shipments), Decimal(0))
        total += self.table.late_penalty * sum(1 for s in shipments if s.late)
        total += self.table.split_penalty * (len(shipments) - 1)
        return _Plan(tuple(shipments), total.quantize(CENT))


def _needs(demand: Sequence[Demand]) -> dict[str, int]:
    need: dict[str, int] = {}
    for d in demand:
        need[d.sku] = need.get(d.sku, 0) + d.quantity
    return need


def _screen(req: RouteRequest, table: RateTable) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(locations holding everything, locations holding something, exclusions with reasons), each by id."""
    need = _needs(req.demand)
    full: list[str] = []
    some: list[str] = []
    excluded: list[tuple[str, str]] = []
    for loc in sorted(req.locations, key=lambda x: x.id):
        why = _hard_reason(loc, req, table)
        if why is not None:
            excluded.append((loc.id, why))
            continue
        short = sorted(sku for sku, q in need.items() if req.available.get((sku, loc.id), 0) < q)
        if not short:
            full.append(loc.id)
            continue
        if len(short) < len(need):
            some.append(loc.id)
        excluded.append((loc.id, "out of stock for " + ", ".join(f"SKU {s}" for s in short)))
    return full, some, excluded


def _assign(req: RouteRequest, subset: Sequence[str], pricer: _Pricer) -> list[tuple[str, list[Demand]]] | None:
    """Each line (whole) at the location of ``subset`` where it adds least, respecting stock; every location used."""
    left = {(sku, loc): req.available.get((sku, loc), 0) for loc in subset for sku in _needs(req.demand)}
    groups: dict[str, list[Demand]] = {loc: [] for loc in subset}
    for d in sorted(req.demand, key=lambda d: (-d.quantity, d.line_no)):
        options = [loc for loc in subset if left[(d.sku, loc)] >= d.quantity]
        if not options:
            return None
        loc = min(options, key=lambda x: (_marginal(pricer, x, groups[x], d), x))
        left[(d.sku, loc)] -= d.quantity
        groups[loc].append(d)
    if any(not lines for lines in groups.values()):
        return None  # a smaller subset covers it
    return [(loc, sorted(lines, key=lambda d: d.line_no)) for loc, lines in groups.items()]


def _marginal(pricer: _Pricer, loc: str, lines: list[Demand], d: Demand) -> Decimal:
    after = pricer.best(loc, [*lines, d])
    before = pricer.best(loc, lines) if lines else None
    return (after.cost if after else Decimal("Infinity")) - (before.cost if before else Decimal(0))


def _best_split(req: RouteRequest, some: Sequence[str], full: Sequence[str], pricer: _Pricer) -> _Plan | None:
    pool = sorted({*some, *full})
    best: _Plan | None = None
    for size in range(2, min(MAX_SPLIT, len(req.demand), len(pool)) + 1):
        for subset in combinations(pool, size):
            groups = _assign(req, subset, pricer)
            plan = pricer.plan(groups) if groups else None
            if plan is not None and (best is None or plan.key() < best.key()):
                best = plan
    return best


def _split_floor(table: RateTable) -> Decimal:
    """No split costs less: two shipments' cheapest handling and cheapest first kilogram, plus the split penalty."""
    handling = min(table.handling.values(), default=Decimal(0))
    first = min(min(svc.first_kg) for svc in table.services)
    return table.split_penalty + 2 * (handling + first)


def route(req: RouteRequest, table: RateTable) -> RoutingDecision:
    """The minimum-cost feasible plan for one order, with every candidate's cost and every exclusion's reason."""
    full, some, excluded = _screen(req, table)
    pricer = _Pricer(req, table)
    singles = [p for p in (pricer.plan([(loc, list(req.demand))]) for loc in full) if p is not None]
    singles.sort(key=_Plan.key)
    chosen = singles[0] if singles else None
    may_split = req.policy != SplitPolicy.NEVER and len(req.demand) > 1
    if may_split and (chosen is None or chosen.total > _split_floor(table)):
        split = _best_split(req, some, full, pricer)
        if split is not None and (chosen is None or split.key() < chosen.key()):
            chosen = split
    need = _needs(req.demand)
    blocked = {loc for loc, why in excluded if not why.startswith("out of stock")}
    stocked = any(all(req.available.get((sku, loc), 0) >= q for sku, q in need.items()) for loc in blocked)
    return RoutingDecision(
        currency=table.currency,
        policy=req.policy,
        shipments=chosen.shipments if chosen else (),
        total=chosen.total if chosen else None,
        singles=tuple((p.shipments[0].location_id, p.shipments[0].service, p.total) for p in singles),
        excluded=tuple(excluded),
        split_considered=may_split,
        no_source=chosen is None and stocked,
    )


def route_nearest(req: RouteRequest, table: RateTable) -> RoutingDecision:
    """The naive baseline (nearest active location holding every line; else, if splits are allowed, each line at the
    nearest location holding it), priced with the same cost model for comparison."""
    pricer = _Pricer(req, table)
    open_ = [x for x in req.locations if _hard_reason(x, req, table) is None]
    ranked = rank_single_locations(req.demand, req.ship_to, open_, req.available)
    plan = pricer.plan([(ranked[0], list(req.demand))]) if ranked else None
    if plan is None and req.policy != SplitPolicy.NEVER:
        placed = split_lines(req.demand, req.ship_to, open_, req.available)
        if len(placed) == len(req.demand):
            groups = {loc: [d for d in req.demand if placed[d.line_no] == loc] for loc in sorted(set(placed.values()))}
            plan = pricer.plan(list(groups.items()))
    return RoutingDecision(
        currency=table.currency,
        policy=req.policy,
        shipments=plan.shipments if plan else (),
        total=plan.total if plan else None,
        singles=(),
        excluded=(),
        split_considered=req.policy != SplitPolicy.NEVER,
        no_source=False,
    )
