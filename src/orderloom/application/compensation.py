"""Compensation for a predicted delay: a durable bus handler on ``orderloom.shipment.delay_predicted`` asks the
tenant's ``compensation`` rule set (else the default one, ``data/compensation_rules.yaml``) what to offer, and
records ``orderloom.customer.compensation_offered`` with the coupon through the outbox, plus an audit entry on the
order so both show in its timeline.

The rule context is the order's (customer tier, grand total, channel, ...) plus ``delay.risk``, ``delay.threshold``,
``delay.hours_before_promise`` and ``shipment.carrier`` from the prediction. The delay event is raised once per
shipment and the handler is ledgered, so a shipment is compensated at most once; the coupon code is derived from the
shipment, so even a replay offers the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog

from orderloom.application.ports import Clock, OrderQueries, TransactionRunner, UnitOfWork
from orderloom.application.rules import RuleSets
from orderloom.application.rules_ports import CompiledRuleSet
from orderloom.domain.audit import AuditEntry
from orderloom.domain.compensation import CompensationOffered, Coupon, coupon_code, coupon_from_decision
from orderloom.domain.rules import Decision, RuleSetInvalid, parse_rule_set

__all__ = ["COMPENSATION_ACTOR", "DelayCompensation", "compensation_context", "record_compensation"]

COMPENSATION_ACTOR = "compensation-rules"
KIND = "compensation"
log = structlog.get_logger(__name__)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def compensation_context(order_context: Mapping[str, Any], delay: Mapping[str, Any]) -> dict[str, Any]:
    """The order's rule context with the delay prediction's figures filled in."""
    return {
        **order_context,
        "delay.risk": _number(delay.get("probability")),
        "delay.threshold": _number(delay.get("threshold")),
        "delay.hours_before_promise": _number(delay.get("hours_before_promise")),
        "shipment.carrier": str(delay.get("carrier") or ""),
    }


def _total(document: Mapping[str, Any]) -> Decimal:
    try:
        return Decimal(str((document.get("totals") or {}).get("grand_total") or "0"))
    except InvalidOperation:
        return Decimal(0)


def record_compensation(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    delay: Mapping[str, Any],
    decision: Decision,
    coupon: Coupon | None,
    now: datetime,
) -> CompensationOffered | None:
    """Write the decision to the order's audit trail and, when a coupon is granted, the event to the outbox."""
    shipment_id = str(delay.get("shipment_id") or "")
    after: dict[str, Any] = {
        "shipment_id": shipment_id,
        "delay_risk": delay.get("probability"),
        "rule_set_version": decision.version,
        "reason": decision.reason(),
        "coupon": None if coupon is None else coupon.as_dict(),
    }
    if decision.errors:
        after["errors"] = [{"rule_id": rid, "message": msg} for rid, msg in decision.errors]
    action = "customer.compensation_offered" if coupon is not None else "customer.compensation_not_offered"
    uow.audit.append(
        AuditEntry(
            tenant_id=tenant_id,
            actor=COMPENSATION_ACTOR,
            action=action,
            entity_type="order",
            entity_id=order_id,
            at=now,
            before=None,
            after=after,
        )
    )
    if coupon is None:
        return None
    event = CompensationOffered(
        tenant_id=tenant_id,
        aggregate_id=order_id,
        occurred_at=now,
        data={"order_id": order_id, "shipment_id": shipment_id, "rule_set_version": decision.version}
        | {"delay_risk": delay.get("probability"), "coupon": coupon.as_dict()},
    )
    uow.outbox.add([event])
    return event


@dataclass
class DelayCompensation:
    """The ``orderloom.shipment.delay_predicted`` handler: decide a coupon by rules, record the offer."""

    rules: RuleSets
    default_document: Mapping[str, Any]
    queries: OrderQueries
    runner: TransactionRunner
    clock: Clock
    _default: CompiledRuleSet | None = field(default=None, init=False, repr=False)

    def default_rules(self) -> CompiledRuleSet:
        """The default rule set, compiled once (RuleSetInvalid if the shipped data is broken)."""
        if self._default is None:
            self._default = self.rules.compiler.compile(parse_rule_set(KIND, self.default_document))
        return self._default

    def decide(self, *, tenant_id: str, document: Mapping[str, Any], delay: Mapping[str, Any]) -> Decision:
        """The tenant's active (or gray-released) compensation version's decision, else the default rule set's."""
        context = compensation_context(self.rules.context_for(tenant_id=tenant_id, document=document), delay)
        order_id, channel = str(document["id"]), str(document.get("channel", ""))
        try:
            found = self.rules.evaluate(
                tenant_id=tenant_id, kind=KIND, context=context, order_id=order_id, channel=channel
            )
        except (RuleSetInvalid, RuntimeError, ValueError, TypeError, KeyError) as exc:
            return Decision(KIND, None, errors=(("*", f"{type(exc).__name__}: {exc}"),))
        return found if found is not None else self.default_rules().evaluate(context)

    def __call__(self, event: dict[str, Any]) -> None:
        """Handle one ShipmentDelayPredicted CloudEvent."""
        tenant_id = str(event["source"]).rsplit("/", 1)[-1]
        delay = dict(event["data"])
        order_id = delay.get("order_id")
        if not order_id:
            return
        document = self.queries.get_document(tenant_id, str(order_id))
        decision = self.decide(tenant_id=tenant_id, document=document, delay=delay)
        code = coupon_code(tenant_id, str(delay.get("shipment_id") or event["id"]))
        coupon = None
        if not decision.errors:
            currency = str(document.get("currency") or "")
            coupon = coupon_from_decision(decision=decision, code=code, order_total=_total(document), currency=currency)
        self.runner.run(
            lambda uow: record_compensation(
                uow=uow,
                tenant_id=tenant_id,
                order_id=str(order_id),
                delay=delay,
                decision=decision,
                coupon=coupon,
                now=self.clock(),
            )
        )
        log.debug("compensation", order_id=order_id, coupon=None if coupon is None else coupon.code)
