"""The australiapost carrier adapter."""

from orderloom.adapters.carriers.australiapost.adapter import ADAPTER

__all__ = ["ADAPTER"]
