"""The routing cost model and online router on hand-checkable networks, plus properties on random ones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orderloom.domain.inventory import Capability, Location, LocationType
from orderloom.domain.routing import (
    InvalidRateTable,
    RateTable,
    RouteRequest,
    SplitPolicy,
    explain_line,
    parse_rate_table,
    route,
)
from orderloom.domain.sourcing import Demand, ShipTo

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
SHANGHAI = ShipTo(country="CN", latitude=31.2304, longitude=121.4737)
# zone 0 <= 100 km, zone 1 <= 1000 km, zone 2 beyond; one domestic service; 1 kg per unit
TABLE = parse_rate_table(
    {
        "currency": "CNY",
        "zone_limits_km": [100, 1000],
        "unit_weight_kg": 1,
        "split_penalty": 3,
        "late_penalty": 50,
        "handling": {"default": 2},
        "services": [
            {
                "name": "std",
                "cross_border": False,
                "zones": [
                    {"first_kg": 5, "extra_kg": 1, "days": 1},
                    {"first_kg": 10, "extra_kg": 2, "days": 2},
                    {"first_kg": 20, "extra_kg": 4, "days": 3},
                ],
            }
        ],
    }
)


def loc(id_: str, lat: float, lon: float, *caps: Capability, country: str = "CN") -> Location:
    return Location(
        id=id_,
        tenant_id="t",
        name=id_,
        type=LocationType.WAREHOUSE,
        country=country,
        latitude=lat,
        longitude=lon,
        capabilities=frozenset({Capability.SHIP, *caps}),
    )


A = loc("A-SH", 31.2304, 121.4737)  # 0 km: zone 0
B = loc("B-HZ", 30.2741, 120.1551)  # ~165 km: zone 1
C = loc("C-BJ", 39.9042, 116.4074, Capability.COLD_CHAIN)  # ~1067 km: zone 2
NET = (A, B, C)


def req(demand: list[Demand], available: dict[tuple[str, str], int], **kw: object) -> RouteRequest:
    return RouteRequest(demand=demand, ship_to=SHANGHAI, locations=NET, available=available, now=NOW, **kw)  # type: ignore[arg-type]


def everywhere(sku: str, n: int) -> dict[tuple[str, str], int]:
    return {(sku, x.id): n for x in NET}


def test_single_location_costs_are_handling_plus_zone_rate() -> None:
    d = route(req([Demand(1, "X", 2)], everywhere("X", 5)), TABLE)
    # A: 2 + 5 + 1x1 = 8; B: 2 + 10 + 2x1 = 14; C: 2 + 20 + 4x1 = 26
    assert d.singles == (
        ("A-SH", "std", Decimal("8.00")),
        ("B-HZ", "std", Decimal("14.00")),
        ("C-BJ", "std", Decimal("26.00")),
    )
    assert (d.locations, d.total, d.is_split, d.no_source) == (("A-SH",), Decimal("8.00"), False, False)


def test_explanation_names_chosen_runner_up_and_exclusions() -> None:
    stock = {("X", "B-HZ"): 5, ("X", "C-BJ"): 5}
    d = route(req([Demand(1, "X", 2)], stock), TABLE)
    assert explain_line(d) == "B-HZ (std) chosen: ¥14.00 vs C-BJ ¥26.00; A-SH excluded: out of stock for SKU X"
    doc = d.as_dict()
    assert doc["chosen"][0]["location_id"] == "B-HZ"
    assert doc["excluded"] == [{"location_id": "A-SH", "reason": "out of stock for SKU X"}]
    assert [c["location_id"] for c in doc["candidates"]] == ["B-HZ", "C-BJ"]


def test_split_only_when_allowed_and_cheaper() -> None:
    stock = {("X", "A-SH"): 1, ("Y", "B-HZ"): 1, ("X", "C-BJ"): 1, ("Y", "C-BJ"): 1}
    lines = [Demand(1, "X", 1), Demand(2, "Y", 1)]
    never = route(req(lines, stock), TABLE)
    assert (never.locations, never.total) == (("C-BJ",), Decimal("26.00"))  # 2 + 20 + 4
    allow = route(req(lines, stock, policy=SplitPolicy.ALLOW), TABLE)
    # A ships X: 2 + 5 = 7; B ships Y: 2 + 10 = 12; one extra shipment: 3 → 22 < 26
    assert (allow.locations, allow.total) == (("A-SH", "B-HZ"), Decimal("22.00"))
    assert [s.lines for s in allow.shipments] == [(1,), (2,)]
    dear = TABLE.__class__(**{**_fields(TABLE), "split_penalty": Decimal(10)})
    assert route(req(lines, stock, policy=SplitPolicy.ALLOW), dear).locations == ("C-BJ",)  # 29 > 26


def _fields(t: RateTable) -> dict[str, object]:
    return {f: getattr(t, f) for f in t.__dataclass_fields__}


def test_split_found_when_no_single_location_holds_everything() -> None:
    stock = {("X", "A-SH"): 1, ("Y", "B-HZ"): 1}
    lines = [Demand(1, "X", 1), Demand(2, "Y", 1)]
    assert route(req(lines, stock), TABLE).shipments == ()
    d = route(req(lines, stock, policy=SplitPolicy.SHIP_COMPLETE), TABLE)
    assert (d.locations, d.total) == (("A-SH", "B-HZ"), Decimal("22.00"))


def test_hard_constraints_exclude_with_reasons() -> None:
    stock = everywhere("X", 5)
    cold = route(req([Demand(1, "X", 1)], stock, cold_chain=True), TABLE)
    assert cold.locations == ("C-BJ",)
    assert dict(cold.excluded) == {"A-SH": "no cold chain", "B-HZ": "no cold chain"}
    full = route(req([Demand(1, "X", 1)], stock, capacity_left={"A-SH": 0, "B-HZ": 3}), TABLE)
    assert full.locations == ("B-HZ",) and dict(full.excluded) == {"A-SH": "capacity full for the day"}
    ruled = route(req([Demand(1, "X", 1)], stock, route_to="C-BJ"), TABLE)
    assert ruled.locations == ("C-BJ",) and dict(ruled.excluded)["A-SH"] == "rule routes to C-BJ"
    excl = route(req([Demand(1, "X", 1)], stock, excluded=frozenset({"A-SH"})), TABLE)
    assert excl.locations == ("B-HZ",) and dict(excl.excluded) == {"A-SH": "excluded by rule"}


def test_cross_border_needs_capability_and_a_cross_border_service() -> None:
    us = loc("US-1", 37.77, -122.42, country="US")
    us_cb = loc("US-2", 37.77, -122.42, Capability.CROSS_BORDER, country="US")
    r = RouteRequest(
        demand=[Demand(1, "X", 1)],
        ship_to=SHANGHAI,
        locations=(us, us_cb),
        available={("X", "US-1"): 1, ("X", "US-2"): 1},
        now=NOW,
    )
    d = route(r, TABLE)  # US-2 may ship abroad, but the only service is domestic
    assert d.shipments == ()
    assert dict(d.excluded) == {"US-1": "cannot ship cross-border to CN", "US-2": "std does not ship cross-border"}
    assert route(r, parse_rate_table(yaml.safe_load(_packaged()))).locations == ("US-2",)


def test_dual_prices_steer_away_from_scarce_stock() -> None:
    stock = everywhere("X", 5)
    d = route(req([Demand(1, "X", 2)], stock, duals={("X", "A-SH"): Decimal(4)}), TABLE)
    # A: 8 + 2 units x 4 = 16 > B: 14
    assert (d.locations, d.total) == (("B-HZ",), Decimal("14.00"))


def test_late_delivery_costs_the_penalty() -> None:
    stock = {("X", "C-BJ"): 5, ("X", "B-HZ"): 5}
    d = route(req([Demand(1, "X", 1)], stock, promised_by=date(2026, 11, 28)), TABLE)
    # B: 2 days → 28th, on time (12); C: 3 days → 29th, late: 22 + 50
    assert d.singles == (("B-HZ", "std", Decimal("12.00")), ("C-BJ", "std", Decimal("72.00")))
    assert d.shipments[0].delivery == date(2026, 11, 28) and not d.shipments[0].late


def test_no_source_only_when_stock_is_there_but_barred() -> None:
    assert route(req([Demand(1, "X", 1)], {("X", "A-SH"): 1}, excluded=frozenset({"A-SH"})), TABLE).no_source
    assert not route(req([Demand(1, "X", 9)], {("X", "A-SH"): 1}), TABLE).no_source


def _packaged() -> str:
    return resources.files("orderloom.data").joinpath("routing/rates.yaml").read_text(encoding="utf-8")


def test_rate_table_rejects_bad_entries_by_name() -> None:
    table = parse_rate_table(yaml.safe_load(_packaged()))
    assert table.currency == "CNY" and len(table.services) == 2
    raw = yaml.safe_load(_packaged())
    raw["services"][0]["zones"][1]["first_kg"] = -1
    with pytest.raises(InvalidRateTable, match="service economy zone 1 first_kg: must be a number ≥ 0"):
        parse_rate_table(raw)
    raw = yaml.safe_load(_packaged())
    raw["services"][1]["zones"].pop()
    with pytest.raises(InvalidRateTable, match="service express: zones must list 5 entries"):
        parse_rate_table(raw)
    with pytest.raises(InvalidRateTable, match="split_penalty"):
        parse_rate_table({**yaml.safe_load(_packaged()), "split_penalty": "-3"})


POINTS = [(31.23, 121.47), (30.27, 120.16), (39.90, 116.41), (22.54, 114.06), (30.57, 104.07)]


@st.composite
def networks(draw: st.DrawFn) -> RouteRequest:
    n = draw(st.integers(2, 5))
    locs = tuple(
        Location(
            id=f"L{i}",
            tenant_id="t",
            name=f"L{i}",
            type=LocationType.WAREHOUSE,
            country="CN",
            latitude=POINTS[i][0],
            longitude=POINTS[i][1],
            capabilities=frozenset({Capability.SHIP} | ({Capability.COLD_CHAIN} if draw(st.booleans()) else set())),
            active=draw(st.booleans()) or i == 0,
        )
        for i in range(n)
    )
    skus = ["X", "Y", "Z"][: draw(st.integers(1, 3))]
    available = {(s, x.id): draw(st.integers(0, 4)) for s in skus for x in locs}
    demand = [
        Demand(i + 1, draw(st.sampled_from(skus)), draw(st.integers(1, 3))) for i in range(draw(st.integers(1, 4)))
    ]
    capacity = {x.id: draw(st.integers(0, 2)) for x in locs if draw(st.booleans())}
    return RouteRequest(
        demand=demand,
        ship_to=ShipTo(country="CN", latitude=draw(st.floats(22, 40)), longitude=draw(st.floats(104, 122))),
        locations=locs,
        available=available,
        now=NOW,
        capacity_left=capacity,
        policy=draw(st.sampled_from(list(SplitPolicy))),
        cold_chain=draw(st.booleans()),
        excluded=frozenset(draw(st.sets(st.sampled_from([x.id for x in locs]), max_size=1))),
    )


@settings(max_examples=300, deadline=None)
@given(networks())
def test_no_plan_violates_stock_capacity_cold_chain_or_split_policy(r: RouteRequest) -> None:
    d = route(r, parse_rate_table(yaml.safe_load(_packaged())))
    by_id = {x.id: x for x in r.locations}
    used: dict[tuple[str, str], int] = {}
    placed: list[int] = []
    for s in d.shipments:
        x = by_id[s.location_id]
        assert x.active and s.location_id not in r.excluded
        assert r.capacity_left.get(x.id, 1) > 0
        assert not r.cold_chain or Capability.COLD_CHAIN in x.capabilities
        for line in r.demand:
            if line.line_no in s.lines:
                used[(line.sku, x.id)] = used.get((line.sku, x.id), 0) + line.quantity
        placed += s.lines
    assert all(q <= r.available.get(k, 0) for k, q in used.items())
    if d.shipments:
        assert sorted(placed) == sorted(line.line_no for line in r.demand)  # every line once, none divided
    if r.policy == SplitPolicy.NEVER:
        assert len(d.shipments) <= 1
    if d.singles:  # a single location can ship: a plan exists and costs no more than the best single one
        assert d.total is not None and d.total <= d.singles[0][2]
    assert len({x for x, _ in d.excluded}) == len(d.excluded)


def test_cost_router_uses_the_tenants_own_dual_prices() -> None:
    from orderloom.application.inventory_ports import SourcingContext
    from orderloom.application.routing import CostRouter

    router = CostRouter(rates=TABLE)
    router.set_duals("t", {("X", "A-SH"): Decimal(4)})
    kw = {"demand": [Demand(1, "X", 2)], "ship_to": SHANGHAI, "locations": NET, "available": everywhere("X", 5)}
    mine = router.plan(**kw, context=SourcingContext(tenant_id="t", order_id="o1", now=NOW))  # type: ignore[arg-type]
    other = router.plan(**kw, context=SourcingContext(tenant_id="u", order_id="o2", now=NOW))  # type: ignore[arg-type]
    assert mine.candidates[0] == "B-HZ" and other.candidates[0] == "A-SH"
    assert mine.explanation is not None and mine.explanation["chosen"][0]["opportunity"] == "0"
