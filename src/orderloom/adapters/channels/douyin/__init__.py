"""Douyin Shop (抖店) channel adapter."""

from orderloom.adapters.channels.douyin.adapter import DouyinAdapter

__all__ = ["DouyinAdapter"]
