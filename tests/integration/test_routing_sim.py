"""The dual-price LP (HiGHS) and the simulation on a hand-checkable network; the simulate CLI and its bad input."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderloom.adapters.routing_lp import solve_transport
from orderloom.adapters.routing_rates import load_rates
from orderloom.application.routing_sim import InvalidNetwork, parse_network, parse_orders, simulate
from orderloom.entrypoints.cli.main import app

# A and B on the equator-ish line 0.5°N, 8° apart; Q is 2° from A (zone 1) and 6° from B (zone 2); P sits on A.
NETWORK = {
    "locations": [
        {"id": "A", "latitude": 0.5, "longitude": 0.5, "stock": {"X": 1}},
        {"id": "B", "latitude": 0.5, "longitude": 8.5, "stock": {"X": 5}},
    ]
}
ORDERS = [
    {"id": "q", "latitude": 0.5, "longitude": 2.5, "lines": [{"sku": "X", "quantity": 1}]},
    {"id": "p", "latitude": 0.5, "longitude": 0.5, "lines": [{"sku": "X", "quantity": 1}]},
]


def test_transport_lp_duals_are_the_value_of_one_more_unit() -> None:
    sol = solve_transport(
        demands={"p": 1, "q": 1},
        supplies={"A": 1, "B": 5},
        arcs=[("p", "A", 1), ("p", "B", 10), ("q", "A", 2), ("q", "B", 3)],
        penalty=100,
    )
    assert sol.status == "Optimal" and sol.objective == pytest.approx(4.0)
    assert sol.flows == {("p", "A"): 1.0, ("q", "B"): 1.0}
    assert sol.opportunity == {"A": Decimal("1.0"), "B": Decimal("0.0")}
    short = solve_transport(demands={"p": 3}, supplies={"A": 1}, arcs=[("p", "A", 1)], penalty=50)
    assert short.unmet == {"p": 2.0} and short.objective == pytest.approx(101.0)


def test_online_router_keeps_scarce_stock_for_the_order_that_needs_it_more() -> None:
    # packaged rates, 1 unit = 0.5 kg, economy + warehouse handling 2.50: zone 0 7.50, zone 1 9.50, zone 2 11.50
    results = simulate(
        orders=parse_orders(ORDERS),
        network=parse_network(NETWORK),
        rates=load_rates(),
        solve=solve_transport,
        clock=time.perf_counter,
    )
    cost = {r.name: r.cost for r in results}
    # naive and myopic give A's only unit to q (9.50) and p then ships from B (11.50); online pays B for q (11.50)
    # because the LP prices A's unit at 2.00, and p gets A (7.50) — the hindsight optimum
    assert cost == {
        "naive": Decimal("21.00"),
        "myopic": Decimal("21.00"),
        "online": Decimal("19.00"),
        "hindsight_lp": Decimal("19.0"),
    }
    assert all(r.unserved == 0 for r in results)


def test_bad_network_rows_are_named() -> None:
    bad = {"locations": [NETWORK["locations"][0], {**NETWORK["locations"][1], "stock": {"X": -2}}]}
    with pytest.raises(InvalidNetwork, match=r"locations\[1\]\.stock\.X: must be a whole number ≥ 0"):
        parse_network(bad)
    with pytest.raises(InvalidNetwork, match=r"orders\[0\]: latitude and longitude"):
        parse_orders([{"lines": [{"sku": "X", "quantity": 1}]}])
    with pytest.raises(InvalidNetwork, match=r"orders\[0\]\.lines\[0\]\.quantity"):
        parse_orders([{"latitude": 1, "longitude": 1, "lines": [{"sku": "X", "quantity": -1}]}])


def test_simulate_cli(tmp_path: Path) -> None:
    net, orders = tmp_path / "net.json", tmp_path / "orders.jsonl"
    net.write_text(json.dumps(NETWORK))
    orders.write_text("\n".join(json.dumps(o) for o in ORDERS))
    r = CliRunner().invoke(app, ["route", "simulate", "--orders", str(orders), "--network", str(net), "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.output[r.output.index("{") :])
    online = next(x for x in body["results"] if x["policy"] == "online")
    assert (online["total_cost"], online["cost_over_hindsight"]) == ("19.00", 1.0)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"locations": [{"id": "A", "latitude": 0, "longitude": 0, "stock": {"X": -1}}]}))
    r = CliRunner().invoke(app, ["route", "simulate", "--orders", str(orders), "--network", str(bad)])
    assert r.exit_code != 0
    assert "locations[0].stock.X" in str(r.exception)


def test_assignment_mip_and_its_lp_rounding_fallback() -> None:
    from orderloom.adapters.routing_lp import _round, solve_assignment

    options = {"small": {"A": 7.5, "B": 9.5}, "big": {"A": 11.5, "B": 15.5}}
    usage = {"small": {"X": 1.0}, "big": {"X": 10.0}}
    capacity = {("X", "A"): 10.0, ("X", "B"): 10.0}
    homes = {"small": "A", "big": "B"}
    best = solve_assignment(options=options, usage=usage, capacity=capacity, fallback=homes, time_limit=5)
    assert (best.method, best.choice, best.objective) == ("mip", {"small": "B", "big": "A"}, pytest.approx(21.0))
    # rounding a fractional LP point: largest fractions first where they fit (a swap works: nothing is pre-held)
    rounded = _round(
        [("big", "A"), ("big", "B"), ("small", "A"), ("small", "B")],
        [0.9, 0.1, 0.0, 1.0],
        options,
        usage,
        capacity,
        homes,
        "Time limit reached",
    )
    assert (rounded.method, rounded.choice) == ("lp_rounding", {"big": "A", "small": "B"})
    stuck = _round([("big", "A"), ("small", "A")], [1.0, 1.0], options, usage, capacity, homes, "Time limit reached")
    assert stuck.choice == {"big": "A", "small": "B"}  # small no longer fits at A: home is full too, so B


def test_min_shipments_mip_hand_checked() -> None:
    from orderloom.adapters.routing_lp import solve_min_shipments

    # A holds X and Y once, B holds X once. o1 wants X; o2 wants X and Y. Served whole, o2 needs A (X+Y) and o1
    # then takes B's X: 2 shipments. If o2 may not split and A held no X, it could not be served at all.
    stock = {("X", "A"): 1.0, ("Y", "A"): 1.0, ("X", "B"): 1.0}
    orders = {"o1": [("X", 1.0)], "o2": [("X", 1.0), ("Y", 1.0)]}
    assert solve_min_shipments(orders=orders, whole=["o2"], stock=stock, time_limit=5) == ("Optimal", 2.0)
    # two units of X for o2 now: no location holds both, so o2 must split (3 shipments) — allowed only if splittable
    orders2 = {"o1": [("Y", 1.0)], "o2": [("X", 1.0), ("X", 1.0)]}
    assert solve_min_shipments(orders=orders2, whole=[], stock=stock, time_limit=5) == ("Optimal", 3.0)
    assert solve_min_shipments(orders=orders2, whole=["o2"], stock=stock, time_limit=5)[0] == "Infeasible"


def test_assignment_keeps_or_merges_a_split_plan() -> None:
    from orderloom.adapters.routing_lp import solve_assignment

    # o2 is split over A (Y) and B (X) at 25; whole at A it costs 7.5 but A's X is taken by o1 (7.5 at A, 9.5 at B)
    options = {"o1": {"A": 7.5, "B": 9.5}, "o2": {"A": 7.5, "split": 25.0}}
    usage = {"o1": {"X": 1.0}, "o2": {"X": 1.0, "Y": 1.0}}
    capacity = {("X", "A"): 1.0, ("Y", "A"): 1.0, ("X", "B"): 1.0}
    own = {("o2", "split"): {("Y", "A"): 1.0, ("X", "B"): 1.0}}
    best = solve_assignment(
        options=options, usage=usage, capacity=capacity, fallback={"o1": "A", "o2": "split"}, time_limit=5,
        option_usage=own,
    )  # fmt: skip
    assert (best.choice, best.objective) == ({"o1": "B", "o2": "A"}, pytest.approx(17.0))


def test_routing_worker_refuses_an_unknown_tenant(tmp_path: Path) -> None:
    from tests.conftest import sqlite_url

    url = sqlite_url(tmp_path)
    r = CliRunner().invoke(app, ["worker", "routing", "--tenant", "nope"], env={"ORDERLOOM_DATABASE_URL": url})
    assert r.exit_code != 0
    assert str(r.exception) == "no tenant named 'nope'"
