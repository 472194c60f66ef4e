"""The relay worker loop: publishes the outbox and retries failed handlers, in a thread or its own process."""

from __future__ import annotations

import threading

import structlog

from orderloom.application.messagebus import MessageBus
from orderloom.application.ports import OutboxReader
from orderloom.application.relay import OutboxRelay

__all__ = ["RelayWorker"]

log = structlog.get_logger(__name__)


class RelayWorker:
    """Polls the outbox every ``interval`` seconds (immediately again while there is a backlog)."""

    def __init__(
        self, *, relay: OutboxRelay, bus: MessageBus, outbox: OutboxReader, interval: float, retry_handlers: bool = True
    ) -> None:
        self._relay = relay
        self._bus = bus
        self._retry_handlers = retry_handlers
        self._outbox = outbox
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        """One round: publish a batch, then retry due handler failures (in-process bus). Returns events published."""
        published = self._relay.run_once()
        if self._retry_handlers:
            self._bus.retry_due(self._outbox)
        return published

    def run(self) -> None:
        """Loop until stopped; errors are logged and the loop goes on after a pause."""
        failures = 0
        while not self._stop.is_set():
            try:
                busy = self.tick() > 0
                failures = 0
            except Exception as exc:  # the relay must outlive a store or bus outage; the rows stay in the outbox
                failures += 1
                log.error("relay_error", error=str(exc), consecutive_failures=failures)
                self._stop.wait(min(5.0, self._interval * 2**failures))  # back off while the outage lasts
                continue
            if not busy:
                self._stop.wait(self._interval)

    def start(self) -> None:
        """Run in a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="orderloom-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
