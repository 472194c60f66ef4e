"""JD POP (京东): ``jingdong.pop.order.get`` (``orderDetailInfo.orderInfo``) and ``jingdong.pop.order.search``
(``searchorderinfo_result.orderInfoList``), with or without the ``jingdong_…_responce`` envelope."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from orderloom.adapters.channels.base import (
    LineIn,
    Node,
    OrderIn,
    build_order,
    field_map,
    map_address,
    parse_time,
    pick_sku,
)

__all__ = ["JdAdapter"]

_ZERO = Decimal(0)


class JdAdapter:
    """JD POP orders → canonical orders."""

    name = "jd"

    def __init__(self) -> None:
        self.map = field_map("jd")
        self.tz = str(self.map.get("time_zone"))

    def map_payload(self, payload: Any, *, received_at: datetime) -> list[dict[str, Any]]:
        """Every order in a JD payload."""
        root = Node(payload).obj()
        if "error_response" in root.value:
            raise root.at("error_response").fail(
                f"an error response ({root.path('error_response/zh_desc').text(required=False)})"
            )
        body = root
        for key in root.value:
            if key.startswith("jingdong_") and key.endswith(("_responce", "_response")):
                body = root.at(key).obj()
        v = body.value
        if "orderDetailInfo" in v:
            return [self.order(body.path("orderDetailInfo/orderInfo"))]
        if "searchorderinfo_result" in v:
            return [self.order(o) for o in body.path("searchorderinfo_result/orderInfoList").items()]
        if "orderInfo" in v:
            return [self.order(body.at("orderInfo"))]
        if "orderId" in v and "itemInfoList" in v:
            return [self.order(body)]
        raise body.fail("not a JD POP order payload: expected orderDetailInfo.orderInfo or searchorderinfo_result")

    def order(self, node: Node) -> dict[str, Any]:
        """One POP order."""
        node.obj()
        state = node.at("orderState").req()
        entry = self.map.table("status").get(state)
        if entry is None:
            raise node.at("orderState").fail(f"unknown JD orderState {state!r}")
        cod = node.str_at("payType") in (str(self.map.get("cod_pay_type")), "1-货到付款")
        lines = [self._line(i) for i in node.at("itemInfoList").items()]
        freight = node.dec_at("freightPrice", _ZERO)
        seller_discount = node.dec_at("sellerDiscount", _ZERO)
        payment = node.dec_at("orderPayment")
        seller_price = node.dec_at("orderSellerPrice", _ZERO)
        platform_discount = max(seller_price + freight - payment, _ZERO) if node.has("orderSellerPrice") else _ZERO
        consignee = node.at("consigneeInfo")
        address = map_address(consignee, self.map.table("address"))
        if address is not None:
            address["country"] = "CN"
            if not address.get("phone") and (tel := consignee.str_at("telephone")):
                address["phone"] = tel
        o = OrderIn(
            channel="jd",
            channel_order_id=node.at("orderId").req(),
            currency=str(self.map.get("currency")),
            placed_at=parse_time(node.at("orderStartTime"), local_tz=self.tz),
            updated_at=parse_time(node.at("modified"), local_tz=self.tz) if node.has("modified") else None,
            lines=lines,
            grand_total=payment,
            total_pointer=node.at("orderPayment").pointer,
            shipping=freight,
            order_discount=seller_discount + platform_discount,
            customer={"id": node.str_at("pin") or node.str_at("open_id_buyer")},
            shipping_address=address,
            payment={
                "status": "pending" if cod else str(self.map.table("payment_status").get(state, "paid")),
                "method": "cash_on_delivery" if cod else "online",
            },
            status="confirmed.cash_on_delivery" if cod and str(entry) == "confirmed.paid" else str(entry),
            custom_fields={
                k: v
                for k, v in {
                    "order_remark": node.str_at("orderRemark"),
                    "seller_discount": format(seller_discount, "f") if seller_discount else None,
                    "platform_discount": format(platform_discount, "f") if platform_discount else None,
                }.items()
                if v is not None
            },
            channel_figures={
                k: node.at(k).value
                for k in ("orderTotalPrice", "orderSellerPrice", "orderPayment", "freightPrice", "sellerDiscount")
                if node.has(k)
            },
        )
        return build_order(o)

    def _line(self, i: Node) -> LineIn:
        i.obj()
        sku_id = i.at("skuId").req()
        return LineIn(
            sku=pick_sku(i.at("outerSkuId").value, i.at("productNo").value, sku_id, fallback=f"jd-{sku_id}"),
            quantity=i.int_at("itemTotal"),
            unit_price=i.dec_at("jdPrice"),
            name=i.str_at("skuName"),
            line_id=sku_id,
            pointer=i.pointer,
        )
