"""Background workers (outbox relay, retries)."""

__all__: list[str] = []
