"""The in-memory twin of the ReturnStore port (tests): the same behaviour as the SQL store."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderloom.domain.audit import AuditEntry
from orderloom.domain.errors import ConcurrencyConflict
from orderloom.domain.returns import RefundRecord, ReturnNotFound, ReturnRequest

__all__ = ["MemoryReturns", "ReturnTables"]

_DELIVERY_ACTIONS = ("order.deliver", "order.collect", "order.deliver_to_safe_place")


@dataclass
class ReturnTables:
    """The committed returns (as documents) and refunds."""

    returns: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    refunds: list[RefundRecord] = field(default_factory=list)


class MemoryReturns:
    """Returns and refunds in a MemoryStore; ``audit`` gives the audit trail for ``delivered_at``."""

    def __init__(self, tables: ReturnTables, audit: Callable[[], list[AuditEntry]]) -> None:
        self._t = tables
        self._audit = audit

    def add(self, ret: ReturnRequest) -> None:
        self._t.returns[(ret.tenant_id, ret.id)] = copy.deepcopy(ret.as_document())

    def get(self, tenant_id: str, return_id: str) -> ReturnRequest:
        doc = self._t.returns.get((tenant_id, return_id))
        if doc is None:
            raise ReturnNotFound(return_id)
        return ReturnRequest.from_document(tenant_id, doc)

    def save(self, ret: ReturnRequest) -> None:
        doc = self._t.returns.get((ret.tenant_id, ret.id))
        if doc is None or doc["version"] >= ret.version:
            raise ConcurrencyConflict(ret.id)
        self._t.returns[(ret.tenant_id, ret.id)] = copy.deepcopy(ret.as_document())

    def for_order(self, tenant_id: str, order_id: str) -> list[ReturnRequest]:
        found = [
            ReturnRequest.from_document(t, d)
            for (t, _), d in self._t.returns.items()
            if t == tenant_id and d["order_id"] == order_id
        ]
        return sorted(found, key=lambda r: (r.created_at, r.id))

    def add_refund(self, refund: RefundRecord) -> None:
        self._t.refunds.append(refund)

    def refunds_of(self, tenant_id: str, order_id: str) -> list[RefundRecord]:
        found = [r for r in self._t.refunds if r.tenant_id == tenant_id and r.order_id == order_id]
        return sorted(found, key=lambda r: (r.created_at, r.id))

    def delivered_at(self, tenant_id: str, order_id: str) -> datetime | None:
        times = [
            e.at
            for e in self._audit()
            if e.tenant_id == tenant_id and e.entity_id == order_id and e.action in _DELIVERY_ACTIONS
        ]
        return max(times) if times else None
