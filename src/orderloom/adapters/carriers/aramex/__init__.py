"""The aramex carrier adapter."""

from orderloom.adapters.carriers.aramex.adapter import ADAPTER

__all__ = ["ADAPTER"]
