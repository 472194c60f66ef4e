"""The dhl_express carrier adapter."""

from orderloom.adapters.carriers.dhl_express.adapter import ADAPTER

__all__ = ["ADAPTER"]
