"""Routing behind the Sourcing port: the cost model's choice, the routing rule set's hard rules, the explanation."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from orderloom.application.inventory import reroute_order, update_location
from orderloom.application.inventory_ports import Sourcing, SourcingContext, SourcingPlan
from orderloom.application.ports import UnitOfWork
from orderloom.application.routing_feeds import FeedHub
from orderloom.application.routing_ports import DualPriceStore, RoutingHistory, RoutingRecord, RoutingRules
from orderloom.domain.errors import DomainError
from orderloom.domain.inventory import Location
from orderloom.domain.lifecycle import Lifecycle
from orderloom.domain.routing import RateTable, RouteRequest, RoutingDecision, SplitPolicy, route
from orderloom.domain.routing_events import OrderPromiseChanged, OrderRerouted
from orderloom.domain.routing_feeds import FeedReading, FeedSource
from orderloom.domain.routing_trade import TradeRules
from orderloom.domain.rules import Decision
from orderloom.domain.sourcing import Demand, ShipTo, split_lines

__all__ = [
    "CostRouter",
    "OutageReport",
    "RoutingNotFound",
    "RuleConstraints",
    "promise_changed",
    "promise_of",
    "routing_of",
    "take_offline",
]


class RoutingNotFound(DomainError):
    """The order has no routing decision (not routed yet, or routed before routing was switched on)."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"order {order_id} has no routing decision")


@dataclass(frozen=True, slots=True)
class RuleConstraints:
    """What the active routing rule set decided for an order."""

    route_to: str | None = None
    excluded: frozenset[str] = frozenset()
    preferred_service: str | None = None
    allow_split: bool | None = None
    cold_chain: bool = False
    fired: tuple[str, ...] = ()
    errors: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, decision: Decision | None) -> RuleConstraints:
        """Constraints from a decision (none when no routing rule set is active)."""
        if decision is None:
            return cls()
        acts = decision.actions
        route_to = next((str(a.arg("location")) for a in acts if a.name == "route_to"), None)
        carrier = next((str(a.arg("name")) for a in acts if a.name == "prefer_carrier"), None)
        split = next((bool(a.arg("allowed")) for a in acts if a.name == "allow_split"), None)
        return cls(
            route_to=route_to,
            excluded=frozenset(str(a.arg("location")) for a in acts if a.name == "exclude_location"),
            preferred_service=carrier,
            allow_split=split,
            cold_chain="cold_chain" in decision.tags,
            fired=tuple(f.rule_id for f in decision.fired),
            errors=decision.errors,
        )


def _policy(context: SourcingContext | None, allow_split: bool, rules: RuleConstraints) -> SplitPolicy:
    raw = context.split_policy if context else ("allow" if allow_split else "never")
    policy = SplitPolicy(raw) if raw in SplitPolicy.__members__.values() else SplitPolicy.NEVER
    if rules.allow_split is False:
        return SplitPolicy.NEVER
    if rules.allow_split and policy == SplitPolicy.NEVER:
        return SplitPolicy.ALLOW
    return policy


