"""Message bus adapters (in-process; NATS JetStream later)."""

__all__: list[str] = []
