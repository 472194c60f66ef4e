"""The dhl_poland carrier adapter."""

from orderloom.adapters.carriers.dhl_poland.adapter import ADAPTER

__all__ = ["ADAPTER"]
