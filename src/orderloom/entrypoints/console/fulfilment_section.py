"""The order page's fulfilment-orders block: per location, its status, wave, ship-by and units per line."""

from __future__ import annotations

from typing import Any

from orderloom.adapters.persistence.fulfilment_store import SqlFulfilmentRepository
from orderloom.bootstrap import Container
from orderloom.entrypoints.console.sections import Section, register_section

__all__ = ["fulfilment_orders"]


def fulfilment_orders(container: Container, tenant_id: str, doc: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The order's fulfilment orders, oldest first; None when it has none."""
    with container.engines.read.connect() as conn:
        fos = SqlFulfilmentRepository(conn).of_order(tenant_id, doc["id"])
    return [fo.as_dict() for fo in sorted(fos, key=lambda f: (f.created_at, f.id))] or None


register_section(
    Section("fulfilment_orders", "Fulfilment orders", "sections/fulfilment_orders.html", fulfilment_orders, 35)
)
