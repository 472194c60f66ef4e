"""Amazon SP-API channel adapter (Orders v0 and 2026-01-01)."""

from orderloom.adapters.channels.amazon.adapter import AmazonAdapter

__all__ = ["AmazonAdapter"]
