"""``orderloom worker consumer``: a durable JetStream consumer that runs the event handlers in its own process."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import structlog

from orderloom.bootstrap import Container

__all__ = ["run_consumer"]

log = structlog.get_logger(__name__)


def run_consumer(container: Container, *, durable: str, batch: int = 256) -> None:
    """Fetch and handle events until SIGINT/SIGTERM; NATS redelivers whatever was not acked."""
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    consumer = container.consumer(durable)
    while not stop.is_set():
        try:
            consumer.run_once(batch=batch, wait=1.0)
        except Exception as exc:  # NATS or the store is away: unacked events come back, so wait and go on
            log.error("consumer_error", consumer=durable, error=str(exc))
            stop.wait(1.0)
