"""External routing feeds as data the router can use, and the circuit breaker that guards reading them.

Three feeds adjust routing: **weather/disaster alerts** per region (``closed`` → nothing ships from or to the region;
``warning`` → extra transit days), **traffic/road closures** per region (same shape) and **carrier capacity/heat**
per lane (a carrier service, optionally from one origin region: a surcharge per shipment, a cut of the service's
daily capacity, or ``full`` → the service is not offered on that lane). Each feed parses into ``FeedAdjustments``;
the router merges them. Regions are free-form ids matched exactly (``CN-31``, ``US-CA``), as locations and
addresses carry them.

``CircuitBreaker`` is a small state machine over explicit times (seconds from any monotonic clock): ``closed``
(calls go through; ``failure_threshold`` failures in a row open it), ``open`` (no calls until ``reset_after`` seconds
have passed), ``half_open`` (one trial call: success closes it, failure opens it again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from orderloom.domain.errors import DomainError

__all__ = [
    "FeedAdjustments",
    "FeedReading",
    "FeedSource",
    "InvalidFeed",
    "parse_carrier_heat",
    "parse_region_alerts",
]


class InvalidFeed(DomainError):
    """A feed document that can't be used; names the entry."""


@dataclass(frozen=True, slots=True)
class FeedAdjustments:
    """What feeds say now: closed regions (with the reason), extra transit days per region, and per lane
    ``(service, origin region or "*")`` a surcharge, a capacity factor (0 to 1) or a closure."""

    closed_regions: Mapping[str, str] = field(default_factory=dict)
    delay_days: Mapping[str, int] = field(default_factory=dict)
    lane_surcharge: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    lane_capacity: Mapping[tuple[str, str], float] = field(default_factory=dict)
    lane_closed: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def merged(self, other: FeedAdjustments) -> FeedAdjustments:
        """Both feeds' adjustments (a closure wins; delays, surcharges add; capacity factors multiply)."""
        delays = dict(self.delay_days)
        for k, v in other.delay_days.items():
            delays[k] = delays.get(k, 0) + v
        surcharge = dict(self.lane_surcharge)
        for lane, extra in other.lane_surcharge.items():
            surcharge[lane] = surcharge.get(lane, Decimal(0)) + extra
        capacity = dict(self.lane_capacity)
        for lane, f in other.lane_capacity.items():
            capacity[lane] = capacity.get(lane, 1.0) * f
        return FeedAdjustments(
            closed_regions={**self.closed_regions, **other.closed_regions},
            delay_days=delays,
            lane_surcharge=surcharge,
            lane_capacity=capacity,
            lane_closed={**self.lane_closed, **other.lane_closed},
        )

    def region_closed(self, region: str | None) -> str | None:
        """Why the region is closed, or None."""
        return self.closed_regions.get(region) if region else None

    def lane(self, service: str, origin: str | None) -> tuple[str | None, Decimal, float]:
        """(closure reason, surcharge, capacity factor) of a service from an origin region (``*`` rows apply to all)."""
        keys = [(service, "*"), (service, origin or "")]
        closed = next((self.lane_closed[k] for k in keys if k in self.lane_closed), None)
        surcharge = sum((self.lane_surcharge.get(k, Decimal(0)) for k in keys), Decimal(0))
        factor = 1.0
        for k in keys:
            factor *= self.lane_capacity.get(k, 1.0)
        return closed, surcharge, factor


class FeedSource(StrEnum):
    """Where a feed value used by routing came from."""

    LIVE = "live"
    LAST_GOOD = "last_good"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class FeedReading:
    """One feed's value as routing used it: where it came from, when it was fetched (None for a default) and why."""

    feed: str
    source: FeedSource
    adjustments: FeedAdjustments
    fetched_at: str | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"feed": self.feed, "source": str(self.source), "fetched_at": self.fetched_at, "note": self.note}


def _entries(raw: Any, key: str, feed: str) -> list[Mapping[str, Any]]:
    if not isinstance(raw, Mapping):
        raise InvalidFeed(f"{feed}: the document must be a mapping")
    rows = raw.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise InvalidFeed(f"{feed}: {key} must be a list of mappings")
    return rows


def parse_region_alerts(raw: Any, feed: str) -> FeedAdjustments:
    """Weather/disaster alerts or road closures: ``{"regions": [{region, status: closed|warning|clear,
    reason?, delay_days?}]}``."""
    closed: dict[str, str] = {}
    delays: dict[str, int] = {}
    for i, row in enumerate(_entries(raw, "regions", feed)):
        region, status = str(row.get("region") or ""), str(row.get("status") or "")
        if not region:
            raise InvalidFeed(f"{feed} regions[{i}].region: required")
        reason = f"{feed}: {row.get('reason') or status}"
        if status == "closed":
            closed[region] = reason
        elif status == "warning":
            days = row.get("delay_days", 1)
            if not isinstance(days, int) or days < 0:
                raise InvalidFeed(f"{feed} regions[{i}].delay_days: a whole number ≥ 0 ({days!r})")
            delays[region] = days
        elif status != "clear":
            raise InvalidFeed(f"{feed} regions[{i}].status: closed, warning or clear ({status!r})")
    return FeedAdjustments(closed_regions=closed, delay_days=delays)


def _surcharge(value: Any, where: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation as e:
        raise InvalidFeed(f"{where}: not a number ({value!r})") from e
    if not d.is_finite() or d < 0:
        raise InvalidFeed(f"{where}: must be ≥ 0 ({value!r})")
    return d


def parse_carrier_heat(raw: Any, feed: str = "carrier") -> FeedAdjustments:
    """Carrier capacity/heat per lane: ``{"lanes": [{service, origin?: region or "*", heat: normal|high|full,
    surcharge?, capacity_factor?: 0..1, reason?}]}``."""
    surcharge: dict[tuple[str, str], Decimal] = {}
    capacity: dict[tuple[str, str], float] = {}
    closed: dict[tuple[str, str], str] = {}
    for i, row in enumerate(_entries(raw, "lanes", feed)):
        where = f"{feed} lanes[{i}]"
        service, heat = str(row.get("service") or ""), str(row.get("heat") or "normal")
        if not service:
            raise InvalidFeed(f"{where}.service: required")
        key = (service, str(row.get("origin") or "*"))
        if heat == "full":
            closed[key] = f"{feed}: {row.get('reason') or 'lane full'}"
        elif heat not in ("normal", "high"):
            raise InvalidFeed(f"{where}.heat: normal, high or full ({heat!r})")
        if "surcharge" in row:
            surcharge[key] = _surcharge(row["surcharge"], f"{where}.surcharge")
        if "capacity_factor" in row:
            factor = row["capacity_factor"]
            if not isinstance(factor, int | float) or not 0 <= factor <= 1:
                raise InvalidFeed(f"{where}.capacity_factor: a number from 0 to 1 ({factor!r})")
            capacity[key] = float(factor)
    return FeedAdjustments(lane_surcharge=surcharge, lane_capacity=capacity, lane_closed=closed)
