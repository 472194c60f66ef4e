"""KPIs from the order store: volumes, error and manual-intervention rates, allocation and end-to-end times.

Pure computation over facts the read side supplies (orders placed in the window and the first time each reached
a milestone), so the same figures back ``GET /v1/kpis`` and the console dashboard.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from orderloom.domain.lifecycle import Lifecycle

__all__ = [
    "NOT_YET_AVAILABLE",
    "WINDOWS",
    "KpiFactsSource",
    "KpiReport",
    "OrderFacts",
    "compute_kpis",
    "kpi_report",
    "milestone_actions",
    "percentile",
]

WINDOWS: Mapping[str, tuple[timedelta, timedelta]] = {
    "24h": (timedelta(hours=24), timedelta(hours=1)),
    "7d": (timedelta(days=7), timedelta(hours=6)),
    "30d": (timedelta(days=30), timedelta(days=1)),
}
"""Window name → (length, time-series bucket)."""

NOT_YET_AVAILABLE: Mapping[str, str] = {
    "on_time_delivery_rate": "needs promised delivery dates (SLA) and carrier delivery scans",
    "routing_accuracy": "needs the routing simulation's optimal node per order",
    "status_completeness": "needs shipments with carrier scans",
    "cost_per_10k_orders": "needs shipping and fulfilment costs",
}
"""KPIs of the issue the store cannot compute yet, with what they wait for."""


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """One order placed in the window and the first time it reached each milestone (None if never)."""

    order_id: str
    channel: str
    placed_at: datetime
    allocated_at: datetime | None = None
    delivered_at: datetime | None = None
    held: bool = False
    validation_failed: bool = False


@dataclass(frozen=True)
class KpiReport:
    """The figures for one window: overall, per channel, and a time series."""

    window: str
    start: datetime
    end: datetime
    overall: dict[str, Any]
    by_channel: list[dict[str, Any]]
    series: list[dict[str, Any]]
    not_available: Mapping[str, str] = field(default_factory=lambda: dict(NOT_YET_AVAILABLE))

    def as_document(self) -> dict[str, Any]:
        """JSON-ready (times RFC 3339 UTC)."""
        return {
            "window": self.window,
            "from": _iso(self.start),
            "to": _iso(self.end),
            "overall": self.overall,
            "by_channel": self.by_channel,
            "series": self.series,
            "not_available": dict(self.not_available),
        }


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def milestone_actions(lifecycle: Lifecycle) -> dict[str, set[str]]:
    """Milestone → audit action names (``order.<action>``) whose transitions lead into it, read from the lifecycle.

    Milestones: ``allocated`` and ``delivered`` (main statuses), ``held`` (any on_hold sub-status) and
    ``validation_failed`` (on_hold.validation_failed).
    """
    out: dict[str, set[str]] = {"allocated": set(), "delivered": set(), "held": set(), "validation_failed": set()}
    for action in lifecycle.actions.values():
        for t in action.transitions:
            name = f"order.{action.name}"
            if t.target.main in ("allocated", "delivered"):
                out[t.target.main].add(name)
            if t.target.main == "on_hold":
                out["held"].add(name)
                if t.target.sub == "validation_failed":
                    out["validation_failed"].add(name)
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _seconds(values: Iterable[float], q: float) -> float | None:
    result = percentile(list(values), q)
    return None if result is None else round(result, 1)


def _figures(facts: Sequence[OrderFacts], quarantined: int) -> dict[str, Any]:
    to_alloc = [(f.allocated_at - f.placed_at).total_seconds() for f in facts if f.allocated_at]
    to_deliver = [(f.delivered_at - f.placed_at).total_seconds() for f in facts if f.delivered_at]
    errors = sum(1 for f in facts if f.validation_failed) + quarantined
    return {
        "orders": len(facts),
        "quarantined": quarantined,
        "held_for_validation": sum(1 for f in facts if f.validation_failed),
        "order_error_rate": _rate(errors, len(facts) + quarantined),
        "manual_intervention_rate": _rate(sum(1 for f in facts if f.held), len(facts)),
        "allocated_orders": len(to_alloc),
        "order_to_allocation_p50_s": _seconds(to_alloc, 50),
        "order_to_allocation_p95_s": _seconds(to_alloc, 95),
        "delivered_orders": len(to_deliver),
        "end_to_end_p50_s": _seconds(to_deliver, 50),
        "end_to_end_p95_s": _seconds(to_deliver, 95),
    }


def _series(facts: Sequence[OrderFacts], start: datetime, end: datetime, bucket: timedelta) -> list[dict[str, Any]]:
    count = math.ceil((end - start) / bucket)
    orders = [0] * count
    held = [0] * count
    for f in facts:
        i = int((f.placed_at - start) / bucket)
        if 0 <= i < count:
            orders[i] += 1
            held[i] += f.held
    return [{"start": _iso(start + i * bucket), "orders": orders[i], "held": held[i]} for i in range(count)]


def compute_kpis(*, window: str, end: datetime, facts: Sequence[OrderFacts], quarantined: int) -> KpiReport:
    """The KPI report for the orders placed in ``window`` up to ``end`` (KeyError for an unknown window).

    The order error rate is (payloads quarantined + orders held for failed validation) / (orders + quarantined):
    quarantined payloads never became orders, so they count in the denominator too. Quarantine has no channel,
    so per-channel error rates count held-for-validation orders only.
    """
    length, bucket = WINDOWS[window]
    start = end - length
    by_channel: dict[str, list[OrderFacts]] = {}
    for f in facts:
        by_channel.setdefault(f.channel, []).append(f)
    return KpiReport(
        window=window,
        start=start,
        end=end,
        overall=_figures(facts, quarantined),
        by_channel=[{"channel": ch, **_figures(rows, 0)} for ch, rows in sorted(by_channel.items())],
        series=_series(facts, start, end, bucket),
    )


class KpiFactsSource(Protocol):
    """The read side's facts for KPIs."""

    def kpi_facts(
        self, tenant_id: str, start: datetime, end: datetime, milestones: Mapping[str, set[str]]
    ) -> tuple[list[OrderFacts], int]:
        """Orders placed in [start, end) with their first milestone times, and payloads quarantined then."""


def kpi_report(
    *, source: KpiFactsSource, lifecycle: Lifecycle, tenant_id: str, window: str, now: datetime
) -> KpiReport:
    """The KPI report of a tenant for a window ending now (KeyError for an unknown window)."""
    length, _ = WINDOWS[window]
    facts, quarantined = source.kpi_facts(tenant_id, now - length, now, milestone_actions(lifecycle))
    return compute_kpis(window=window, end=now, facts=facts, quarantined=quarantined)
