"""Kuaishou channel adapter."""

from orderloom.adapters.channels.kuaishou.adapter import KuaishouAdapter

__all__ = ["KuaishouAdapter"]
