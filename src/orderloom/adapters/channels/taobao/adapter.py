"""Taobao / Tmall: ``taobao.trade.fullinfo.get`` trades (the ``trade_fullinfo_get_response`` envelope, a bare
``trade`` or a ``trades_sold_get_response`` page) and TMC trade messages as commands."""

from __future__ import annotations

import json
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

__all__ = ["TaobaoAdapter"]

_ZERO = Decimal(0)


class TaobaoAdapter:
    """Taobao trades → canonical orders; TMC messages → commands."""

    name = "taobao"

    def __init__(self) -> None:
        self.map = field_map("taobao")
        self.tz = str(self.map.get("time_zone"))

    def map_payload(self, payload: Any, *, received_at: datetime) -> list[dict[str, Any]]:
        """Every trade or command in a Taobao payload."""
        root = Node(payload).obj()
        v = root.value
        if "error_response" in v:
            raise root.at("error_response").fail(
                f"an error response ({root.path('error_response/msg').text(required=False)})"
            )
        if "topic" in v:
            return [self.message(root)]
        if "trade_fullinfo_get_response" in v:
            return [self.trade(root.path("trade_fullinfo_get_response/trade"))]
        if "trades_sold_get_response" in v:
            return [self.trade(t) for t in root.path("trades_sold_get_response/trades/trade").items()]
        if "trade" in v:
            return [self.trade(root.at("trade"))]
        if "tid" in v and "orders" in v:
            return [self.trade(root)]
        raise root.fail("not a Taobao trade payload: expected trade_fullinfo_get_response.trade")

    def trade(self, t: Node) -> dict[str, Any]:
        """One trade; its ``orders.order[]`` are the lines."""
        t.obj()
        status = t.at("status").req()
        entry = self.map.table("status").get(status)
        if entry is None:
            raise t.at("status").fail(f"unknown Taobao trade status {status!r}")
        orders = t.path("orders/order") if isinstance(t.at("orders").value, dict) else t.at("orders")
        lines = [self._line(o) for o in orders.items()]
        cod = t.str_at("type") == "cod"
        address = map_address(t, self.map.table("address")) or {}
        district = t.str_at("receiver_district")
        if district and address.get("line1"):
            address["line1"] = f"{district} {address['line1']}"
        country = t.str_at("receiver_country")
        address["country"] = "CN" if country in (None, "", "中国", "CN") else country
        custom = {
            "buyer_message": t.str_at("buyer_message"),
            "seller_memo": t.str_at("seller_memo"),
            "buyer_open_uid": t.str_at("buyer_open_uid"),
        }
        o = OrderIn(
            channel="taobao",
            channel_order_id=(t.str_at("tid_str") or t.at("tid").req()),
            currency=str(self.map.get("currency")),
            placed_at=parse_time(t.at("created"), local_tz=self.tz),
            updated_at=parse_time(t.at("modified"), local_tz=self.tz) if t.has("modified") else None,
            lines=lines,
            grand_total=t.dec_at("payment"),
            total_pointer=t.at("payment").pointer,
            shipping=t.dec_at("post_fee", _ZERO),
            customer={
                "id": t.str_at("buyer_open_uid"),
                "name": t.str_at("buyer_nick"),
            },
            shipping_address=address if len(address) > 1 else None,
            payment={
                "status": "pending" if cod else str(self.map.table("payment_status").get(status, "pending")),
                "method": "cash_on_delivery" if cod else "alipay",
                "reference": t.str_at("alipay_no"),
            },
            status="confirmed.cash_on_delivery" if cod and status == "WAIT_SELLER_SEND_GOODS" else str(entry),
            tags=["tmall"] if t.str_at("type") == "tmall_i18n" or t.at("is_tmall").flag() else [],
            custom_fields={k: v for k, v in custom.items() if v is not None},
            channel_figures={
                k: t.at(k).value for k in ("total_fee", "discount_fee", "adjust_fee", "post_fee", "payment") if t.has(k)
            },
        )
        return build_order(o)

    def _line(self, o: Node) -> LineIn:
        o.obj()
        qty = o.int_at("num")
        gross = o.dec_at("price") * qty
        net = o.at("total_fee").dec(default=gross)  # price x num + adjust_fee - discount_fee
        discount = gross - net + o.dec_at("part_mjz_discount", _ZERO)
        oid = o.str_at("oid_str") or o.at("oid").req()
        return LineIn(
            sku=pick_sku(
                o.at("outer_sku_id").value,
                o.at("outer_iid").value,
                o.at("sku_id").value,
                fallback=f"taobao-{o.at('num_iid').text(required=False) or oid}",
            ),
            quantity=qty,
            unit_price=_ZERO,
            gross=gross if net <= gross else net,
            discount=max(min(discount, gross), _ZERO),
            name=" ".join(p for p in (o.str_at("title"), o.str_at("sku_properties_name")) if p) or None,
            line_id=oid,
            pointer=o.pointer,
        )

    def message(self, msg: Node) -> dict[str, Any]:
        """A TMC message (``topic`` + JSON ``content``) as a command."""
        topic = msg.at("topic").req()
        name = self.map.table("topic_command").get(topic)
        if name is None:
            raise msg.at("topic").fail(f"TMC topic {topic} changes no order status (or needs the full trade)")
        content = msg.at("content")
        if isinstance(content.value, str):
            try:
                content = Node(json.loads(content.value), content.pointer)
            except ValueError:
                raise content.fail("content is not JSON") from None
        content.obj()
        when = msg.at("pub_time")
        return command(
            str(name),
            channel="taobao",
            channel_order_id=content.at("tid").req(),
            occurred_at=parse_time(when, local_tz=self.tz) if not when.missing else None,
            status=content.str_at("status"),
            amount=content.str_at("payment") or content.str_at("refund_fee"),
            reference=content.str_at("oid") or content.str_at("refund_id"),
        )
