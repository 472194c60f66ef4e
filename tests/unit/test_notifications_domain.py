"""Who is told about what, and in which language: tiers, recipients and localised templates."""

from __future__ import annotations

from datetime import UTC, datetime

from orderloom.adapters.notify.templates import TemplateRenderer, load_policy
from orderloom.domain.notifications import Recipient, customer_of

POLICY = load_policy()
RENDER = TemplateRenderer()
ORDER = {
    "id": "ord_1",
    "channel_order_id": "WEB-1001",
    "currency": "EUR",
    "totals": {"grand_total": "1234.50"},
    "customer": {"email": "ada@example.com", "name": "Ada"},
    "shipping_address": {"country": "DE"},
    "tags": ["VIP"],
}


def test_vip_hears_every_mapped_scan_standard_only_milestones() -> None:
    scan = {"mapping": "mapped", "flag": None}
    assert POLICY.wants("vip", "orderloom.shipment.scan_recorded", scan)
    assert not POLICY.wants("vip", "orderloom.shipment.scan_recorded", {"mapping": "unmapped", "flag": None})
    assert not POLICY.wants("vip", "orderloom.shipment.scan_recorded", {"mapping": "mapped", "flag": "future"})
    assert not POLICY.wants("standard", "orderloom.shipment.scan_recorded", scan)
    for main, expected in [("shipped", True), ("in_transit", False), ("out_for_delivery", True),
                           ("delivered", True), ("delivery_issue", True), ("returning", False)]:  # fmt: skip
        assert POLICY.wants("standard", "orderloom.shipment.status_changed", {"to": f"{main}.x"}) is expected
    assert POLICY.wants("vip", "orderloom.shipment.arriving_soon", {})
    assert not POLICY.wants("standard", "orderloom.shipment.arriving_soon", {})


def test_recipient_language_and_tier() -> None:
    vip = customer_of(ORDER, languages=["en", "zh-CN"])
    assert (vip.tier, vip.language, vip.email) == ("vip", "en", "ada@example.com")
    cn = customer_of({**ORDER, "tags": [], "shipping_address": {"country": "CN"}}, languages=["en", "zh-CN"])
    assert (cn.tier, cn.language) == ("standard", "zh-CN")
    asked = customer_of({**ORDER, "custom_fields": {"language": "zh-CN"}}, languages=["en", "zh-CN"])
    assert asked.language == "zh-CN"


def test_templates_localise_dates_and_money_with_babel() -> None:
    data = {
        "to": "delivered.signed",
        "carrier": "dhl_express",
        "tracking_number": "3180831640",
        "occurred_at": "2024-03-05T14:30:00+00:00",
    }
    at = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    subject, body = RENDER.render(
        Recipient("a@x", "Ada", "en", "standard"), "orderloom.shipment.status_changed", data, ORDER, at
    )
    assert subject == "Order WEB-1001: delivered"
    assert "€1,234.50" in body and "Mar 5, 2024" in body and "DHL EXPRESS tracking number 3180831640" in body
    subject_cn, body_cn = RENDER.render(
        Recipient("a@x", "Ada", "zh-CN", "standard"), "orderloom.shipment.status_changed", data, ORDER, at
    )
    assert subject_cn == "订单 WEB-1001\uff1a已签收"  # full-width colon, as Chinese text uses
    assert "€1,234.50" in body_cn and "2024年3月5日" in body_cn
    scan = {**data, "raw_description": "Shipment delivered", "status": "delivered.signed"}
    _, vip_body = RENDER.render(
        Recipient("a@x", "Ada", "en", "vip"), "orderloom.shipment.scan_recorded", scan, ORDER, at
    )
    assert "Latest scan: Shipment delivered." in vip_body
