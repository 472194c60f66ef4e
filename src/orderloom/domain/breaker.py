"""A circuit breaker as a small state machine (closed → open → half-open), on any monotonic clock the caller passes.

Used by the routing feeds and the carrier poller so that a source that is down is not called again and again."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    """Where a circuit breaker is."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Closed → open after ``failure_threshold`` failures in a row; open → half-open after ``reset_after`` s;
    half-open → closed on a success, → open on a failure."""

    failure_threshold: int = 3
    reset_after: float = 30.0
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0

    def allow(self, now: float) -> bool:
        """May a call go out now? (An open breaker whose wait is over turns half-open and lets one trial through.)"""
        if self.state == BreakerState.OPEN and now - self.opened_at >= self.reset_after:
            self.state = BreakerState.HALF_OPEN
            return True
        return self.state == BreakerState.CLOSED

    def record_success(self) -> None:
        """A call succeeded: closed, no failures counted."""
        self.state, self.failures = BreakerState.CLOSED, 0

    def record_failure(self, now: float) -> None:
        """A call failed (or timed out): count it; open at the threshold, or at once when half-open."""
        self.failures += 1
        if self.state == BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.state, self.opened_at = BreakerState.OPEN, now
