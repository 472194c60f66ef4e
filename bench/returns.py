"""Returns benchmark: refund calculations/s (the Decimal calculation alone, on one core) and whole return cycles/s
on a fresh SQLite file (request authorised by the default CEL rule set + receipt with a restock movement + refund,
each its own transaction, as the API runs them).

The issue sets no target for returns; the figures go to ``bench/results/returns.json``. ``--quick`` for a shorter run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import msgspec
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orderloom.adapters.persistence.engine import make_engines  # noqa: E402
from orderloom.adapters.persistence.migrate import upgrade  # noqa: E402
from orderloom.adapters.persistence.tenants import SqlTenantDirectory  # noqa: E402
from orderloom.adapters.persistence.writer import SqlTransactionRunner  # noqa: E402
from orderloom.adapters.returns_config import load_return_reasons  # noqa: E402
from orderloom.application.inventory import create_location  # noqa: E402
from orderloom.application.orders import apply_action, place_order  # noqa: E402
from orderloom.application.ports import UnitOfWork  # noqa: E402
from orderloom.application.returns import (  # noqa: E402
    RequestedLine,
    ReturnsSetup,
    issue_refund,
    receive_return,
    request_return,
)
from orderloom.application.returns_ports import ReturnsUnitOfWork  # noqa: E402
from orderloom.bootstrap import bootstrap, load_lifecycle  # noqa: E402
from orderloom.config import Settings  # noqa: E402
from orderloom.domain.inventory import Location, LocationType  # noqa: E402
from orderloom.domain.orders import Order  # noqa: E402
from orderloom.domain.returns import (  # noqa: E402
    Disposition,
    InspectedLine,
    RefundRecord,
    ReturnLine,
    ReturnRequest,
    calculate_refund,
)
from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER, decode_new_order  # noqa: E402

__all__ = ["main"]

RESULTS = ROOT / "bench" / "results" / "returns.json"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
console = Console(width=140)


def _order(n: int = 0) -> Order:
    body = dict(EXAMPLE_ORDER, channel_order_id=f"B-{n}-{uuid.uuid4().hex[:8]}")
    return Order.place(
        tenant_id="t", new=decode_new_order(msgspec.json.encode(body)), lifecycle=load_lifecycle(), now=NOW
    )


def bench_calculation(seconds: float) -> dict[str, Any]:
    """calculate_refund on a two-line order: one line partly returned after an earlier refund (shares, fee, cap)."""
    order = _order()
    reasons = load_return_reasons()
    ret = ReturnRequest.open(
        tenant_id="t",
        order_id=order.id,
        currency="USD",
        lines=[
            ReturnLine(line_no=1, sku="TSHIRT-BLK-M", quantity=1, reason="changed_mind"),
            ReturnLine(line_no=2, sku="MUG-WHT", quantity=1, reason="defective"),
        ],
        source="bench",
        now=NOW,
    )
    ret.approve(label=None, now=NOW)
    ret.receive(
        inspected=[
            InspectedLine(line_no=1, quantity=1, disposition=Disposition.RESTOCK),
            InspectedLine(line_no=2, quantity=1, disposition=Disposition.SCRAP),
        ],
        now=NOW,
    )
    earlier = [
        RefundRecord(
            id="r0",
            tenant_id="t",
            order_id=order.id,
            return_id="x",
            amount=Decimal("24.29"),
            shipping=Decimal(0),
            currency="USD",
            lines=((1, 1),),
            reason=None,
            created_at=NOW,
        )
    ]
    best = 0.0
    total = Decimal(0)
    for _ in range(3):
        n, start = 0, time.process_time()
        while (elapsed := time.process_time() - start) < seconds / 3:
            for _ in range(200):
                total = calculate_refund(
                    order=order, ret=ret, reasons=reasons, refunds=earlier, returned_elsewhere={1: 1}
                ).total
            n += 200
        best = max(best, n / elapsed)
    return {"refund_calculations_per_s": round(best), "example_total": str(total)}


def _cycle(runner: SqlTransactionRunner, setup: ReturnsSetup, tenant: str, n: int) -> float:
    """One order taken to delivered, then returned and refunded; returns the seconds of the return part."""
    lifecycle = setup.lifecycle
    body = dict(EXAMPLE_ORDER, channel_order_id=f"RB-{n}")
    new = decode_new_order(msgspec.json.encode(body))

    def forward(uow: UnitOfWork) -> str:
        oid = str(place_order(uow=uow, tenant_id=tenant, new=new, lifecycle=lifecycle, actor="b", now=NOW)["id"])
        for action in ("confirm", "allocate", "ship", "deliver"):
            apply_action(
                uow=uow,
                tenant_id=tenant,
                order_id=oid,
                action=action,
                params={},
                lifecycle=lifecycle,
                actor="b",
                now=NOW,
            )
        return oid

    oid = runner.run(forward)
    start = time.perf_counter()
    common: dict[str, Any] = {"setup": setup, "tenant_id": tenant, "actor": "b", "now": NOW}
    line = RequestedLine(line_no=1, quantity=1, reason="wrong_size")
    rid = runner.run(
        lambda uow: request_return(uow=cast(ReturnsUnitOfWork, uow), order_id=oid, lines=[line], source="b", **common)
    )["id"]
    restock = [InspectedLine(line_no=1, quantity=1, disposition=Disposition.RESTOCK)]
    runner.run(
        lambda uow: receive_return(
            uow=cast(ReturnsUnitOfWork, uow), return_id=rid, location_id="WH", inspected=restock, **common
        )
    )
    runner.run(
        lambda uow: issue_refund(uow=cast(ReturnsUnitOfWork, uow), return_id=rid, amount=None, reason=None, **common)
    )
    return time.perf_counter() - start


def bench_cycles(count: int) -> dict[str, Any]:
    """Whole return cycles on a fresh SQLite file; the forward part (place + 4 actions) is timed apart."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engines = make_engines(url)
        upgrade(engines)
        engines.dispose()
        container = bootstrap(Settings(database_url=url, relay_enabled=False), group_commit=False)
        try:
            assert container.returns is not None
            tenant = SqlTenantDirectory(container.engines.write, container.engines.read).create("bench")[0]
            location = Location(
                id="WH", tenant_id=tenant, name="WH", type=LocationType.WAREHOUSE, country="US", time_zone="UTC"
            )
            container.tx.run(lambda uow: create_location(uow=uow, location=location, now=NOW))
            for n in range(5):  # warm up (CEL compile, caches)
                _cycle(container.tx, container.returns, tenant, -1 - n)
            start = time.perf_counter()
            returning = sum(_cycle(container.tx, container.returns, tenant, n) for n in range(count))
            elapsed = time.perf_counter() - start
        finally:
            container.close()
    return {
        "cycles": count,
        "seconds": round(elapsed, 3),
        "cycles_per_s": round(count / elapsed, 1),
        "return_part_seconds": round(returning, 3),
        "returns_per_s": round(count / returning, 1),
        "return_ms_p_cycle": round(1000 * returning / count, 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter run")
    args = parser.parse_args(argv)
    calc = bench_calculation(1.5 if args.quick else 6.0)
    cycles = bench_cycles(100 if args.quick else 500)
    table = Table(title="returns and refunds")
    table.add_column("measure")
    table.add_column("figure", justify="right")
    table.add_row("refund calculations/s (one core, CPU time)", f"{calc['refund_calculations_per_s']:,}")
    table.add_row(
        "return cycles/s on SQLite (order → delivered → request → receive+restock → refund; 4 transactions)",
        f"{cycles['cycles_per_s']:,}",
    )
    table.add_row(
        "  of which the return part (request + receive + refund; 3 transactions): returns/s",
        f"{cycles['returns_per_s']:,}",
    )
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "bench": "returns",
                "quick": args.quick,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "at": datetime.now(UTC).isoformat(),
                "calculation": calc,
                "sqlite_cycles": cycles,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
