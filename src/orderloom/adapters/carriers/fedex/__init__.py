"""The fedex carrier adapter."""

from orderloom.adapters.carriers.fedex.adapter import ADAPTER

__all__ = ["ADAPTER"]
