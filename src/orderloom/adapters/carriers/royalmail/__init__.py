"""The royalmail carrier adapter."""

from orderloom.adapters.carriers.royalmail.adapter import ADAPTER

__all__ = ["ADAPTER"]
