"""Inventory benchmark: reservations/s and available-to-promise latency, each next to a raw-driver baseline.

Scenarios (fresh databases; SQLite in WAL with ``synchronous=FULL``, nothing relaxes durability):

a. SQLite single writer. Raw ceiling: the ``sqlite3`` module running the same statements a reservation makes
   (conditional ``UPDATE ... WHERE on_hand - reserved - safety_stock >= q`` plus ledger, reservation and outbox
   INSERTs), one transaction per reservation and 64 per transaction. OrderLoom: ``reserve_order`` (sourcing included)
   through the group-commit writer with concurrent clients, and one transaction per call from a single thread.
b. PostgreSQL, concurrent clients (when ORDERLOOM_BENCH_POSTGRES_URL or ORDERLOOM_TEST_POSTGRES_URL is set): raw
   psycopg conditional-update transactions vs ``reserve_order`` per transaction, same client count.
c. ATP: ``GET /v1/inventory/{sku}``'s query (balances at 50 locations + the location list, on a pooled read
   connection) p50/p99, vs one raw ``sqlite3`` SUM query.

Prints a table and writes ``bench/results/inventory.json``. ``--quick`` for a shorter run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from orderloom.adapters.persistence.engine import Engines, make_engines
from orderloom.adapters.persistence.inventory_store import SqlInventoryReads
from orderloom.adapters.persistence.migrate import upgrade
from orderloom.adapters.persistence.retrying import RetryingRunner
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import GroupCommitWriter, SqlTransactionRunner
from orderloom.application.inventory import (
    NearestFullStockSourcing,
    ReceiptLine,
    create_location,
    receive_stock,
    reserve_order,
    stock_view,
)
from orderloom.application.ports import TransactionRunner, UnitOfWork
from orderloom.domain.inventory import Location, LocationType
from orderloom.domain.sourcing import Demand, ShipTo

__all__ = ["main"]

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "inventory.json"
TARGET_SQLITE_PER_S = 3000.0
TARGET_ATP_P99_MS = 2.0
SOURCING = NearestFullStockSourcing()
console = Console()
if not console.is_terminal:
    console = Console(width=150)


@dataclass
class Profile:
    """Sizes of one run."""

    sqlite_reservations: int
    pg_reservations: int
    atp_queries: int
    clients: int


FULL = Profile(6000, 4000, 3000, 32)
QUICK = Profile(1500, 1000, 800, 16)


@dataclass
class Row:
    """One line of the table."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """OrderLoom over the raw baseline (throughput) or raw over OrderLoom (latency), as a share of the raw."""
        if not self.baseline:
            return None
        return self.value / self.baseline if self.unit == "/s" else self.baseline / self.value


def _network(engines: Engines, *, locations: int, skus: int, units: int) -> str:
    tenant, _ = SqlTenantDirectory(engines.write, engines.read).create(f"bench-{uuid.uuid4().hex[:8]}")
    now = datetime.now(UTC)

    def work(uow: UnitOfWork) -> None:
        for i in range(locations):
            loc = Location(
                id=f"L{i:02d}",
                tenant_id=tenant,
                name=f"warehouse {i}",
                type=LocationType.WAREHOUSE,
                country="CN",
                latitude=20 + i * 0.3,
                longitude=100 + i * 0.4,
            )
            create_location(uow=uow, location=loc, now=now)
        lines = [ReceiptLine(f"SKU-{s:05d}", f"L{i:02d}", units) for s in range(skus) for i in range(locations)]
        receive_stock(uow=uow, tenant_id=tenant, reference="OPEN", lines=lines, reason="opening", now=now)

    SqlTransactionRunner(engines.write).run(work)
    return tenant


def _reserve_fn(tenant: str, skus: int, rng: random.Random) -> Callable[[UnitOfWork], Any]:
    sku = f"SKU-{rng.randrange(skus):05d}"
    order_id = f"ord_{uuid.uuid4().hex[:20]}"
    ship_to = ShipTo(country="CN", latitude=30.0, longitude=120.0)

    def fn(uow: UnitOfWork) -> Any:
        return reserve_order(
            uow=uow,
            tenant_id=tenant,
            order_id=order_id,
            demand=[Demand(1, sku, 1)],
            ship_to=ship_to,
            sourcing=SOURCING,
            now=datetime.now(UTC),
        )

    return fn


def _concurrent(total: int, clients: int, one: Callable[[int], None]) -> float:
    per = total // clients
    barrier = threading.Barrier(clients + 1)

    def worker(w: int) -> None:
        barrier.wait()
        for i in range(per):
            one(w * per + i)

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(worker, w) for w in range(clients)]
        barrier.wait()
        t0 = time.perf_counter()
        for f in futures:
            f.result()
        elapsed = time.perf_counter() - t0
    return per * clients / elapsed


# --- a. SQLite -------------------------------------------------------------------------------------------------
RAW_UPDATE = (
    "UPDATE inventory_balances SET reserved = reserved + 1 WHERE tenant_id = ? AND sku = ? AND location_id = ? "
    "AND on_hand - reserved - safety_stock >= 1"
)
RAW_LEDGER = (
    "INSERT INTO inventory_movements (tenant_id, sku, location_id, kind, quantity, on_hand_delta, reserved_delta, "
    "reason, reference, at) VALUES (?, ?, ?, 'reservation', 1, 0, 1, 'bench', ?, ?)"
)
RAW_RES = (
    "INSERT INTO inventory_reservations (id, tenant_id, order_id, line_no, sku, location_id, quantity, status, "
    "created_at) VALUES (?, ?, ?, 1, ?, ?, 1, 'active', ?)"
)
RAW_OUTBOX = (
    "INSERT INTO outbox (event_id, tenant_id, aggregate_type, aggregate_id, type, occurred_at, payload) "
    "VALUES (?, ?, 'order', ?, 'orderloom.inventory.stock_reserved', ?, ?)"
)


def _raw_sqlite(path: str, tenant: str, skus: int, n: int, per_tx: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    rng = random.Random(1)
    t0 = time.perf_counter()
    done = 0
    while done < n:
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(per_tx):
            sku = f"SKU-{rng.randrange(skus):05d}"
            order = uuid.uuid4().hex[:20]
            now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            if conn.execute(RAW_UPDATE, (tenant, sku, "L00")).rowcount == 1:
                conn.execute(RAW_LEDGER, (tenant, sku, "L00", order, now))
                conn.execute(RAW_RES, ("res_" + order, tenant, order, sku, "L00", now))
                conn.execute(RAW_OUTBOX, ("evt_" + order, tenant, order, now, '{"data": {}}'))
            done += 1
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return done / elapsed


def bench_sqlite(profile: Profile, tmp: Path) -> list[Row]:
    """Reservations/s on SQLite: raw ceilings and OrderLoom."""
    url = f"sqlite:///{tmp}/inv.db"
    engines = make_engines(url)
    upgrade(engines)
    skus = 2000
    tenant = _network(engines, locations=3, skus=skus, units=10_000)
    raw1 = _raw_sqlite(f"{tmp}/inv.db", tenant, skus, profile.sqlite_reservations // 3, 1)
    raw64 = _raw_sqlite(f"{tmp}/inv.db", tenant, skus, profile.sqlite_reservations, 64)
    rng = random.Random(2)
    writer = GroupCommitWriter(engines.write)
    writer.start()
    group = _concurrent(
        profile.sqlite_reservations,
        profile.clients,
        lambda _i: writer.run(_reserve_fn(tenant, skus, rng)),
    )
    writer.stop()
    tx = SqlTransactionRunner(engines.write)
    n1 = profile.sqlite_reservations // 3
    t0 = time.perf_counter()
    for _ in range(n1):
        tx.run(_reserve_fn(tenant, skus, rng))
    single = n1 / (time.perf_counter() - t0)
    drifts = tx.run(lambda uow: uow.inventory.reconcile(tenant))
    engines.dispose()
    assert drifts == [], drifts
    return [
        Row("SQLite raw sqlite3, 1 reservation/tx", raw1, "/s"),
        Row("SQLite raw sqlite3, 64 reservations/tx", raw64, "/s"),
        Row(
            f"SQLite reserve_order, group commit, {profile.clients} clients",
            group,
            "/s",
            raw64,
            f"target >= {TARGET_SQLITE_PER_S:,.0f}/s",
        ),
        Row("SQLite reserve_order, 1 transaction each, 1 thread", single, "/s", raw1),
    ]


def bench_atp(profile: Profile, tmp: Path) -> list[Row]:
    """ATP of one SKU across 50 locations."""
    url = f"sqlite:///{tmp}/atp.db"
    engines = make_engines(url)
    upgrade(engines)
    tenant = _network(engines, locations=50, skus=200, units=100)
    reads = SqlInventoryReads(engines.read)
    rng = random.Random(3)
    samples: list[float] = []
    for i in range(profile.atp_queries + 100):
        sku = f"SKU-{rng.randrange(200):05d}"
        t0 = time.perf_counter()
        view = reads.read(lambda inv, s=sku: stock_view(inventory=inv, tenant_id=tenant, sku=s))
        if i >= 100:  # warm-up excluded
            samples.append((time.perf_counter() - t0) * 1000)
        assert view.atp == 5000
    raw = sqlite3.connect(f"{tmp}/atp.db")
    raw_samples: list[float] = []
    q = (
        "SELECT sum(max(on_hand - reserved - safety_stock, 0)) FROM inventory_balances b JOIN inventory_locations l "
        "ON l.tenant_id = b.tenant_id AND l.id = b.location_id WHERE b.tenant_id = ? AND b.sku = ? AND l.active"
    )
    for _ in range(profile.atp_queries):
        sku = f"SKU-{rng.randrange(200):05d}"
        t0 = time.perf_counter()
        raw.execute(q, (tenant, sku)).fetchone()
        raw_samples.append((time.perf_counter() - t0) * 1000)
    raw.close()
    engines.dispose()

    def pct(xs: list[float], p: float) -> float:
        return statistics.quantiles(xs, n=100)[int(p) - 1]

    return [
        Row("ATP, 50 locations: p50", pct(samples, 50), "ms", pct(raw_samples, 50)),
        Row(
            "ATP, 50 locations: p99",
            pct(samples, 99),
            "ms",
            pct(raw_samples, 99),
            f"target <= {TARGET_ATP_P99_MS} ms",
        ),
    ]


# --- b. PostgreSQL ---------------------------------------------------------------------------------------------
def _pg_url() -> str | None:
    return os.environ.get("ORDERLOOM_BENCH_POSTGRES_URL") or os.environ.get("ORDERLOOM_TEST_POSTGRES_URL")


def bench_postgres(profile: Profile, base_url: str) -> list[Row]:
    """Concurrent reservations/s on PostgreSQL: raw psycopg vs reserve_order."""
    import psycopg
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = f"orderloom_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db_url = url.set(database=name).render_as_string(hide_password=False)
    try:
        engines = make_engines(db_url)
        upgrade(engines)
        skus = 2000
        tenant = _network(engines, locations=3, skus=skus, units=10_000)
        dsn = db_url.replace("postgresql+psycopg://", "postgresql://")
        clients = min(profile.clients, 16)
        local = threading.local()
        rng = random.Random(4)

        def raw_one(_i: int) -> None:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = psycopg.connect(dsn)
            sku = f"SKU-{rng.randrange(skus):05d}"
            order = uuid.uuid4().hex[:20]
            now = datetime.now(UTC)
            with conn.transaction():
                cur = conn.execute(RAW_UPDATE.replace("?", "%s"), (tenant, sku, "L00"))
                if cur.rowcount == 1:
                    conn.execute(RAW_LEDGER.replace("?", "%s"), (tenant, sku, "L00", order, now))
                    conn.execute(RAW_RES.replace("?", "%s"), ("res_" + order, tenant, order, sku, "L00", now))
                    conn.execute(RAW_OUTBOX.replace("?", "%s"), ("evt_" + order, tenant, order, now, "{}"))

        raw = _concurrent(profile.pg_reservations, clients, raw_one)
        runner: TransactionRunner = RetryingRunner(SqlTransactionRunner(engines.write))
        ours = _concurrent(profile.pg_reservations, clients, lambda _i: runner.run(_reserve_fn(tenant, skus, rng)))
        drifts = runner.run(lambda uow: uow.inventory.reconcile(tenant))
        assert drifts == [], drifts
        engines.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return [
        Row(f"PostgreSQL raw psycopg, {clients} clients", raw, "/s"),
        Row(f"PostgreSQL reserve_order, {clients} clients", ours, "/s", raw),
    ]


def _table(rows: list[Row]) -> None:
    table = Table("scenario", "result", "raw baseline", "share of raw", "note")
    for r in rows:
        fmt = "{:,.0f}" if r.unit == "/s" else "{:.3f}"
        table.add_row(
            r.name,
            fmt.format(r.value) + " " + r.unit,
            "" if r.baseline is None else fmt.format(r.baseline) + " " + r.unit,
            "" if r.ratio is None else f"{r.ratio:.2f}",
            r.note,
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench_sqlite(profile, Path(tmp))
        rows += bench_atp(profile, Path(tmp))
    pg = _pg_url()
    if pg:
        rows += bench_postgres(profile, pg)
    else:
        console.print("PostgreSQL skipped: set ORDERLOOM_BENCH_POSTGRES_URL")
    _table(rows)
    ours = next(r for r in rows if "group commit" in r.name)
    p99 = next(r for r in rows if r.name.endswith("p99"))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
                "quick": args.quick,
                "rows": [{**r.__dict__, "ratio": r.ratio} for r in rows],
                "targets": {
                    "sqlite_reservations_per_s": {
                        "target": TARGET_SQLITE_PER_S,
                        "met": ours.value >= TARGET_SQLITE_PER_S,
                    },
                    "atp_p99_ms": {"target": TARGET_ATP_P99_MS, "met": p99.value <= TARGET_ATP_P99_MS},
                },
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"wrote {RESULTS.relative_to(BENCH.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
