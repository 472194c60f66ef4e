"""The dhl_parcel_de carrier adapter."""

from orderloom.adapters.carriers.dhl_parcel_de.adapter import ADAPTER

__all__ = ["ADAPTER"]
