"""WooCommerce channel adapter."""

from orderloom.adapters.channels.woocommerce.adapter import WooCommerceAdapter

__all__ = ["WooCommerceAdapter"]
