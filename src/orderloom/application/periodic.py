"""A background loop that calls one function every few seconds (immediately again while it finds work)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

__all__ = ["PeriodicWorker"]

log = structlog.get_logger(__name__)


class PeriodicWorker:
    """Runs ``tick`` in a daemon thread; ``tick`` returns how much it did (0 = idle, wait ``interval``)."""

    def __init__(
        self, *, name: str, tick: Callable[[], int], interval: float, on_stop: Callable[[], None] | None = None
    ) -> None:
        self.name = name
        self._on_stop = on_stop
        self._tick = tick
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Loop until stopped; an error is logged and the loop goes on after a pause."""
        while not self._stop.is_set():
            try:
                busy = self._tick() > 0
            except Exception as exc:  # a store or network hiccup must not end the loop; the work stays queued
                log.error("worker_error", worker=self.name, error=str(exc))
                busy = False
            if not busy:
                self._stop.wait(self._interval)

    def start(self) -> None:
        """Run in a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=f"orderloom-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop, wait for the thread and release what the tick used."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        if self._on_stop is not None:
            self._on_stop()
