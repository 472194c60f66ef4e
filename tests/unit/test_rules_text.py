"""from-text: the small English/Chinese grammar that drafts CEL rules."""

from __future__ import annotations

import pytest

from orderloom.adapters.rules.cel_engine import CelRuleCompiler
from orderloom.bootstrap import load_rules_context
from orderloom.domain.rules import parse_rule_set
from orderloom.domain.rules_text import draft_from_text

COMPILER = CelRuleCompiler(load_rules_context())


def test_issue_example_in_english_and_chinese_gives_the_same_draft() -> None:
    en = draft_from_text("amount > 5000 and customer tier is diamond → VIP line and reserve SF Express")
    zh = draft_from_text("金额大于5000且客户等级是钻石 → VIP专线并预约顺丰")
    for kind, doc in (en, zh):
        assert kind == "routing"
        rule = doc["rules"][0]
        assert rule["when"] == 'order.grand_total > 5000.0 && customer.tier == "diamond"'
        assert rule["then"] == ['add_tag("vip_line")', 'prefer_carrier("SF Express")']
        COMPILER.compile(parse_rule_set(kind, doc))  # the draft type-checks


@pytest.mark.parametrize(
    ("text", "kind", "when", "then"),
    [
        (
            "if quantity over 100 then hold",
            "hold",
            "lines.exists(l, l.quantity > 100)",
            'hold("rule: quantity over 100")',
        ),
        (
            "首单且金额超过3000 → 需要finance审批",
            "hold",
            "customer.is_first_order && order.grand_total > 3000.0",
            'require_approval("finance")',
        ),
        (
            "country is CN and phone is missing -> reject",
            "validation",
            'shipping.country == "CN" && shipping.phone == ""',
            'fail("rule: country is CN and phone is missing")',
        ),
        ("channel is tmall => tag gift", "hold", 'order.channel == "tmall"', 'add_tag("gift")'),
    ],
)
def test_phrasings(text: str, kind: str, when: str, then: str) -> None:
    got_kind, doc = draft_from_text(text)
    assert (got_kind, doc["rules"][0]["when"], doc["rules"][0]["then"][0]) == (kind, when, then)
    COMPILER.compile(parse_rule_set(got_kind, doc))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("amount > 5000", "conditions → actions"),
        ("amount is big → hold", "can't read the condition 'amount is big'"),
        ("amount > 1 → launch rockets", "can't read the action 'launch rockets'"),
        ("amount > 1 → reserve Pigeon Post", "unknown carrier 'pigeon post'"),
        ("amount > 1 → hold and reserve SF", "don't belong to one rule kind"),
    ],
)
def test_unreadable_text_names_the_phrase(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        draft_from_text(text)
