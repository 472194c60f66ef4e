"""Amazon SP-API: Orders v0 (PascalCase ``payload`` envelopes; a JSON array of getOrder/getOrderItems/getOrderAddress/
getOrderBuyerInfo responses is merged by AmazonOrderId) and the Orders API 2026-01-01 (camelCase ``order``/``orders``),
told apart from the payload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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

__all__ = ["AmazonAdapter"]

_ZERO = Decimal(0)
_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)


def sandbox_time(node: Node) -> datetime:
    """A v0 time. The v0 sandbox renders epoch seconds as if they were milliseconds (``1970-01-19T03:58:30Z`` is
    1,569,510 s after the epoch; x 1000 = 2019-09-26T15:00:00Z, next to the sandbox's CreatedBefore 1.569521782042E9):
    such pre-1990 times are scaled back by 1000."""
    t = parse_time(node)
    if t < _PLAUSIBLE:
        seconds = (t - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000
        t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    return t


def _money(node: Node) -> tuple[Decimal, str | None]:
    if node.missing:
        return _ZERO, None
    return node.dec_at("Amount", _ZERO), node.str_at("CurrencyCode")


class AmazonAdapter:
    """Amazon orders (v0 and 2026-01-01) → canonical orders; confirmShipment → ``ship``."""

    name = "amazon"

    def __init__(self) -> None:
        self.map = field_map("amazon")

    def map_payload(self, payload: Any, *, received_at: datetime) -> list[dict[str, Any]]:
        """Every order in an Amazon payload."""
        root = Node(payload)
        if isinstance(payload, list):
            return self._bundle(list(root.items()))
        v = root.obj().value
        if "errors" in v and "payload" not in v:
            codes = ", ".join(str(e.get("code")) for e in v["errors"] if isinstance(e, dict)) or "unknown"
            raise root.at("errors").fail(f"an Amazon error response ({codes}), not an order")
        if "order" in v:
            return [self.order_2026(root.at("order"))]
        if "orders" in v:
            return [self.order_2026(o) for o in root.at("orders").items()]
        if "orderId" in v and "body" in v:
            return [self._confirm_shipment(root)]
        if "orderId" in v:
            return [self.order_2026(root)]
        return self._bundle([root])

    # -- Orders v0 -----------------------------------------------------------------------------------------------

    def _bundle(self, responses: list[Node]) -> list[dict[str, Any]]:
        headers: dict[str, Node] = {}
        parts: dict[str, dict[str, Node]] = {}
        for resp in responses:
            body = resp.at("payload") if isinstance(resp.value, dict) and "payload" in resp.value else resp
            body.obj()
            if body.has("Orders"):
                for o in body.at("Orders").items():
                    headers[o.at("AmazonOrderId").req()] = o
                continue
            oid = body.at("AmazonOrderId").req()
            if body.has("PurchaseDate") or body.has("OrderStatus"):
                headers[oid] = body
            for key in ("OrderItems", "ShippingAddress", "BuyerEmail"):
                if body.has(key):
                    parts.setdefault(oid, {})[key] = body.at(key) if key != "BuyerEmail" else body
        if not headers:
            where = responses[0] if len(responses) == 1 else Node(None)
            raise where.fail(
                "no Amazon order header (PurchaseDate, OrderStatus): getOrderItems/getOrderAddress/getOrderBuyerInfo "
                "responses alone are not an order; pass them in a JSON array together with the getOrder response"
            )
        return [self.order_v0(h, parts.get(oid, {})) for oid, h in headers.items()]

    def order_v0(self, head: Node, extra: dict[str, Node]) -> dict[str, Any]:
        """One v0 order header, with its items/address/buyer info when they came along."""
        oid = head.at("AmazonOrderId").req()
        status = head.at("OrderStatus").req()
        entry = self.map.table("v0_status").get(status)
        if entry is None:
            raise head.at("OrderStatus").fail(f"unknown Amazon OrderStatus {status!r}")
        total, currency = _money(head.at("OrderTotal"))
        items = extra.get("OrderItems")
        if currency is None and items is None:
            raise head.at("OrderTotal").fail(
                f"Amazon gives no OrderTotal for this {status} order and no getOrderItems response came with it: "
                "nothing to total"
            )
        custom: dict[str, Any] = {"marketplace_id": head.str_at("MarketplaceId")}
        if items is not None:
            lines, shipping, tax, currency_items = self._items_v0(items)
            currency = currency or currency_items
            if head.at("OrderTotal").missing:
                total = sum((li.gross or _ZERO) - li.discount + li.tax for li in lines) + shipping
        else:
            lines, shipping, tax = self._unitemised(head, total), _ZERO, None
            custom["items_pending"] = "order header only: fetch getOrderItems for the real lines"
        if currency is None:
            raise head.at("OrderTotal").fail(
                f"Amazon gives no OrderTotal for a {status} order and no items came with it: nothing to total"
            )
        addr_node = extra.get("ShippingAddress") or head.at("ShippingAddress")
        buyer = extra.get("BuyerEmail") or head.at("BuyerInfo")
        o = OrderIn(
            channel="amazon",
            channel_order_id=oid,
            currency=currency.upper(),
            placed_at=sandbox_time(head.at("PurchaseDate")),
            updated_at=sandbox_time(head.at("LastUpdateDate")) if head.has("LastUpdateDate") else None,
            lines=lines,
            grand_total=total,
            total_pointer=head.path("OrderTotal/Amount").pointer,
            shipping=shipping,
            order_tax=tax,
            customer={
                "email": buyer.str_at("BuyerEmail"),
                "name": buyer.str_at("BuyerName"),
            },
            shipping_address=map_address(addr_node, self.map.table("v0_address")),
            payment={
                "status": str(self.map.table("v0_payment_status").get(status, "pending")),
                "method": head.str_at("PaymentMethod"),
            },
            status=str(entry),
            tags=[
                t
                for t in (
                    "prime" if head.at("IsPrime").flag() else "",
                    "business" if head.at("IsBusinessOrder").flag() else "",
                )
                if t
            ],
            custom_fields={k: v for k, v in custom.items() if v is not None},
        )
        return build_order(o)

    def _unitemised(self, head: Node, total: Decimal) -> list[LineIn]:
        shipped = head.at("NumberOfItemsShipped").whole(default=0)
        unshipped = head.at("NumberOfItemsUnshipped").whole(default=0)
        qty = shipped + unshipped
        if qty <= 0:
            raise head.at("NumberOfItemsUnshipped").fail("an order header with no items and no item counts")
        return [
            LineIn(
                sku="amazon-items-pending",
                quantity=qty,
                unit_price=_ZERO,
                gross=total,
                name="Amazon order items not yet fetched (getOrderItems)",
                pointer=head.pointer,
            )
        ]

    def _items_v0(self, items: Node) -> tuple[list[LineIn], Decimal, Decimal, str | None]:
        lines: list[LineIn] = []
        shipping = tax = _ZERO
        currency: str | None = None
        for it in items.items():
            qty = it.int_at("QuantityOrdered")
            price, cur = _money(it.at("ItemPrice"))
            currency = currency or cur
            line_tax = _money(it.at("ItemTax"))[0]
            ship = _money(it.at("ShippingPrice"))[0] - _money(it.at("ShippingDiscount"))[0]
            shipping += ship
            tax += line_tax + _money(it.at("ShippingTax"))[0] - _money(it.at("ShippingDiscountTax"))[0]
            asin = it.str_at("ASIN")
            lines.append(
                LineIn(
                    sku=pick_sku(it.at("SellerSKU").value, asin, fallback=f"amazon-{it.at('OrderItemId').req()}"),
                    quantity=qty,
                    unit_price=_ZERO,
                    gross=price,  # v0 ItemPrice is the price for the whole quantity
                    discount=_money(it.at("PromotionDiscount"))[0],
                    tax=line_tax,
                    name=it.str_at("Title"),
                    line_id=it.str_at("OrderItemId"),
                    pointer=it.pointer,
                )
            )
        return lines, shipping, tax, currency

    def _confirm_shipment(self, root: Node) -> dict[str, Any]:
        pkg = root.path("body/value/packageDetail")
        oid = root.path("orderId/value").text(required=False) or root.at("orderId").req()
        return command(
            "ship",
            channel="amazon",
            channel_order_id=oid,
            occurred_at=parse_time(pkg.at("shipDate")) if pkg.has("shipDate") else None,
            tracking_number=pkg.str_at("trackingNumber"),
            carrier=pkg.str_at("carrierName") or pkg.str_at("carrierCode"),
        )

    # -- Orders API 2026-01-01 ------------------------------------------------------------------------------------

    def order_2026(self, node: Node) -> dict[str, Any]:
        """One 2026-01-01 order."""
        node.obj()
        grand = node.path("proceeds/grandTotal")
        currency = grand.str_at("currencyCode")
        breakdown = self._breakdown(node.path("proceeds/breakdowns"))
        lines = [self._item_2026(it) for it in node.at("orderItems").items()]
        if currency is None:
            raise grand.fail("the order has no proceeds.grandTotal (currency and total)")
        fstatus = node.path("fulfillment/fulfillmentStatus").text(required=False) or "UNSHIPPED"
        if node.has("cancellation") and fstatus not in ("SHIPPED", "PARTIALLY_SHIPPED"):
            fstatus = "CANCELLED"
        entry = self.map.table("v2026_status").get(fstatus)
        if entry is None:
            raise node.path("fulfillment/fulfillmentStatus").fail(f"unknown fulfillmentStatus {fstatus!r}")
        item_tax = sum((li.tax for li in lines), _ZERO)
        shipping = breakdown.get("shipping")
        if shipping is None:
            shipping = sum(
                (
                    self._breakdown(it.path("proceeds/breakdowns")).get("shipping", _ZERO)
                    for it in node.at("orderItems").items()
                ),
                _ZERO,
            )
        custom = {
            "marketplace": node.path("salesChannel/marketplaceName").text(required=False),
            "seller_order_id": next((a.str_at("aliasId") for a in node.at("orderAliases").items(required=False)), None),
        }
        o = OrderIn(
            channel="amazon",
            channel_order_id=node.at("orderId").req(),
            currency=currency.upper(),
            placed_at=parse_time(node.at("createdTime")),
            updated_at=parse_time(node.at("lastUpdatedTime")) if node.has("lastUpdatedTime") else None,
            lines=lines,
            grand_total=grand.dec_at("amount"),
            total_pointer=grand.at("amount").pointer,
            shipping=shipping,
            order_tax=breakdown.get("tax", item_tax),
            order_discount=breakdown.get("discount", _ZERO),
            customer={
                "name": node.path("buyer/buyerName").text(required=False),
                "email": node.path("buyer/buyerEmail").text(required=False),
            },
            shipping_address=map_address(node.path("recipient/deliveryAddress"), self.map.table("v2026_address")),
            payment={"status": str(self.map.table("v2026_payment_status").get(fstatus, "pending"))},
            status=str(entry),
            tags=[str(p).lower() for p in (node.at("programs").value or []) if isinstance(p, str)],
            custom_fields={k: v for k, v in custom.items() if v is not None},
        )
        return build_order(o)

    def _breakdown(self, node: Node) -> dict[str, Decimal]:
        kinds = self.map.table("v2026_breakdown")
        out: dict[str, Decimal] = {}
        for b in node.items(required=False):
            kind = kinds.get(b.str_at("type") or "")
            if kind is None:
                raise b.at("type").fail(f"unknown proceeds breakdown type {b.at('type').value!r}")
            out[str(kind)] = out.get(str(kind), _ZERO) + abs(b.path("subtotal/amount").dec(default=_ZERO))
        return out

    def _item_2026(self, it: Node) -> LineIn:
        it.obj()
        qty = it.int_at("quantityOrdered")
        product = it.at("product")
        unit = product.path("price/unitPrice/amount").dec(default=_ZERO)
        parts = self._breakdown(it.path("proceeds/breakdowns"))
        item = parts.get("item", unit * qty)
        tax = parts.get("tax", _ZERO)
        for d in it.path("proceeds/breakdowns").items(required=False):
            for sub in d.at("detailedBreakdowns").items(required=False):
                if d.at("type").value == "TAX" and sub.at("subtype").value == "ITEM":
                    tax = sub.path("value/amount").dec(default=_ZERO)
        gross = max(unit * qty, item)
        return LineIn(
            sku=pick_sku(
                product.at("sellerSku").value, product.at("asin").value, fallback=f"amazon-{it.at('orderItemId').req()}"
            ),
            quantity=qty,
            unit_price=_ZERO,
            gross=gross,
            discount=gross - item + parts.get("discount", _ZERO),
            tax=tax,
            name=product.str_at("title"),
            line_id=it.str_at("orderItemId"),
            pointer=it.pointer,
        )
