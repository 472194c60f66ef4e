"""Kuaishou (快手小店): ``open.order.detail`` (``data.orderBaseInfo`` + ``orderItemInfo`` + ``orderAddress``) and
``open.order.cursor.list`` (``data.orderList[]`` of the same shape). Amounts in fen, times in epoch milliseconds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from orderloom.adapters.channels.base import LineIn, Node, OrderIn, build_order, field_map, parse_time, pick_sku

__all__ = ["KuaishouAdapter"]

_ZERO = Decimal(0)


class KuaishouAdapter:
    """Kuaishou orders → canonical orders."""

    name = "kuaishou"

    def __init__(self) -> None:
        self.map = field_map("kuaishou")

    def map_payload(self, payload: Any, *, received_at: datetime) -> list[dict[str, Any]]:
        """Every order in a Kuaishou payload."""
        root = Node(payload).obj()
        v = root.value
        if "result" in v and root.str_at("result") != "1":
            raise root.at("result").fail(f"an error response ({root.at('error_msg').text(required=False)})")
        data = root.at("data") if "data" in v else root
        if data.has("orderList"):
            return [self.order(o) for o in data.at("orderList").items()]
        if data.has("orderBaseInfo"):
            return [self.order(data)]
        raise data.fail("not a Kuaishou order payload: expected data.orderBaseInfo or data.orderList")

    def _fen(self, node: Node) -> Decimal:
        return node.dec(default=_ZERO, scale=2)

    def order(self, node: Node) -> dict[str, Any]:
        """One order: the base info, its item(s) and the address."""
        base = node.at("orderBaseInfo").obj()
        status = base.at("status").req()
        entry = self.map.table("status").get(status)
        if entry is None:
            raise base.at("status").fail(f"unknown Kuaishou order status {status!r}")
        if node.has("orderItemInfoList"):
            item_nodes = list(node.at("orderItemInfoList").items())
        else:
            item_nodes = [node.at("orderItemInfo").obj()]
        lines = [self._line(i) for i in item_nodes]
        addr = node.at("orderAddress")
        address = None
        if not addr.missing:
            parts = (
                addr.str_at("district"),
                addr.str_at("town"),
                addr.str_at("address"),
            )
            address = {
                "name": addr.str_at("consignee"),
                "phone": addr.str_at("mobile"),
                "region": addr.str_at("province"),
                "city": addr.str_at("city"),
                "line1": " ".join(p for p in parts if p) or None,
                "country": "CN",
            }
        o = OrderIn(
            channel="kuaishou",
            channel_order_id=base.at("oid").req(),
            currency=str(self.map.get("currency")),
            placed_at=parse_time(base.at("createTime")),
            updated_at=parse_time(base.at("updateTime")) if base.has("updateTime") else None,
            lines=lines,
            grand_total=self._fen(base.at("totalFee")),
            total_pointer=base.at("totalFee").pointer,
            shipping=self._fen(base.at("expressFee")),
            order_discount=self._fen(base.at("discountFee")) - sum((li.discount for li in lines), _ZERO)
            if base.has("discountFee")
            else _ZERO,
            customer={
                "id": base.str_at("buyerOpenId"),
                "name": base.str_at("buyerNick"),
            },
            shipping_address=address,
            payment={"status": str(self.map.table("payment_status").get(status, "pending"))},
            status=str(entry),
            custom_fields={k: v for k, v in {"remark": base.str_at("remark")}.items() if v},
        )
        return build_order(o)

    def _line(self, i: Node) -> LineIn:
        i.obj()
        qty = i.int_at("num")
        sku_id = i.at("skuId").req()
        return LineIn(
            sku=pick_sku(i.at("skuNick").value, i.at("relSkuId").value, sku_id, fallback=f"kuaishou-{sku_id}"),
            quantity=qty,
            unit_price=self._fen(i.at("price")) if i.has("price") else self._fen(i.at("originalPrice")),
            discount=self._fen(i.at("discountFee")),
            name=" ".join(p for p in (i.str_at("itemTitle"), i.str_at("skuDesc")) if p) or None,
            line_id=sku_id,
            pointer=i.pointer,
        )
