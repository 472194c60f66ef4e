"""Channel adapters on the real upstream samples (tests/fixtures/channels): every order maps to a canonical order
whose line count, quantities, currency and grand total are the payload's own, and which validates exactly as
``POST /v1/orders`` would take it; non-order payloads map to commands or fail with the JSON pointer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orderloom.adapters.channels import MappingError, default_registry
from orderloom.adapters.channels.checks import check_document, decode_order
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.lifecycle import Status
from orderloom.domain.order_validation import validate_new_order

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGISTRY = default_registry()
ENTRY = set(load_lifecycle().entry)

# (channel, file) -> [(channel_order_id, quantities per line, currency, grand total, "main.sub")]
ORDERS: dict[tuple[str, str], list[tuple[str, list[int], str, str, str]]] = {
    ("shopify", "order.json"): [("450789469", [1, 1, 1], "USD", "409.94", "pending.awaiting_payment")],
    ("shopify", "draft_order.json"): [("517119332", [1, 2], "CAD", "1027.41", "pending.awaiting_payment")],
    ("woocommerce", "create_order_response.json"): [("727", [2, 1], "USD", "29.35", "confirmed.paid")],
    ("woocommerce", "retrieve_order_response.json"): [("727", [2, 1], "USD", "29.35", "confirmed.paid")],
    ("woocommerce", "update_order_response.json"): [("727", [2, 1], "USD", "29.35", "closed.completed")],
    ("woocommerce", "delete_order_response.json"): [("727", [2, 1], "USD", "29.35", "closed.completed")],
    ("woocommerce", "list_orders_response.json"): [
        ("727", [2, 1], "USD", "29.35", "confirmed.paid"),
        ("723", [1, 1], "USD", "39.00", "closed.completed"),
    ],
    ("amazon", "v0_getOrders_sandbox_TEST_CASE_200.json"): [
        ("902-1845936-5435065", [1], "USD", "11.01", "confirmed.paid"),
        ("902-8745147-1934268", [1], "USD", "11.01", "confirmed.paid"),
    ],
    ("amazon", "v0_getOrder_sandbox_TEST_CASE_200.json"): [
        ("902-1845936-5435065", [1], "USD", "11.01", "confirmed.paid")
    ],
    ("amazon", "v2026_getOrder_example.json"): [
        ("202-1234567-8901234", [3], "GBP", "103.97", "shipped.handed_to_carrier")
    ],
    ("amazon", "v2026_getOrder_sandbox_BR_consumer.json"): [
        ("171-9876543-2109876", [1], "BRL", "299.90", "confirmed.paid")
    ],
    ("amazon", "v2026_getOrder_sandbox_TR.json"): [
        ("028-1234567-8901234", [2], "TRY", "125.00", "shipped.handed_to_carrier")
    ],
    ("amazon", "v2026_searchOrders_example.json"): [
        ("123-4567890-1234567", [2, 1], "USD", "154.99", "shipped.handed_to_carrier")
    ],
    ("amazon", "v2026_searchOrders_sandbox_JP.json"): [
        ("250-1234567-8901234", [1, 2], "JPY", "19940", "shipped.handed_to_carrier")
    ],
    ("amazon", "v2026_searchOrders_sandbox_UK.json"): [
        ("202-7654321-1098765", [1], "GBP", "34.99", "shipped.handed_to_carrier")
    ],
    ("square", "CreateOrderResponse.json"): [
        ("CAISENgvlJ6jLWAzERDzjyHVybY", [1, 2], "USD", "61.76", "pending.awaiting_payment")
    ],
    ("square", "RetrieveOrderResponse.json"): [
        ("CAISENgvlJ6jLWAzERDzjyHVybY", [1, 2], "USD", "5.50", "pending.awaiting_payment")
    ],
    ("square", "BatchRetrieveOrdersResponse.json"): [
        ("CAISEM82RcpmcFBM0TfOyiHV3es", [1, 3], "USD", "75.99", "pending.awaiting_payment")
    ],
    ("square", "UpdateOrderResponse.json"): [
        ("DREk7wJcyXNHqULq8JJ2iPAsluJZY", [1, 2], "USD", "9.00", "pending.awaiting_payment")
    ],
    ("tiktok_shop", "order_202309_get_order_detail_response.json"): [
        ("576461413038785752", [1], "IDR", "5000.00", "pending.awaiting_payment")
    ],
    ("tiktok_shop", "order_202309_search_orders_response.json"): [
        ("576461413038785752", [1], "IDR", "5000.00", "pending.awaiting_payment")
    ],
    ("tiktok_shop", "legacy_order_detail_constructed.json"): [
        ("576461413038785752", [2], "USD", "26.50", "confirmed.paid")
    ],
    ("douyin", "order_detail_response.json"): [
        ("4781320682406083640", [2], "CNY", "5.00", "shipped.handed_to_carrier")
    ],
    ("taobao", "trade_fullinfo_get_constructed.json"): [
        ("3456789012345678", [2, 1], "CNY", "248.00", "confirmed.paid")
    ],
    ("jd", "pop_order_get_constructed.json"): [("250123456789", [2, 1], "CNY", "296.00", "confirmed.paid")],
    ("kuaishou", "order_detail_constructed.json"): [("2511110012345678", [2], "CNY", "139.00", "confirmed.paid")],
}

# (channel, file) -> (command, channel order id)
COMMANDS: dict[tuple[str, str], tuple[str, str]] = {
    ("woocommerce", "create_refund_response.json"): ("refund", "723"),
    ("amazon", "v0_confirmShipment_request_sandbox.json"): ("ship", "902-1106328-1059050"),
    ("tiktok_shop", "webhook_cancellation_status_change.json"): ("hold", "576486316948490001"),
    ("douyin", "webhook_trade_paid.json"): ("mark_paid", "xxxxxxx"),
    ("douyin", "webhook_trade_canceled.json"): ("cancel", "12345"),
    ("douyin", "webhook_trade_success.json"): ("close", "xxxxxxx"),
    ("douyin", "webhook_trade_partly_seller_ship.json"): ("ship_partial", "4705288465508532862"),
    ("douyin", "webhook_refund_created.json"): ("start_return", "4705288465508532862"),
    ("taobao", "tmc_trade_buyer_pay_constructed.json"): ("mark_paid", "3456789012345678"),
}

# (channel, file) -> the JSON pointer the refusal names
REFUSED: dict[tuple[str, str], str] = {
    ("shopify", "order_risks.json"): "/risks",
    ("shopify", "fulfillment_event.json"): "/fulfillment_event",
    ("shopify", "fulfillment.json"): "/fulfillment/status",
    ("shopify", "transaction.json"): "/transaction/kind",
    ("shopify", "transactions.json"): "/0/kind",
    ("shopify", "webhook_hmac_test_vector.json"): "/",
    ("amazon", "v0_getOrders_sandbox_TEST_CASE_400.json"): "/errors",
    ("amazon", "v0_getOrder_example.json"): "/payload/OrderTotal",
    ("amazon", "v0_getOrders_sandbox_TEST_CASE_200_NEXT_TOKEN.json"): "/payload/Orders/0/OrderTotal",
    ("amazon", "v0_getOrderItems_sandbox_TEST_CASE_200.json"): "/",
    ("amazon", "v0_getOrderAddress_example.json"): "/",
    ("amazon", "v0_getOrderBuyerInfo_sandbox_TEST_CASE_200.json"): "/",
    ("square", "CalculateOrderResponse.json"): "/order/id",
    ("square", "CreateOrderRequest.json"): "/order",
    ("square", "SearchOrdersResponse.json"): "/order_entries",
    ("tiktok_shop", "legacy_order_search_response.json"): "/data/order_list",
    ("tiktok_shop", "order_price_detail_response.json"): "/data",
    ("tiktok_shop", "webhook_order_status_change.json"): "/data/order_status",
    ("tiktok_shop", "webhook_package_update.json"): "/type",
    ("douyin", "webhook_trade_create.json"): "/tag",
    ("taobao", "field_definitions.json"): "/",
}


def load(channel: str, name: str) -> Any:
    return json.loads((FIXTURES / channel / name).read_text(encoding="utf-8-sig"))


def parse(channel: str, payload: Any) -> list[dict[str, Any]]:
    return [check_document(d) for d in REGISTRY.get(channel).map_payload(payload, received_at=NOW)]


@pytest.mark.parametrize(("channel", "name"), sorted(ORDERS), ids=str)
def test_sample_maps_to_orders_with_the_payloads_own_figures(channel: str, name: str) -> None:
    docs = parse(channel, load(channel, name))
    expected = ORDERS[(channel, name)]
    assert len(docs) == len(expected)
    for doc, (oid, quantities, currency, total, status) in zip(docs, expected, strict=True):
        assert doc["channel"] == channel
        assert doc["channel_order_id"] == oid
        assert [line["quantity"] for line in doc["lines"]] == quantities
        assert doc["currency"] == currency
        assert doc["totals"]["grand_total"] == total
        assert f"{doc['status']['main']}.{doc['status']['sub']}" == status
        assert Status(doc["status"]["main"], doc["status"]["sub"]) in ENTRY
        new = decode_order(json.loads(json.dumps(doc)))  # survives a JSON round trip as POST /v1/orders gets it
        lines = validate_new_order(new)
        assert len(lines) == len(quantities)
        assert new.placed_at.tzinfo is not None


def test_every_sample_file_is_either_mapped_or_refused_with_a_pointer() -> None:
    covered = set(ORDERS) | set(REFUSED) | set(COMMANDS)
    bundle_parts = {
        "v0_getOrderAddress_sandbox_TEST_CASE_200.json",
        "v0_getOrderItemsBuyerInfo_sandbox_TEST_CASE_200.json",
    }
    for channel in ("shopify", "woocommerce", "amazon", "square", "tiktok_shop", "douyin", "taobao", "jd", "kuaishou"):
        for path in (FIXTURES / channel).glob("*.json"):
            assert (channel, path.name) in covered or path.name in bundle_parts, path


@pytest.mark.parametrize(("channel", "name"), sorted(REFUSED), ids=str)
def test_non_order_payloads_are_refused_naming_the_json_pointer(channel: str, name: str) -> None:
    with pytest.raises(MappingError) as info:
        parse(channel, load(channel, name))
    assert info.value.pointer == REFUSED[(channel, name)]
    assert str(info.value).startswith(REFUSED[(channel, name)] + ": ")


def test_shopify_figures_that_do_not_reconcile_are_explained() -> None:
    (doc,) = parse("shopify", load("shopify", "order.json"))
    # three IPods at 199.00 = 597.00, but Shopify's own total_line_items_price says 398.00: the order total is kept
    assert doc["totals"] == {
        "subtotal": "597.00",
        "discount": "199.00",
        "shipping": "0.00",
        "tax": "11.94",
        "grand_total": "409.94",
    }
    rec = doc["custom_fields"]["channel_reconciliation"]
    assert rec["computed_total"] == "608.94"
    assert rec["difference"] == "-199.00"
    assert rec["channel_figures"]["total_line_items_price"] == "398.00"
    assert "609" not in rec["note"] and "199.00 difference" in rec["note"]
    assert doc["placed_at"] == "2008-01-10T16:00:00Z"  # 11:00 at -05:00
    assert doc["shipping_address"]["country"] == "US" and doc["shipping_address"]["region"] == "KY"
    assert doc["payment"] == {"status": "authorized", "method": "authorize_net"}


def test_woocommerce_uses_the_gmt_twin_and_line_taxes() -> None:
    (doc,) = parse("woocommerce", load("woocommerce", "create_order_response.json"))
    assert doc["placed_at"] == "2017-03-22T19:28:02Z"  # date_created 16:28:02 is the store's local time
    assert [(ln["sku"], ln["unit_price"], ln["tax"]) for ln in doc["lines"]] == [
        ("woo-93", "3.00", "0.45"),  # empty SKU: the product id stands in
        ("Bar3", "12.00", "0.90"),
    ]
    assert doc["totals"]["shipping"] == "10.00" and doc["totals"]["tax"] == "1.35"
    assert "channel_reconciliation" not in doc["custom_fields"]


def test_woocommerce_refund_is_a_command_without_a_top_level_order_id() -> None:
    (cmd,) = parse("woocommerce", load("woocommerce", "create_refund_response.json"))
    assert cmd == {
        "command": "refund",
        "channel": "woocommerce",
        "order": {"channel": "woocommerce", "channel_order_id": "723"},
        "occurred_at": "2017-03-21T20:07:11Z",
        "params": {"amount": "10.00", "reference": "726"},
    }
    assert "channel_order_id" not in cmd


def test_amazon_v0_sandbox_epoch_dates_and_bundles() -> None:
    head = load("amazon", "v0_getOrder_sandbox_TEST_CASE_200.json")
    items = load("amazon", "v0_getOrderItems_sandbox_TEST_CASE_200.json")
    buyer = load("amazon", "v0_getOrderBuyerInfo_sandbox_TEST_CASE_200.json")
    (alone,) = parse("amazon", head)
    assert alone["placed_at"] == "2019-09-26T15:00:00Z"  # sandbox 1970-01-19T03:58:30Z = epoch seconds read as ms
    assert alone["lines"][0]["sku"] == "amazon-items-pending"
    (doc,) = parse("amazon", [head, items, buyer])
    assert doc["lines"] == [
        {
            "sku": "NABetaASINB00551Q3CS",
            "name": "B00551Q3CS [Card Book]",
            "quantity": 1,
            "unit_price": "10.00",
            "discount": "0.00",
            "tax": "1.01",
            "line_id": "05015851154158",
        }
    ]
    assert doc["totals"]["grand_total"] == "11.01" and doc["totals"]["tax"] == "1.01"
    assert doc["customer"] == {"email": "fzyrv6gwkhbb15c@example.com", "name": "MFNIntegrationTestMerchant"}


def test_amazon_2026_breakdowns() -> None:
    (doc,) = parse("amazon", load("amazon", "v2026_getOrder_example.json"))
    assert doc["totals"] == {
        "subtotal": "89.97",
        "discount": "0.00",
        "shipping": "10.00",
        "tax": "4.00",
        "grand_total": "103.97",
    }
    assert doc["lines"][0]["tax"] == "3.00"  # the item part of the 4.00 tax; 1.00 is on shipping
    (jp,) = parse("amazon", load("amazon", "v2026_searchOrders_sandbox_JP.json"))
    assert jp["totals"]["grand_total"] == "19940" and jp["lines"][1]["unit_price"] == "6980"


def test_amazon_commands_and_errors() -> None:
    (cmd,) = parse("amazon", load("amazon", "v0_confirmShipment_request_sandbox.json"))
    assert cmd["command"] == "ship" and cmd["order"]["channel_order_id"] == "902-1106328-1059050"
    assert cmd["params"] == {"tracking_number": "112345678", "carrier": "FedEx"}


def test_square_minor_units_modifiers_and_missing_created_at() -> None:
    (doc,) = parse("square", load("square", "CreateOrderResponse.json"))
    steak = doc["lines"][1]
    assert (steak["quantity"], steak["unit_price"], steak["discount"], steak["tax"]) == (2, "22.50", "3.46", "3.74")
    assert doc["totals"] == {
        "subtotal": "60.99",
        "discount": "4.33",
        "shipping": "0.00",
        "tax": "5.10",
        "grand_total": "61.76",
    }
    (batch,) = parse("square", load("square", "BatchRetrieveOrdersResponse.json"))
    assert batch["placed_at"] == "2026-11-26T12:00:00Z"
    assert batch["custom_fields"]["placed_at_source"].startswith("received")


def test_quantity_must_be_whole() -> None:
    payload = load("square", "UpdateOrderResponse.json")
    payload["order"]["line_items"][1]["quantity"] = "1.5"
    with pytest.raises(MappingError) as info:
        parse("square", payload)
    assert info.value.pointer == "/order/line_items/1/quantity"


def test_grand_total_below_the_lines_is_refused_precisely() -> None:
    payload = load("woocommerce", "create_order_response.json")
    payload["total"] = "-1.00"
    with pytest.raises(MappingError) as info:
        parse("woocommerce", payload)
    assert info.value.pointer == "/total"


def test_decimal_amounts_never_float() -> None:
    (doc,) = parse("shopify", load("shopify", "order.json"))
    assert all(isinstance(ln["unit_price"], str) for ln in doc["lines"])
    assert Decimal(doc["totals"]["grand_total"]) == Decimal("409.94")


@pytest.mark.parametrize(("channel", "name"), sorted(COMMANDS), ids=str)
def test_status_payloads_map_to_commands_never_orders(channel: str, name: str) -> None:
    (cmd,) = parse(channel, load(channel, name))
    assert (cmd["command"], cmd["order"]["channel_order_id"]) == COMMANDS[(channel, name)]
    assert cmd["channel"] == channel and "channel_order_id" not in cmd and "lines" not in cmd


def test_registry_lists_the_ten_channels() -> None:
    assert REGISTRY.names() == sorted(
        ["shopify", "woocommerce", "amazon", "square", "taobao", "jd", "douyin", "tiktok_shop", "kuaishou", "canonical"]
    )
    for name in REGISTRY.names():
        assert REGISTRY.get(name).name == name


def test_canonical_channel_passes_the_example_order_through() -> None:
    from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER

    (doc,) = parse("canonical", EXAMPLE_ORDER)
    assert doc["channel_order_id"] == EXAMPLE_ORDER["channel_order_id"]
    assert doc["totals"]["grand_total"] == "70.03"
    with pytest.raises(MappingError) as info:
        parse("canonical", {**EXAMPLE_ORDER, "lines": [{"sku": "A", "quantity": "x"}]})
    assert info.value.pointer.startswith("/lines/0")


def test_chinese_channels_convert_local_time_and_minor_units() -> None:
    (tb,) = parse("taobao", load("taobao", "trade_fullinfo_get_constructed.json"))
    assert tb["placed_at"] == "2026-11-10T16:05:12Z"  # 2026-11-11 00:05:12 China Standard Time
    assert tb["shipping_address"]["line1"] == "余杭区 文一西路969号" and tb["shipping_address"]["country"] == "CN"
    (jd,) = parse("jd", load("jd", "pop_order_get_constructed.json"))
    assert jd["totals"]["discount"] == "27.00"  # sellerDiscount 17.00 + platform 10.00 (300.00 + 6.00 - 296.00)
    assert "channel_reconciliation" not in jd["custom_fields"]
    (ks,) = parse("kuaishou", load("kuaishou", "order_detail_constructed.json"))
    assert ks["placed_at"] == "2025-11-11T12:00:00Z" and ks["lines"][0]["unit_price"] == "74.50"
    (dy,) = parse("douyin", load("douyin", "order_detail_response.json"))
    assert dy["lines"][0]["unit_price"] == "1.00"  # sum_amount 200 fen for 2 items
    rec = dy["custom_fields"]["channel_reconciliation"]
    assert rec["channel_figures"]["pay_amount"] == "500" and rec["difference"] == "2.90"


def test_shopify_webhook_body_is_the_bare_order() -> None:
    order = load("shopify", "order.json")["order"]  # orders/create sends the order object itself
    (doc,) = parse("shopify", order)
    assert doc["channel_order_id"] == "450789469" and len(doc["lines"]) == 3
    assert doc["custom_fields"]["channel_updated_at"] == "2008-01-10T16:00:00Z"


def test_woocommerce_batch_response_maps_every_order() -> None:
    orders = load("woocommerce", "list_orders_response.json")
    docs = parse("woocommerce", {"create": [orders[0]], "update": [orders[1]], "delete": []})
    assert [d["channel_order_id"] for d in docs] == ["727", "723"]
