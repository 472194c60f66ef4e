"""Built-in event handlers wired by the composition root."""

from __future__ import annotations

from typing import Any

import structlog
from prometheus_client import Counter

__all__ = ["count_event", "log_event"]

EVENTS = Counter("orderloom_events_total", "Events delivered by the bus", ["type"])
log = structlog.get_logger("orderloom.events")


def log_event(event: dict[str, Any]) -> None:
    """Log every event at debug level (the audit trail of the bus itself)."""
    log.debug("event", type=event.get("type"), id=event.get("id"), subject=event.get("subject"))


def count_event(event: dict[str, Any]) -> None:
    """Count events by type for /metrics."""
    EVENTS.labels(type=str(event.get("type"))).inc()
