"""The routing worker: every interval, per tenant, re-solve the dual-price LP (stored for every process's online
router) and re-optimise the allocated orders jointly (``optimize_allocations``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from orderloom.adapters.routing_lp import solve_assignment, solve_transport
from orderloom.application.periodic import PeriodicWorker
from orderloom.application.ports import UnitOfWork
from orderloom.application.routing import CostRouter
from orderloom.application.routing_batch import BatchReport, optimize_allocations
from orderloom.application.routing_duals import DualRefresh, refresh_duals
from orderloom.bootstrap import Container, utc_now

__all__ = ["routing_tick", "routing_worker"]


def routing_tick(
    container: Container,
    tenant_ids: Sequence[str],
    *,
    scale: float = 1.0,
    time_limit: float = 10.0,
    on_report: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """One pass over the tenants; returns 0 so the worker always waits its interval (a pass is a batch job)."""
    router = container.sourcing
    if not isinstance(router, CostRouter):
        return 0
    for tenant_id in tenant_ids:
        now = utc_now()

        def duals(uow: UnitOfWork, t: str = tenant_id, n: datetime = now) -> DualRefresh:
            return refresh_duals(uow=uow, tenant_id=t, rates=router.rates, solve=solve_transport, now=n, scale=scale)

        def batch_(uow: UnitOfWork, t: str = tenant_id, n: datetime = now) -> BatchReport:
            return optimize_allocations(
                uow=uow, tenant_id=t, router=router, solve=solve_assignment, now=n, time_limit=time_limit
            )

        refresh = container.tx.run(duals)
        if container.dual_prices is not None:
            container.dual_prices.replace(tenant_id, refresh.prices, now)
        router.set_duals(tenant_id, refresh.prices)
        batch = container.tx.run(batch_)
        if on_report is not None:
            on_report({"duals": refresh.as_dict(), "batch": batch.as_dict()})
    return 0


def routing_worker(
    container: Container,
    tenant_ids: Sequence[str],
    *,
    interval: float,
    scale: float = 1.0,
    time_limit: float = 10.0,
    on_report: Callable[[dict[str, Any]], None] | None = None,
) -> PeriodicWorker:
    """The routing pass as a periodic worker."""
    return PeriodicWorker(
        name="routing",
        tick=lambda: routing_tick(container, tenant_ids, scale=scale, time_limit=time_limit, on_report=on_report),
        interval=interval,
    )
