"""TikTok Shop (global) Order API 202309: ``data.orders[]`` from get order detail / search orders, and webhooks
(ORDER_STATUS_CHANGE, CANCELLATION_STATUS_CHANGE) as commands. Each TikTok line item is one unit."""

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

__all__ = ["TikTokShopAdapter"]

_ZERO = Decimal(0)


class TikTokShopAdapter:
    """TikTok Shop orders → canonical orders; status webhooks → commands."""

    name = "tiktok_shop"

    def __init__(self) -> None:
        self.map = field_map("tiktok_shop")

    def map_payload(self, payload: Any, *, received_at: datetime) -> list[dict[str, Any]]:
        """Every order or command in a TikTok Shop payload."""
        root = Node(payload).obj()
        v = root.value
        if "type" in v and "data" in v:
            return [self.webhook(root)]
        data = root.at("data") if "data" in v else root
        if "code" in v and root.str_at("code") not in ("0", None):
            raise root.at("code").fail(f"an error response ({root.at('message').text(required=False)})")
        if data.has("orders"):
            return [self.order(o) for o in data.at("orders").items()]
        if data.has("order_list"):
            orders = list(data.at("order_list").items())
            if orders and all(o.has("item_list") for o in orders):  # legacy order detail
                return [self.legacy_order(o) for o in orders]
            raise data.at("order_list").fail("a legacy order search lists ids and statuses only; fetch the orders")
        if data.has("line_items") and not data.has("id"):
            raise data.fail("a price detail response has no order id or quantities; it is not an order")
        if data.has("id") and data.has("line_items"):
            return [self.order(data)]
        raise data.fail("not a TikTok Shop order payload: expected data.orders")

    def _status(self, node: Node) -> str:
        raw = node.req() or ""
        return str(self.map.table("legacy_status").get(raw, raw))

    def order(self, node: Node) -> dict[str, Any]:
        """One 202309 order."""
        node.obj()
        pay = node.at("payment")
        if pay.value is not None:
            pay.obj()  # a payment that is not an object is a mapping error naming /payment, not a crash
        currency = pay.str_at("currency") or node.path("line_items/0/currency").req()
        status = self._status(node.at("status"))
        entry = self.map.table("status").get(status)
        if entry is None:
            raise node.at("status").fail(f"unknown TikTok Shop order status {status!r}")
        lines = [self._line(li) for li in node.at("line_items").items()]
        address = self._address(node.at("recipient_address"))
        custom = {
            "buyer_message": node.str_at("buyer_message"),
            "seller_note": node.str_at("seller_note"),
            "payment_breakdown": {k: val for k, val in (pay.value or {}).items() if isinstance(val, str)}
            if isinstance(pay.value, dict)
            else None,
        }
        o = OrderIn(
            channel="tiktok_shop",
            channel_order_id=node.at("id").req(),
            currency=str(currency).upper(),
            placed_at=parse_time(node.at("create_time")),
            updated_at=parse_time(node.at("update_time")) if node.has("update_time") else None,
            lines=lines,
            grand_total=pay.dec_at("total_amount"),
            total_pointer=pay.at("total_amount").pointer,
            shipping=pay.dec_at("shipping_fee", _ZERO),
            order_tax=pay.dec_at("tax", _ZERO) if pay.has("tax") else None,
            customer={
                "id": node.str_at("user_id"),
                "email": node.str_at("buyer_email"),
                "name": node.path("recipient_address/name").text(required=False),
            },
            shipping_address=address,
            payment={
                "status": "pending" if node.at("is_cod").flag() else str(self.map.table("payment_status")[status]),
                "method": node.str_at("payment_method_name"),
            },
            status="confirmed.cash_on_delivery" if node.at("is_cod").flag() and status != "CANCELLED" else str(entry),
            tags=[
                t
                for t in (
                    "cod" if node.at("is_cod").flag() else "",
                    "sample" if node.at("is_sample_order").flag() else "",
                )
                if t
            ],
            custom_fields={k: val for k, val in custom.items() if val is not None},
        )
        return build_order(o)

    def legacy_order(self, node: Node) -> dict[str, Any]:
        """One order of the legacy API's order detail (``order_list[]`` with ``item_list`` and ``payment_info``)."""
        pay = node.at("payment_info")
        status = self._status(node.at("order_status"))
        entry = self.map.table("status").get(status)
        if entry is None:
            raise node.at("order_status").fail(f"unknown TikTok Shop order status {status!r}")
        lines = []
        for it in node.at("item_list").items():
            it.obj()
            original = it.dec_at("sku_original_price", it.dec_at("sku_sale_price", _ZERO))
            qty = it.int_at("quantity")
            discount = it.dec_at("sku_seller_discount", _ZERO) + it.dec_at("sku_platform_discount", _ZERO)
            lines.append(
                LineIn(
                    sku=pick_sku(
                        it.at("seller_sku").value, it.at("sku_id").value, fallback=f"tiktok-{it.req_at('sku_id')}"
                    ),
                    quantity=qty,
                    unit_price=original,
                    discount=min(discount * qty, original * qty),
                    name=" - ".join(p for p in (it.str_at("product_name"), it.str_at("sku_name")) if p) or None,
                    line_id=it.str_at("sku_id"),
                    pointer=it.pointer,
                )
            )
        addr = node.at("recipient_address")
        address = None
        if not addr.missing:
            address = {
                "name": addr.str_at("name"),
                "phone": addr.str_at("phone"),
                "line1": addr.str_at("address_detail") or addr.str_at("full_address"),
                "city": addr.str_at("city"),
                "region": addr.str_at("state") or addr.str_at("region"),
                "postal_code": addr.str_at("zipcode"),
                "country": (addr.str_at("region_code") or "").upper() or None,
            }
        o = OrderIn(
            channel="tiktok_shop",
            channel_order_id=node.at("order_id").req(),
            currency=(pay.str_at("currency") or "").upper(),
            placed_at=parse_time(node.at("create_time")),
            lines=lines,
            grand_total=pay.dec_at("total_amount"),
            total_pointer=pay.at("total_amount").pointer,
            shipping=pay.dec_at("shipping_fee", _ZERO),
            order_tax=pay.dec_at("taxes", _ZERO) if pay.has("taxes") else None,
            customer={"id": node.str_at("buyer_uid"), "email": node.str_at("buyer_email")},
            shipping_address=address,
            payment={
                "status": str(self.map.table("payment_status")[status]),
                "method": node.str_at("payment_method_name") or node.str_at("payment_method"),
            },
            status=str(entry),
            updated_at=parse_time(node.at("update_time")) if node.has("update_time") else None,
        )
        return build_order(o)

    def _line(self, li: Node) -> LineIn:
        li.obj()
        tax = sum((t.dec_at("tax_amount", _ZERO) for t in li.at("item_tax").items(required=False)), _ZERO)
        original = li.at("original_price").dec(default=li.dec_at("sale_price", _ZERO))
        discount = li.dec_at("seller_discount", _ZERO) + li.dec_at("platform_discount", _ZERO)
        return LineIn(
            sku=pick_sku(li.at("seller_sku").value, li.at("sku_id").value, fallback=f"tiktok-{li.at('id').req()}"),
            quantity=1,
            unit_price=original,
            discount=min(discount, original),
            tax=tax,
            name=" - ".join(p for p in (li.str_at("product_name"), li.str_at("sku_name")) if p) or None,
            line_id=li.str_at("id"),
            pointer=li.pointer,
        )

    def _address(self, node: Node) -> dict[str, Any] | None:
        out = map_address(node, self.map.table("address"))
        if out is None:
            return None
        levels = self.map.table("district_levels")
        for d in node.at("district_info").items(required=False):
            key = levels.get(d.str_at("address_level_name") or "")
            if key and (name := d.str_at("address_name")):
                out.setdefault(str(key), name)
        for key in ("line1", "line2"):
            if out.get(key) in ('""', "''"):
                out.pop(key)
        return out

    def webhook(self, root: Node) -> dict[str, Any]:
        """ORDER_STATUS_CHANGE (type 1) and CANCELLATION_STATUS_CHANGE (type 11) as commands."""
        kind = root.int_at("type")
        data = root.at("data").obj()
        occurred = parse_time(data.at("update_time")) if data.has("update_time") else parse_time(root.at("timestamp"))
        if kind == 1:
            status = self._status(data.at("order_status"))
            name = self.map.table("status_command").get(status)
            if name is None:
                raise data.at("order_status").fail(f"status {status} is no change for us; fetch the order detail")
            return command(
                str(name),
                channel="tiktok_shop",
                channel_order_id=data.at("order_id").req(),
                occurred_at=occurred,
                status=status,
            )
        if kind == 11:
            state = data.at("cancel_status").req()
            name = self.map.table("cancellation_command").get(state)
            if name is None:
                raise data.at("cancel_status").fail(f"cancellation state {state} changes nothing")
            return command(
                str(name),
                channel="tiktok_shop",
                channel_order_id=data.at("order_id").req(),
                occurred_at=parse_time(data.at("create_time")) if data.has("create_time") else occurred,
                reason=f"cancellation requested by {data.at('cancellations_role').text(required=False) or 'unknown'}",
                cancel_id=data.str_at("cancel_id"),
            )
        raise root.at("type").fail(
            f"webhook type {kind} is not an order status change (package/product events go elsewhere)"
        )
