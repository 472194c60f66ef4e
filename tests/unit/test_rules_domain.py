"""Rule set documents: parsing, typed actions, conflicts, decisions and gray-release buckets (no I/O)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from orderloom.domain.rules import (
    Action,
    Activation,
    Decision,
    FiredRule,
    RuleSetInvalid,
    bucket,
    parse_action,
    parse_rule_set,
)
from orderloom.domain.rules_context import order_context
from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER


def test_actions_parse_from_calls_and_mappings() -> None:
    assert parse_action("hold", 'hold("over 5000")') == Action("hold", (("reason", "over 5000"),))
    assert parse_action("hold", {"add_tag": "vip"}) == Action("add_tag", (("tag", "vip"),))
    assert parse_action("pricing", "set_price(sku='A', amount='9.90')").arg("amount") == Decimal("9.90")
    assert parse_action("routing", {"route_to": {"location": "WH-SH"}}).arg("location") == "WH-SH"


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("hold", "route_to('A')", "unknown action 'route_to' for hold rules"),
        ("hold", "hold()", "hold needs reason"),
        ("hold", "hold(1)", "expected a non-empty string"),
        ("hold", "priority('high')", "expected int"),
        ("hold", "hold(reason=x)", "must be literals"),
        ("hold", "hold('a', 'b')", "takes 1 argument"),
        ("hold", "hold(why='a')", "no parameter 'why'"),
        ("hold", "1 + 2", "not an action call"),
    ],
)
def test_bad_actions_are_named(kind: str, raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_action(kind, raw)


def test_rule_set_collects_every_problem() -> None:
    with pytest.raises(RuleSetInvalid) as caught:
        parse_rule_set(
            "hold",
            {
                "rules": [
                    {"id": "a", "when": "", "then": ["hold('x')"]},
                    {"id": "b", "when": "true", "then": ["nope()"]},
                    {"id": "c", "when": "true", "then": []},
                    {"id": "d", "when": "true", "then": ["hold('x')"], "priority": "high"},
                ]
            },
        )
    fields = [(p.rule_id, p.field) for p in caught.value.problems]
    assert fields == [("a", "when"), ("b", "then[0]"), ("c", "then"), ("d", "priority")]


def test_unknown_kind_and_kind_mismatch() -> None:
    with pytest.raises(RuleSetInvalid, match="unknown rule kind"):
        parse_rule_set("shipping", {"rules": []})
    with pytest.raises(RuleSetInvalid, match="document kind"):
        parse_rule_set("hold", {"kind": "routing", "rules": []})


def test_equal_priority_conflicts_are_rejected_and_priorities_resolve_them() -> None:
    rules = [
        {"id": "sh", "when": "true", "then": ["route_to('WH-SH')"]},
        {"id": "bj", "when": "true", "then": ["route_to('WH-BJ')"]},
    ]
    with pytest.raises(RuleSetInvalid, match="conflicts with rule sh"):
        parse_rule_set("routing", {"rules": rules})
    rules[1]["priority"] = 5
    doc = parse_rule_set("routing", {"rules": rules})
    assert [r.id for r in doc.ordered_rules()] == ["bj", "sh"]
    # non-exclusive actions (tags, holds) never conflict; duplicate ids do
    parse_rule_set("hold", {"rules": [{"id": "a", "when": "true", "then": ["hold('x')"]}] * 1})
    with pytest.raises(RuleSetInvalid, match="duplicate rule id"):
        parse_rule_set("hold", {"rules": [{"id": "a", "when": "true", "then": ["hold('x')"]}] * 2})


def test_decision_table_cells_become_cel() -> None:
    doc = parse_rule_set(
        "pricing",
        {
            "tables": [
                {
                    "id": "t",
                    "hit_policy": "first",
                    "inputs": ["order.channel", "order.grand_total"],
                    "rows": [
                        {"when": ["shopify", "> 100.0"], "then": {"discount": 5}},
                        {"when": ["-", "<= 100.0"], "then": {"discount": 0}},
                    ],
                }
            ]
        },
    )
    rows = doc.tables[0].rows
    assert rows[0].when == '(order.channel) == "shopify" && (order.grand_total) > 100.0'
    assert rows[1].when == "(order.grand_total) <= 100.0"


def test_decision_outcome_reason_and_tags() -> None:
    hold = FiredRule("big", (Action("hold", (("reason", "big"),)), Action("add_tag", (("tag", "vip"),))), "x")
    fail = FiredRule("qty", (Action("fail", (("reason", "qty"),)),), "y")
    assert Decision("hold", 1).outcome == "pass"
    assert Decision("hold", 1, (hold,)).outcome == "hold"
    assert Decision("validation", 1, (hold, fail)).outcome == "fail"
    assert Decision("hold", 1, (hold,)).tags == ("vip",)
    assert Decision("hold", 1, (hold,), errors=(("r", "boom"),)).outcome == "rule_error"
    assert "big: hold(reason='big')" in Decision("hold", 1, (hold,)).reason()


def test_gray_release_share_is_near_ten_percent_and_stable() -> None:
    act = Activation("t", "hold", 1, candidate_version=2, candidate_bps=1000)
    ids = [f"ord_{i:06d}" for i in range(2000)]
    hits = sum(act.version_for(order_id=i, channel="web") == 2 for i in ids)
    bound = 4 * math.sqrt(2000 * 0.1 * 0.9)  # four standard deviations of Binomial(2000, 0.1)
    assert abs(hits - 200) <= bound
    assert [bucket(i) for i in ids[:5]] == [bucket(i) for i in ids[:5]]
    only_pos = Activation("t", "hold", 1, candidate_version=2, candidate_bps=10_000, candidate_channels=("pos",))
    assert only_pos.version_for(order_id="ord_1", channel="pos") == 2
    assert only_pos.version_for(order_id="ord_1", channel="web") == 1


def test_order_context_has_computed_features() -> None:
    doc = {**EXAMPLE_ORDER, "id": "ord_1", "custom_fields": {"customer_tier": "diamond"}}
    ctx = order_context(doc, tenant_id="ten_1", is_first_order=True)
    assert ctx["order.line_count"] == len(EXAMPLE_ORDER["lines"])
    assert ctx["order.total_quantity"] == sum(line["quantity"] for line in EXAMPLE_ORDER["lines"])
    assert ctx["order.grand_total"] == float(EXAMPLE_ORDER["totals"]["grand_total"])
    assert ctx["customer.tier"] == "diamond"
    assert ctx["customer.is_first_order"] is True
    assert ctx["tenant.id"] == "ten_1"
