"""Returns and refunds on SQLite and PostgreSQL (the ReturnStore port), on one transaction's connection."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa

from orderloom.adapters.persistence.tables import audit_log
from orderloom.adapters.persistence.tables_returns import refunds, returns
from orderloom.domain.errors import ConcurrencyConflict
from orderloom.domain.returns import RefundRecord, ReturnNotFound, ReturnRequest

__all__ = ["DELIVERY_ACTIONS", "SqlReturnStore"]

DELIVERY_ACTIONS = ("order.deliver", "order.collect", "order.deliver_to_safe_place")
_encode = msgspec.json.encode
_decode = msgspec.json.decode


def _row(ret: ReturnRequest) -> dict[str, Any]:
    return {
        "id": ret.id,
        "tenant_id": ret.tenant_id,
        "order_id": ret.order_id,
        "status": ret.status.value,
        "version": ret.version,
        "created_at": ret.created_at,
        "updated_at": ret.updated_at,
        "doc": _encode(ret.as_document()).decode(),
    }


def _refund(tenant_id: str, row: Any) -> RefundRecord:
    return RefundRecord(
        id=row.id,
        tenant_id=tenant_id,
        order_id=row.order_id,
        return_id=row.return_id,
        amount=Decimal(row.amount),
        shipping=Decimal(row.shipping),
        currency=row.currency,
        lines=tuple((int(n), int(q)) for n, q in _decode(row.lines)),
        reason=row.reason,
        created_at=row.created_at,
    )


class SqlReturnStore:
    """Returns and refunds on one connection (the order row, read first, serialises commands per order)."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, ret: ReturnRequest) -> None:
        self._conn.execute(returns.insert().values(_row(ret)))

    def get(self, tenant_id: str, return_id: str) -> ReturnRequest:
        q = sa.select(returns.c.doc).where(returns.c.tenant_id == tenant_id, returns.c.id == return_id)
        doc = self._conn.execute(q).scalar_one_or_none()
        if doc is None:
            raise ReturnNotFound(return_id)
        return ReturnRequest.from_document(tenant_id, _decode(doc))

    def save(self, ret: ReturnRequest) -> None:
        row = _row(ret)
        result = self._conn.execute(
            returns.update()
            .where(returns.c.tenant_id == ret.tenant_id, returns.c.id == ret.id, returns.c.version < ret.version)
            .values(status=row["status"], version=row["version"], updated_at=row["updated_at"], doc=row["doc"])
        )
        if result.rowcount != 1:
            raise ConcurrencyConflict(ret.id)

    def for_order(self, tenant_id: str, order_id: str) -> list[ReturnRequest]:
        q = (
            sa.select(returns.c.doc)
            .where(returns.c.tenant_id == tenant_id, returns.c.order_id == order_id)
            .order_by(returns.c.created_at, returns.c.id)
        )
        return [ReturnRequest.from_document(tenant_id, _decode(d)) for d in self._conn.execute(q).scalars()]

    def add_refund(self, refund: RefundRecord) -> None:
        self._conn.execute(
            refunds.insert().values(
                id=refund.id,
                tenant_id=refund.tenant_id,
                order_id=refund.order_id,
                return_id=refund.return_id,
                amount=str(refund.amount),
                shipping=str(refund.shipping),
                currency=refund.currency,
                lines=_encode([list(x) for x in refund.lines]).decode(),
                reason=refund.reason,
                created_at=refund.created_at,
            )
        )

    def refunds_of(self, tenant_id: str, order_id: str) -> list[RefundRecord]:
        q = (
            sa.select(refunds)
            .where(refunds.c.tenant_id == tenant_id, refunds.c.order_id == order_id)
            .order_by(refunds.c.created_at, refunds.c.id)
        )
        return [_refund(tenant_id, row) for row in self._conn.execute(q)]

    def delivered_at(self, tenant_id: str, order_id: str) -> datetime | None:
        q = sa.select(sa.func.max(audit_log.c.at)).where(
            audit_log.c.tenant_id == tenant_id,
            audit_log.c.entity_id == order_id,
            audit_log.c.action.in_(DELIVERY_ACTIONS),
        )
        at = self._conn.execute(q).scalar_one_or_none()
        return datetime.fromisoformat(at) if at else None
