"""Routing benchmark: online router decisions/s and latency, the outage re-route of 10k orders (decision time), and
the cost of the online router, a myopic cost router and the naive nearest-with-stock rule against the hindsight LP.

The network and streams are synthetic, built from real coordinates: the US ZIP table (``../shared/data/geo/
us_zipcodes/zips.json.bz2``, MIT, via PyPI ``zipcodes==1.3.0``) gives 10 warehouse ZIPs in large metros and order
ship-to ZIPs drawn uniformly from active STANDARD ZIPs. Stock is skewed and scarce (≈ 85 % of demand in total), so
where an order is served from matters for the orders after it. Prints a table and writes ``bench/results/routing.json``.
``--quick`` for a shorter run.
"""

from __future__ import annotations

import argparse
import bz2
import json
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from orderloom.adapters.routing_lp import solve_assignment, solve_min_shipments, solve_transport
from orderloom.adapters.routing_rates import load_rates
from orderloom.application.routing_sim import SimNetwork, parse_network, parse_orders, simulate
from orderloom.domain.routing import RouteRequest, SplitPolicy, route

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
ZIPS = ROOT / ".." / "shared" / "data" / "geo" / "us_zipcodes" / "zips.json.bz2"
HUBS = {
    "NYC": "10001",
    "LAX": "90012",
    "CHI": "60601",
    "DAL": "75201",
    "ATL": "30303",
    "SEA": "98101",
    "DEN": "80202",
    "MIA": "33131",
    "PHX": "85004",
    "BOS": "02108",
}
OLIST = ROOT / ".." / "shared" / "data" / "orders" / "olist"  # CC BY-NC-SA: read in place, never copied
# Olist hubs: zip prefixes of São Paulo, Rio, Belo Horizonte, Curitiba, Porto Alegre, Salvador, Recife, Brasília
OLIST_HUBS = {"SAO": "01", "RIO": "20", "BHZ": "30", "CWB": "80", "POA": "90", "SSA": "40", "REC": "50", "BSB": "70"}
SKUS = [f"SKU-{i}" for i in range(8)]
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _zips() -> list[dict[str, Any]]:
    if not ZIPS.exists():
        sys.exit(f"US ZIP table not found at {ZIPS} (see ../shared/data/geo/README.md)")
    with bz2.open(ZIPS, "rt", encoding="utf-8") as f:
        rows: list[dict[str, Any]] = json.load(f)
    return [
        r for r in rows if r["active"] and r["zip_code_type"] == "STANDARD" and r["state"] not in ("AK", "HI", "PR")
    ]


