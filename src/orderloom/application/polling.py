"""Pulling tracking: ask the carriers about open shipments and apply what they answer, one transaction per number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderloom.application.delay import DelayPredictor
from orderloom.application.ports import TransactionRunner
from orderloom.application.shipments import apply_tracking
from orderloom.application.tracking import TrackingSetup, read_tracking
from orderloom.application.tracking_ports import TrackingFetcher
from orderloom.domain.lifecycle import Lifecycle
from orderloom.domain.tracking import TrackingParseError

__all__ = ["PollSummary", "poll_open_shipments"]


@dataclass
class PollSummary:
    """What one polling pass did."""

    asked: int = 0
    applied: int = 0
    scans: int = 0
    fetch_failures: int = 0
    malformed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "asked": self.asked,
            "applied": self.applied,
            "scans": self.scans,
            "fetch_failures": self.fetch_failures,
            "malformed": self.malformed,
            "errors": self.errors[:20],
        }


def poll_open_shipments(
    *,
    runner: TransactionRunner,
    fetcher: TrackingFetcher,
    setup: TrackingSetup,
    lifecycle: Lifecycle,
    clock: Callable[[], datetime],
    limit: int = 100,
    carriers: set[str] | None = None,
    delay: DelayPredictor | None = None,
) -> PollSummary:
    """Fetch every open shipment's tracking (rate limits, retries and breakers live in the fetcher) and apply it;
    a carrier that fails or answers garbage is counted and skipped, never stops the pass."""
    summary = PollSummary()
    targets = runner.run(lambda uow: uow.shipments.open_numbers(limit))  # type: ignore[attr-defined]
    setup.refresh_maps()
    for tenant_id, carrier, number in targets:
        if carriers is not None and carrier not in carriers:
            continue
        summary.asked += 1
        try:
            payload = fetcher.fetch(carrier, number)
            outcomes = read_tracking(carrier=carrier, payload=payload, parsers=setup.parsers, maps=setup.maps)
        except TrackingParseError as exc:
            summary.malformed += 1
            summary.errors.append(str(exc))
            continue
        except Exception as exc:  # any fetch failure is counted and the pass goes on
            summary.fetch_failures += 1
            summary.errors.append(f"{carrier} {number}: {exc}")
            continue
        mine = [o for o in outcomes if getattr(o, "tracking_number", None) in (number, None)] or outcomes

        def apply(uow: Any, tenant_id: str = tenant_id, carrier: str = carrier, mine: Any = mine) -> Any:
            return apply_tracking(
                uow=uow,
                tenant_id=tenant_id,
                carrier=carrier,
                outcomes=mine,
                lifecycle=lifecycle,
                actions=setup.actions,
                now=clock(),
                delay=delay,
            )

        reports = runner.run(apply)
        summary.applied += 1
        summary.scans += sum(r.recorded for r in reports)
    return summary
