"""In-memory twin of the routing dual-price store."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

__all__ = ["MemoryDualPrices"]


class MemoryDualPrices:
    """Dual prices per tenant in a dict."""

    def __init__(self) -> None:
        self._prices: dict[str, dict[tuple[str, str], Decimal]] = {}

    def replace(self, tenant_id: str, prices: Mapping[tuple[str, str], Decimal], at: datetime) -> None:
        """Store a tenant's prices, dropping the previous set."""
        self._prices[tenant_id] = dict(prices)

    def load(self, tenant_id: str) -> dict[tuple[str, str], Decimal]:
        """A tenant's current prices."""
        return dict(self._prices.get(tenant_id, {}))
