"""The rules service on the in-memory store: versions, activation, gray release, rollback, intake decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from orderloom.adapters.memory_rules import MemoryRuleHistory, MemoryRuleStore
from orderloom.adapters.rules.cel_engine import CelRuleCompiler
from orderloom.application.rules import RuleSets, RuleVersionNotFound
from orderloom.bootstrap import load_rules_context
from orderloom.domain.rules import RuleSetInvalid
from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
HOLD_BIG = {"rules": [{"id": "big", "when": "order.grand_total > 5000.0", "then": ["hold('over 5000')"]}]}
HOLD_ALL = {"rules": [{"id": "all", "when": "true", "then": ["hold('everything')"]}]}


@pytest.fixture
def rules() -> RuleSets:
    return RuleSets(
        store=MemoryRuleStore(),
        compiler=CelRuleCompiler(load_rules_context()),
        clock=lambda: NOW,
        history=MemoryRuleHistory(),
    )


def _doc(order_id: str, total: str = "10.00", channel: str = "web") -> dict[str, Any]:
    return {
        **EXAMPLE_ORDER,
        "id": order_id,
        "channel": channel,
        "totals": {**EXAMPLE_ORDER["totals"], "grand_total": total},
    }


def _outcome(rules: RuleSets, doc: dict[str, Any]) -> str | None:
    ctx = rules.context_for(tenant_id="t", document=doc)
    decision = rules.evaluate(tenant_id="t", kind="hold", context=ctx, order_id=doc["id"], channel=doc["channel"])
    return None if decision is None else decision.outcome


def test_versions_are_numbered_and_activated(rules: RuleSets) -> None:
    v1 = rules.create_version(tenant_id="t", kind="hold", document=HOLD_BIG, actor="ann")
    v2 = rules.create_version(tenant_id="t", kind="hold", document=HOLD_ALL, actor="ann")
    assert (v1.version, v2.version, v1.status) == (1, 2, "valid")
    assert _outcome(rules, _doc("ord_1")) is None  # nothing active yet
    rules.activate(tenant_id="t", kind="hold", version=1, actor="ann")
    assert _outcome(rules, _doc("ord_1", "6000.00")) == "hold"
    assert _outcome(rules, _doc("ord_1", "10.00")) == "pass"
    act = rules.activate(tenant_id="t", kind="hold", version=2, actor="bob")
    assert (act.version, act.previous_version) == (2, 1)
    assert _outcome(rules, _doc("ord_1", "10.00")) == "hold"
    back = rules.rollback(tenant_id="t", kind="hold", actor="bob")
    assert (back.version, back.previous_version) == (1, 2)
    store = rules.store
    assert isinstance(store, MemoryRuleStore)
    assert [e.action for e in store.audit] == ["rules.activate", "rules.activate", "rules.rollback"]
    assert store.audit[1].actor == "bob"
    assert store.audit[1].before == {
        "kind": "hold",
        "active_version": 1,
        "previous_version": None,
        "gray_release": None,
    }


def test_invalid_versions_are_not_stored_and_unknown_or_draft_ones_cannot_be_activated(rules: RuleSets) -> None:
    with pytest.raises(RuleSetInvalid):
        rules.create_version(
            tenant_id="t",
            kind="hold",
            document={"rules": [{"id": "x", "when": "nope", "then": ["hold('a')"]}]},
            actor="a",
        )
    assert rules.store.list_versions("t", "hold") == []
    with pytest.raises(RuleVersionNotFound):
        rules.activate(tenant_id="t", kind="hold", version=7, actor="a")
    draft = rules.create_version(
        tenant_id="t",
        kind="hold",
        document={"rules": [{"id": "x", "when": "nope", "then": ["hold('a')"]}]},
        actor="a",
        draft=True,
    )
    assert draft.status == "draft"
    with pytest.raises(RuleSetInvalid, match="draft"):
        rules.activate(tenant_id="t", kind="hold", version=draft.version, actor="a")
    with pytest.raises(RuleVersionNotFound, match="roll back"):
        rules.rollback(tenant_id="t", kind="hold", actor="a")


def test_gray_release_of_ten_percent_affects_about_ten_percent(rules: RuleSets) -> None:
    rules.create_version(tenant_id="t", kind="hold", document=HOLD_BIG, actor="a")
    rules.create_version(tenant_id="t", kind="hold", document=HOLD_ALL, actor="a")
    rules.activate(tenant_id="t", kind="hold", version=1, actor="a")
    act = rules.activate(tenant_id="t", kind="hold", version=2, actor="a", percent=10)
    assert (act.version, act.candidate_version, act.candidate_bps) == (1, 2, 1000)
    held = sum(_outcome(rules, _doc(f"ord_{i:05d}x")) == "hold" for i in range(2000))
    assert 200 - 54 <= held <= 200 + 54  # within 4 standard deviations of Binomial(2000, 0.1)
    rules.rollback(tenant_id="t", kind="hold", actor="a")
    assert sum(_outcome(rules, _doc(f"ord_{i:05d}x")) == "hold" for i in range(200)) == 0
