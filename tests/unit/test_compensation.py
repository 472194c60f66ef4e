"""Compensation rules for a predicted delay: the default rule set (data/compensation_rules.yaml) compiled by the real
CEL compiler, coupon amounts in the order's currency, and the stable coupon code."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from tests.conftest import example_order

from orderloom.adapters.rules.cel_engine import CelRuleCompiler
from orderloom.application.compensation import compensation_context
from orderloom.bootstrap import _load_compensation_rules, load_rules_context
from orderloom.domain.compensation import coupon_code, coupon_from_decision
from orderloom.domain.rules import Decision, RuleSetInvalid, parse_rule_set
from orderloom.domain.rules_context import order_context

COMPILER = CelRuleCompiler(load_rules_context())
DEFAULT = COMPILER.compile(parse_rule_set("compensation", _load_compensation_rules()))


def _decide(risk: float = 0.3, **order: Any) -> Decision:
    document = {"id": "ord_1", **example_order(**order)}
    context = order_context(document, tenant_id="t1")
    delay = {"probability": risk, "threshold": 0.06, "hours_before_promise": 30.0, "carrier": "ups"}
    return DEFAULT.evaluate(compensation_context(context, delay))


def _coupon(decision: Decision, total: str = "70.03", currency: str = "USD") -> tuple[str, str] | None:
    coupon = coupon_from_decision(decision=decision, code="C", order_total=Decimal(total), currency=currency)
    return None if coupon is None else (str(coupon.amount), coupon.rule_id)


def test_standard_customer_gets_the_flat_coupon() -> None:
    assert _coupon(_decide()) == ("5.00", "everyone")


def test_vip_gets_a_percentage_more_when_the_risk_is_high() -> None:
    vip = {"custom_fields": {"customer_tier": "vip"}}
    assert _coupon(_decide(0.3, **vip)) == ("7.00", "vip")  # 10 % of 70.03
    assert _coupon(_decide(0.6, **vip)) == ("10.50", "vip-high-risk")  # 15 % of 70.03, half-even to cents


def test_big_order_percentage_is_capped() -> None:
    decision = _decide(totals={**example_order()["totals"], "grand_total": "500.00"})
    assert _coupon(decision, total="500.00") == ("20.00", "big-order")  # 5 % = 25, capped at 20


def test_marketplace_orders_get_nothing() -> None:
    decision = _decide(channel="amazon")
    assert decision.fired[0].rule_id == "marketplace-handles-it"
    assert _coupon(decision) is None


def test_amounts_round_to_the_currency_minor_unit() -> None:
    vip = _decide(0.3, custom_fields={"customer_tier": "vip"})
    assert _coupon(vip, total="2999", currency="JPY") == ("30", "vip")  # 10 % = 299.9, capped at 30 yen


def test_no_fired_rule_means_no_coupon() -> None:
    assert _coupon(Decision("compensation", 1)) is None


def test_coupon_code_is_stable_and_readable() -> None:
    code = coupon_code("t1", "shp_1")
    assert code == coupon_code("t1", "shp_1") != coupon_code("t1", "shp_2")
    assert code.startswith("SORRY-") and len(code) == 14 and not set(code[6:]) & set("01IO")


def test_compensation_actions_are_checked() -> None:
    with pytest.raises(RuleSetInvalid, match="coupon_percent needs"):
        parse_rule_set("compensation", {"rules": [{"id": "x", "when": "true", "then": ['coupon_percent("5")']}]})
    with pytest.raises(RuleSetInvalid, match="unknown action 'hold'"):
        parse_rule_set("compensation", {"rules": [{"id": "x", "when": "true", "then": ['hold("no")']}]})
