"""The channel part of ``orderloom demo``: signed-channel deliveries through the real intake — a clean WooCommerce
order, a Taobao trade whose China address resolves to a district, orders held by each check level (bad phone,
address/ZIP mismatch, price conflict), a redelivery, a status update that arrives before its order, and an unparseable
payload that lands in quarantine. Self-contained (payloads built here)."""

from __future__ import annotations

import json
from typing import Any

from orderloom.adapters.channels.intake import AdapterMapper
from orderloom.application.channel_intake import IntakeResult, receive_delivery
from orderloom.bootstrap import Container, utc_now

__all__ = ["DEMO_SKUS", "load_channel_demo", "woo_order"]

# SKUs the channel demo orders use (the demo stocks them so a valid order can be allocated)
DEMO_SKUS = ["MUG-WHT-S", "TOTE-NAT", "TEA-LJ-250G"]


def woo_order(
    order_id: int, *, city: str = "San Francisco", phone: str = "+1 415 555 0123", price: str = "12.00"
) -> dict[str, Any]:
    """A WooCommerce REST v3 order (two lines, flat-rate shipping, state tax)."""
    addr = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "",
        "address_1": "1 Market St",
        "address_2": "",
        "city": city,
        "state": "CA",
        "postcode": "94105",
        "country": "US",
    }
    line_total = str(round(float(price), 2))
    return {
        "id": order_id,
        "status": "processing",
        "currency": "USD",
        "date_created_gmt": "2026-11-24T15:04:05",
        "date_modified_gmt": "2026-11-24T15:05:00",
        "prices_include_tax": False,
        "shipping_total": "5.00",
        "total_tax": "1.00",
        "total": f"{float(line_total) + 2 * 3.0 + 5.0 + 1.0:.2f}",
        "billing": {**addr, "email": "ada@example.com", "phone": phone},
        "shipping": addr,
        "payment_method": "stripe",
        "transaction_id": f"ch_{order_id}",
        "line_items": [
            {
                "id": order_id * 10 + 1,
                "name": "Mug",
                "product_id": 93,
                "variation_id": 0,
                "quantity": 2,
                "subtotal": "6.00",
                "total": "6.00",
                "total_tax": "0.50",
                "sku": "MUG-WHT-S",
            },
            {
                "id": order_id * 10 + 2,
                "name": "Tote",
                "product_id": 22,
                "variation_id": 0,
                "quantity": 1,
                "subtotal": line_total,
                "total": line_total,
                "total_tax": "0.50",
                "sku": "TOTE-NAT",
            },
        ],
        "shipping_lines": [{"id": 1, "method_title": "Flat Rate", "total": "5.00"}],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
    }


def _taobao_trade(tid: int = 3900000000000001, status: str = "WAIT_SELLER_SEND_GOODS") -> dict[str, Any]:
    return {
        "trade_fullinfo_get_response": {
            "trade": {
                "tid": tid,
                "status": status,
                "created": "2026-11-11 00:05:12",
                "modified": "2026-11-11 00:06:01",
                "buyer_nick": "t**_demo",
                "total_fee": "99.00",
                "post_fee": "0.00",
                "payment": "99.00",
                "receiver_name": "张*",
                "receiver_state": "浙江省",
                "receiver_city": "杭州市",
                "receiver_district": "余杭区",
                "receiver_address": "文一西路969号",
                "receiver_zip": "311121",
                "receiver_mobile": "138****0000",
                "orders": {
                    "order": [
                        {
                            "oid": tid + 1,
                            "title": "西湖龙井",
                            "outer_sku_id": "TEA-LJ-250G",
                            "price": "99.00",
                            "num": 1,
                            "total_fee": "99.00",
                        }
                    ]
                },
            }
        }
    }


def _deliver(container: Container, tenant_id: str, channel: str, body: bytes, key: str) -> IntakeResult:
    return receive_delivery(
        tx=container.tx,
        store_for=container.channel_store,
        mapper=AdapterMapper(container.channels.get(channel)),
        lifecycle=container.lifecycle,
        tenant_id=tenant_id,
        channel=channel,
        body=body,
        headers="{}",
        source_ip="demo",
        dedupe_key=key,
        now=utc_now(),
        checks=container.intake_checks(),
    )


def load_channel_demo(container: Container, *, tenant_id: str) -> list[tuple[str, IntakeResult]]:
    """Run the demo deliveries (idempotent: a second run finds them all as redeliveries)."""

    def enc(payload: Any) -> bytes:
        return json.dumps(payload, ensure_ascii=False).encode()

    paid = {
        "topic": "taobao_trade_TradeBuyerPay",
        "pub_time": "2026-11-11 00:07:00",
        "content": json.dumps({"tid": 3900000000000011, "status": "WAIT_SELLER_SEND_GOODS", "payment": "99.00"}),
    }
    steps = [
        ("clean WooCommerce order", "woocommerce", enc(woo_order(8001)), "demo-8001"),
        ("redelivery of the same webhook", "woocommerce", enc(woo_order(8001)), "demo-8001"),
        ("Taobao trade, China address resolved", "taobao", enc(_taobao_trade()), "demo-tb-1"),
        ("invalid phone: on_hold.validation_failed", "woocommerce", enc(woo_order(8002, phone="12")), "demo-8002"),
        (
            "ZIP/city mismatch: on_hold.address_verification",
            "woocommerce",
            enc(woo_order(8003, city="Los Angeles")),
            "demo-8003",
        ),
        (
            "price 10x the last seen: on_hold.price_conflict",
            "woocommerce",
            enc(woo_order(8004, price="120.00")),
            "demo-8004",
        ),
        ("payment message before its trade: waiting", "taobao", enc(paid), "demo-tb-pay"),
        (
            "the trade it waited for, then marked paid",
            "taobao",
            enc(_taobao_trade(3900000000000011, "WAIT_BUYER_PAY")),
            "demo-tb-11",
        ),
        ("unparseable payload: quarantined", "woocommerce", b'{"id": 8005, "line_items": [', "demo-8005"),
    ]
    return [(label, _deliver(container, tenant_id, ch, body, key)) for label, ch, body, key in steps]
