"""Outgoing notification adapters (webhooks, e-mail, log sinks)."""

__all__: list[str] = []
