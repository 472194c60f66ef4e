"""Fulfilment benchmark: wave release of N fulfilment orders, and WMS confirmations applied per second, on SQLite.

Setup (not timed): a fresh SQLite database (WAL, ``synchronous=FULL``), one warehouse with stock, N one-line orders
placed, confirmed and allocated through the real services (each allocation opens its fulfilment order).

a. Wave release: ``release_wave`` of all N open fulfilment orders at the warehouse in one transaction: FO states,
   one ``orderloom.fulfilment_order.released`` outbox event per FO (what the WMS webhook carries) and the wave. Then,
   measured apart, ``advance_wave`` moves every order to ``fulfilling.released_to_warehouse`` through real lifecycle
   actions (audit chain + status event), 500 orders per transaction (what the API and CLI do right after a release).
b. Confirmations: ``confirm_fulfilment`` for picked, packed and shipped of every FO (3N confirmations), each with its
   idempotency record, its order transition(s), and for shipped a shipment plus the ledger movement consuming the
   reservation; applied in batches of B confirmations per transaction (what a WMS feed endpoint would batch).

Prints a table and writes ``bench/results/fulfilment.json``. ``--quick`` for a shorter run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

from orderloom.adapters.persistence.engine import Engines, make_engines
from orderloom.adapters.persistence.migrate import upgrade
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import SqlTransactionRunner
from orderloom.application.fulfilment import Fulfilment, advance_wave, confirm_batch, release_wave
from orderloom.application.inventory import (
    NearestFullStockSourcing,
    ReceiptLine,
    allocate_order,
    create_location,
    receive_stock,
)
from orderloom.application.orders import apply_action, place_order
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import load_fulfilment_machine, load_lifecycle
from orderloom.domain.fulfilment import Confirmation, Package
from orderloom.domain.inventory import Location, LocationType
from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER, decode_new_order

__all__ = ["main"]

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "fulfilment.json"
TARGET_CONFIRMATIONS_PER_S = 3000.0
TARGET_WAVE_S = 2.0
SKUS = 50
LIFECYCLE = load_lifecycle()
SETUP = Fulfilment(machine=load_fulfilment_machine(), lifecycle=LIFECYCLE, sourcing=NearestFullStockSourcing())
console = Console()
if not console.is_terminal:
    console = Console(width=150)


@dataclass(frozen=True)
class Profile:
    """Sizes of one run."""

    orders: int
    batch: int


FULL = Profile(10_000, 250)
QUICK = Profile(2_000, 250)


def _order_body(i: int) -> bytes:
    body = dict(EXAMPLE_ORDER)
    body["channel_order_id"] = f"B-{i:07d}-{uuid.uuid4().hex[:6]}"
    line = {**EXAMPLE_ORDER["lines"][0], "sku": f"SKU-{i % SKUS:03d}", "quantity": 1, "discount": "0.00", "tax": "0.00"}
    body["lines"] = [line]
    body["totals"] = {
        "subtotal": "24.99",
        "discount": "0.00",
        "shipping": "0.00",
        "tax": "0.00",
        "grand_total": "24.99",
    }
    return msgspec.json.encode(body)


def _setup(engines: Engines, n: int, batch: int) -> tuple[str, list[str]]:
    tenant, _ = SqlTenantDirectory(engines.write, engines.read).create(f"bench-{uuid.uuid4().hex[:8]}")
    tx = SqlTransactionRunner(engines.write)
    now = datetime.now(UTC)

    def network(uow: UnitOfWork) -> None:
        loc = Location(
            id="WH1",
            tenant_id=tenant,
            name="bench warehouse",
            type=LocationType.WAREHOUSE,
            country="US",
            latitude=37.7,
            longitude=-122.4,
            cutoff_time="16:00",
            time_zone="America/Los_Angeles",
        )
        create_location(uow=uow, location=loc, now=now)
        lines = [ReceiptLine(f"SKU-{s:03d}", "WH1", n) for s in range(SKUS)]
        receive_stock(uow=uow, tenant_id=tenant, reference="OPEN", lines=lines, reason="opening", now=now)

    tx.run(network)
    order_ids: list[str] = []

    def orders(start: int, stop: int) -> Callable[[UnitOfWork], None]:
        def work(uow: UnitOfWork) -> None:
            for i in range(start, stop):
                doc = place_order(
                    uow=uow,
                    tenant_id=tenant,
                    new=decode_new_order(_order_body(i)),
                    lifecycle=LIFECYCLE,
                    actor="bench",
                    now=now,
                )
                oid = str(doc["id"])
                apply_action(
                    uow=uow,
                    tenant_id=tenant,
                    order_id=oid,
                    action="confirm",
                    params={},
                    lifecycle=LIFECYCLE,
                    actor="bench",
                    now=now,
                )
                allocate_order(
                    uow=uow, tenant_id=tenant, order_id=oid, lifecycle=LIFECYCLE, sourcing=SETUP.sourcing, now=now
                )
                order_ids.append(oid)

        return work

    for start in range(0, n, batch * 2):
        tx.run(orders(start, min(start + batch * 2, n)))
    return tenant, order_ids


def _wave(engines: Engines, tenant: str, n: int) -> tuple[float, float, int]:
    tx = SqlTransactionRunner(engines.write)
    t0 = time.perf_counter()
    wave = tx.run(
        lambda uow: release_wave(
            uow=uow, tenant_id=tenant, location_id="WH1", setup=SETUP, now=datetime.now(UTC), max_batch=n, advance=False
        )
    )
    released_s = time.perf_counter() - t0
    assert wave is not None
    t1 = time.perf_counter()
    advance_wave(runner=tx, tenant_id=tenant, wave_id=wave.id, lifecycle=LIFECYCLE, now=datetime.now(UTC))
    return released_s, time.perf_counter() - t1, wave.count


def _confirmations(engines: Engines, tenant: str, batch: int) -> tuple[float, int, dict[str, float]]:
    tx = SqlTransactionRunner(engines.write)
    fos = tx.run(lambda uow: uow.fulfilment.at_location(tenant, "WH1", "released", 1_000_000, None))
    per_type: dict[str, float] = {}
    total = 0
    started = time.perf_counter()
    for kind in ("picked", "packed", "shipped"):
        t0 = time.perf_counter()
        for start in range(0, len(fos), batch):
            chunk = fos[start : start + batch]

            def work(uow: UnitOfWork, chunk: list[Any] = chunk, kind: str = kind) -> None:
                items = []
                for fo in chunk:
                    package = (Package(0.5, (20, 15, 5), "ups", "ground", f"1Z{fo.id[-16:]}"),)
                    c = Confirmation(f"{kind}-{fo.id}", kind, ((1, 1),), package if kind == "shipped" else ())
                    items.append((fo.id, c))
                results = confirm_batch(uow=uow, tenant_id=tenant, items=items, setup=SETUP, now=datetime.now(UTC))  # type: ignore[arg-type]
                errors = [r for r in results if not isinstance(r, dict)]
                if errors:
                    raise RuntimeError(f"{len(errors)} confirmation(s) refused, first: {errors[0]}")

            tx.run(work)
        per_type[kind] = len(fos) / (time.perf_counter() - t0)
        total += len(fos)
    return total / (time.perf_counter() - started), total, per_type


def _check(engines: Engines, tenant: str, n: int) -> dict[str, int]:
    """Figures after the run: every order shipped, every reservation fulfilled, stock consumed exactly once."""
    with engines.read.connect() as conn:
        import sqlalchemy as sa

        shipped = conn.execute(
            sa.text("SELECT count(*) FROM orders WHERE tenant_id = :t AND status_main = 'shipped'"), {"t": tenant}
        ).scalar_one()
        fulfilled = conn.execute(
            sa.text("SELECT count(*) FROM inventory_reservations WHERE tenant_id = :t AND status = 'fulfilled'"),
            {"t": tenant},
        ).scalar_one()
        on_hand = conn.execute(
            sa.text("SELECT sum(on_hand), sum(reserved) FROM inventory_balances WHERE tenant_id = :t"), {"t": tenant}
        ).one()
    return {
        "orders_shipped": int(shipped),
        "reservations_fulfilled": int(fulfilled),
        "on_hand_left": int(on_hand[0]),
        "on_hand_expected": SKUS * n - n,
        "reserved_left": int(on_hand[1]),
    }


def main() -> int:
    """Run, print, write results; exit status 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter run")
    args = parser.parse_args()
    profile = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory() as tmp:
        engines = make_engines(f"sqlite:///{tmp}/bench.db")
        upgrade(engines)
        try:
            t0 = time.perf_counter()
            tenant, _ = _setup(engines, profile.orders, profile.batch)
            setup_s = time.perf_counter() - t0
            wave_s, follow_s, released = _wave(engines, tenant, profile.orders)
            rate, applied, per_type = _confirmations(engines, tenant, profile.batch)
            figures = _check(engines, tenant, profile.orders)
        finally:
            engines.dispose()
    table = Table("measure", "value", "target", "note")
    table.add_row("setup (place+confirm+allocate)", f"{setup_s:.1f} s", "", f"{profile.orders:,} orders, not timed")
    table.add_row("wave release", f"{wave_s:.2f} s", f"<= {TARGET_WAVE_S:.0f} s", f"{released:,} FOs, one transaction")
    table.add_row("  orders follow to fulfilling", f"{follow_s:.2f} s", "", "advance_wave, 500 orders/transaction")
    table.add_row(
        "confirmations applied",
        f"{rate:,.0f} /s",
        f">= {TARGET_CONFIRMATIONS_PER_S:,.0f} /s",
        f"{applied:,}, batch {profile.batch}",
    )
    for kind, value in per_type.items():
        table.add_row(f"  {kind}", f"{value:,.0f} /s", "", "")
    for key, value in figures.items():
        table.add_row(key, f"{value:,}", "", "")
    console.print(table)
    result = {
        "when": datetime.now(UTC).isoformat(),
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": __import__("os").cpu_count(),
        },
        "profile": {"orders": profile.orders, "batch": profile.batch, "quick": args.quick},
        "backend": "sqlite (WAL, synchronous=FULL)",
        "wave_release_s": round(wave_s, 3),
        "wave_release_fulfilment_orders": released,
        "wave_release_target_s": TARGET_WAVE_S,
        "wave_orders_follow_s": round(follow_s, 3),
        "confirmations_per_s": round(rate, 1),
        "confirmations_applied": applied,
        "confirmations_per_s_by_type": {k: round(v, 1) for k, v in per_type.items()},
        "confirmations_target_per_s": TARGET_CONFIRMATIONS_PER_S,
        "consistency": figures,
        "setup_s": round(setup_s, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    ok = wave_s <= TARGET_WAVE_S and rate >= TARGET_CONFIRMATIONS_PER_S
    ok = ok and figures["on_hand_left"] == figures["on_hand_expected"] and figures["reserved_left"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
