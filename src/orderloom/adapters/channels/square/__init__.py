"""Square channel adapter (POS)."""

from orderloom.adapters.channels.square.adapter import SquareAdapter

__all__ = ["SquareAdapter"]
