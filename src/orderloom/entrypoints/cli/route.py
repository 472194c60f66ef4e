"""``orderloom route simulate``: replay an order stream against a network (online router vs naive vs hindsight)."""

from __future__ import annotations

import json
import signal
import time
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from orderloom.adapters.routing_lp import solve_assignment, solve_transport
from orderloom.adapters.routing_rates import load_rates
from orderloom.application.routing import CostRouter
from orderloom.application.routing_batch import optimize_allocations
from orderloom.application.routing_sim import InvalidNetwork, parse_network, parse_orders, simulate
from orderloom.bootstrap import bootstrap, utc_now
from orderloom.config import Settings
from orderloom.entrypoints.cli.errors import CliError

__all__ = ["route_app", "worker_routing"]

route_app = typer.Typer(
    help="Routing: re-optimise allocations, simulate an order stream against a network.", no_args_is_help=True
)
out = Console()


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise CliError(f"cannot read the {what} file {path}: {e.strerror}") from e
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CliError(f"{path}: not valid JSON (line {e.lineno}): {e.msg}") from e


@route_app.command("simulate")
def simulate_command(
    orders: Annotated[Path, typer.Option("--orders", help="JSON array or .jsonl of orders")],
    network: Annotated[Path, typer.Option("--network", help="JSON network: locations with coordinates and stock")],
    rates: Annotated[Path | None, typer.Option("--rates", help="rate table YAML (default: the packaged one)")] = None,
    lp_every: Annotated[int, typer.Option("--lp-every", min=1, help="re-solve the dual-price LP every N orders")] = 250,
    dual_scale: Annotated[float, typer.Option("--dual-scale", min=0.0, help="multiply the LP dual prices")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Total cost, shipments per order, split and unserved rates per policy, and each cost over the hindsight LP."""
    raw_orders = _read_json(orders, "orders")
    if not isinstance(raw_orders, list):
        raise CliError(f"{orders}: a JSON array (or .jsonl) of orders is expected")
    try:
        stream = parse_orders(raw_orders)
        net = parse_network(_read_json(network, "network"))
    except InvalidNetwork as e:
        raise CliError(str(e)) from e
    results = simulate(
        orders=stream,
        network=net,
        rates=load_rates(rates),
        solve=solve_transport,
        clock=time.perf_counter,
        lp_every=lp_every,
        dual_scale=Decimal(str(dual_scale)),
    )
    bound = results[-1].cost
    rows = [{**r.as_dict(), "cost_over_hindsight": round(float(r.cost / bound), 4) if bound else None} for r in results]
    if as_json:
        out.print_json(json.dumps({"orders": len(stream), "results": rows}))
        return
    table = Table(title=f"{len(stream)} orders, {len(net.locations)} locations")
    for col in ("policy", "total cost", "vs hindsight", "shipments/order", "split rate", "unserved", "seconds"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["policy"],
            r["total_cost"],
            str(r["cost_over_hindsight"]),
            str(r["shipments_per_order"]),
            str(r["split_rate"]),
            str(r["unserved_rate"]),
            str(r["seconds"]),
        )
    out.print(table)


@route_app.command("optimize")
def optimize_command(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant name")],
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="MIP time limit in seconds")] = 10.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report the moves without making them")] = False,
) -> None:
    """Re-assign allocated (not yet released) orders jointly at least cost with HiGHS; print what moved."""
    container = bootstrap(Settings(), group_commit=False)
    try:
        tenant_id = container.tenants.find(tenant)
        if tenant_id is None:
            raise CliError(f"no tenant named {tenant!r}")
        router = container.sourcing
        if not isinstance(router, CostRouter):
            raise CliError("the configured sourcing is not the cost router")
        report = container.tx.run(
            lambda uow: optimize_allocations(
                uow=uow,
                tenant_id=tenant_id,
                router=router,
                solve=solve_assignment,
                now=utc_now(),
                time_limit=time_limit,
                apply=not dry_run,
            )
        )
    finally:
        container.close()
    out.print_json(json.dumps(report.as_dict()))


def worker_routing(
    tenant: Annotated[list[str], typer.Option("--tenant", help="tenant name (repeat for several)")],
    interval: Annotated[float | None, typer.Option(min=1.0, help="seconds between passes")] = None,
    scale: Annotated[float, typer.Option(min=0.0, help="expected orders / allocated orders in the sample")] = 1.0,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="MIP time limit in seconds")] = 10.0,
) -> None:
    """Every --interval seconds: re-solve the dual-price LP (shared with the online router) and re-optimise."""
    from orderloom.entrypoints.workers.routing import routing_worker

    settings = Settings()
    container = bootstrap(settings, group_commit=False)
    try:
        ids = []
        for name in tenant:
            tenant_id = container.tenants.find(name)
            if tenant_id is None:
                raise CliError(f"no tenant named {name!r}")
            ids.append(tenant_id)
        every = interval or settings.routing_worker_interval
        worker = routing_worker(
            container,
            ids,
            interval=every,
            scale=scale,
            time_limit=time_limit,
            on_report=lambda r: out.print_json(json.dumps(r)),
        )

        def _stop(_sig: int, _frame: FrameType | None) -> None:
            worker.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        out.print(f"routing worker running every {every:g} s for {', '.join(tenant)}; Ctrl-C to stop", soft_wrap=True)
        worker.run()
    finally:
        container.close()
