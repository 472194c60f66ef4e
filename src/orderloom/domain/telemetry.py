"""Shipment telemetry: cold-chain temperature excursions and the "arriving soon" geofence.

A cold-chain alert fires once per excursion: readings above the limit (default 8 °C) continuously for longer than
the allowed time (default 120 s); a reading back at or under the limit ends the excursion. The geofence fires once
when a GPS position comes within the radius of the delivery address. Readings older than the last one seen are
ignored (telemetry is a time series; a late reading cannot undo a later one).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

__all__ = ["ColdChainRule", "Geofence", "Reading", "TelemetryAlert", "TelemetryState", "distance_m", "evaluate"]

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class Reading:
    """One telemetry sample: when, and a temperature and/or a position."""

    at: datetime
    temperature_c: float | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class ColdChainRule:
    """Above ``limit_c`` for more than ``max_duration`` without a break is a breach."""

    limit_c: float = 8.0
    max_duration: timedelta = timedelta(seconds=120)


@dataclass(frozen=True, slots=True)
class Geofence:
    """The delivery address and how close counts as arriving."""

    latitude: float
    longitude: float
    radius_m: float = 2000.0


@dataclass(frozen=True, slots=True)
class TelemetryState:
    """What the monitor remembers between batches."""

    excursion_since: datetime | None = None
    excursion_max_c: float | None = None
    alerted: bool = False
    arriving_sent: bool = False
    last_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TelemetryAlert:
    """An alert to publish: ``cold_chain_breached`` or ``arriving_soon``."""

    kind: str
    at: datetime
    data: dict[str, Any]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _temperature(
    state: TelemetryState, r: Reading, rule: ColdChainRule
) -> tuple[TelemetryState, TelemetryAlert | None]:
    if r.temperature_c is None:
        return state, None
    if r.temperature_c <= rule.limit_c:
        return replace(state, excursion_since=None, excursion_max_c=None, alerted=False), None
    since = state.excursion_since or r.at
    peak = max(r.temperature_c, state.excursion_max_c or r.temperature_c)
    state = replace(state, excursion_since=since, excursion_max_c=peak)
    if state.alerted or r.at - since <= rule.max_duration:
        return state, None
    alert = TelemetryAlert(
        "cold_chain_breached",
        r.at,
        {
            "since": since.isoformat(),
            "seconds_above_limit": int((r.at - since).total_seconds()),
            "limit_c": rule.limit_c,
            "max_c": peak,
            "last_c": r.temperature_c,
        },
    )
    return replace(state, alerted=True), alert


def _position(
    state: TelemetryState, r: Reading, fence: Geofence | None
) -> tuple[TelemetryState, TelemetryAlert | None]:
    if fence is None or state.arriving_sent or r.latitude is None or r.longitude is None:
        return state, None
    meters = distance_m(r.latitude, r.longitude, fence.latitude, fence.longitude)
    if meters > fence.radius_m:
        return state, None
    data = {"distance_m": round(meters), "radius_m": fence.radius_m, "latitude": r.latitude, "longitude": r.longitude}
    return replace(state, arriving_sent=True), TelemetryAlert("arriving_soon", r.at, data)


def evaluate(
    state: TelemetryState,
    readings: Iterable[Reading],
    *,
    rule: ColdChainRule | None = None,
    fence: Geofence | None = None,
) -> tuple[TelemetryState, list[TelemetryAlert], int]:
    """Apply readings in time order; returns the new state, the alerts, and how many readings were ignored as
    older than the last one seen."""
    rule = rule or ColdChainRule()
    alerts: list[TelemetryAlert] = []
    ignored = 0
    for r in sorted(readings, key=lambda x: x.at):
        if state.last_at is not None and r.at <= state.last_at:
            ignored += 1
            continue
        state, cold = _temperature(state, r, rule)
        state, near = _position(state, r, fence)
        alerts.extend(a for a in (cold, near) if a is not None)
        state = replace(state, last_at=r.at)
    return state, alerts, ignored
