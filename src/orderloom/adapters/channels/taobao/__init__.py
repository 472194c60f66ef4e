"""Taobao / Tmall channel adapter."""

from orderloom.adapters.channels.taobao.adapter import TaobaoAdapter

__all__ = ["TaobaoAdapter"]
