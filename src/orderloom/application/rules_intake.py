"""Rules at intake: a durable bus handler on ``orderloom.order.placed`` evaluates the active validation and hold
rule sets and applies the outcome through ``apply_action`` (the HTTP ingest path is unchanged)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from orderloom.application.orders import apply_action
from orderloom.application.ports import Clock, OrderQueries, TransactionRunner, UnitOfWork
from orderloom.application.rules import RuleSets
from orderloom.domain.audit import AuditEntry
from orderloom.domain.canonical import order_to_document
from orderloom.domain.custom_fields import SchemaInvalid
from orderloom.domain.errors import IllegalTransition
from orderloom.domain.lifecycle import Lifecycle
from orderloom.domain.rules import Action, Decision, FiredRule, RuleSetInvalid

__all__ = ["INTAKE_KINDS", "OUTCOME_TO_ACTION", "RulesIntake", "apply_decisions", "strongest_outcome"]

INTAKE_KINDS = ("validation", "hold")
# strongest first: what a combined decision does to a new order
OUTCOME_TO_ACTION = {
    "rule_error": "rule_error",
    "fail": "fail_validation",
    "require_approval": "require_approval",
    "hold": "hold",
}
ACTOR = "rules-engine"
log = structlog.get_logger(__name__)


def strongest_outcome(decisions: Sequence[Decision]) -> str:
    """The strongest outcome among decisions (``pass`` when none holds the order)."""
    outcomes = {d.outcome for d in decisions}
    return next((o for o in OUTCOME_TO_ACTION if o in outcomes), "pass")


def _params(decisions: Sequence[Decision], outcome: str) -> dict[str, Any]:
    params: dict[str, Any] = {
        "reason": " | ".join(f"{d.kind} v{d.version}: {d.reason()}" for d in decisions),
        "rules": [d.as_dict() for d in decisions],
    }
    if outcome == "require_approval":
        roles = [str(a.arg("role")) for d in decisions for a in d.actions if a.name == "require_approval"]
        params["role"] = roles[0]
    return params


def apply_decisions(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    decisions: Sequence[Decision],
    lifecycle: Lifecycle,
    now: datetime,
) -> str:
    """Apply rule decisions to a new order (tags, then hold / fail / approval / rule error); returns the outcome."""
    outcome = strongest_outcome(decisions)
    params = _params(decisions, outcome)
    tags = [t for d in decisions for t in d.tags]
    if tags:
        order = uow.orders.get(tenant_id, order_id)
        added = order.add_tags(tags, now=now)
        if added:
            uow.orders.save(order, order_to_document(order))
            uow.audit.append(_entry(tenant_id, order_id, "order.tag", now, {"tags": added, **params}))
    action = OUTCOME_TO_ACTION.get(outcome)
    if action is None:
        if any(d.fired for d in decisions):
            uow.audit.append(_entry(tenant_id, order_id, "order.rules_evaluated", now, params))
        return outcome
    try:
        with uow.savepoint():
            apply_action(
                uow=uow,
                tenant_id=tenant_id,
                order_id=order_id,
                action=action,
                params=params,
                lifecycle=lifecycle,
                actor=ACTOR,
                now=now,
            )
    except IllegalTransition as exc:  # the order moved on before the rules ran: record, don't retry forever
        uow.audit.append(_entry(tenant_id, order_id, "order.rules_evaluated", now, {**params, "skipped": str(exc)}))
        return "skipped"
    return outcome


def _entry(tenant_id: str, order_id: str, action: str, now: datetime, after: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        tenant_id=tenant_id,
        actor=ACTOR,
        action=action,
        entity_type="order",
        entity_id=order_id,
        at=now,
        before=None,
        after=after,
    )


@dataclass
class RulesIntake:
    """The ``orderloom.order.placed`` handler: evaluate the intake rule sets, apply their outcome."""

    rules: RuleSets
    queries: OrderQueries
    runner: TransactionRunner
    lifecycle: Lifecycle
    clock: Clock
    kinds: tuple[str, ...] = INTAKE_KINDS

    def __call__(self, event: dict[str, Any]) -> None:
        """Handle one OrderPlaced CloudEvent."""
        tenant_id = str(event["source"]).rsplit("/", 1)[-1]
        if not self.rules.configured(tenant_id=tenant_id, kinds=self.kinds):
            return  # nothing to check for this tenant: no reads, no writes
        order_id = str(event["data"]["order_id"])
        decisions = self.decide(tenant_id, self.queries.get_document(tenant_id, order_id))
        if not decisions:
            return
        outcome = self.runner.run(
            lambda uow: apply_decisions(
                uow=uow,
                tenant_id=tenant_id,
                order_id=order_id,
                decisions=decisions,
                lifecycle=self.lifecycle,
                now=self.clock(),
            )
        )
        log.debug("rules_intake", order_id=order_id, outcome=outcome)

    def decide(self, tenant_id: str, document: dict[str, Any]) -> list[Decision]:
        """Custom-field checks and the active intake rule sets' decisions for one order (rule errors included)."""
        order_id, channel = str(document["id"]), str(document.get("channel", ""))
        decisions = []
        if self.rules.feature_on(tenant_id=tenant_id, name="rules.custom_fields", order_id=order_id, channel=channel):
            decisions.extend(self._custom_fields(tenant_id, document))
        if self.rules.feature_on(tenant_id=tenant_id, name="rules.intake", order_id=order_id, channel=channel):
            decisions.extend(self._rule_sets(tenant_id, document))
        return decisions

    def _custom_fields(self, tenant_id: str, document: dict[str, Any]) -> list[Decision]:
        try:
            errors = self.rules.custom_field_errors(tenant_id=tenant_id, document=document)
        except SchemaInvalid as exc:
            return [Decision("custom_fields", None, errors=(("custom_fields", str(exc)),))]
        if not errors:
            return []
        reason = "; ".join(f"{e.field}: {e.message}" for e in errors)
        fired = FiredRule("custom_fields", (Action("fail", (("reason", reason),)),), "the tenant's custom field schema")
        return [Decision("custom_fields", None, (fired,))]

    def _rule_sets(self, tenant_id: str, document: dict[str, Any]) -> list[Decision]:
        decisions = []
        context = self.rules.context_for(tenant_id=tenant_id, document=document)
        prepared = None
        for kind in self.kinds:
            try:
                prepared = prepared or self.rules.compiler.prepare(context)
                decision = self.rules.evaluate(
                    tenant_id=tenant_id,
                    kind=kind,
                    context=context,
                    order_id=str(document["id"]),
                    channel=str(document.get("channel", "")),
                    prepared=prepared,
                )
            except (RuleSetInvalid, RuntimeError, ValueError, TypeError, KeyError) as exc:
                decision = Decision(kind, None, errors=(("*", f"{type(exc).__name__}: {exc}"),))
            if decision is not None:
                decisions.append(decision)
        return decisions
