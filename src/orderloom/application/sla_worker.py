"""The SLA scanner loop: one scan every ``interval`` seconds, in a thread or in its own process."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from orderloom.application.ports import Clock
from orderloom.application.sla import SlaScanSummary, scan_sla
from orderloom.application.sla_ports import SlaStore

__all__ = ["SlaScanWorker"]

log = structlog.get_logger(__name__)


class SlaScanWorker:
    """Scans on a timer; a failed scan is logged and retried at the next tick (the clocks stay in the store)."""

    def __init__(
        self,
        *,
        store: SlaStore,
        clock: Clock,
        interval: float,
        on_summary: Callable[[SlaScanSummary], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._interval = interval
        self._on_summary = on_summary
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.scans = 0
        self.failures = 0

    def tick(self) -> SlaScanSummary:
        """One scan at the clock's now."""
        summary = scan_sla(store=self._store, now=self._clock())
        self.scans += 1
        if self._on_summary is not None:
            self._on_summary(summary)
        return summary

    def run(self) -> None:
        """Loop until stopped."""
        while not self._stop.is_set():
            try:
                summary = self.tick()
                if summary.breaches or summary.warnings:
                    log.info("sla_scan", **summary.as_dict())
            except Exception as exc:  # a database hiccup must not end the scanner
                self.failures += 1
                log.error("sla_scan_failed", error=f"{type(exc).__name__}: {exc}")
            self._stop.wait(self._interval)

    def start(self) -> None:
        """Run in a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="orderloom-sla", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def wait(self) -> None:
        """Block until ``stop`` is called (from a signal handler, say)."""
        self._stop.wait()
