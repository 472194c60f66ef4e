"""The canadapost carrier adapter."""

from orderloom.adapters.carriers.canadapost.adapter import ADAPTER

__all__ = ["ADAPTER"]
