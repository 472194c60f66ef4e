"""The compiled CEL engine: type-checking against the declared context, evaluation, rule errors, tables."""

from __future__ import annotations

from typing import Any

import pytest

from orderloom.adapters.rules.cel_engine import CelRuleCompiler
from orderloom.bootstrap import load_rules_context
from orderloom.domain.rules import RuleSetInvalid, parse_rule_set
from orderloom.domain.rules_context import order_context
from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER

COMPILER = CelRuleCompiler(load_rules_context())


def _ctx(**changes: Any) -> dict[str, Any]:
    doc = {**EXAMPLE_ORDER, "id": "ord_1", **changes}
    return order_context(doc, tenant_id="ten_1")


def _one(when: str, kind: str = "hold", then: str = "hold('x')") -> Any:
    return COMPILER.compile(parse_rule_set(kind, {"rules": [{"id": "r1", "when": when, "then": [then]}]}), version=1)


@pytest.mark.parametrize(
    ("when", "column", "message"),
    [
        ("order.grand_totl > 1.0", 6, "undeclared reference to 'order.grand_totl'"),
        ("order.grand_total > 5000", 19, "no matching overload for '_>_' applied to '(double, int)'"),
        ("lines.exists(l, l.qty > 1)", 18, "undefined field 'qty'"),
        ("customer.tier + 1 == 2", 15, "no matching overload for '_+_'"),
        ("order.grand_total >", 20, "Syntax error"),
        ("order.grand_total", 1, "must be a bool expression, this one is double"),
    ],
)
def test_type_errors_are_rejected_with_position(when: str, column: int, message: str) -> None:
    with pytest.raises(RuleSetInvalid) as caught:
        _one(when)
    problem = caught.value.problems[0]
    assert (problem.rule_id, problem.field, problem.line, problem.column) == ("r1", "when", 1, column)
    assert message in problem.message


def test_multiline_expression_reports_its_line() -> None:
    with pytest.raises(RuleSetInvalid) as caught:
        _one("order.grand_total > 1.0 &&\n  customer.nope == 'x'")
    assert (caught.value.problems[0].line, caught.value.problems[0].column) == (2, 11)


def test_evaluation_reports_fired_rules_and_why() -> None:
    rules = COMPILER.compile(
        parse_rule_set(
            "hold",
            {
                "rules": [
                    {"id": "big", "when": "order.grand_total > 50.0", "then": ["hold('big')", "add_tag('big')"]},
                    {"id": "bulk", "when": "lines.exists(l, l.quantity > 100)", "then": ["require_approval('ops')"]},
                    {"id": "web", "when": "order.channel == 'web'", "then": ["add_tag('web')"], "priority": 9},
                ]
            },
        ),
        version=3,
    )
    decision = rules.evaluate(_ctx(channel="web", totals={**EXAMPLE_ORDER["totals"], "grand_total": "99.00"}))
    assert [f.rule_id for f in decision.fired] == ["web", "big"]
    assert decision.fired[1].why == "order.grand_total > 50.0"
    assert decision.outcome == "hold"
    assert decision.tags == ("web", "big")
    lines = [{**EXAMPLE_ORDER["lines"][0], "quantity": 101}]
    assert rules.evaluate(_ctx(lines=lines)).outcome == "require_approval"


def test_a_rule_that_raises_is_a_rule_error_not_an_exception() -> None:
    rules = _one("order.custom.vip == true")
    decision = rules.evaluate(_ctx(custom_fields={}))
    assert decision.outcome == "rule_error"
    assert decision.errors[0][0] == "r1"
    assert "vip" in decision.errors[0][1]
    assert rules.evaluate(_ctx(custom_fields={"vip": True})).outcome == "hold"


def test_decision_table_first_hit_and_collect() -> None:
    table: dict[str, Any] = {
        "id": "carriers",
        "inputs": ["shipping.country", "order.grand_total"],
        "rows": [
            {"when": ["CN", "> 1000.0"], "then": {"carrier": "SF"}},
            {"when": ["CN", "-"], "then": {"carrier": "ZTO"}},
            {"when": ["-", "-"], "then": {"carrier": "DHL"}},
        ],
    }
    first = COMPILER.compile(parse_rule_set("routing", {"tables": [table]}))
    cn = _ctx(shipping_address={"country": "CN", "city": "Shanghai"})
    assert [r["carrier"] for r in dict(first.evaluate(cn).outputs)["carriers"]] == ["ZTO"]
    collect = COMPILER.compile(parse_rule_set("routing", {"tables": [{**table, "hit_policy": "collect"}]}))
    assert [r["carrier"] for r in dict(collect.evaluate(cn).outputs)["carriers"]] == ["ZTO", "DHL"]
    with pytest.raises(RuleSetInvalid) as caught:
        COMPILER.compile(parse_rule_set("routing", {"tables": [{**table, "inputs": ["shipping.nation", "1"]}]}))
    assert caught.value.problems[0].field == "inputs[0]"


def test_one_raising_rule_among_many_is_attributed_and_the_others_still_decide() -> None:
    rules = COMPILER.compile(
        parse_rule_set(
            "hold",
            {
                "rules": [
                    {"id": "a", "when": "order.line_count > 0", "then": ["add_tag('a')"]},
                    {"id": "b", "when": "order.custom.missing == 1", "then": ["add_tag('b')"]},
                    {"id": "c", "when": "order.grand_total >= 0.0", "then": ["hold('c')"]},
                ]
            },
        )
    )
    decision = rules.evaluate(_ctx(custom_fields={}))
    assert [f.rule_id for f in decision.fired] == ["a", "c"]
    assert [rid for rid, _ in decision.errors] == ["b"]
    assert decision.outcome == "rule_error"


def test_a_large_rule_set_compiles_and_evaluates_as_one_list() -> None:
    many = [
        {"id": f"r{i}", "when": f"order.grand_total > {float(i)}", "then": [f"add_tag('t{i}')"]} for i in range(300)
    ]
    rules = COMPILER.compile(parse_rule_set("hold", {"rules": many}))
    decision = rules.evaluate(_ctx(totals={**EXAMPLE_ORDER["totals"], "grand_total": "150.00"}))
    assert len(decision.fired) == 150 and not decision.errors