@dataclass
class CostRouter:
    """The Sourcing port by minimum total cost (``domain/routing.py``), with routing rule sets and LP dual prices."""

    rates: RateTable
    rules: RoutingRules | None = None
    # tenant → (sku, location) → opportunity cost per unit (LP dual prices; empty until set_duals)
    duals: dict[str, dict[tuple[str, str], Decimal]] = field(default_factory=dict)
    feeds: FeedHub | None = None
    trade: TradeRules | None = None
    # (tenant, service, day) → shipments booked by this router (carrier daily capacity; per process)
    booked: dict[tuple[str, str, str], int] = field(default_factory=dict)
    dual_store: DualPriceStore | None = None  # shared prices from `orderloom worker routing`, re-read every dual_ttl
    dual_ttl: float = 60.0
    monotonic: Callable[[], float] = time.monotonic
    _dual_read: dict[str, float] = field(default_factory=dict, repr=False)

    def set_duals(self, tenant_id: str, duals: Mapping[tuple[str, str], Decimal]) -> None:
        """Replace a tenant's opportunity costs (from the dual-price LP)."""
        self.duals[tenant_id] = dict(duals)

    def constraints(self, context: SourcingContext | None) -> RuleConstraints:
        """The active routing rule set's decision for the order in the context."""
        if self.rules is None or context is None or context.document is None:
            return RuleConstraints()
        if self.rules.activation(tenant_id=context.tenant_id, kind="routing") is None:
            return RuleConstraints()  # no routing rule set: skip building the context (a history query)
        ctx = self.rules.context_for(tenant_id=context.tenant_id, document=context.document)
        decision = self.rules.evaluate(
            tenant_id=context.tenant_id,
            kind="routing",
            context=ctx,
            order_id=context.order_id,
            channel=str(context.document.get("channel", "")),
        )
        return RuleConstraints.of(decision)

    def decide(
        self,
        *,
        demand: Sequence[Demand],
        ship_to: ShipTo,
        locations: Sequence[Location],
        available: Mapping[tuple[str, str], int],
        allow_split: bool = False,
        context: SourcingContext | None = None,
        opportunity: bool = True,
    ) -> tuple[RoutingDecision, RuleConstraints]:
        """The router's decision and the rule constraints it obeyed (``opportunity=False``: without dual prices)."""
        decision, rules, _ = self._decide(demand, ship_to, locations, available, allow_split, context, opportunity)
        return decision, rules

    def _decide(
        self,
        demand: Sequence[Demand],
        ship_to: ShipTo,
        locations: Sequence[Location],
        available: Mapping[tuple[str, str], int],
        allow_split: bool,
        context: SourcingContext | None,
        opportunity: bool = True,
    ) -> tuple[RoutingDecision, RuleConstraints, tuple[FeedReading, ...]]:
        rules = self.constraints(context)
        adjustments, readings = self.feeds.read() if self.feeds is not None else (None, ())
        document = (context.document or {}) if context else {}
        req = RouteRequest(
            demand=demand,
            ship_to=ship_to,
            locations=locations,
            available=available,
            now=context.now if context else datetime.now(UTC),
            capacity_left=(context.capacity_left or {}) if context else {},
            policy=_policy(context, allow_split, rules),
            cold_chain=rules.cold_chain,
            promised_by=context.promised_by if context else None,
            route_to=rules.route_to,
            excluded=rules.excluded,
            preferred_service=rules.preferred_service,
            duals=self._duals_of(context.tenant_id) if context and opportunity else {},
            dest_region=_region(document),
            feeds=adjustments,
            service_load=self._load(context),
            order_value=self._value(document),
            trade=self.trade,
        )
        return route(req, self.rates), rules, readings

    def _duals_of(self, tenant_id: str) -> Mapping[tuple[str, str], Decimal]:
        """The tenant's dual prices, re-read from the shared store when older than ``dual_ttl``."""
        if self.dual_store is not None:
            now = self.monotonic()
            read = self._dual_read.get(tenant_id)
            if read is None or now - read >= self.dual_ttl:
                self.duals[tenant_id] = self.dual_store.load(tenant_id)
                self._dual_read[tenant_id] = now
        return self.duals.get(tenant_id, {})

    def _load(self, context: SourcingContext | None) -> dict[str, tuple[int, int]]:
        """Carrier daily capacity and what this router booked today, per service with a capacity."""
        if context is None:
            return {}
        day = context.now.date().isoformat()
        return {
            svc.name: (svc.daily_capacity, self.booked.get((context.tenant_id, svc.name, day), 0))
            for svc in self.rates.services
            if svc.daily_capacity is not None
        }

    def _value(self, document: Mapping[str, Any]) -> Decimal:
        """The order's goods value in the trade table's currency (0 when unknown or in another currency)."""
        if self.trade is None or document.get("currency") != self.trade.currency:
            return Decimal(0)
        try:
            return Decimal(str((document.get("totals") or {}).get("subtotal") or 0))
        except ArithmeticError:
            return Decimal(0)

    def _book(self, context: SourcingContext | None, decision: RoutingDecision) -> None:
        if context is None:
            return
        day = context.now.date().isoformat()
        for s in decision.shipments:
            key = (context.tenant_id, s.service, day)
            self.booked[key] = self.booked.get(key, 0) + 1

    def plan(
        self,
        *,
        demand: Sequence[Demand],
        ship_to: ShipTo,
        locations: Sequence[Location],
        available: Mapping[tuple[str, str], int],
        allow_split: bool = False,
        context: SourcingContext | None = None,
    ) -> SourcingPlan:
        """The cheapest plan first, then the other single locations by cost; the explanation rides along."""
        decision, rules, readings = self._decide(demand, ship_to, locations, available, allow_split, context)
        self._book(context, decision)
        explanation: dict[str, Any] = decision.as_dict()
        explanation["rules"] = {"fired": list(rules.fired), "errors": [list(e) for e in rules.errors]}
        if readings:
            explanation["feeds"] = [r.as_dict() for r in readings]
            notes = [r.note for r in readings if r.source != FeedSource.LIVE]
            if notes:
                explanation["summary"] = "; ".join([explanation["summary"], *notes])
        candidates = tuple(loc for loc, _, _ in decision.singles)
        if decision.is_split:
            chosen = tuple(sorted((n, s.location_id) for s in decision.shipments for n in s.lines))
            return SourcingPlan(candidates, chosen, prefer_split=True, explanation=explanation)
        split_ok = decision.policy == SplitPolicy.ALLOW and not candidates and not decision.shipments
        split: tuple[tuple[int, str], ...] = ()
        if split_ok:
            split = tuple(sorted(split_lines(demand, ship_to, _allowed(locations, decision), available).items()))
        return SourcingPlan(
            candidates,
            split,
            no_source=decision.no_source,
            explanation=explanation,
        )


def _region(document: Mapping[str, Any]) -> str | None:
    address = document.get("shipping_address") or {}
    region = address.get("region") if isinstance(address, Mapping) else None
    return str(region) if region else None


def _allowed(locations: Sequence[Location], decision: RoutingDecision) -> list[Location]:
    """Locations not excluded for a reason other than stock (for a partial allocation)."""
    barred = {loc for loc, why in decision.excluded if not why.startswith("out of stock")}
    return [loc for loc in locations if loc.id not in barred]


