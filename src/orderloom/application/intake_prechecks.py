"""The real inventory pre-check and compliance check of channel intake: SKUs known with network ATP > 0 (from the
inventory balances), and the tenant's active ``compliance`` rule set evaluated on the channel order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orderloom.application.ports import UnitOfWork
from orderloom.application.rules import RuleSets
from orderloom.domain.intake_checks import Finding
from orderloom.domain.rules import Decision, RuleSetInvalid
from orderloom.domain.rules_context import order_context

__all__ = ["COMPLIANCE_KIND", "RuleCompliance", "StockPrecheck", "compliance_findings"]

COMPLIANCE_KIND = "compliance"
_FAILING = ("fail", "hold")


class StockPrecheck:
    """Every SKU of the order has a balance row at some location of the tenant (it was ever stocked there) and a
    positive network ATP (available at active locations); a tenant without any location passes (no inventory)."""

    def check(self, *, uow: UnitOfWork, tenant_id: str, doc: dict[str, Any]) -> list[Finding]:
        """``sku_unknown`` / ``no_stock`` findings, one per failing line."""
        lines = [(i, str(line.get("sku") or "")) for i, line in enumerate(doc.get("lines") or [])]
        skus = sorted({sku for _, sku in lines if sku})
        if not skus:
            return []
        locations = uow.inventory.list_locations(tenant_id)
        if not locations:
            return []
        active = {loc.id for loc in locations if loc.active}
        known: set[str] = set()
        atp: dict[str, int] = {}
        for balance in uow.inventory.balances(tenant_id, skus):
            known.add(balance.sku)
            if balance.location_id in active:
                atp[balance.sku] = atp.get(balance.sku, 0) + balance.available
        findings = []
        for i, sku in lines:
            if not sku:
                continue
            if sku not in known:
                findings.append(Finding("sku_unknown", f"/lines/{i}/sku", f"SKU {sku} is not stocked at any location"))
            elif atp.get(sku, 0) <= 0:
                findings.append(Finding("no_stock", f"/lines/{i}/sku", f"SKU {sku} has no stock available anywhere"))
        return findings


def compliance_findings(decision: Decision) -> list[Finding]:
    """One ``compliance_rule`` finding per fired rule that fails or holds the order, and per rule that raised
    (a compliance rule that cannot be evaluated holds the order rather than letting it through)."""
    findings = []
    for fired in decision.fired:
        failing = [a for a in fired.actions if a.name in _FAILING]
        if failing:
            reason = "; ".join(str(a.arg("reason")) for a in failing)
            findings.append(Finding("compliance_rule", f"/rules/{fired.rule_id}", f"{fired.rule_id}: {reason}"))
    for rule_id, error in decision.errors:
        findings.append(Finding("compliance_rule", f"/rules/{rule_id}", f"{rule_id}: rule error: {error}"))
    return findings


@dataclass
class RuleCompliance:
    """The tenant's active ``compliance`` rule set on the channel order (nothing active: passes)."""

    rules: RuleSets

    def check(self, *, uow: UnitOfWork, tenant_id: str, doc: dict[str, Any]) -> list[Finding]:
        """``compliance_rule`` findings naming the rule id."""
        if self.rules.activation(tenant_id=tenant_id, kind=COMPLIANCE_KIND) is None:
            return []
        ref = str(doc.get("channel_order_id") or "")
        try:
            context = order_context(doc, tenant_id=tenant_id)
            decision = self.rules.evaluate(
                tenant_id=tenant_id,
                kind=COMPLIANCE_KIND,
                context=context,
                order_id=ref,
                channel=str(doc.get("channel") or ""),
            )
        except (RuleSetInvalid, RuntimeError, ValueError, TypeError, KeyError) as exc:
            decision = Decision(COMPLIANCE_KIND, None, errors=(("*", f"{type(exc).__name__}: {exc}"),))
        return [] if decision is None else compliance_findings(decision)
