"""Tracking benchmark: carrier scans parsed, mapped to our status and applied to shipments, in events per second.

Scenarios:

a. parse + map: every real carrier sample (tests/fixtures/carriers) read by its adapter and mapped through the
   carrier's code map, over and over;
b. map + apply (domain): the real sample scans, spread over many shipments, arriving shuffled (out of order) with
   10 % duplicates; each batch is mapped through the code map and applied to the shipment aggregate (dedupe, flags,
   time-order status), no storage;
c. map + apply, durable: the same through ``apply_tracking`` and the SQL unit of work on SQLite (WAL,
   ``synchronous=FULL``): scans, shipment row, unmapped counters, outbox rows and the order following, one
   transaction per carrier payload of 20 scans (bound by one fsync per commit);
d. as c, with 25 payloads in one ``apply_tracking`` call and transaction (a poll round, a carrier push with many
   numbers): one shipment lookup, one stored-key query, one scan insert, one shipment update and one outbox insert
   for the whole batch, one order sync per shipment that moved;
e. as d with 100 payloads (2,000 scans) per call.

Prints a table and writes ``bench/results/tracking.json``. ``--quick`` for a shorter run. Target: ≥10,000 events/s
mapped + applied. The durable scenarios also report events per CPU second of this process: on a shared machine the
wall-clock rate mostly measures the other processes (the load average is recorded with the results).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from orderloom.adapters.carriers.code_maps import CodeMapStore, load_shipment_actions  # noqa: E402
from orderloom.adapters.carriers.registry import default_registry  # noqa: E402
from orderloom.adapters.persistence.engine import make_engines  # noqa: E402
from orderloom.adapters.persistence.migrate import upgrade  # noqa: E402
from orderloom.adapters.persistence.tenants import SqlTenantDirectory  # noqa: E402
from orderloom.adapters.persistence.writer import SqlTransactionRunner  # noqa: E402
from orderloom.application.orders import place_order  # noqa: E402
from orderloom.application.shipments import apply_tracking, create_shipment  # noqa: E402
from orderloom.application.tracking import read_tracking  # noqa: E402
from orderloom.bootstrap import load_lifecycle  # noqa: E402
from orderloom.domain.shipments import Shipment  # noqa: E402
from orderloom.domain.tracking import TrackingEvent, TrackingResult  # noqa: E402

__all__ = ["main"]

RESULTS = ROOT / "bench" / "results" / "tracking.json"
FIXTURES = ROOT / "tests" / "fixtures" / "carriers"
TARGET = 10_000.0
LIFECYCLE = load_lifecycle()
STATUSES = [str(s) for s in LIFECYCLE.all_statuses()]
MAPS = CodeMapStore(STATUSES)
REGISTRY = default_registry()
NOW = datetime.now(UTC)


def _samples() -> list[tuple[str, bytes]]:
    return [
        (p.parent.name, p.read_bytes()) for p in sorted(FIXTURES.glob("*/*_raw.*")) if "proof_of_delivery" not in p.name
    ]


def parse_and_map(seconds: float) -> dict[str, Any]:
    """Scenario a."""
    samples = _samples()
    events = rounds = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for carrier, payload in samples:
            for outcome in read_tracking(carrier=carrier, payload=payload, parsers=REGISTRY, maps=MAPS):
                events += len(getattr(outcome, "events", ()))
        rounds += 1
    elapsed = time.perf_counter() - start
    return {"events": events, "payloads": rounds * len(samples), "seconds": elapsed, "events_per_s": events / elapsed}


def _raw_scans() -> list[tuple[str, str, TrackingEvent]]:
    """(carrier, format, unmapped event) for every real sample scan."""
    out = []
    for carrier, payload in _samples():
        for outcome in REGISTRY.get(carrier).parse(payload):
            if isinstance(outcome, TrackingResult):
                out.extend((carrier, outcome.api_format, e) for e in outcome.events)
    return out


def _stream(n_shipments: int, per_shipment: int, seed: int = 7) -> list[tuple[int, str, str, list[TrackingEvent]]]:
    """Batches (shipment index, carrier, format, events): real scans re-timed into each shipment's last days,
    shuffled, with 10 % duplicates."""
    rng = random.Random(seed)
    scans = _raw_scans()
    batches = []
    for i in range(n_shipments):
        carrier, fmt, _ = scans[i % len(scans)]
        pool = [e for c, f, e in scans if c == carrier and f == fmt]
        events = []
        for k in range(per_shipment):
            base = pool[k % len(pool)]
            when = NOW - timedelta(days=3) + timedelta(minutes=37 * k + i % 50)
            events.append(replace(base, occurred_at=when))
        events += rng.sample(events, max(1, per_shipment // 10))
        rng.shuffle(events)
        for j in range(0, len(events), 20):
            batches.append((i, carrier, fmt, events[j : j + 20]))
    rng.shuffle(batches)
    return batches


def map_and_apply_domain(n_shipments: int, per_shipment: int) -> dict[str, Any]:
    """Scenario b."""
    batches = _stream(n_shipments, per_shipment)
    shipments = [
        Shipment.create(
            tenant_id="t", order_id=f"o{i}", carrier="x", tracking_numbers=[f"N{i}"], now=NOW - timedelta(days=4)
        )
        for i in range(n_shipments)
    ]
    keys: dict[int, set[Any]] = {i: set() for i in range(n_shipments)}
    events = 0
    start = time.perf_counter()
    for i, carrier, fmt, batch in batches:
        code_map = MAPS.code_map(carrier)
        assert code_map is not None
        mapped = [code_map.map_event(fmt, e) for e in batch]
        result = shipments[i].apply_scans(tracking_number=f"N{i}", incoming=mapped, known=keys[i], now=NOW)
        keys[i].update(s.key for s in result.recorded)
        shipments[i].pull_events()
        events += len(batch)
    elapsed = time.perf_counter() - start
    with_status = sum(1 for s in shipments if s.status is not None)
    return {
        "events": events,
        "seconds": elapsed,
        "events_per_s": events / elapsed,
        "shipments_with_status": with_status,
    }


def map_and_apply_sqlite(n_shipments: int, per_shipment: int, workdir: Path, *, group: int = 1) -> dict[str, Any]:
    """Scenarios c, d and e: ``group`` carrier payloads per apply_tracking call and transaction."""
    url = f"sqlite:///{workdir}/tracking-{group}.db"
    engines = make_engines(url)
    upgrade(engines)
    runner = SqlTransactionRunner(engines.write)
    tenant = SqlTenantDirectory(engines.write, engines.read).create("bench")[0]
    actions = load_shipment_actions(LIFECYCLE.actions, STATUSES)
    import msgspec

    from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER, decode_new_order

    def setup(uow: Any) -> list[str]:
        ids = []
        for i in range(n_shipments):
            body = dict(
                EXAMPLE_ORDER, channel_order_id=f"B-{i}", status={"main": "shipped", "sub": "handed_to_carrier"}
            )
            new = decode_new_order(msgspec.json.encode(body))
            doc = place_order(uow=uow, tenant_id=tenant, new=new, lifecycle=LIFECYCLE, actor="bench", now=NOW)
            s = create_shipment(
                uow=uow,
                tenant_id=tenant,
                order_id=doc["id"],
                carrier="c",
                tracking_numbers=[f"N{i}"],
                now=NOW - timedelta(days=4),
            )
            ids.append(s.id)
        return ids

    runner.run(setup)
    batches = _stream(n_shipments, per_shipment)
    events = transactions = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for g in range(0, len(batches), group):
        outcomes = []
        for i, carrier, fmt, batch in batches[g : g + group]:
            code_map = MAPS.code_map(carrier)
            assert code_map is not None
            outcomes.append(code_map.apply(TrackingResult(carrier, fmt, f"N{i}", tuple(batch))))
            events += len(batch)

        def work(uow: Any, outcomes: Any = outcomes) -> Any:
            return apply_tracking(
                uow=uow,
                tenant_id=tenant,
                carrier="c",
                outcomes=outcomes,
                lifecycle=LIFECYCLE,
                actions=actions,
                now=NOW,
            )

        runner.run(work)
        transactions += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    engines.dispose()
    return {
        "events": events,
        "transactions": transactions,
        "seconds": elapsed,
        "events_per_s": events / elapsed,
        "cpu_seconds": cpu,
        "events_per_cpu_s": events / cpu,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="shorter runs")
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    console = Console()
    scale = 1 if args.quick else 4
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ol-tracking-bench-") as tmp:
        a = parse_and_map(1.0 * scale)
        b = map_and_apply_domain(500 * scale, 40)
        c = map_and_apply_sqlite(100 * scale, 40, Path(tmp))
        d = map_and_apply_sqlite(250 * scale, 40, Path(tmp), group=25)
        e = map_and_apply_sqlite(250 * scale, 40, Path(tmp), group=100)
    rows = [
        ("a. parse + map (real samples)", a),
        ("b. map + apply, domain (shuffled, 10% dup)", b),
        ("c. map + apply, SQLite durable (20 scans/tx)", c),
        ("d. same, 25 payloads per call and tx", d),
        ("e. same, 100 payloads per call and tx", e),
    ]
    table = Table(title="Tracking: events mapped + applied")
    for col in ("scenario", "events", "seconds", "events/s", "per CPU s", f"≥{TARGET:,.0f}/s"):
        table.add_column(col, justify="right" if col != "scenario" else "left")
    for name, r in rows:
        ok = "yes" if r["events_per_s"] >= TARGET else "no"
        per_cpu = f"{r['events_per_cpu_s']:,.0f}" if "events_per_cpu_s" in r else ""
        table.add_row(name, f"{r['events']:,}", f"{r['seconds']:.2f}", f"{r['events_per_s']:,.0f}", per_cpu, ok)
    console.print(table)
    document = {
        "generated_at": datetime.now(UTC).isoformat(),
        "load_average": os.getloadavg(),
        "quick": args.quick,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "target_events_per_s": TARGET,
        "parse_and_map": a,
        "map_and_apply_domain": b,
        "map_and_apply_sqlite": c,
        "map_and_apply_sqlite_grouped": d,
        "map_and_apply_sqlite_grouped_100": e,
        "runtime_s": round(time.perf_counter() - started, 1),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"wrote {args.output}", highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
