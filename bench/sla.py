"""SLA scan benchmark: 1M open clocks, found through the ``due_at``/``warn_at`` indexes, never by a full scan.

For each backend (SQLite always; PostgreSQL when ORDERLOOM_BENCH_POSTGRES_URL or ORDERLOOM_TEST_POSTGRES_URL is
set) a fresh, migrated database gets N open clocks (bulk-inserted through the driver: ``executemany`` on SQLite,
``COPY`` on PostgreSQL) whose deadlines are spread over the next ~500 hours, about 1 % already past and about 1 %
inside their warning window. Then, timed:

a. probe: a scan with the clock before every warning time (finds nothing; the index probe alone);
b. scan: one full pass at "now" (flags ~1 % breaches and ~1 % warnings: inbox rows, clock updates and one
   outbox event each, committed in batches of 5,000);
c. rescan: the same pass again (must flag nothing: exactly once per status entry);
d. for scale, a full read of every clock (what a scan without the index would at least cost);
e. the bus handler that keeps the clocks: status-change events published through the real message bus (durable
   subscription: ledger check, clock write, ledger mark), events per second.

Prints a table and writes ``bench/results/sla.json``. ``--quick`` uses 100k clocks. Target: pass b ≤ 5 s at 1M.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from rich.console import Console
from rich.table import Table

from orderloom.adapters.persistence.engine import Engines, make_engines
from orderloom.adapters.persistence.migrate import upgrade
from orderloom.adapters.persistence.sla_store import SqlSlaStore
from orderloom.adapters.persistence.tables_sla import sla_clocks
from orderloom.application.sla import scan_sla

__all__ = ["main"]

RESULTS = Path(__file__).resolve().parent / "results" / "sla.json"
TARGET_SECONDS = 5.0
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
STATES = [
    ("confirmed.paid", 2, "system", "allocate"),
    ("allocated.reserved", 12, "warehouse", "start_fulfilment"),
    ("on_hold.manual_review", 24, "merchant", "release"),
    ("in_transit.in_transit", 72, "carrier", "report_delay"),
    ("out_for_delivery.with_courier", 12, "carrier", "report_delay"),
]
COLUMNS = (
    "tenant_id",
    "subject_kind",
    "subject_id",
    "entry_id",
    "state",
    "entered_at",
    "warn_at",
    "due_at",
    "deadline",
    "owner",
    "action",
)
console = Console(width=140)


def clock_rows(n: int, *, seed: int = 11) -> Iterator[tuple[Any, ...]]:
    """N open clocks: deadlines uniform over [now - 5 h, now + 495 h], warnings at 80 % of each limit."""
    rng = random.Random(seed)
    tenants = [f"ten_bench{i:02d}" for i in range(20)]
    for i in range(n):
        state, hours, owner, action = STATES[i % len(STATES)]
        due = NOW + timedelta(seconds=rng.uniform(-5 * 3600, 495 * 3600))
        entered = due - timedelta(hours=hours)
        warn = entered + timedelta(hours=hours * 0.8)
        kind = "shipment" if state.startswith(("in_transit", "out_for")) else "order"
        yield (
            tenants[i % 20],
            kind,
            f"{kind[:3]}_{i:010d}",
            f"evt_{i:022d}",
            state,
            entered,
            warn,
            due,
            due,
            owner,
            action,
        )


def _sqlite_value(v: Any) -> Any:
    return v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v


def bulk_load(engines: Engines, n: int) -> float:
    """Insert the clocks through the driver; returns seconds."""
    started = time.perf_counter()
    with engines.write.begin() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        if engines.dialect == "sqlite":
            sql = f"INSERT INTO sla_clocks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
            batch: list[tuple[Any, ...]] = []
            for row in clock_rows(n):
                batch.append(tuple(_sqlite_value(v) for v in row))
                if len(batch) == 50_000:
                    cur.executemany(sql, batch)
                    batch.clear()
            if batch:
                cur.executemany(sql, batch)
        else:
            with cur.copy(f"COPY sla_clocks ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in clock_rows(n):
                    copy.write_row(row)
        cur.close()
    if engines.dialect == "postgresql":
        with engines.write.connect() as conn:
            conn.execute(sa.text("ANALYZE sla_clocks"))
            conn.commit()
    return time.perf_counter() - started


def full_read(engines: Engines) -> tuple[float, int]:
    """Read every clock's deadline and filter in Python: the floor of a scan without the index."""
    started = time.perf_counter()
    with engines.read.connect() as conn:
        due = sum(1 for (d,) in conn.execute(sa.select(sla_clocks.c.due_at)) if d is not None and d <= NOW)
    return time.perf_counter() - started, due


def query_plan(engines: Engines) -> str:
    """The plan of the scanner's deadline query (it must use ix_sla_clocks_due)."""
    q = sa.select(sla_clocks).where(sla_clocks.c.due_at <= NOW).order_by(sla_clocks.c.due_at).limit(2000)
    compiled = q.compile(engines.read, compile_kwargs={"literal_binds": False})
    prefix = "EXPLAIN QUERY PLAN " if engines.dialect == "sqlite" else "EXPLAIN "
    with engines.read.connect() as conn:
        rows = conn.exec_driver_sql(prefix + str(compiled), _params(engines, compiled)).all()
    return " | ".join(str(r[-1]) for r in rows)


