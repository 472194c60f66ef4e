"""Applying rule decisions to a new order (in-memory store): outcome → lifecycle action, tags, timeline reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from tests.conftest import example_order

from orderloom.adapters.memory import MemoryTransactionRunner
from orderloom.application.orders import place_order
from orderloom.application.rules_intake import apply_decisions, strongest_outcome
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.rules import Action, Decision, FiredRule
from orderloom.entrypoints.api.schemas import decode_new_order

LIFECYCLE = load_lifecycle()
NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def _fired(rule_id: str, *actions: tuple[str, dict[str, Any]]) -> FiredRule:
    return FiredRule(rule_id, tuple(Action(n, tuple(a.items())) for n, a in actions), f"when of {rule_id}")


def _placed(runner: MemoryTransactionRunner) -> str:
    new = decode_new_order(msgspec.json.encode(example_order()))
    doc = runner.run(lambda uow: place_order(uow=uow, tenant_id="t", new=new, lifecycle=LIFECYCLE, actor="t", now=NOW))
    return str(doc["id"])


@pytest.mark.parametrize(
    ("decisions", "status"),
    [
        ([Decision("validation", 1, (_fired("v", ("fail", {"reason": "no"})),))], "on_hold.validation_failed"),
        ([Decision("hold", 2, (_fired("h", ("hold", {"reason": "big"})),))], "on_hold.manual_review"),
        (
            [
                Decision("validation", 1, (_fired("v", ("require_approval", {"role": "finance"})),)),
                Decision("hold", 2, (_fired("h", ("hold", {"reason": "big"})),)),
            ],
            "on_hold.approval_required",
        ),
        ([Decision("hold", 2, errors=(("h", "NOT_FOUND: Key not found in map"),))], "on_hold.rule_error"),
        ([Decision("hold", 2, (_fired("t", ("add_tag", {"tag": "vip"})),))], "pending.awaiting_confirmation"),
    ],
)
def test_outcomes_become_lifecycle_actions(decisions: list[Decision], status: str) -> None:
    runner = MemoryTransactionRunner()
    order_id = _placed(runner)
    runner.run(
        lambda uow: apply_decisions(
            uow=uow, tenant_id="t", order_id=order_id, decisions=decisions, lifecycle=LIFECYCLE, now=NOW
        )
    )
    order = runner.run(lambda uow: uow.orders.get("t", order_id))
    assert str(order.status) == status
    entries = [e for e in runner.store.audit if e.entity_id == order_id and e.actor == "rules-engine"]
    assert entries, "the decision is in the timeline"
    after = entries[-1].after or {}
    reason = after.get("params", after).get("reason", "")
    assert f"v{decisions[0].version}" in reason


def test_tags_are_added_once_and_strongest_outcome_order() -> None:
    runner = MemoryTransactionRunner()
    order_id = _placed(runner)
    decision = Decision("hold", 1, (_fired("t", ("add_tag", {"tag": "vip"}), ("add_tag", {"tag": "vip"})),))
    for _ in range(2):
        runner.run(
            lambda uow: apply_decisions(
                uow=uow, tenant_id="t", order_id=order_id, decisions=[decision], lifecycle=LIFECYCLE, now=NOW
            )
        )
    assert runner.run(lambda uow: uow.orders.get("t", order_id)).tags.count("vip") == 1
    assert strongest_outcome([Decision("a", 1), Decision("b", 1, errors=(("x", "y"),))]) == "rule_error"
    assert strongest_outcome([Decision("a", 1)]) == "pass"
