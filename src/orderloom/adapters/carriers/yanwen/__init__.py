"""The yanwen carrier adapter."""

from orderloom.adapters.carriers.yanwen.adapter import ADAPTER

__all__ = ["ADAPTER"]
