"""The outbox relay: publishes committed outbox rows in order, then marks them sent (at-least-once)."""

from __future__ import annotations

from dataclasses import dataclass

from orderloom.application.ports import OutboxReader, Publisher

__all__ = ["OutboxRelay"]


@dataclass
class OutboxRelay:
    """Moves events from the outbox to a publisher."""

    outbox: OutboxReader
    publisher: Publisher
    batch_size: int = 500

    def run_once(self) -> int:
        """Publish one batch of unpublished rows; returns how many were published."""
        claimed, accepted = self.outbox.relay_batch(self.batch_size, self.publisher.publish_many)
        if accepted < claimed:
            raise ConnectionError(f"the bus accepted {accepted} of {claimed} events; the rest wait in the outbox")
        return accepted

    def drain(self, *, max_batches: int = 1000) -> int:
        """Publish until the outbox is empty (or ``max_batches`` batches); returns the total."""
        total = 0
        for _ in range(max_batches):
            n = self.run_once()
            total += n
            if n < self.batch_size:
                break
        return total
