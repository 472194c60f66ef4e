"""Intake checks: format (phone, postal code, totals), address quality (China division codes, US ZIPs), price
conflicts, and which hold a set of findings leads to."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.unit.test_channel_adapters import load, parse

from orderloom.adapters.memory_channels import MemoryChannelState, MemoryChannelStore
from orderloom.adapters.validation import AddressQuality, BrCepIndex, CnAddressIndex, FormatChecks, PriceConflictCheck
from orderloom.domain.intake_checks import Finding, hold_for

UOW: Any = None  # the format/address checks do not touch the store


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_format_checks_phone_postal_and_totals() -> None:
    (woo,) = parse("woocommerce", load("woocommerce", "create_order_response.json"))
    assert FormatChecks().check(uow=UOW, tenant_id="t", doc=woo) == []  # (555) 555-5555 is a possible US number
    woo["shipping_address"]["postal_code"] = "ABCDE"
    woo["billing_address"]["phone"] = "12"
    found = FormatChecks().check(uow=UOW, tenant_id="t", doc=woo)
    assert {(f.code, f.field) for f in found} == {
        ("postal_code_invalid", "/shipping_address/postal_code"),
        ("phone_invalid", "/billing_address/phone"),
    }
    (tb,) = parse("taobao", load("taobao", "trade_fullinfo_get_constructed.json"))
    assert FormatChecks().check(uow=UOW, tenant_id="t", doc=tb) == []  # masked 138****0000 is not checked
    (shop,) = parse("shopify", load("shopify", "order.json"))
    (unreconciled,) = [f for f in FormatChecks().check(uow=UOW, tenant_id="t", doc=shop) if f.level == "format"]
    assert unreconciled.code == "totals_unreconciled" and "199.00 difference" in unreconciled.message


def test_china_addresses_resolve_to_province_city_district_with_coordinates() -> None:
    (tb,) = parse("taobao", load("taobao", "trade_fullinfo_get_constructed.json"))
    assert AddressQuality().check(uow=UOW, tenant_id="t", doc=tb) == []
    assert tb["custom_fields"]["address_resolution"] == {
        "province": "浙江省",
        "city": "杭州市",
        "district": "余杭区",
        "adcode": "330110000000",
    }
    assert tb["shipping_address"]["latitude"] == pytest.approx(30.419045)
    (jd,) = parse("jd", load("jd", "pop_order_get_constructed.json"))  # 北京 is a municipality
    assert AddressQuality().check(uow=UOW, tenant_id="t", doc=jd) == []
    assert jd["custom_fields"]["address_resolution"]["adcode"] == "110105000000"  # 朝阳区 of Beijing, not Changchun


@pytest.mark.parametrize(
    ("region", "city", "line1", "why"),
    [
        ("火星省", "", "某路1号", "province"),
        ("北京", "北京市", "朝阳区 海淀区 某路1号", "ambiguous"),
        ("浙江省", "杭州市", "某路1号", "no district"),
        ("浙江省", "深圳市", "南山区", "city"),
    ],
)
def test_unresolvable_or_ambiguous_china_addresses(region: str, city: str, line1: str, why: str) -> None:
    doc = {"shipping_address": {"country": "CN", "region": region, "city": city, "line1": line1}}
    (finding,) = AddressQuality(cn=CnAddressIndex.load()).check(uow=UOW, tenant_id="t", doc=doc)
    assert finding.code == "address_ambiguous" and why in finding.message
    assert hold_for([finding]) == ("address_issue", finding)


def test_us_zip_city_state_and_coordinates() -> None:
    doc: dict[str, Any] = {
        "shipping_address": {"country": "US", "postal_code": "94103", "city": "San Francisco", "region": "CA"}
    }
    assert AddressQuality().check(uow=UOW, tenant_id="t", doc=doc) == []
    assert doc["shipping_address"]["latitude"] == pytest.approx(37.77, abs=0.05)
    wrong = {"shipping_address": {"country": "US", "postal_code": "94103", "city": "Los Angeles", "region": "NY"}}
    assert codes(AddressQuality().check(uow=UOW, tenant_id="t", doc=wrong)) == [
        "zip_city_mismatch",
        "zip_state_mismatch",
    ]
    missing = {"shipping_address": {"country": "US", "postal_code": "00000", "city": "X"}}
    assert codes(AddressQuality().check(uow=UOW, tenant_id="t", doc=missing)) == ["zip_unknown"]


def test_price_conflict_against_the_last_accepted_price() -> None:
    store = MemoryChannelStore(MemoryChannelState())
    check = PriceConflictCheck(lambda _: store, threshold_pct=Decimal(50))

    def doc(price: str) -> dict[str, Any]:
        return {"currency": "USD", "lines": [{"sku": "MUG", "unit_price": price}]}

    assert check.check(uow=UOW, tenant_id="t", doc=doc("10.00")) == []  # first sight: the reference
    assert check.check(uow=UOW, tenant_id="t", doc=doc("14.00")) == []  # +40%: within the limit, new reference
    (conflict,) = check.check(uow=UOW, tenant_id="t", doc=doc("30.00"))  # +114%
    assert (conflict.code, conflict.field) == ("price_conflict", "/lines/0/unit_price")
    assert "114.3% from its last price 14.00" in conflict.message
    assert store.last_price("t", "MUG", "USD") == Decimal("14.00")  # a conflicting price is not the new reference
    assert hold_for([conflict]) == ("price_conflict", conflict)


def test_hold_priority_and_stable_codes() -> None:
    addr = Finding("address_ambiguous", "/shipping_address", "x")
    fmt = Finding("phone_invalid", "/customer/phone", "y")
    assert hold_for([addr, fmt]) == ("fail_validation", fmt)
    assert hold_for([]) is None
    with pytest.raises(ValueError, match="unknown reason code"):
        Finding("made_up", "/", "z")


OLIST_GEO = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "orders"
    / "olist"
    / "olist_geolocation_dataset.csv"
)


@pytest.fixture(scope="module")
def br_index() -> BrCepIndex:
    if not OLIST_GEO.is_file():
        pytest.skip("Olist geolocation table (CC BY-NC-SA, read from ../shared/data) is not present")
    return BrCepIndex.load(OLIST_GEO)


def test_brazil_cep_prefix_state_and_coordinates(br_index: BrCepIndex) -> None:
    ok: dict[str, Any] = {"shipping_address": {"country": "BR", "postal_code": "01012-000", "region": "SP"}}
    assert AddressQuality(br=br_index).check(uow=UOW, tenant_id="t", doc=ok) == []
    assert ok["shipping_address"]["latitude"] == pytest.approx(-23.55, abs=0.05)
    wrong = {"shipping_address": {"country": "BR", "postal_code": "01012-000", "region": "RJ"}}
    (finding,) = AddressQuality(br=br_index).check(uow=UOW, tenant_id="t", doc=wrong)
    assert finding.code == "cep_state_mismatch" and "SP" in finding.message
    assert hold_for([finding]) == ("address_issue", finding)
