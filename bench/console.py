"""Console benchmark: server-side render time of each console page, the tracking page and ``GET /v1/kpis`` on the
demo data (target ≤ 100 ms per page).

A fresh SQLite file is loaded with ``orderloom demo``'s data (300 orders, like ``make run``; ``--orders`` for more),
then every page is requested in process through the ASGI app (Starlette's TestClient: routing, session check,
queries, template rendering and the response body, without a network hop), ``--repeat`` times after two warm-up
requests. Prints p50 / p95 / max per page and writes ``bench/results/console.json``. ``--quick`` for a shorter run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "console.json"
TARGET_MS = 100.0
PASSWORD = "bench-pass-123"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def _bulk(container: Any, tenant_id: str, extra: int) -> None:
    """``extra`` more demo orders, placed in bulk (1,000 per transaction) and left pending."""
    import random

    from orderloom.application.orders import record_placed_orders
    from orderloom.domain.orders import Order
    from orderloom.entrypoints.cli.demo import build_demo_order

    rng = random.Random(11)
    now = datetime.now(UTC)
    for start in range(0, extra, 1000):
        batch = [
            Order.place(
                tenant_id=tenant_id,
                new=build_demo_order(rng, 1_000_000 + n, now),
                lifecycle=container.lifecycle,
                now=now,
            )
            for n in range(start, min(start + 1000, extra))
        ]
        container.tx.run(lambda uow, batch=batch: record_placed_orders(uow=uow, orders=batch, actor="bench"))


def _setup(orders: int, extra: int, db: Path) -> tuple[Any, Any, str]:
    os.environ["ORDERLOOM_DATABASE_URL"] = f"sqlite:///{db}"
    from fastapi.testclient import TestClient

    from orderloom.adapters.persistence.engine import make_engines
    from orderloom.adapters.persistence.migrate import upgrade
    from orderloom.application.passwords import hash_password
    from orderloom.bootstrap import bootstrap
    from orderloom.config import Settings
    from orderloom.entrypoints.api.app import create_app
    from orderloom.entrypoints.cli.demo import load_demo
    from orderloom.entrypoints.cli.demo_console import ensure_demo_console
    from orderloom.entrypoints.cli.log_setup import configure_logging

    settings = Settings(relay_enabled=False, log_level="WARNING")
    configure_logging(settings)
    engines = make_engines(settings.database_url)
    upgrade(engines)
    engines.dispose()
    container = bootstrap(settings)
    tenant_id, key = container.tenants.create("demo")
    from orderloom.bootstrap import utc_now
    from orderloom.entrypoints.cli.demo import CATALOG
    from orderloom.entrypoints.cli.demo_inventory import load_demo_stock
    from orderloom.entrypoints.cli.demo_tracking import load_tracking_demo
    from orderloom.entrypoints.cli.rules import install_demo_rules

    load_demo_stock(container, tenant_id=tenant_id, skus=[sku for sku, _, _ in CATALOG])
    install_demo_rules(container, tenant_id)
    load_demo(container, tenant_id=tenant_id, count=orders)
    load_tracking_demo(container, tenant_id=tenant_id, now=utc_now())
    if extra:
        _bulk(container, tenant_id, extra)
    container.relay.drain()
    ensure_demo_console(container, tenant_id)
    container.console.set_password(tenant_id=tenant_id, username="admin", password_hash=hash_password(PASSWORD))
    client = TestClient(create_app(container))
    client.__enter__()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/login").text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/console/login", data={"csrf_token": token, "tenant": "demo", "username": "admin", "password": PASSWORD}
    )
    assert r.status_code == 200, r.status_code
    return client, container, key


def _first_sku() -> str:
    from orderloom.entrypoints.cli.demo import CATALOG

    return str(CATALOG[0][0])


def _candidate(container: Any) -> int:
    """A second validation version (the active document again) to diff against the active one."""
    tenant_id = container.tenants.find("demo")
    active = container.rules.store.activation(tenant_id, "validation")
    doc = container.rules.get_version(tenant_id=tenant_id, kind="validation", version=active.version).document
    v = container.rules.create_version(tenant_id=tenant_id, kind="validation", document=doc, actor="bench")
    return int(v.version)


def _pages(client: Any, container: Any, key: str) -> list[tuple[str, str, dict[str, str]]]:
    from orderloom.application.ports import OrderFilter

    tenant_id = container.tenants.find("demo")
    some = container.queries.search(tenant_id, OrderFilter(), limit=1, cursor=None).items[0]
    busy = max(
        container.queries.search(tenant_id, OrderFilter(), limit=500, cursor=None).items,
        key=lambda d: len(container.queries.timeline(tenant_id, d["id"])),
    )
    order_page = client.get(f"/console/orders/{busy['id']}").text
    track = re.search(r'href="(/track/[^"]+)"', order_page).group(1)  # type: ignore[union-attr]
    api = {"Authorization": f"Bearer {key}"}
    return [
        ("order search (newest 50)", "/console/orders", {}),
        ("order search by channel order id", f"/console/orders?q={some['channel_order_id']}", {}),
        ("order search status=on_hold", "/console/orders?status=on_hold", {}),
        ("order search date range + channel", "/console/orders?channel=web&placed_from=2000-01-01", {}),
        ("order detail (longest timeline)", f"/console/orders/{busy['id']}", {}),
        ("exception inbox", "/console/inbox", {}),
        ("inventory by SKU", f"/console/inventory?sku={_first_sku()}", {}),
        ("locations", "/console/locations", {}),
        ("rule versions (validation)", "/console/rules?kind=validation", {}),
        ("rule dry-run diff (validation, 30 d)", f"/console/rules?kind=validation&diff={_candidate(container)}", {}),
        ("KPI dashboard 24h", "/console/kpis?window=24h", {}),
        ("KPI dashboard 7d", "/console/kpis?window=7d", {}),
        ("KPI dashboard 30d", "/console/kpis?window=30d", {}),
        ("GET /v1/kpis 30d", "/v1/kpis?window=30d", api),
        ("tracking page en", track, {"Accept-Language": "en"}),
        ("tracking page zh-CN", track, {"Accept-Language": "zh-CN"}),
    ]


def _measure(client: Any, path: str, headers: dict[str, str], repeat: int) -> dict[str, float]:
    for _ in range(2):
        assert client.get(path, headers=headers).status_code == 200, path
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        r = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, path
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(_percentile(times, 95), 2),
        "max_ms": round(max(times), 2),
        "bytes": len(r.content),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    p.add_argument("--orders", type=int, default=300, help="demo orders to load (default 300, like make run)")
    p.add_argument("--extra", type=int, default=0, help="more pending orders placed in bulk, to see how pages scale")
    p.add_argument("--repeat", type=int, default=None, help="timed requests per page (default 50, quick 10)")
    p.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = p.parse_args(argv)
    repeat = args.repeat or (10 if args.quick else 50)
    console = Console(width=110)
    with tempfile.TemporaryDirectory(prefix="ol-bench-console-") as tmp:
        console.print(f"loading {args.orders} demo orders (+{args.extra} in bulk)…")
        client, container, key = _setup(args.orders, args.extra, Path(tmp) / "ol.db")
        try:
            results = {
                name: {"path": path.split("?")[0], **_measure(client, path, hdr, repeat)}
                for name, path, hdr in _pages(client, container, key)
            }
        finally:
            client.__exit__(None, None, None)
    label = f"{args.orders} demo orders" + (f" + {args.extra} bulk" if args.extra else "")
    table = Table(title=f"Server-side render time, {label}, {repeat} requests per page")
    for col in ("page", "p50 ms", "p95 ms", "max ms", "KB", f"≤{TARGET_MS:.0f} ms (p95)"):
        table.add_column(col, justify="left" if col == "page" else "right", no_wrap=True)
    for name, r in results.items():
        ok = "yes" if r["p95_ms"] <= TARGET_MS else "NO"
        table.add_row(
            name, f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['max_ms']:.1f}", f"{r['bytes'] / 1024:.1f}", ok
        )
    console.print(table)
    document = {
        "benchmark": "console",
        "when": datetime.now(UTC).isoformat(),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "orders": args.orders,
        "extra_bulk_orders": args.extra,
        "repeat": repeat,
        "target_ms": TARGET_MS,
        "pages": results,
        "all_within_target": all(r["p95_ms"] <= TARGET_MS for r in results.values()),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"wrote {args.output}")
    return 0 if document["all_within_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
