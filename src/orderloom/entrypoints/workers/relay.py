"""``orderloom worker relay``: the outbox relay as its own process."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from orderloom.bootstrap import Container

__all__ = ["run_relay"]


def run_relay(container: Container) -> None:
    """Run the relay loop in the foreground until SIGINT/SIGTERM."""
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    container.relay_worker.start()
    stop.wait()
    container.relay_worker.stop()
