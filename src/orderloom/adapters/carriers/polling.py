"""Pulling tracking from carriers over HTTP: httpx with a per-carrier rate limit, tenacity retries for transient
failures (connection errors, 429, 5xx) and a small circuit breaker per carrier so a carrier that is down is not
hammered. Clocks and sleeps are injectable so the behaviour is testable without waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from orderloom.domain.breaker import CircuitBreaker
from orderloom.domain.ratelimit import Bucket, take

__all__ = [
    "CarrierEndpoint",
    "CarrierUnavailable",
    "FetchFailed",
    "HttpTrackingFetcher",
    "RateLimiter",
]

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class FetchFailed(Exception):
    """The carrier could not be reached or kept failing after the retries."""

    def __init__(self, carrier: str, reason: str) -> None:
        super().__init__(f"{carrier}: {reason}")
        self.carrier = carrier
        self.reason = reason


class CarrierUnavailable(FetchFailed):
    """The carrier's circuit is open: calls fail fast until the cool-down has passed."""


class _Transient(Exception):
    """A response worth retrying (429 / 5xx)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class RateLimiter:
    """A token bucket: at most ``rate`` calls per second on average, bursts up to ``burst``."""

    def __init__(
        self, rate: float, burst: int = 1, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate, self.burst = rate, max(1, burst)
        self._clock, self._sleep = clock, sleep
        self._bucket: Bucket | None = None
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take a token, sleeping until one is free; returns the time waited (the bucket is domain/ratelimit's)."""
        waited = 0.0
        while True:
            with self._lock:
                self._bucket, wait = take(self._bucket, rate=self.rate, burst=self.burst, now=self._clock())
            if wait <= 0:
                return waited
            self._sleep(wait)
            waited += wait


@dataclass(frozen=True, slots=True)
class CarrierEndpoint:
    """Where and how fast to ask one carrier: ``url`` with ``{number}`` (and optionally ``{carrier}``)."""

    url: str
    rate_per_s: float = 5.0
    burst: int = 2
    headers: Mapping[str, str] = field(default_factory=dict)


class HttpTrackingFetcher:
    """Fetches raw tracking responses; one rate limiter and one circuit breaker per carrier."""

    def __init__(
        self,
        endpoints: Mapping[str, CarrierEndpoint],
        *,
        client: httpx.Client | None = None,
        attempts: int = 3,
        backoff: float = 0.2,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 30.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.endpoints = dict(endpoints)
        self._client = client or httpx.Client(timeout=httpx.Timeout(10.0, connect=3.0))
        self._attempts, self._backoff, self._sleep = attempts, backoff, sleep
        self.limiters = {c: RateLimiter(e.rate_per_s, e.burst, clock=clock, sleep=sleep) for c, e in endpoints.items()}
        self.breakers = {c: CircuitBreaker(breaker_threshold, breaker_cooldown) for c in endpoints}
        self._clock = clock
        self._breaker_lock = threading.Lock()
        self.requests = 0

    def close(self) -> None:
        """Release the HTTP client."""
        self._client.close()

    def fetch(self, carrier: str, tracking_number: str) -> bytes:
        """The carrier's raw response body (any 2xx/4xx; 4xx bodies are error responses the adapters read)."""
        endpoint = self.endpoints.get(carrier)
        if endpoint is None:
            raise FetchFailed(carrier, "no polling endpoint configured")
        breaker = self.breakers[carrier]
        with self._breaker_lock:
            allowed = breaker.allow(self._clock())
        if not allowed:
            raise CarrierUnavailable(carrier, f"circuit open after {breaker.failures} failures")
        try:
            body = self._with_retries(carrier, endpoint, tracking_number)
        except (httpx.HTTPError, _Transient) as exc:
            with self._breaker_lock:
                breaker.record_failure(self._clock())
            raise FetchFailed(carrier, f"gave up after {self._attempts} attempts: {exc}") from None
        with self._breaker_lock:
            breaker.record_success()
        return body

    def _with_retries(self, carrier: str, endpoint: CarrierEndpoint, number: str) -> bytes:
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._backoff, max=5.0),
            retry=retry_if_exception(lambda e: isinstance(e, (httpx.TransportError, _Transient))),
            sleep=self._sleep,
            reraise=True,
            before_sleep=self._note_retry,
        )
        url = endpoint.url.format(number=number, carrier=carrier)
        for attempt in retrying:
            with attempt:
                self.limiters[carrier].acquire()
                self.requests += 1
                response = self._client.get(url, headers=dict(endpoint.headers))
                if response.status_code == 429 or response.status_code >= 500:
                    raise _Transient(response.status_code)
                return response.content
        raise AssertionError("unreachable")  # pragma: no cover

    def _note_retry(self, state: RetryCallState) -> None:
        del state
