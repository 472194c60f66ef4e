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
        messages = self.outbox.unpublished(self.batch_size)
        published: list[str] = []
        try:
            for message in messages:
                self.publisher.publish(message)
                published.append(message.event_id)
        finally:
            if published:
                self.outbox.mark_published(published)
        return len(published)

    def drain(self, *, max_batches: int = 1000) -> int:
        """Publish until the outbox is empty (or ``max_batches`` batches); returns the total."""
        total = 0
        for _ in range(max_batches):
            n = self.run_once()
            total += n
            if n < self.batch_size:
                break
        return total
