"""The three routing feeds (weather/disaster alerts, road closures, carrier heat), read from a file or an HTTP
endpoint. HTTP reads use httpx with a per-attempt timeout and tenacity retries (connection errors, timeouts, 5xx),
all within one time budget; a 4xx or a bad document fails at once. Every failure is ``FeedUnavailable``, which the
application's circuit breaker counts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from orderloom.application.routing_feeds import FeedHub, FeedUnavailable, GuardedFeed
from orderloom.domain.breaker import CircuitBreaker
from orderloom.domain.routing_feeds import (
    FeedAdjustments,
    InvalidFeed,
    parse_carrier_heat,
    parse_region_alerts,
)

__all__ = [
    "CarrierHeatFeed",
    "FeedSettings",
    "FileTransport",
    "HttpTransport",
    "RoadClosuresFeed",
    "WeatherAlertsFeed",
    "build_feed_hub",
    "transport_for",
]


class Transport(Protocol):
    """Gets a feed document (parsed JSON/YAML)."""

    def get(self) -> Any:
        """The document; FeedUnavailable when it can't be had."""


@dataclass(frozen=True, slots=True)
class FileTransport:
    """A JSON or YAML file (read on every fetch, so editing it changes the feed)."""

    path: Path

    def get(self) -> Any:
        """The file's document."""
        try:
            text = self.path.read_text(encoding="utf-8")
            return json.loads(text) if self.path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise FeedUnavailable(f"{self.path}: {exc.__class__.__name__}") from exc


class _Retryable(Exception):
    pass


@dataclass
class HttpTransport:
    """GET a JSON endpoint: each attempt times out at what is left of ``budget`` seconds; up to ``attempts``."""

    url: str
    budget: float = 0.08
    attempts: int = 2
    clock: Callable[[], float] = time.monotonic
    client: httpx.Client = field(default_factory=lambda: httpx.Client(follow_redirects=False))

    def get(self) -> Any:
        """The endpoint's JSON; FeedUnavailable after the attempts or the budget are spent."""
        deadline = self.clock() + self.budget
        retry = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_fixed(0.005),
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )
        try:
            for attempt in retry:
                with attempt:
                    return self._once(deadline)
        except _Retryable as exc:
            raise FeedUnavailable(str(exc)) from exc
        raise FeedUnavailable("no attempt made")  # pragma: no cover - tenacity always makes one

    def _once(self, deadline: float) -> Any:
        left = deadline - self.clock()
        if left <= 0:
            raise FeedUnavailable(f"no answer within {self.budget * 1000:.0f} ms")
        try:
            response = self.client.get(self.url, timeout=left)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"no answer within {self.budget * 1000:.0f} ms") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed: {exc.__class__.__name__}") from exc
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise FeedUnavailable(f"HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise FeedUnavailable("not JSON") from exc

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def _parsed(transport: Transport, parse: Callable[[Any], FeedAdjustments]) -> FeedAdjustments:
    try:
        return parse(transport.get())
    except InvalidFeed as exc:
        raise FeedUnavailable(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class WeatherAlertsFeed:
    """Weather/disaster alerts per region (``{"regions": [{region, status, reason?, delay_days?}]}``)."""

    transport: Transport
    name: str = "weather"

    def fetch(self) -> FeedAdjustments:
        """The alerts now."""
        return _parsed(self.transport, lambda raw: parse_region_alerts(raw, self.name))


@dataclass(frozen=True, slots=True)
class RoadClosuresFeed:
    """Traffic/road closures per region (same shape as the weather feed)."""

    transport: Transport
    name: str = "traffic"

    def fetch(self) -> FeedAdjustments:
        """The closures now."""
        return _parsed(self.transport, lambda raw: parse_region_alerts(raw, self.name))


@dataclass(frozen=True, slots=True)
class CarrierHeatFeed:
    """Carrier capacity/heat per lane (``{"lanes": [{service, origin?, heat, surcharge?, capacity_factor?}]}``)."""

    transport: Transport
    name: str = "carrier"

    def fetch(self) -> FeedAdjustments:
        """The lanes now."""
        return _parsed(self.transport, lambda raw: parse_carrier_heat(raw, self.name))


def transport_for(source: str, *, budget: float, attempts: int) -> Transport:
    """An HTTP transport for an ``http(s)://`` source, else a file transport."""
    if source.startswith(("http://", "https://")):
        return HttpTransport(source, budget=budget, attempts=attempts)
    return FileTransport(Path(source))


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """Where each feed comes from (None: off) and how it is guarded."""

    weather: str | None = None
    traffic: str | None = None
    carrier: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)  # feed name → default document
    budget: float = 0.08
    attempts: int = 2
    ttl: float = 30.0
    failure_threshold: int = 3
    reset_after: float = 30.0


def build_feed_hub(settings: FeedSettings) -> FeedHub | None:
    """The configured feeds behind breakers (None when no feed is configured)."""
    kinds: list[tuple[str | None, Callable[[Transport], Any], Callable[[Any], FeedAdjustments]]] = [
        (settings.weather, WeatherAlertsFeed, lambda raw: parse_region_alerts(raw, "weather")),
        (settings.traffic, RoadClosuresFeed, lambda raw: parse_region_alerts(raw, "traffic")),
        (settings.carrier, CarrierHeatFeed, lambda raw: parse_carrier_heat(raw, "carrier")),
    ]
    guarded = []
    for source, make, parse in kinds:
        if not source:
            continue
        feed = make(transport_for(source, budget=settings.budget, attempts=settings.attempts))
        raw_default = settings.defaults.get(feed.name)
        guarded.append(
            GuardedFeed(
                feed=feed,
                monotonic=time.monotonic,
                wall=lambda: datetime.now(UTC),
                default=parse(raw_default) if raw_default is not None else FeedAdjustments(),
                ttl=settings.ttl,
                breaker=CircuitBreaker(settings.failure_threshold, settings.reset_after),
            )
        )
    return FeedHub(guarded) if guarded else None
