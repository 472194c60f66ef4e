"""The ups carrier adapter."""

from orderloom.adapters.carriers.ups.adapter import ADAPTER

__all__ = ["ADAPTER"]
