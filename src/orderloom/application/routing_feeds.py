"""External feeds for routing behind a port, each guarded by a circuit breaker with a last-good value and a default.

Routing never waits on a feed for long: a value younger than ``ttl`` is used as is; an older one is fetched again
(the adapter bounds the fetch, retries included, by its time budget — 80 ms by default); when the fetch fails or the
breaker is open the last good value (else the configured default) is used at once, and the reading says so, so the
routing decision can record it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from orderloom.domain.breaker import BreakerState, CircuitBreaker
from orderloom.domain.routing_feeds import FeedAdjustments, FeedReading, FeedSource

__all__ = ["FeedHub", "FeedUnavailable", "GuardedFeed", "RoutingFeed"]


class FeedUnavailable(Exception):
    """A feed could not be read (timeout, connection error, server error, bad document)."""


class RoutingFeed(Protocol):
    """One external feed (weather alerts, road closures, carrier heat): its name and its current adjustments."""

    @property
    def name(self) -> str:
        """The feed's name (``weather``, ``traffic``, ``carrier``)."""

    def fetch(self) -> FeedAdjustments:
        """The feed now; FeedUnavailable when it can't be read within the adapter's time budget."""


@dataclass
class GuardedFeed:
    """A feed behind a circuit breaker, with its last good value and a default."""

    feed: RoutingFeed
    monotonic: Callable[[], float]
    wall: Callable[[], datetime]
    default: FeedAdjustments = field(default_factory=FeedAdjustments)
    ttl: float = 30.0
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    _good: FeedAdjustments | None = None
    _good_at: float = 0.0
    _good_wall: str | None = None

    def read(self) -> FeedReading:
        """A fresh-enough live value, else a new fetch, else the last good value or the default (saying why)."""
        now = self.monotonic()
        name = self.feed.name
        if self._good is not None and now - self._good_at < self.ttl:
            return FeedReading(name, FeedSource.LIVE, self._good, self._good_wall)
        if not self.breaker.allow(now):
            return self._fallback(f"{name} feed circuit open")
        try:
            value = self.feed.fetch()
        except FeedUnavailable as exc:
            self.breaker.record_failure(self.monotonic())
            return self._fallback(f"{name} feed unavailable ({exc})")
        self.breaker.record_success()
        self._good, self._good_at, self._good_wall = value, self.monotonic(), self.wall().isoformat()
        return FeedReading(name, FeedSource.LIVE, value, self._good_wall)

    @property
    def state(self) -> BreakerState:
        """The breaker's state."""
        return self.breaker.state

    def _fallback(self, why: str) -> FeedReading:
        if self._good is not None:
            note = f"{why}: used the last good value from {self._good_wall}"
            return FeedReading(self.feed.name, FeedSource.LAST_GOOD, self._good, self._good_wall, note)
        return FeedReading(self.feed.name, FeedSource.DEFAULT, self.default, None, f"{why}: used the default")


@dataclass
class FeedHub:
    """All routing feeds; ``read`` merges their adjustments and lists how each was obtained."""

    feeds: Sequence[GuardedFeed]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def read(self) -> tuple[FeedAdjustments, tuple[FeedReading, ...]]:
        """The merged adjustments and each feed's reading (one caller fetches at a time)."""
        with self._lock:
            readings = tuple(f.read() for f in self.feeds)
        merged = FeedAdjustments()
        for r in readings:
            merged = merged.merged(r.adjustments)
        return merged, readings