def _params(engines: Engines, compiled: Any) -> Any:
    values = [compiled.params[k] for k in compiled.positiontup] if engines.dialect == "sqlite" else compiled.params
    if engines.dialect == "sqlite":
        return tuple(_sqlite_value(v) for v in values)
    return values


def run_backend(name: str, url: str, n: int) -> dict[str, Any]:
    """Load, probe, scan, rescan and full-read on one database."""
    engines = make_engines(url)
    try:
        upgrade(engines)
        load_s = bulk_load(engines, n)
        store = SqlSlaStore(engines.write, engines.read)
        probe = scan_sla(store=store, now=NOW - timedelta(days=30))
        scan = scan_sla(store=store, now=NOW)
        rescan = scan_sla(store=store, now=NOW)
        read_s, due_seen = full_read(engines)
        plan = query_plan(engines)
    finally:
        engines.dispose()
    bus = handler_rate(url, 400 if n < 1_000_000 else 2000)
    return {
        "backend": name,
        "clocks": n,
        "bulk_load_s": round(load_s, 2),
        "bulk_load_rows_per_s": round(n / load_s),
        "probe_s": round(probe.seconds, 4),
        "scan_s": round(scan.seconds, 3),
        "scan_breaches": scan.breaches,
        "scan_warnings": scan.warnings,
        "flags_per_s": round((scan.breaches + scan.warnings) / scan.seconds) if scan.seconds else None,
        "rescan_s": round(rescan.seconds, 4),
        "rescan_flags": rescan.breaches + rescan.warnings,
        "full_read_s": round(read_s, 3),
        "full_read_past_due": due_seen,
        "plan": plan,
        "bus_handler": bus,
        "target_scan_s": TARGET_SECONDS,
        "meets_target": scan.seconds <= TARGET_SECONDS and rescan.breaches + rescan.warnings == 0,
    }


def handler_rate(url: str, events: int) -> dict[str, Any]:
    """Publish order status events through the bus with the SLA subscriptions; events per second."""
    from orderloom.application.ports import OutboxMessage
    from orderloom.bootstrap import bootstrap
    from orderloom.config import Settings

    container = bootstrap(Settings(database_url=url, relay_enabled=False), group_commit=False)
    try:
        tenant = f"ten_bus{uuid.uuid4().hex[:6]}"
        started = time.perf_counter()
        for i in range(events):
            order_id = f"ord_bus{i // 4:08d}"
            if i % 4 == 0:
                kind, data = (
                    "placed",
                    {"order_id": order_id, "channel": "web", "status": {"main": "confirmed", "sub": "paid"}},
                )
            else:
                to = ("allocated", "reserved") if i % 4 == 1 else ("fulfilling", "picking")
                kind, data = "status_changed", {"order_id": order_id, "to": {"main": to[0], "sub": to[1]}}
            event = {
                "id": f"evt_bus{uuid.uuid4().hex[:20]}",
                "source": f"/orderloom/tenants/{tenant}",
                "type": f"orderloom.order.{kind}",
                "time": (NOW + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
                "data": data,
            }
            container.bus.publish(OutboxMessage(i, event["id"], tenant, event["type"], event))
        seconds = time.perf_counter() - started
    finally:
        container.close()
    return {"events": events, "seconds": round(seconds, 2), "events_per_s": round(events / seconds)}


def _postgres(base: str) -> tuple[str, sa.Engine, str]:
    url = sa.engine.make_url(base)
    name = f"orderloom_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False), admin, name


def main() -> int:
    parser = argparse.ArgumentParser(description="SLA scan benchmark")
    parser.add_argument("--quick", action="store_true", help="100k clocks instead of 1M")
    parser.add_argument("--clocks", type=int, default=None, help="number of open clocks")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))  # no per-event debug lines
    n = args.clocks or (100_000 if args.quick else 1_000_000)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ol-bench-sla-") as tmp:
        results.append(run_backend("sqlite", f"sqlite:///{tmp}/sla.db", n))
    pg = os.environ.get("ORDERLOOM_BENCH_POSTGRES_URL") or os.environ.get("ORDERLOOM_TEST_POSTGRES_URL")
    if pg:
        url, admin, name = _postgres(pg)
        try:
            results.append(run_backend("postgresql", url, n))
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    table = Table(title=f"SLA scan over {n:,} open clocks (target: scan ≤ {TARGET_SECONDS:g} s)")
    cols = (
        "backend",
        "load rows/s",
        "probe",
        "scan",
        "breaches",
        "warnings",
        "flags/s",
        "rescan",
        "full read",
        "bus ev/s",
    )
    for col in cols:
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            r["backend"],
            f"{r['bulk_load_rows_per_s']:,}",
            f"{r['probe_s'] * 1000:.1f} ms",
            f"{r['scan_s']:.2f} s",
            f"{r['scan_breaches']:,}",
            f"{r['scan_warnings']:,}",
            f"{r['flags_per_s']:,}",
            f"{r['rescan_s'] * 1000:.1f} ms ({r['rescan_flags']})",
            f"{r['full_read_s']:.2f} s",
            f"{r['bus_handler']['events_per_s']:,}",
        )
    console.print(table)
    for r in results:
        console.print(f"{r['backend']} plan: {r['plan']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"wrote {RESULTS}")
    return 0 if all(r["meets_target"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
