"""Sign-in throttling: after repeated failures for one account, further attempts wait (per process, in memory)."""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["LoginThrottle"]


class LoginThrottle:
    """At most ``limit`` failed sign-ins per account within ``window`` seconds; a success clears the count."""

    def __init__(self, *, limit: int = 5, window: float = 900.0, max_accounts: int = 10_000) -> None:
        self._limit = limit
        self._window = window
        self._max = max_accounts
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(tenant: str, username: str) -> tuple[str, str]:
        return tenant.strip().lower(), username.strip().lower()

    def retry_after(self, tenant: str, username: str, now: float | None = None) -> int:
        """Seconds until the account may try again (0: it may try now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = self._failures.get(self._key(tenant, username))
            if not recent:
                return 0
            while recent and recent[0] <= now - self._window:
                recent.popleft()
            if len(recent) < self._limit:
                return 0
            return max(1, int(recent[0] + self._window - now) + 1)

    def failed(self, tenant: str, username: str, now: float | None = None) -> None:
        """Count a failed sign-in."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) >= self._max:
                self._failures.clear()
            self._failures.setdefault(self._key(tenant, username), deque(maxlen=self._limit)).append(now)

    def succeeded(self, tenant: str, username: str) -> None:
        """Forget the failures of an account that signed in."""
        with self._lock:
            self._failures.pop(self._key(tenant, username), None)