def routing_of(*, routing: RoutingHistory, tenant_id: str, order_id: str) -> dict[str, Any]:
    """An order's latest routing decision and the earlier ones; RoutingNotFound when it has none."""
    records = routing.of_order(tenant_id, order_id)
    if not records:
        raise RoutingNotFound(order_id)
    latest = records[-1]
    return {
        "order_id": order_id,
        "decided_at": latest.decided_at.isoformat(),
        **latest.decision,
        "history": [{"decided_at": r.decided_at.isoformat(), "summary": r.decision.get("summary")} for r in records],
    }


@dataclass(frozen=True, slots=True)
class OutageReport:
    """What taking a location offline did: each affected order re-routed (new locations), held, or left alone."""

    location_id: str
    rerouted: dict[str, list[str]]
    held: dict[str, str]  # order → hold reason (no_source / stock_shortage)
    untouched: list[str]  # orders no longer in ``allocated`` (picked, shipped): they keep their reservations
    # order → (old, new) estimated delivery, for the orders whose date changed (customers notified); new None: held
    promise_changed: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "location_id": self.location_id,
            "affected": len(self.rerouted) + len(self.held) + len(self.untouched),
            "rerouted": self.rerouted,
            "held": self.held,
            "untouched": self.untouched,
            "promise_changed": {k: {"from": a, "to": b} for k, (a, b) in self.promise_changed.items()},
        }


def take_offline(
    *, uow: UnitOfWork, tenant_id: str, location_id: str, lifecycle: Lifecycle, sourcing: Sourcing, now: datetime
) -> OutageReport:
    """Take a location offline and re-route, in one transaction, every allocated order holding stock there."""
    update_location(uow=uow, tenant_id=tenant_id, location_id=location_id, changes={"active": False}, now=now)
    rerouted: dict[str, list[str]] = {}
    held: dict[str, str] = {}
    untouched: list[str] = []
    reason = f"location {location_id} went offline"
    changed: dict[str, tuple[str | None, str | None]] = {}
    for order_id in uow.routing.orders_allocated_at(tenant_id, location_id):
        before = promise_of(uow.routing.of_order(tenant_id, order_id))
        alloc = reroute_order(
            uow=uow,
            tenant_id=tenant_id,
            order_id=order_id,
            lifecycle=lifecycle,
            sourcing=sourcing,
            reason=reason,
            now=now,
        )
        if alloc is None:
            untouched.append(order_id)
        elif alloc.location_id is None:
            held[order_id] = "no_source" if alloc.plan is not None and alloc.plan.no_source else "stock_shortage"
        else:
            rerouted[order_id] = alloc.locations
            uow.outbox.add([_rerouted(tenant_id, order_id, location_id, alloc.locations, alloc.plan, now)])
        if alloc is not None:
            after = _plan_promise(alloc.plan) if alloc.location_id else None
            event = promise_changed(tenant_id, order_id, before, after, reason, now)
            if event is not None:
                changed[order_id] = (before, after)
                uow.outbox.add([event])
    return OutageReport(location_id, rerouted, held, untouched, changed)


def promise_of(records: Sequence[RoutingRecord]) -> str | None:
    """The estimated delivery date (ISO) of an order's latest routed plan: its last shipment's, or None."""
    for record in reversed(records):
        dates = [str(s["estimated_delivery"]) for s in record.decision.get("chosen") or [] if "estimated_delivery" in s]
        if dates:
            return max(dates)
        if "chosen" in record.decision:
            return None
    return None


def _plan_promise(plan: SourcingPlan | None) -> str | None:
    chosen = (plan.explanation or {}).get("chosen") if plan is not None else None
    dates = [str(s["estimated_delivery"]) for s in chosen or [] if "estimated_delivery" in s]
    return max(dates) if dates else None


def promise_changed(
    tenant_id: str, order_id: str, before: str | None, after: str | None, reason: str, now: datetime
) -> OrderPromiseChanged | None:
    """The event telling the customer the delivery date moved (None when it did not, or there was none)."""
    if before is None or before == after:
        return None
    return OrderPromiseChanged(
        tenant_id=tenant_id,
        aggregate_id=order_id,
        occurred_at=now,
        data={
            "order_id": order_id,
            "from": before,
            "to": after,
            "eta": after,
            "status": "rescheduled",
            "reason": reason,
        },
    )


def _rerouted(
    tenant_id: str, order_id: str, offline: str, locations: list[str], plan: SourcingPlan | None, now: datetime
) -> OrderRerouted:
    explanation = dict(plan.explanation or {}) if plan is not None else {}
    deliveries = [str(s.get("estimated_delivery")) for s in explanation.get("chosen", [])]
    return OrderRerouted(
        tenant_id=tenant_id,
        aggregate_id=order_id,
        occurred_at=now,
        data={
            "order_id": order_id,
            "from": offline,
            "to": locations,
            "estimated_delivery": max(deliveries) if deliveries else None,
            "reason": f"location {offline} went offline; {explanation.get('summary') or 'routed again'}",
        },
    )
