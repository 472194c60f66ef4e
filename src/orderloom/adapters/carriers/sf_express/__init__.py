"""The sf_express carrier adapter."""

from orderloom.adapters.carriers.sf_express.adapter import ADAPTER

__all__ = ["ADAPTER"]
