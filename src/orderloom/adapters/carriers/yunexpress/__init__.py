"""The yunexpress carrier adapter."""

from orderloom.adapters.carriers.yunexpress.adapter import ADAPTER

__all__ = ["ADAPTER"]
