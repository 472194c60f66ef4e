"""Douyin Shop (抖店): ``order.orderDetail`` (``data.shop_order_detail``) and ``order.searchList``
(``data.shop_order_list``) as orders; push messages (``tag`` + ``data``) as commands. Amounts in fen."""

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
    parse_time,
    pick_sku,
)

__all__ = ["DouyinAdapter"]

_ZERO = Decimal(0)


class DouyinAdapter:
    """Douyin Shop orders → canonical orders; push messages → commands."""

    name = "douyin"

    def __init__(self) -> None:
        self.map = field_map("douyin")
        self.currency = str(self.map.get("currency", "CNY"))

    def map_payload(self, payload: Any, *, received_at: datetime) -> list[dict[str, Any]]:
        """Every order or command in a Douyin payload."""
        root = Node(payload)
        if isinstance(payload, list):  # the push endpoint delivers a JSON array of messages
            return [self.push(m) for m in root.items()]
        v = root.obj().value
        if "tag" in v:
            return [self.push(root)]
        data = root.at("data")
        code = root.str_at("code") or root.str_at("err_no")
        if code not in (None, "0", "10000"):
            raise root.at("code").fail(f"an error response ({root.at('msg').text(required=False)})")
        if data.has("shop_order_detail"):
            return [self.order(data.at("shop_order_detail"))]
        if data.has("shop_order_list"):
            return [self.order(o) for o in data.at("shop_order_list").items()]
        if root.has("sku_order_list"):
            return [self.order(root)]
        raise data.fail("not a Douyin order payload: expected data.shop_order_detail or data.shop_order_list")

    def _fen(self, node: Node) -> Decimal:
        return node.dec(default=_ZERO, scale=2)

    def order(self, node: Node) -> dict[str, Any]:
        """One shop order (its sku orders are the lines)."""
        node.obj()
        status = node.at("order_status").req()
        entry = self.map.table("status").get(status)
        if entry is None:
            raise node.at("order_status").fail(f"unknown Douyin order_status {status!r}")
        cod = node.str_at("pay_type") == str(self.map.get("cod_pay_type"))
        lines = [self._line(s) for s in node.at("sku_order_list").items()]
        custom = {
            "order_amount": format(self._fen(node.at("order_amount")), "f"),
            "promotion_amount": format(self._fen(node.at("promotion_amount")), "f"),
            "buyer_words": node.str_at("buyer_words"),
            "seller_words": node.str_at("seller_words"),
            "shop_id": node.str_at("shop_id"),
            "receiver_encrypted": True if node.has("encrypt_post_receiver") else None,
        }
        o = OrderIn(
            channel="douyin",
            channel_order_id=node.at("order_id").req(),
            currency=self.currency,
            placed_at=parse_time(node.at("create_time")),
            updated_at=parse_time(node.at("update_time")) if node.has("update_time") else None,
            lines=lines,
            grand_total=self._fen(node.at("pay_amount")),
            total_pointer=node.at("pay_amount").pointer,
            shipping=self._fen(node.at("post_amount")),
            customer={"id": node.str_at("doudian_open_id") or node.str_at("open_id")},
            shipping_address=self._address(node),
            payment={
                "status": "pending" if cod else str(self.map.table("payment_status").get(status, "pending")),
                "method": "cash_on_delivery" if cod else node.str_at("pay_type"),
                "reference": node.str_at("channel_payment_no"),
            },
            status="confirmed.cash_on_delivery" if cod and status in ("1", "2") else str(entry),
            custom_fields={k: v for k, v in custom.items() if v is not None},
            channel_figures={
                k: node.at(k).value
                for k in ("order_amount", "pay_amount", "post_amount", "promotion_amount")
                if node.has(k)
            },
        )
        return build_order(o)

    def _line(self, s: Node) -> LineIn:
        s.obj()
        qty = s.int_at("item_num")
        gross = self._fen(s.at("sum_amount")) if s.has("sum_amount") else self._fen(s.at("origin_amount")) * qty
        promo = self._fen(s.at("promotion_amount"))
        return LineIn(
            sku=pick_sku(
                s.at("out_sku_id").value,
                s.at("code").value,
                s.at("sku_id").value,
                fallback=f"douyin-{s.at('order_id').req()}",
            ),
            quantity=qty,
            unit_price=_ZERO,
            gross=gross,
            discount=promo if promo <= gross else _ZERO,  # larger promotions are left to reconciliation
            name=s.str_at("product_name"),
            line_id=s.str_at("order_id"),
            pointer=s.pointer,
        )

    def _address(self, node: Node) -> dict[str, Any] | None:
        addr = node.at("post_addr")
        if addr.missing:
            return None
        district = addr.path("town/name").text(required=False)
        street = addr.path("street/name").text(required=False)
        detail = addr.str_at("encrypt_detail") or addr.str_at("detail")
        out = {
            "name": node.str_at("encrypt_post_receiver") or node.str_at("post_receiver"),
            "phone": node.str_at("encrypt_post_tel") or node.str_at("post_tel"),
            "region": addr.path("province/name").text(required=False),
            "city": addr.path("city/name").text(required=False),
            "line1": " ".join(p for p in (district, street, detail) if p) or None,
            "country": "CN",
        }
        return {k: v for k, v in out.items() if v}

    def push(self, msg: Node) -> dict[str, Any]:
        """A push message as a command on the shop order ``p_id``."""
        msg.obj()
        tag = msg.at("tag").req()
        data = msg.at("data").obj()
        name = self.map.table("tag_command").get(tag)
        if name is None:
            raise msg.at("tag").fail(
                f"push message tag {tag} carries no order content or status change; fetch the order detail"
            )
        times = ("cancel_time", "pay_time", "complete_time", "update_time", "apply_time", "create_time")
        when = next((parse_time(data.at(t)) for t in times if data.has(t)), None)
        params: dict[str, Any] = {"order_status": data.str_at("order_status")}
        if tag == "110":
            params["amount"] = format(self._fen(data.at("pay_amount")), "f")
        if tag == "106":
            params["reason"] = data.str_at("cancel_reason")
        if tag in ("200", "206"):
            params.update(
                aftersale_id=data.str_at("aftersale_id"),
                amount=format(self._fen(data.at("refund_amount")), "f"),
                reason_code=data.str_at("reason_code"),
            )
        if tag == "108":
            params["tracking_number"] = data.path("logistics_msg/logistics_code").text(required=False)
        return command(str(name), channel="douyin", channel_order_id=data.at("p_id").req(), occurred_at=when, **params)
