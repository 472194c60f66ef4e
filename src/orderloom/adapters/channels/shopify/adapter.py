"""Shopify: REST Admin order JSON (``{"order": …}``, ``{"orders": […]}``, the bare ``orders/*`` webhook body), draft
orders, and transactions/refunds/fulfilments as status-change commands."""

from __future__ import annotations

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

__all__ = ["ShopifyAdapter"]

_NOT_ORDERS = {
    "order_risks": "order risks are not an order or a status change",
    "risks": "order risks are not an order or a status change",
    "fulfillment_event": "a fulfilment event (carrier scan) is not an order; send it to the shipments feed",
    "customer": "a customer record is not an order",
    "product": "a product record is not an order",
}


def _sum(items: Node, key: str) -> Decimal:
    return sum((it.at(key).dec(default=Decimal(0)) for it in items.items(required=False)), Decimal(0))


class ShopifyAdapter:
    """Shopify order JSON → canonical orders; transactions, refunds and fulfilments → commands."""

    name = "shopify"

    def __init__(self) -> None:
        self.map = field_map("shopify")

    def map_payload(self, payload: Any, *, received_at: datetime) -> list[dict[str, Any]]:
        """Every order or command in a Shopify payload."""
        root = Node(payload)
        if isinstance(payload, list):
            return [doc for item in root.items() for doc in self._one(item)]
        return self._one(root.obj())

    def _one(self, node: Node) -> list[dict[str, Any]]:
        v = node.obj().value
        if "line_items" in v and "total_price" in v:  # the bare order of an orders/* webhook
            return [self.order(node)]
        for key, why in _NOT_ORDERS.items():
            if key in v:
                raise node.at(key).fail(why)
        if "orders" in v:
            return [self.order(o) for o in node.at("orders").items()]
        if "transactions" in v:
            return [self.transaction(t) for t in node.at("transactions").items()]
        handlers = {
            "order": self.order,
            "draft_order": lambda n: self.order(n, draft=True),
            "transaction": self.transaction,
            "refund": self.refund,
            "fulfillment": self.fulfillment,
        }
        for key, handler in handlers.items():
            if key in v:
                return [handler(node.at(key))]
        if "kind" in v and "order_id" in v:
            return [self.transaction(node)]
        raise node.fail("not a Shopify order payload: expected order, orders, draft_order or a transaction/refund")

    # -- orders --------------------------------------------------------------------------------------------------

    def order(self, node: Node, *, draft: bool = False) -> dict[str, Any]:
        """One Shopify order (or draft order) as a canonical order document."""
        node.obj()
        currency = node.at("currency").req().upper()
        lines = [self._line(li, draft=draft) for li in node.at("line_items").items()]
        line_disc = sum((li.discount for li in lines), Decimal(0))
        if draft:
            order_disc = node.path("applied_discount/amount").dec(default=Decimal(0))
            shipping = node.path("shipping_line/price").dec(default=Decimal(0))
        else:
            order_disc = max(node.dec_at("total_discounts", Decimal(0)) - line_disc, Decimal(0))
            shipping = _sum(node.at("shipping_lines"), "price")
        financial = node.str_at("financial_status") or "pending"
        addr_map = self.map.table("address")
        tags = [t.strip() for t in (node.str_at("tags") or "").split(",") if t.strip()]
        custom: dict[str, Any] = {"shopify_name": node.str_at("name")}
        for code in node.at("discount_codes").items(required=False):
            custom.setdefault("discount_codes", []).append(code.str_at("code"))
        for attr in node.at("note_attributes").items(required=False):
            if (key := attr.str_at("name")) is not None:
                custom.setdefault("note_attributes", {})[key] = attr.str_at("value")
        if note := node.str_at("note"):
            custom["note"] = note
        o = OrderIn(
            channel="shopify",
            channel_order_id=node.at("id").req(),
            currency=currency,
            placed_at=parse_time(node.at("processed_at") if node.has("processed_at") else node.at("created_at")),
            updated_at=parse_time(node.at("updated_at")) if node.has("updated_at") else None,
            lines=lines,
            grand_total=node.dec_at("total_price"),
            total_pointer=node.at("total_price").pointer,
            shipping=shipping,
            order_tax=node.dec_at("total_tax", Decimal(0)),
            order_discount=order_disc,
            taxes_included=node.at("taxes_included").flag(),
            customer=self._customer(node),
            shipping_address=map_address(node.at("shipping_address"), addr_map),
            billing_address=map_address(node.at("billing_address"), addr_map),
            payment={
                "status": self.map.table("payment_status").get(financial, "pending"),
                "method": node.str_at("gateway"),
            },
            status=self._status(node, financial, draft=draft),
            tags=[*tags, *(["draft_order"] if draft else [])],
            custom_fields={k: v for k, v in custom.items() if v is not None},
            channel_figures={
                k: node.at(k).value
                for k in ("total_line_items_price", "subtotal_price", "total_discounts", "total_tax", "total_price")
                if node.has(k)
            },
        )
        return build_order(o)

    def _line(self, li: Node, *, draft: bool) -> LineIn:
        li.obj()
        qty = li.int_at("quantity")
        if draft:
            discount = li.path("applied_discount/amount").dec(default=Decimal(0))
        elif li.has("discount_allocations"):
            discount = _sum(li.at("discount_allocations"), "amount")
        else:
            discount = li.dec_at("total_discount", Decimal(0))
        line_id = li.str_at("id")
        fallback = f"shopify-variant-{li.at('variant_id').text(required=False) or line_id or 'custom'}"
        return LineIn(
            sku=pick_sku(li.at("sku").value, fallback=fallback),
            quantity=qty,
            unit_price=li.dec_at("price"),
            discount=discount,
            tax=_sum(li.at("tax_lines"), "price"),
            name=li.str_at("name") or li.str_at("title"),
            line_id=line_id,
            pointer=li.pointer,
        )

    def _customer(self, node: Node) -> dict[str, Any]:
        c = node.at("customer")
        first = c.str_at("first_name") if not c.missing else None
        last = c.str_at("last_name") if not c.missing else None
        return {
            "id": c.str_at("id") if not c.missing else None,
            "email": node.str_at("email") or (c.str_at("email")),
            "name": " ".join(p for p in (first, last) if p) or None,
            "phone": node.str_at("phone") or (c.str_at("phone")),
        }

    def _status(self, node: Node, financial: str, *, draft: bool) -> str:
        table = self.map.table("status")
        if draft:
            key = f"draft_{node.at('status').text(required=False) or 'open'}"
        elif node.has("cancelled_at"):
            key = "cancelled"
        elif financial == "refunded":
            key = "refunded"
        elif node.has("closed_at"):
            key = "closed"
        elif node.str_at("fulfillment_status") == "fulfilled":
            key = "fulfilled"
        else:
            key = financial
        status = table.get(key)
        if status is None:
            raise node.at("financial_status").fail(f"unknown Shopify state {key!r}")
        return str(status)

    # -- commands ------------------------------------------------------------------------------------------------

    def transaction(self, node: Node) -> dict[str, Any]:
        """A successful sale/capture, refund or void transaction as a command."""
        node.obj()
        kind = node.at("kind").req()
        status = node.str_at("status") or "success"
        name = self.map.table("transaction_command").get(kind)
        if name is None:
            raise node.at("kind").fail(f"a Shopify {kind!r} transaction does not change the order's status")
        if status != "success":
            raise node.at("status").fail(f"a {status!r} transaction changes nothing")
        return command(
            str(name),
            channel="shopify",
            channel_order_id=node.at("order_id").req(),
            occurred_at=parse_time(node.at("created_at")) if node.has("created_at") else None,
            amount=node.str_at("amount"),
            currency=node.str_at("currency"),
            reference=node.str_at("id"),
            gateway=node.str_at("gateway"),
        )

    def refund(self, node: Node) -> dict[str, Any]:
        """A Shopify refund as a ``refund`` command."""
        node.obj()
        amount = sum(
            (t.dec_at("amount", Decimal(0)) for t in node.at("transactions").items(required=False)),
            Decimal(0),
        )
        return command(
            "refund",
            channel="shopify",
            channel_order_id=node.at("order_id").req(),
            occurred_at=parse_time(node.at("created_at")) if node.has("created_at") else None,
            amount=format(amount, "f"),
            reason=node.str_at("note"),
            reference=node.str_at("id"),
        )

    def fulfillment(self, node: Node) -> dict[str, Any]:
        """A successful fulfilment (shipped with tracking) as a ``ship`` command."""
        node.obj()
        status = node.str_at("status")
        if status != "success":
            raise node.at("status").fail(f"a {status!r} fulfilment has not shipped yet; nothing to apply")
        return command(
            "ship",
            channel="shopify",
            channel_order_id=node.at("order_id").req(),
            occurred_at=parse_time(node.at("updated_at")) if node.has("updated_at") else None,
            tracking_number=node.str_at("tracking_number"),
            carrier=node.str_at("tracking_company"),
        )