def build(n_orders: int, seed: int, multi_line: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(network JSON, orders JSON) from the ZIP table."""
    rng = random.Random(seed)
    zips = _zips()
    by_zip = {r["zip_code"]: r for r in zips}
    weights = [1.0 / (i + 1) for i in range(len(SKUS))]  # Zipf-like SKU popularity
    orders = []
    for i in range(n_orders):
        z = rng.choice(zips)
        k = rng.choice([1, 1, 1, 2]) if multi_line else 1
        skus = rng.sample(SKUS, k=k, counts=None) if k > 1 else rng.choices(SKUS, weights)
        lines = [{"sku": s, "quantity": rng.choice([1, 1, 2])} for s in skus]
        orders.append(
            {
                "id": f"o{i}",
                "latitude": float(z["lat"]),
                "longitude": float(z["long"]),
                "country": "US",
                "lines": lines,
                "split_policy": "allow" if multi_line and i % 2 else "never",
            }
        )
    demand = {s: sum(x["quantity"] for o in orders for x in o["lines"] if x["sku"] == s) for s in SKUS}
    shares = {s: [rng.random() ** 2 if (j + SKUS.index(s)) % 3 else 0.0 for j in range(len(HUBS))] for s in SKUS}
    locations = []
    for j, (name, zc) in enumerate(HUBS.items()):
        z = by_zip[zc]
        # each SKU concentrated in a few hubs: 85 % of its demand network-wide
        stock = {s: int(demand[s] * 0.85 * shares[s][j] / sum(shares[s])) for s in SKUS}
        locations.append(
            {"id": name, "latitude": float(z["lat"]), "longitude": float(z["long"]), "country": "US", "stock": stock}
        )
    return {"locations": locations}, orders


def build_olist(n_orders: int, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """(network, orders) from Olist: the first single-line orders by purchase time, shipped to the customer's zip
    prefix (geolocation table); products mapped to 8 demand classes by a hash of the product id; 8 hubs at the first
    geolocation row of each metro's zip prefix. None when the data is absent."""
    import csv
    import hashlib

    if not (OLIST / "olist_orders_dataset.csv").exists():
        return None
    geo: dict[str, tuple[float, float]] = {}
    with open(OLIST / "olist_geolocation_dataset.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            geo.setdefault(
                row["geolocation_zip_code_prefix"], (float(row["geolocation_lat"]), float(row["geolocation_lng"]))
            )
    with open(OLIST / "olist_customers_dataset.csv", encoding="utf-8") as f:
        zip_of = {r["customer_id"]: r["customer_zip_code_prefix"] for r in csv.DictReader(f)}
    items: dict[str, list[str]] = {}
    with open(OLIST / "olist_order_items_dataset.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            items.setdefault(r["order_id"], []).append(r["product_id"])
    with open(OLIST / "olist_orders_dataset.csv", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["order_purchase_timestamp"])
    orders = []
    for r in rows:
        products = items.get(r["order_id"], [])
        point = geo.get(zip_of.get(r["customer_id"], ""))
        if not products or point is None or len(set(products)) != 1:
            continue
        cls = int(hashlib.sha256(products[0].encode()).hexdigest()[:8], 16) % len(SKUS)
        orders.append(
            {
                "id": r["order_id"],
                "latitude": point[0],
                "longitude": point[1],
                "country": "BR",
                "lines": [{"sku": SKUS[cls], "quantity": len(products)}],
            }
        )
        if len(orders) == n_orders:
            break
    rng = random.Random(seed)
    demand = {s: sum(x["quantity"] for o in orders for x in o["lines"] if x["sku"] == s) for s in SKUS}
    shares = {s: [rng.random() ** 2 if (j + SKUS.index(s)) % 3 else 0.0 for j in range(len(OLIST_HUBS))] for s in SKUS}
    locations = []
    for j, (name, prefix) in enumerate(OLIST_HUBS.items()):
        lat, lon = geo[min(k for k in geo if k.startswith(prefix))]
        stock = {s: int(demand[s] * 0.85 * shares[s][j] / sum(shares[s])) for s in SKUS}
        locations.append({"id": name, "latitude": lat, "longitude": lon, "country": "BR", "stock": stock})
    return {"locations": locations}, orders


def decision_latency(network: SimNetwork, orders: list[Any], n: int) -> dict[str, float]:
    rates = load_rates()
    stock = {k: v * 1000 for k, v in network.stock.items()}  # no depletion: every decision sees the full network
    times = []
    reqs = [
        RouteRequest(
            demand=o.lines, ship_to=o.ship_to, locations=network.locations, available=stock, now=NOW, policy=o.policy
        )
        for o in orders[:n]
    ]
    started = time.perf_counter()
    for r in reqs:
        t0 = time.perf_counter()
        route(r, rates)
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    times.sort()
    return {
        "decisions": len(reqs),
        "decisions_per_s": round(len(reqs) / total),
        "p50_ms": round(statistics.median(times) * 1000, 4),
        "p99_ms": round(times[int(len(times) * 0.99) - 1] * 1000, 4),
    }


def outage(network: SimNetwork, orders: list[Any], n: int) -> dict[str, Any]:
    """Decision time to re-route n orders when the hub most of them were served from goes offline."""
    rates = load_rates()
    stock = {k: v * 1000 for k, v in network.stock.items()}
    down = "CHI"
    locs = tuple(loc if loc.id != down else _offline(loc) for loc in network.locations)
    started = time.perf_counter()
    moved = 0
    for o in (orders * (n // len(orders) + 1))[:n]:
        d = route(RouteRequest(demand=o.lines, ship_to=o.ship_to, locations=locs, available=stock, now=NOW), rates)
        moved += bool(d.shipments)
    return {"orders": n, "rerouted": moved, "seconds": round(time.perf_counter() - started, 3)}


def outage_db(n: int, workdir: Path) -> dict[str, Any]:
    """POST /v1/locations/CHI/offline on SQLite with ``n`` orders allocated at CHI: wall time of the request, the time
    spent in the router (solver + decisions, timed around every ``plan`` call) and the rest (database, HTTP)."""
    from fastapi.testclient import TestClient

    from orderloom.adapters.persistence.engine import make_engines
    from orderloom.adapters.persistence.migrate import upgrade
    from orderloom.application.inventory import allocate_order
    from orderloom.application.orders import apply_action
    from orderloom.application.routing import CostRouter
    from orderloom.bootstrap import bootstrap, utc_now
    from orderloom.config import Settings
    from orderloom.entrypoints.api.app import create_app
    from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER
    from orderloom.entrypoints.cli.importer import import_file

    url = f"sqlite:///{workdir}/outage.db"
    engines = make_engines(url)
    upgrade(engines)
    engines.dispose()
    container = bootstrap(Settings(database_url=url, relay_enabled=False), group_commit=False)
    rng = random.Random(3)
    try:
        tenant_id, key = container.tenants.create("outage")
        auth = {"Authorization": f"Bearer {key}"}
        hubs = {"CHI": (41.8781, -87.6298), "MKE": (43.0389, -87.9065), "IND": (39.7684, -86.1581)}
        with TestClient(create_app(container, manage_lifecycle=False)) as client:
            for hub, (lat, lon) in hubs.items():
                loc = {"id": hub, "name": hub, "type": "warehouse", "country": "US", "latitude": lat, "longitude": lon}
                client.post("/v1/locations", json=loc, headers=auth).raise_for_status()
            lines = [
                {"sku": sku, "location_id": hub, "quantity": q * n}
                for hub in hubs
                for sku, q in (("TSHIRT-BLK-M", 2), ("MUG-WHT", 1))
            ]
            client.post("/v1/inventory/receipts", json={"reference": "R", "lines": lines}, headers=auth)
            path = workdir / "orders.ndjson"
            with path.open("w") as fh:
                for i in range(n):
                    order = json.loads(json.dumps(EXAMPLE_ORDER))
                    order["channel_order_id"] = f"OUT-{i}"
                    order["shipping_address"] |= {
                        "latitude": 41.88 + rng.uniform(-0.3, 0.3),
                        "longitude": -87.63 + rng.uniform(-0.3, 0.3),
                    }
                    fh.write(json.dumps(order) + "\n")
            import_file(container, tenant_id=tenant_id, path=path, batch_size=500)
            ids = [o["id"] for o in _all_orders(client, auth)]
            router = container.sourcing
            assert isinstance(router, CostRouter)
            for start in range(0, len(ids), 500):

                def allocate(uow: Any, chunk: list[str] = ids[start : start + 500]) -> None:
                    for oid in chunk:
                        now = utc_now()
                        apply_action(uow=uow, tenant_id=tenant_id, order_id=oid, action="confirm", params={},
                                     lifecycle=container.lifecycle, actor="bench", now=now)  # fmt: skip
                        allocate_order(uow=uow, tenant_id=tenant_id, order_id=oid, lifecycle=container.lifecycle,
                                       sourcing=router, now=now)  # fmt: skip

                container.tx.run(allocate)
            spent = [0.0, 0]
            plan = router.plan

            def timed(**kw: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return plan(**kw)
                finally:
                    spent[0] += time.perf_counter() - t0
                    spent[1] += 1

            router.plan = timed  # type: ignore[method-assign]
            started = time.perf_counter()
            r = client.post("/v1/locations/CHI/offline", headers=auth)
            wall = time.perf_counter() - started
            r.raise_for_status()
            report = r.json()
    finally:
        container.close()
    return {
        "orders": n,
        "affected": report["affected"],
        "rerouted": len(report["rerouted"]),
        "held": len(report["held"]),
        "promise_changed": len(report["promise_changed"]),
        "request_seconds": round(wall, 3),
        "router_seconds": round(spent[0], 3),
        "router_calls": spent[1],
        "db_and_http_seconds": round(wall - spent[0], 3),
    }


def feed_fallback() -> dict[str, Any]:
    """How long routing waits for a feed: a local server that answers, hangs (1 s), fails (503), then with the breaker
    open; each read through the guarded HTTP weather feed (80 ms budget, 2 attempts, breaker after 3 failures)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from orderloom.adapters.routing_feeds import HttpTransport, WeatherAlertsFeed
    from orderloom.application.routing_feeds import GuardedFeed
    from orderloom.domain.breaker import CircuitBreaker

    mode = ["ok"]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if mode[0] == "slow":
                time.sleep(1.0)
            code, body = (503, b"") if mode[0] == "fail" else (200, b'{"regions": []}')
            try:
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    transport = HttpTransport(f"http://127.0.0.1:{httpd.server_address[1]}/", budget=0.08, attempts=2)
    out: dict[str, Any] = {}
    try:
        # each scenario on a fresh feed that had one good read; "open" = after 3 failures in a row
        for label, m, warmup, reads in (("live", "ok", 0, 20), ("slow", "slow", 0, 2), ("failing", "fail", 0, 2),
                                        ("breaker_open", "fail", 3, 20)):  # fmt: skip
            feed = GuardedFeed(
                feed=WeatherAlertsFeed(transport),
                monotonic=time.monotonic,
                wall=lambda: datetime.now(UTC),
                ttl=0,
                breaker=CircuitBreaker(failure_threshold=3, reset_after=30),
            )
            mode[0] = "ok"
            feed.read()
            mode[0] = m
            for _ in range(warmup):
                feed.read()
            times, sources = [], set()
            for _ in range(reads):
                t0 = time.perf_counter()
                sources.add(str(feed.read().source))
                times.append((time.perf_counter() - t0) * 1000)
            out[label] = {"max_ms": round(max(times), 2), "sources": sorted(sources), "breaker": str(feed.state)}
    finally:
        transport.close()
        httpd.shutdown()
        httpd.server_close()
    return out


def _all_orders(client: Any, auth: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/orders", params=params, headers=auth).json()
        out += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def _offline(loc: Any) -> Any:
    from dataclasses import replace

    return replace(loc, active=False)


def batch(network: SimNetwork, orders: list[Any]) -> dict[str, Any]:
    """Greedy (myopic cost router, arrival order) allocations, then re-assigned jointly by the MIP."""
    rates = load_rates()
    stock = dict(network.stock)
    home: dict[str, str] = {}
    options: dict[str, dict[str, float]] = {}
    usage: dict[str, dict[str, float]] = {}
    for o in orders:
        req = RouteRequest(demand=o.lines, ship_to=o.ship_to, locations=network.locations, available=stock, now=NOW)
        d = route(req, rates)
        if not d.shipments:
            continue
        loc = d.shipments[0].location_id
        for x in o.lines:
            stock[(x.sku, loc)] -= x.quantity
        everywhere = RouteRequest(
            demand=o.lines, ship_to=o.ship_to, locations=network.locations, available=network.stock, now=NOW
        )
        options[o.id] = {lid: float(t) for lid, _, t in route(everywhere, rates).singles}
        usage[o.id] = {x.sku: float(x.quantity) for x in o.lines}
        home[o.id] = loc
    before = sum(options[o][h] for o, h in home.items())
    started = time.perf_counter()
    result = solve_assignment(
        options=options,
        usage=usage,
        capacity={k: float(v) for k, v in network.stock.items()},
        fallback=home,
        time_limit=20.0,
    )
    seconds = time.perf_counter() - started
    after = sum(options[o][c] for o, c in result.choice.items())
    return {
        "orders": len(home),
        "cost_before": round(before, 2),
        "cost_after": round(after, 2),
        "reduction": round(1 - after / before, 4),
        "moved": sum(1 for o, c in result.choice.items() if c != home[o]),
        "method": result.method,
        "solver_seconds": round(seconds, 3),
    }


def batch_merge(network: SimNetwork, orders: list[Any]) -> dict[str, Any]:
    """Multi-line orders (half may split) allocated greedily in arrival order by the cost router, then re-assigned
    jointly by the batch MIP (each order: any single location, or its current plan); shipments counted before and
    after, against the fewest shipments the hindsight line-level MIP needs to serve the same orders."""
    rates = load_rates()
    stock = dict(network.stock)
    plans: dict[str, Any] = {}
    for o in orders:
        req = RouteRequest(
            demand=o.lines, ship_to=o.ship_to, locations=network.locations, available=stock, now=NOW, policy=o.policy
        )
        d = route(req, rates)
        if not d.shipments:
            continue
        by_line = {x.line_no: x for x in o.lines}
        held: dict[tuple[str, str], float] = {}
        for sh in d.shipments:
            for n in sh.lines:
                key = (by_line[n].sku, sh.location_id)
                stock[key] -= by_line[n].quantity
                held[key] = held.get(key, 0.0) + by_line[n].quantity
        plans[o.id] = (o, d, held)
    options: dict[str, dict[str, float]] = {}
    usage: dict[str, dict[str, float]] = {}
    own: dict[tuple[str, str], dict[tuple[str, str], float]] = {}
    home: dict[str, str] = {}
    for oid, (o, d, held) in plans.items():
        everywhere = RouteRequest(
            demand=o.lines, ship_to=o.ship_to, locations=network.locations, available=network.stock, now=NOW
        )
        options[oid] = {lid: float(t) for lid, _, t in route(everywhere, rates).singles}
        usage[oid] = {}
        for x in o.lines:
            usage[oid][x.sku] = usage[oid].get(x.sku, 0.0) + x.quantity
        if d.is_split:
            options[oid]["split"] = float(d.total)
            own[(oid, "split")] = held
            home[oid] = "split"
        else:
            home[oid] = d.shipments[0].location_id
            options[oid][home[oid]] = float(d.total)
    started = time.perf_counter()
    result = solve_assignment(
        options=options,
        usage=usage,
        capacity={k: float(v) for k, v in network.stock.items()},
        fallback=home,
        time_limit=20.0,
        option_usage=own,
    )
    seconds = time.perf_counter() - started
    before = sum(len(d.shipments) for _, d, _ in plans.values())
    after = sum(len(plans[o][1].shipments) if c == "split" else 1 for o, c in result.choice.items())
    status, least = solve_min_shipments(
        orders={oid: [(x.sku, float(x.quantity)) for x in o.lines] for oid, (o, _, _) in plans.items()},
        whole=[oid for oid, (o, _, _) in plans.items() if o.policy == SplitPolicy.NEVER],
        stock={k: float(v) for k, v in network.stock.items()},
        time_limit=30.0,
    )
    avoidable = before - least
    return {
        "orders": len(plans),
        "split_orders_greedy": sum(1 for _, d, _ in plans.values() if d.is_split),
        "shipments_greedy": before,
        "shipments_after_batch": after,
        "shipments_hindsight_min": round(least, 2),
        "hindsight_status": status,
        "avoidable_extra_shipments": round(avoidable, 2),
        "removed": before - after,
        "share_of_avoidable_removed": round((before - after) / avoidable, 4) if avoidable > 0 else None,
        "cost_before": round(sum(options[o][h] for o, h in home.items()), 2),
        "cost_after": round(sum(options[o][c] for o, c in result.choice.items()), 2),
        "method": result.method,
        "solver_seconds": round(seconds, 3),
    }


DUAL_SCALE = Decimal("0.5")  # chosen on tuning seeds 11 and 12 (not the reported streams); see docs/routing.md


def costs(
    network_raw: dict[str, Any], orders_raw: list[dict[str, Any]], lp_every: int, dual_scale: Decimal = DUAL_SCALE
) -> list[dict[str, Any]]:
    results = simulate(
        orders=parse_orders(orders_raw),
        network=parse_network(network_raw),
        rates=load_rates(),
        solve=solve_transport,
        clock=time.perf_counter,
        lp_every=lp_every,
        dual_scale=dual_scale,
    )
    by = {r.name: r.cost for r in results}
    bound, naive = by["hindsight_lp"], by["naive"]
    rows = []
    for r in results:
        row = r.as_dict()
        row["cost_over_hindsight"] = round(float(r.cost / bound), 4)
        if r.name in ("online", "myopic") and naive > bound:
            row["gap_captured"] = round(float((naive - r.cost) / (naive - bound)), 4)
        rows.append(row)
    return rows


def seed_sweep(n_orders: int, seeds: list[int], lp_every: int) -> dict[str, Any]:
    """Gap captured and online/hindsight on several synthetic streams, with raw duals and with DUAL_SCALE."""
    rows = []
    for seed in seeds:
        net_raw, orders_raw = build(n_orders, seed=seed, multi_line=False)
        row: dict[str, Any] = {"seed": seed, "tuning": seed in (11, 12)}
        for label, scale in (("raw", Decimal(1)), ("scaled", DUAL_SCALE)):
            by = {r["policy"]: r for r in costs(net_raw, orders_raw, lp_every, scale)}
            row[f"gap_{label}"] = by["online"]["gap_captured"]
            row[f"ratio_{label}"] = by["online"]["cost_over_hindsight"]
        row["naive_ratio"] = by["naive"]["cost_over_hindsight"]
        rows.append(row)
    held_out = [r for r in rows if not r["tuning"]]
    mean = {k: round(statistics.mean(r[k] for r in held_out), 4) for k in ("gap_raw", "gap_scaled", "ratio_scaled")}
    return {"orders": n_orders, "lp_every": lp_every, "rows": rows, "held_out_mean": mean}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_orders = 1000 if args.quick else 4000
    console = Console()
    net_raw, orders_raw = build(n_orders, seed=7, multi_line=False)
    network, orders = parse_network(net_raw), parse_orders(orders_raw)
    _, multi_raw = build(n_orders, seed=8, multi_line=True)
    multi = parse_orders(multi_raw)
    latency = {
        "single_line": decision_latency(network, orders, 5000 if args.quick else 20000),
        "multi_line_with_splits": decision_latency(network, multi, 2000 if args.quick else 10000),
    }
    reroute = outage(network, orders, 10000)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        reroute_db = outage_db(2000 if args.quick else 10000, Path(tmp))
    merge = batch_merge(network, multi)
    feeds = feed_fallback()
    sweep = seed_sweep(1000, [7, 11, 12, 13, 14, 15], lp_every=50)
    stream = costs(net_raw, orders_raw, lp_every=max(50, n_orders // 20))
    reopt = batch(network, orders)
    olist = build_olist(n_orders, seed=9)
    olist_stream = costs(olist[0], olist[1], lp_every=max(50, n_orders // 20)) if olist else None
    t = Table(title="routing: online decisions (10 locations)")
    for c in ("stream", "decisions/s", "p50 ms", "p99 ms"):
        t.add_column(c)
    for k, v in latency.items():
        t.add_row(k, str(v["decisions_per_s"]), str(v["p50_ms"]), str(v["p99_ms"]))
    console.print(t)
    console.print(f"outage re-route: {reroute['orders']} orders decided in {reroute['seconds']} s")
    console.print(
        f"outage through POST /v1/locations/CHI/offline on SQLite: {reroute_db['affected']} orders "
        f"({reroute_db['rerouted']} rerouted, {reroute_db['held']} held, {reroute_db['promise_changed']} promise "
        f"changes) in {reroute_db['request_seconds']} s: router {reroute_db['router_seconds']} s, "
        f"database + HTTP {reroute_db['db_and_http_seconds']} s"
    )
    t = Table(title=f"cost vs hindsight LP bound ({n_orders} single-line orders, US ZIP network)")
    for c in ("policy", "total cost", "vs hindsight", "gap captured", "unserved", "seconds"):
        t.add_column(c)
    for r in stream:
        t.add_row(r["policy"], r["total_cost"], str(r["cost_over_hindsight"]), str(r.get("gap_captured", "")),
                  str(r["unserved_rate"]), str(r["seconds"]))  # fmt: skip
    console.print(t)
    if olist_stream:
        t = Table(title=f"cost vs hindsight LP bound ({n_orders} single-line Olist orders, Brazil)")
        for c in ("policy", "total cost", "vs hindsight", "gap captured", "unserved", "seconds"):
            t.add_column(c)
        for r in olist_stream:
            t.add_row(r["policy"], r["total_cost"], str(r["cost_over_hindsight"]), str(r.get("gap_captured", "")),
                      str(r["unserved_rate"]), str(r["seconds"]))  # fmt: skip
        console.print(t)
    console.print(
        f"batch re-optimisation of {reopt['orders']} greedy allocations ({reopt['method']}, "
        f"{reopt['solver_seconds']} s): {reopt['cost_before']} → {reopt['cost_after']} "
        f"(-{reopt['reduction']:.1%}), {reopt['moved']} moved"
    )
    console.print(
        f"split merge ({merge['orders']} multi-line orders, {merge['split_orders_greedy']} split greedily): shipments "
        f"{merge['shipments_greedy']} → {merge['shipments_after_batch']} (hindsight minimum "
        f"{merge['shipments_hindsight_min']}); {merge['share_of_avoidable_removed']:.1%} of avoidable extra shipments "
        f"removed ({merge['method']}, {merge['solver_seconds']} s)"
    )
    console.print(
        "feed reads (80 ms budget): "
        + "; ".join(
            f"{k}: max {v['max_ms']} ms, {'/'.join(v['sources'])}, breaker {v['breaker']}" for k, v in feeds.items()
        )
    )
    t = Table(title="online gap captured by stream (1000 single-line orders; seeds 11, 12 tuned the dual scale)")
    for c in ("seed", "gap raw duals", "gap scaled", "online/hindsight scaled", "naive/hindsight"):
        t.add_column(c)
    for r in sweep["rows"]:
        t.add_row(f"{r['seed']}{' (tuning)' if r['tuning'] else ''}", str(r["gap_raw"]), str(r["gap_scaled"]),
                  str(r["ratio_scaled"]), str(r["naive_ratio"]))  # fmt: skip
    console.print(t)
    console.print(f"held-out mean: {sweep['held_out_mean']}")
    out = {
        "host": {"python": platform.python_version(), "machine": platform.machine()},
        "quick": args.quick,
        "latency": latency,
        "outage_reroute": reroute,
        "outage_reroute_sqlite": reroute_db,
        "split_merge": merge,
        "feed_fallback": feeds,
        "gap_by_seed": sweep,
        "dual_scale": str(DUAL_SCALE),
        "cost": {"orders": n_orders, "results": stream},
        "cost_olist": {"orders": n_orders, "results": olist_stream},
        "batch_reoptimisation": reopt,
        "unmet_penalty_per_unit": str(Decimal(100)),
        "split_policies": [str(p) for p in SplitPolicy],
    }
    path = ROOT / "bench" / "results" / "routing.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
