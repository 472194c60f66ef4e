"""The dhl_universal carrier adapter."""

from orderloom.adapters.carriers.dhl_universal.adapter import ADAPTER

__all__ = ["ADAPTER"]
