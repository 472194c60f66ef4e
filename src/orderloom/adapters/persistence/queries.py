"""The read side: order documents, cursor-paginated lists and timelines, straight from SQL."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import sqlalchemy as sa

from orderloom.adapters.persistence.tables import audit_log, orders, outbox
from orderloom.application.ports import OrderFilter, OrderPage
from orderloom.domain.errors import FieldError, OrderNotFound, ValidationFailed

__all__ = ["SqlOrderQueries"]

_decode = msgspec.json.decode


def _encode_cursor(order_id: str) -> str:
    return base64.urlsafe_b64encode(order_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        value = ""
    if not value.startswith("ord_"):
        raise ValidationFailed([FieldError("cursor", "not a cursor this API returned")])
    return value


class SqlOrderQueries:
    """Reads on the read engine (SQLite readers don't block the writer under WAL)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def get_document(self, tenant_id: str, order_id: str) -> dict[str, Any]:
        with self._engine.connect() as conn:
            doc = conn.execute(
                sa.select(orders.c.doc).where(orders.c.tenant_id == tenant_id, orders.c.id == order_id)
            ).scalar_one_or_none()
        if doc is None:
            raise OrderNotFound(order_id)
        result: dict[str, Any] = _decode(doc)
        return result

    def find_by_channel_ref(self, tenant_id: str, channel: str, channel_order_id: str) -> str | None:
        """The id of an order by its channel reference."""
        with self._engine.connect() as conn:
            return conn.execute(
                sa.select(orders.c.id).where(
                    orders.c.tenant_id == tenant_id,
                    orders.c.channel == channel,
                    orders.c.channel_order_id == channel_order_id,
                )
            ).scalar_one_or_none()

    def search(self, tenant_id: str, flt: OrderFilter, *, limit: int, cursor: str | None) -> OrderPage:
        q = sa.select(orders.c.id, orders.c.doc).where(orders.c.tenant_id == tenant_id)
        if flt.status:
            q = q.where(orders.c.status_main == flt.status)
        if flt.sub_status:
            q = q.where(orders.c.status_sub == flt.sub_status)
        if flt.channel:
            q = q.where(orders.c.channel == flt.channel)
        if flt.placed_from:
            q = q.where(orders.c.placed_at >= flt.placed_from)
        if flt.placed_to:
            q = q.where(orders.c.placed_at < flt.placed_to)
        if flt.tag:
            q = q.where((" " + orders.c.tags + " ").contains(f" {flt.tag} "))
        if cursor:
            q = q.where(orders.c.id < _decode_cursor(cursor))
        q = q.order_by(orders.c.id.desc()).limit(limit + 1)
        with self._engine.connect() as conn:
            rows = conn.execute(q).all()
        items = [_decode(r.doc) for r in rows[:limit]]
        next_cursor = _encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
        return OrderPage(items=items, next_cursor=next_cursor)

    def timeline(self, tenant_id: str, order_id: str) -> list[dict[str, Any]]:
        self.get_document(tenant_id, order_id)
        with self._engine.connect() as conn:
            # sorted here: an ORDER BY seq makes SQLite walk the tenant's whole chain instead of ix_audit_log_entity
            audits = sorted(
                conn.execute(
                    sa.select(audit_log).where(audit_log.c.tenant_id == tenant_id, audit_log.c.entity_id == order_id)
                ).all(),
                key=lambda a: a.seq,
            )
            events = conn.execute(
                sa.select(outbox.c.payload, outbox.c.published_at, outbox.c.seq)
                .where(outbox.c.tenant_id == tenant_id, outbox.c.aggregate_id == order_id)
                .order_by(outbox.c.seq)
            ).all()
        entries: list[dict[str, Any]] = [
            {
                "kind": "audit",
                "at": a.at.replace("+00:00", "Z"),
                "actor": a.actor,
                "action": a.action,
                "before": _decode(a.before),
                "after": _decode(a.after),
                "seq": a.seq,
                "hash": a.hash,
            }
            for a in audits
        ]
        for e in events:
            ce = _decode(e.payload)
            entries.append(
                {
                    "kind": "event",
                    "at": ce["time"],
                    "type": ce["type"],
                    "event_id": ce["id"],
                    "data": ce["data"],
                    "published": e.published_at is not None,
                }
            )
        entries.sort(key=lambda x: (x["at"], 0 if x["kind"] == "audit" else 1))
        return entries
