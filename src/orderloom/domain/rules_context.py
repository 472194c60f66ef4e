"""The rule context of an order: the flat, typed variables declared in ``data/rules_context.yaml``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = ["order_context"]


def _f(value: Any) -> float:
    return float(value) if value not in (None, "") else 0.0


def _s(mapping: Mapping[str, Any] | None, key: str) -> str:
    value = (mapping or {}).get(key)
    return "" if value is None else str(value)


def _line(raw: Mapping[str, Any]) -> dict[str, Any]:
    qty = int(raw.get("quantity") or 0)
    price, discount, tax = _f(raw.get("unit_price")), _f(raw.get("discount")), _f(raw.get("tax"))
    return {
        "line_id": _s(raw, "line_id"),
        "sku": _s(raw, "sku"),
        "name": _s(raw, "name"),
        "quantity": qty,
        "unit_price": price,
        "discount": discount,
        "tax": tax,
        "line_total": round(price * qty - discount, 6),
    }


def order_context(
    document: Mapping[str, Any],
    *,
    tenant_id: str,
    tenant_settings: Mapping[str, Any] | None = None,
    is_first_order: bool = False,
) -> dict[str, Any]:
    """The variables a rule sees for one canonical order document (computed features included)."""
    lines = [_line(raw) for raw in document.get("lines") or []]
    totals = document.get("totals") or {}
    customer = document.get("customer") or {}
    shipping = document.get("shipping_address") or {}
    payment = document.get("payment") or {}
    custom = dict(document.get("custom_fields") or {})
    status = document.get("status") or {}
    placed = datetime.fromisoformat(str(document["placed_at"]).replace("Z", "+00:00"))
    return {
        "order.id": str(document.get("id") or ""),
        "order.channel": str(document.get("channel") or ""),
        "order.channel_order_id": str(document.get("channel_order_id") or ""),
        "order.currency": str(document.get("currency") or ""),
        "order.status": f"{status.get('main', '')}.{status.get('sub', '')}",
        "order.placed_hour": placed.hour,
        "order.placed_weekday": placed.isoweekday(),
        "order.tags": [str(t) for t in document.get("tags") or []],
        "order.custom": custom,
        "order.taxes_included": bool(document.get("taxes_included")),
        "order.payment_status": _s(payment, "status"),
        "order.payment_method": _s(payment, "method"),
        "order.line_count": len(lines),
        "order.total_quantity": sum(line["quantity"] for line in lines),
        "order.max_line_quantity": max((line["quantity"] for line in lines), default=0),
        "order.sku_count": len({line["sku"] for line in lines}),
        "order.subtotal": _f(totals.get("subtotal")),
        "order.discount_total": _f(totals.get("discount")),
        "order.shipping_total": _f(totals.get("shipping")),
        "order.tax_total": _f(totals.get("tax")),
        "order.grand_total": _f(totals.get("grand_total")),
        "customer.id": _s(customer, "id"),
        "customer.email": _s(customer, "email"),
        "customer.name": _s(customer, "name"),
        "customer.phone": _s(customer, "phone"),
        "customer.tier": str(custom.get("customer_tier") or ""),
        "customer.is_first_order": is_first_order,
        "shipping.country": _s(shipping, "country").upper(),
        "shipping.region": _s(shipping, "region"),
        "shipping.city": _s(shipping, "city"),
        "shipping.postal_code": _s(shipping, "postal_code"),
        "shipping.phone": _s(shipping, "phone"),
        "shipping.has_address": bool(shipping),
        "tenant.id": tenant_id,
        "tenant.settings": dict(tenant_settings or {}),
        "lines": lines,
        # filled in for compensation rules (a shipment predicted late)
        "delay.risk": 0.0,
        "delay.threshold": 0.0,
        "delay.hours_before_promise": 0.0,
        "shipment.carrier": "",
    }
