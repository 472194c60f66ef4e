"""WooCommerce REST API v3: orders (single, list, webhook body) and refunds (as ``refund`` commands)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderloom.adapters.channels.base import (
    LineIn,
    Node,
    OrderIn,
    build_order,
    command,
    field_map,
    map_address,
    parse_time,
    pick_sku,
)

__all__ = ["WooCommerceAdapter"]

_UP = re.compile(r"/orders/(\d+)(?:/|$)")


class WooCommerceAdapter:
    """WooCommerce order JSON → canonical orders; refunds → ``refund`` commands."""

    name = "woocommerce"

    def __init__(self) -> None:
        self.map = field_map("woocommerce")

    def map_payload(self, payload: Any, *, received_at: datetime) -> list[dict[str, Any]]:
        """Every order or refund in a WooCommerce payload (an order, a list of orders, or a refund)."""
        root = Node(payload)
        if isinstance(payload, list):
            return [self._one(item) for item in root.items()]
        v = root.obj().value
        if any(k in v for k in ("create", "update", "delete")) and "line_items" not in v:  # POST /orders/batch
            return [
                self._one(item) for k in ("create", "update", "delete") for item in root.at(k).items(required=False)
            ]
        return [self._one(root)]

    def _one(self, node: Node) -> dict[str, Any]:
        v = node.obj().value
        if "line_items" in v and "total" in v and "currency" in v:
            return self.order(node)
        if ("amount" in v and "refunded_by" in v) or "refunded_payment" in v:
            return self.refund(node)
        raise node.fail("not a WooCommerce order or refund: expected line_items, total and currency")

    def _time(self, node: Node, key: str) -> datetime:
        gmt = node.at(f"{key}_gmt")
        if not gmt.missing:
            return parse_time(gmt, local_tz="UTC")
        return parse_time(node.at(key), local_tz=str(self.map.get("time_zone", "UTC")))

    def order(self, node: Node) -> dict[str, Any]:
        """One WooCommerce order as a canonical order document."""
        lines = [self._line(li) for li in node.at("line_items").items()]
        fees = sum((f.dec_at("total", Decimal(0)) for f in node.at("fee_lines").items(required=False)), Decimal(0))
        fee_tax = sum(
            (f.dec_at("total_tax", Decimal(0)) for f in node.at("fee_lines").items(required=False)), Decimal(0)
        )
        status = node.at("status").req()
        entry = self.map.table("status").get(status)
        if entry is None:
            raise node.at("status").fail(f"unknown WooCommerce order status {status!r}")
        addr = self.map.table("address")
        billing, shipping = node.at("billing"), node.at("shipping")
        shipping_total = node.dec_at("shipping_total", Decimal(0))
        refunds = [r.str_at("total") for r in node.at("refunds").items(required=False)]
        custom: dict[str, Any] = {"order_key": node.str_at("order_key")}
        if refunds:
            custom["refunds"] = refunds
        if note := node.str_at("customer_note"):
            custom["customer_note"] = note
        if fees:
            custom["fees"] = format(fees, "f")
        o = OrderIn(
            channel="woocommerce",
            channel_order_id=node.at("id").req(),
            currency=node.at("currency").req().upper(),
            placed_at=self._time(node, "date_created"),
            updated_at=self._time(node, "date_modified") if node.has("date_modified") else None,
            lines=lines,
            grand_total=node.dec_at("total"),
            total_pointer=node.at("total").pointer,
            shipping=shipping_total + fees,
            order_tax=node.dec_at("total_tax", Decimal(0)) - fee_tax
            if node.at("prices_include_tax").flag()
            else node.dec_at("total_tax", Decimal(0)),
            taxes_included=node.at("prices_include_tax").flag(),
            customer={
                "id": None if node.at("customer_id").value in (0, "0", None) else node.at("customer_id").text(),
                "email": billing.str_at("email"),
                "name": _name(billing),
                "phone": billing.str_at("phone"),
            },
            shipping_address=_with_name(map_address(shipping, addr), shipping),
            billing_address=_with_name(map_address(billing, addr), billing),
            payment={
                "status": str(self.map.table("payment_status").get(status, "pending")),
                "method": node.str_at("payment_method"),
                "reference": node.str_at("transaction_id"),
            },
            status=str(entry),
            custom_fields={k: v for k, v in custom.items() if v is not None},
        )
        return build_order(o)

    def _line(self, li: Node) -> LineIn:
        li.obj()
        qty = li.int_at("quantity")
        subtotal = li.dec_at("subtotal")
        total = li.dec_at("total")
        product, variation = li.str_at("product_id"), li.str_at("variation_id")
        fallback = f"woo-{variation}" if variation not in (None, "0") else f"woo-{product or li.at('id').req()}"
        return LineIn(
            sku=pick_sku(li.at("sku").value, fallback=fallback),
            quantity=qty,
            unit_price=Decimal(0),
            gross=subtotal,
            discount=max(subtotal - total, Decimal(0)),
            tax=li.dec_at("total_tax", Decimal(0)),
            name=li.str_at("name"),
            line_id=li.str_at("id"),
            pointer=li.pointer,
        )

    def refund(self, node: Node) -> dict[str, Any]:
        """A WooCommerce refund; the order id comes from ``_links.up`` (the refund object does not carry it)."""
        order_id = node.str_at("order_id")
        if order_id is None:
            for link in node.path("_links/up").items(required=False):
                m = _UP.search(link.str_at("href") or "")
                if m:
                    order_id = m.group(1)
        if order_id is None:
            raise node.path("_links/up").fail("a refund must name its order (order_id or _links.up)")
        return command(
            "refund",
            channel="woocommerce",
            channel_order_id=order_id,
            occurred_at=self._time(node, "date_created") if node.has("date_created") else None,
            amount=format(node.dec_at("amount"), "f"),
            reason=node.str_at("reason"),
            reference=node.str_at("id"),
        )


def _name(addr: Node) -> str | None:
    if addr.missing:
        return None
    parts = (addr.str_at("first_name"), addr.str_at("last_name"))
    return " ".join(p for p in parts if p) or None


def _with_name(mapped: dict[str, Any] | None, addr: Node) -> dict[str, Any] | None:
    if mapped is None:
        return None
    name = _name(addr)
    return {**mapped, "name": name} if name else mapped
