"""SLA use cases: start a clock when an order (or shipment) enters a status, scan for breaches, read the inbox."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderloom.application.messagebus import BatchEventHandler, EventHandler
from orderloom.application.sla_ports import SlaStore
from orderloom.domain.lifecycle import Status
from orderloom.domain.sla import SlaClock, SlaFlag, SlaPolicy

__all__ = [
    "SlaScanSummary",
    "order_sla_batch_handler",
    "order_sla_handler",
    "parse_event_time",
    "scan_sla",
    "track_status",
]


def parse_event_time(text: str) -> datetime:
    """A CloudEvents ``time`` (RFC 3339, ``Z`` or offset) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def track_status(
    *,
    store: SlaStore,
    policy: SlaPolicy,
    tenant_id: str,
    kind: str,
    subject_id: str,
    status: Status,
    entered_at: datetime,
    entry_id: str,
    channel: str | None = None,
    carrier: str | None = None,
) -> SlaClock:
    """Start the subject's clock for a new status entry (replacing the old one); returns the clock."""
    clock = policy.clock(
        tenant_id=tenant_id,
        kind=kind,
        subject_id=subject_id,
        entry_id=entry_id,
        status=status,
        entered_at=entered_at,
        channel=channel,
        carrier=carrier,
    )
    store.enter(clock)
    return clock


def order_sla_handler(*, store: SlaStore, policy: SlaPolicy) -> EventHandler:
    """The bus handler for ``orderloom.order.placed`` and ``orderloom.order.status_changed``."""

    def handle(event: dict[str, Any]) -> None:
        data = event["data"]
        tenant_id = str(event["source"]).rsplit("/", 1)[-1]
        order_id = str(data["order_id"])
        if event["type"] == "orderloom.order.placed":
            status, channel = data["status"], data.get("channel")
        else:
            status = data["to"]
            previous = store.current(tenant_id, "order", order_id)
            channel = previous.channel if previous is not None else None
        track_status(
            store=store,
            policy=policy,
            tenant_id=tenant_id,
            kind="order",
            subject_id=order_id,
            status=Status(status["main"], status["sub"]),
            entered_at=parse_event_time(event["time"]),
            entry_id=str(event["id"]),
            channel=channel,
        )

    return handle


def _order_status(event: dict[str, Any]) -> tuple[str, str, dict[str, str], str | None]:
    """(tenant, order id, the status entered, the channel when the event carries it)."""
    data = event["data"]
    tenant_id = str(event["source"]).rsplit("/", 1)[-1]
    if event["type"] == "orderloom.order.placed":
        return tenant_id, str(data["order_id"]), data["status"], data.get("channel")
    return tenant_id, str(data["order_id"]), data["to"], None


def order_sla_batch_handler(*, store: SlaStore, policy: SlaPolicy) -> BatchEventHandler:
    """The batch form of ``order_sla_handler``: one read for channels and one transaction per relay batch."""

    def handle_batch(events: Sequence[dict[str, Any]]) -> list[Exception | None]:
        results: list[Exception | None] = [None] * len(events)
        parsed: list[tuple[int, tuple[str, str, dict[str, str], str | None]]] = []
        for i, event in enumerate(events):
            try:
                parsed.append((i, _order_status(event)))
            except (KeyError, TypeError) as exc:
                results[i] = exc
        channels: dict[tuple[str, str], str | None] = {}
        for tenant_id in {p[0] for _, p in parsed}:
            ids = [p[1] for _, p in parsed if p[0] == tenant_id]
            channels.update({(tenant_id, k): v for k, v in store.channels_of(tenant_id, "order", ids).items()})
        clocks = []
        for i, (tenant_id, order_id, status, channel) in parsed:
            if events[i]["type"] == "orderloom.order.placed":
                channels[(tenant_id, order_id)] = channel
            try:
                clocks.append(
                    policy.clock(
                        tenant_id=tenant_id,
                        kind="order",
                        subject_id=order_id,
                        entry_id=str(events[i]["id"]),
                        status=Status(status["main"], status["sub"]),
                        entered_at=parse_event_time(events[i]["time"]),
                        channel=channels.get((tenant_id, order_id)),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                results[i] = exc
        store.enter_many(clocks)
        return results

    return handle_batch


@dataclass
class SlaScanSummary:
    """What one scan found."""

    now: datetime
    warnings: int = 0
    breaches: int = 0
    seconds: float = 0.0
    by_owner: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    flags: list[SlaFlag] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "now": self.now.isoformat().replace("+00:00", "Z"),
            "warnings": self.warnings,
            "breaches": self.breaches,
            "seconds": round(self.seconds, 4),
            "by_owner": dict(self.by_owner.most_common()),
            "by_status": dict(self.by_status.most_common()),
        }


def scan_sla(*, store: SlaStore, now: datetime, batch: int = 5000, keep_flags: int = 100) -> SlaScanSummary:
    """Flag every clock whose warning or deadline has passed, in batches; returns the summary."""
    started = time.perf_counter()
    summary = SlaScanSummary(now=now)
    while True:
        flags = store.flag_due(now, limit=batch)
        for flag in flags:
            if flag.level == "breach":
                summary.breaches += 1
            else:
                summary.warnings += 1
            summary.by_owner[flag.clock.owner or "unassigned"] += 1
            summary.by_status[f"{flag.level}:{flag.clock.state}"] += 1
        summary.flags.extend(flags[: max(0, keep_flags - len(summary.flags))])
        if len(flags) < batch:
            break
    summary.seconds = time.perf_counter() - started
    return summary
