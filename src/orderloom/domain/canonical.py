"""The canonical order JSON: what ``POST /v1/orders`` accepts and ``GET`` returns, and how orders are stored."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from orderloom.domain.lifecycle import Status
from orderloom.domain.money import Money
from orderloom.domain.orders import Order
from orderloom.domain.values import Address, Customer, FulfilmentGroup, OrderLine, Payment, Sku, Totals

__all__ = ["format_time", "order_from_document", "order_to_document"]


def format_time(value: datetime) -> str:
    """An aware UTC time as RFC 3339 with a ``Z``."""
    return value.isoformat().replace("+00:00", "Z")


def _compact(obj: Any) -> dict[str, Any] | None:
    """The non-None fields of a flat slotted dataclass (cheaper than ``asdict``, which deep-copies)."""
    if obj is None:
        return None
    return {k: v for k in obj.__slots__ if (v := getattr(obj, k)) is not None}


def _money(m: Money) -> str:
    return m.to_str()


def _dec(value: Decimal, currency: str) -> str:
    return Money(value, currency).to_str()


def order_to_document(order: Order) -> dict[str, Any]:
    """The order as canonical JSON (amounts as decimal strings in major units, times in UTC)."""
    cur = order.currency
    t = order.totals
    return {
        "id": order.id,
        "channel": order.channel,
        "channel_order_id": order.channel_order_id,
        "currency": cur,
        "placed_at": format_time(order.placed_at),
        "status": {"main": order.status.main, "sub": order.status.sub},
        "customer": _compact(order.customer) or {},
        "shipping_address": _compact(order.shipping_address),
        "billing_address": _compact(order.billing_address),
        "lines": [
            {
                "line_id": line.line_id,
                "sku": line.sku.code,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price),
                "discount": _money(line.discount),
                "tax": _money(line.tax),
            }
            for line in order.lines
        ],
        "totals": {
            "subtotal": _dec(t.subtotal, cur),
            "discount": _dec(t.discount, cur),
            "shipping": _dec(t.shipping, cur),
            "tax": _dec(t.tax, cur),
            "grand_total": _dec(t.grand_total, cur),
        },
        "taxes_included": order.taxes_included,
        "payment": _compact(order.payment) or {},
        "tags": list(order.tags),
        "custom_fields": order.custom_fields,
        "fulfilment_groups": [
            {
                "id": g.id,
                "location_id": g.location_id,
                "line_ids": list(g.line_ids),
                "shipment_ids": list(g.shipment_ids),
            }
            for g in order.fulfilment_groups
        ],
        "version": order.version,
        "created_at": format_time(order.created_at),
        "updated_at": format_time(order.updated_at),
    }


def _address(raw: dict[str, Any] | None) -> Address | None:
    return Address(**raw) if raw else None


def order_from_document(tenant_id: str, doc: dict[str, Any]) -> Order:
    """Rebuild an order from its stored canonical JSON."""
    cur = doc["currency"]
    t = doc["totals"]
    return Order(
        id=doc["id"],
        tenant_id=tenant_id,
        channel=doc["channel"],
        channel_order_id=doc["channel_order_id"],
        currency=cur,
        placed_at=datetime.fromisoformat(doc["placed_at"]),
        customer=Customer(**doc.get("customer") or {}),
        shipping_address=_address(doc.get("shipping_address")),
        billing_address=_address(doc.get("billing_address")),
        lines=[
            OrderLine(
                Sku(raw["sku"]),
                int(raw["quantity"]),
                Money.of(raw["unit_price"], cur),
                Money.of(raw["discount"], cur),
                Money.of(raw["tax"], cur),
                raw.get("name"),
                raw.get("line_id"),
            )
            for raw in doc["lines"]
        ],
        totals=Totals(**{k: Decimal(v) for k, v in t.items()}),
        payment=Payment(**doc.get("payment") or {}),
        taxes_included=bool(doc.get("taxes_included", False)),
        status=Status(doc["status"]["main"], doc["status"]["sub"]),
        tags=list(doc.get("tags") or []),
        custom_fields=dict(doc.get("custom_fields") or {}),
        fulfilment_groups=[
            FulfilmentGroup(g["id"], g.get("location_id"), tuple(g["line_ids"]), tuple(g.get("shipment_ids", ())))
            for g in doc.get("fulfilment_groups") or []
        ],
        version=int(doc.get("version", 1)),
        created_at=datetime.fromisoformat(doc["created_at"]),
        updated_at=datetime.fromisoformat(doc["updated_at"]),
    )
