"""TikTok Shop (global) channel adapter."""

from orderloom.adapters.channels.tiktok_shop.adapter import TikTokShopAdapter

__all__ = ["TikTokShopAdapter"]
