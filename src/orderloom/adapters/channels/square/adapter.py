"""Square Orders API (the POS channel): ``{"order": …}``, ``{"orders": […]}`` (batch retrieve / search with full
orders) and webhook ``order.*`` events; money is ``{amount: minor units, currency}``."""

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
from orderloom.domain.currencies import CURRENCY_EXPONENTS

__all__ = ["SquareAdapter"]

_ZERO = Decimal(0)


class SquareAdapter:
    """Square order objects → canonical orders."""

    name = "square"

    def __init__(self) -> None:
        self.map = field_map("square")

    def map_payload(self, payload: Any, *, received_at: datetime) -> list[dict[str, Any]]:
        """Every order in a Square payload."""
        root = Node(payload).obj()
        v = root.value
        if "orders" in v:
            return [self.order(o, received_at) for o in root.at("orders").items()]
        if "order_entries" in v:
            raise root.at("order_entries").fail(
                "a SearchOrders response with return_entries=true lists order ids only; fetch the orders"
            )
        if "idempotency_key" in v:
            raise root.at("order").fail("a CreateOrder request: Square has not created (or numbered) this order yet")
        if "order" in v:
            return [self.order(root.at("order"), received_at)]
        data = root.path("data/object")
        if not data.missing:  # webhook order.created / order.updated carry only order ids and state
            raise data.fail("a Square webhook event carries order ids only; fetch the order (RetrieveOrder)")
        if "line_items" in v and "id" in v:
            return [self.order(root, received_at)]
        raise root.fail("not a Square order payload: expected order or orders")

    def _money(self, node: Node, currency: str) -> Decimal:
        if node.missing:
            return _ZERO
        cur = node.str_at("currency") or currency
        if cur != currency:
            raise node.at("currency").fail(f"{cur} amount in a {currency} order")
        return node.at("amount").dec(default=_ZERO, scale=CURRENCY_EXPONENTS.get(currency, 2))

    def order(self, node: Node, received_at: datetime) -> dict[str, Any]:
        """One Square order."""
        node.obj()
        oid = node.at("id")
        if oid.missing:
            raise oid.fail("the order has no id (a CalculateOrder preview or an unsaved order)")
        total = node.at("total_money")
        currency = total.at("currency").req().upper()
        if currency not in CURRENCY_EXPONENTS:
            raise total.at("currency").fail(f"unknown currency {currency!r}")
        lines = [self._line(li, currency) for li in node.at("line_items").items()]
        state = node.str_at("state") or "OPEN"
        entry = self.map.table("status").get(state)
        if entry is None:
            raise node.at("state").fail(f"unknown Square order state {state!r}")
        custom: dict[str, Any] = {
            "location_id": node.str_at("location_id"),
            "reference_id": node.str_at("reference_id"),
            "source": node.path("source/name").text(required=False),
        }
        tip = self._money(node.at("total_tip_money"), currency)
        service = self._money(node.at("total_service_charge_money"), currency)
        if node.has("created_at"):
            placed = parse_time(node.at("created_at"))
        elif node.has("updated_at"):
            placed = parse_time(node.at("updated_at"))
        else:
            placed, custom["placed_at_source"] = received_at, "received (Square gave no created_at)"
        paid = state == "COMPLETED" or (
            bool(node.at("tenders").value) and self._money(node.at("net_amount_due_money"), currency) == 0
        )
        fulfilment = next(iter(node.at("fulfillments").items(required=False)), None)
        recipient = fulfilment.path("shipment_details/recipient") if fulfilment is not None else Node(None)
        o = OrderIn(
            channel="square",
            channel_order_id=oid.req(),
            currency=currency,
            placed_at=placed,
            updated_at=parse_time(node.at("updated_at")) if node.has("updated_at") else None,
            lines=lines,
            grand_total=self._money(total, currency),
            total_pointer=total.at("amount").pointer,
            shipping=tip + service,
            order_tax=self._money(node.at("total_tax_money"), currency),
            customer={
                "id": node.str_at("customer_id"),
                "name": recipient.str_at("display_name"),
            },
            shipping_address=map_address(recipient.at("address"), self.map.table("address")),
            payment={"status": "paid" if paid else str(self.map.table("payment_status").get(state, "pending"))},
            status=str(entry),
            custom_fields={k: v for k, v in custom.items() if v is not None},
        )
        if tip or service:
            o.custom_fields["tip_and_service_charges"] = format(tip + service, "f")
        return build_order(o)

    def _line(self, li: Node, currency: str) -> LineIn:
        li.obj()
        qty_node = li.at("quantity")
        qty = qty_node.whole()
        base = self._money(li.at("base_price_money"), currency)
        gross = self._money(li.at("gross_sales_money"), currency) if li.has("gross_sales_money") else None
        if gross is None:
            modifiers = sum(
                (self._money(m.at("total_price_money"), currency) for m in li.at("modifiers").items(required=False)),
                _ZERO,
            )
            gross = base * qty + modifiers
        uid = li.str_at("uid")
        return LineIn(
            sku=pick_sku(li.at("catalog_object_id").value, fallback=f"square-{uid or 'ad-hoc'}"),
            quantity=qty,
            unit_price=_ZERO,
            gross=gross,
            discount=self._money(li.at("total_discount_money"), currency),
            tax=self._money(li.at("total_tax_money"), currency),
            name=" ".join(p for p in (li.str_at("name"), li.str_at("variation_name")) if p) or None,
            line_id=uid,
            pointer=li.pointer,
        )
