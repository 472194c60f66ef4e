"""Price conflict: a line price far from the last price seen for that SKU (configurable %) → ``price_conflict``."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from orderloom.application.channel_ports import ChannelStore
from orderloom.application.ports import UnitOfWork
from orderloom.domain.intake_checks import Finding

__all__ = ["PriceConflictCheck"]


class PriceConflictCheck:
    """Compares each line's unit price with the SKU's last-seen price in the same currency, then records it."""

    def __init__(self, store_for: Callable[[UnitOfWork], ChannelStore], *, threshold_pct: Decimal) -> None:
        self._store_for = store_for
        self.threshold = threshold_pct

    def check(self, *, uow: UnitOfWork, tenant_id: str, doc: dict[str, Any]) -> list[Finding]:
        """``price_conflict`` findings; every accepted line price becomes the SKU's last-seen price."""
        store = self._store_for(uow)
        currency = str(doc["currency"])
        findings: list[Finding] = []
        for i, line in enumerate(doc.get("lines") or []):
            sku, price = str(line["sku"]), Decimal(str(line["unit_price"]))
            last = store.last_price(tenant_id, sku, currency)
            if last is not None and last > 0:
                change = abs(price - last) / last * 100
                if change > self.threshold:  # a conflicting price does not become the reference
                    findings.append(
                        Finding(
                            "price_conflict",
                            f"/lines/{i}/unit_price",
                            f"{sku} at {price} {currency} is {change:.1f}% from its last price {last} "
                            f"(limit {self.threshold}%)",
                        )
                    )
                    continue
            store.record_price(tenant_id, sku, currency, price)
        return findings
