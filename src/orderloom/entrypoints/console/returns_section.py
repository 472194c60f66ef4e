"""The order page's returns block: the order's returns (lines, inspection, label, status) and its refunds."""

from __future__ import annotations

from typing import Any

from orderloom.adapters.persistence.returns_store import SqlReturnStore
from orderloom.bootstrap import Container
from orderloom.entrypoints.console.sections import Section, register_section

__all__ = ["returns_and_refunds"]


def returns_and_refunds(container: Container, tenant_id: str, doc: dict[str, Any]) -> dict[str, Any] | None:
    """The order's returns, oldest first, and its refunds; None when there are none."""
    with container.engines.read.connect() as conn:
        store = SqlReturnStore(conn)
        returns = [r.as_document() for r in store.for_order(tenant_id, doc["id"])]
        refunds = [r.as_dict() for r in store.refunds_of(tenant_id, doc["id"])]
    if not returns and not refunds:
        return None
    return {"returns": returns, "refunds": refunds}


register_section(Section("returns", "Returns and refunds", "sections/returns.html", returns_and_refunds, 45))
