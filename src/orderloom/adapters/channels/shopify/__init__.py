"""Shopify channel adapter."""

from orderloom.adapters.channels.shopify.adapter import ShopifyAdapter

__all__ = ["ShopifyAdapter"]
