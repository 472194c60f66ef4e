"""Prometheus metrics of the event backbone: relay throughput and lag, outbox backlog, consumer redeliveries,
handler failures and dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

from orderloom.application.ports import OutboxMessage

__all__ = [
    "CONSUMED",
    "DEAD_LETTERS",
    "HANDLER_FAILURES",
    "OUTBOX_OLDEST_AGE",
    "OUTBOX_PENDING",
    "REDELIVERIES",
    "RELAY_LAG",
    "RELAY_PUBLISHED",
    "observe_published",
]

RELAY_PUBLISHED = Counter("orderloom_relay_published_total", "Outbox events the bus acknowledged")
RELAY_LAG = Histogram(
    "orderloom_relay_lag_seconds",
    "From the event's commit time to the bus's acknowledgement",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
OUTBOX_PENDING = Gauge("orderloom_outbox_pending", "Outbox rows not yet published (read at scrape time)")
OUTBOX_OLDEST_AGE = Gauge("orderloom_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row")
CONSUMED = Counter("orderloom_consumer_acked_total", "Events a JetStream consumer handled and acked", ["consumer"])
REDELIVERIES = Counter("orderloom_consumer_redeliveries_total", "Events JetStream delivered again", ["consumer"])
DEAD_LETTERS = Counter("orderloom_dead_letters_total", "Events moved to the dead-letter stream", ["consumer"])
HANDLER_FAILURES = Counter("orderloom_handler_failures_total", "Handler runs that raised", ["handler", "dead"])


def observe_published(messages: Sequence[OutboxMessage], accepted: Sequence[str]) -> None:
    """Count accepted events and observe each one's lag from its CloudEvent ``time``."""
    if not accepted:
        return
    RELAY_PUBLISHED.inc(len(accepted))
    now = datetime.now(UTC)
    wanted = set(accepted)
    for m in messages:
        if m.event_id in wanted:
            try:
                at = datetime.fromisoformat(str(m.cloudevent["time"]))
            except (KeyError, ValueError):
                continue
            RELAY_LAG.observe(max(0.0, (now - at).total_seconds()))
