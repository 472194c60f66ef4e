"""The usps carrier adapter."""

from orderloom.adapters.carriers.usps.adapter import ADAPTER

__all__ = ["ADAPTER"]
