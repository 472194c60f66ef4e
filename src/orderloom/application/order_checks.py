"""The three check levels (format, inventory pre-check, compliance) plus address quality and price conflict, run on
a canonical order document before it is placed; failures put the placed order on hold with a stable reason code."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from orderloom.application.orders import apply_action
from orderloom.application.ports import UnitOfWork
from orderloom.domain.errors import DomainError
from orderloom.domain.intake_checks import Finding, hold_for
from orderloom.domain.lifecycle import Lifecycle

__all__ = [
    "ComplianceRules",
    "InventoryPrecheck",
    "OrderCheck",
    "hold_on_findings",
    "run_checks",
]


class OrderCheck(Protocol):
    """One check; it may enrich the document in place (e.g. coordinates) and returns its findings."""

    def check(self, *, uow: UnitOfWork, tenant_id: str, doc: dict[str, Any]) -> list[Finding]:
        """The findings for this order (empty when it passes)."""


class InventoryPrecheck(Protocol):
    """Inventory port: is each SKU known (directly or via a channel alias) and available to promise somewhere?"""

    def check(self, *, uow: UnitOfWork, tenant_id: str, doc: dict[str, Any]) -> list[Finding]:
        """``sku_unknown`` / ``no_stock`` findings."""


class ComplianceRules(Protocol):
    """Rules port: compliance rule sets (restricted items per region, value limits, …) evaluated on the order."""

    def check(self, *, uow: UnitOfWork, tenant_id: str, doc: dict[str, Any]) -> list[Finding]:
        """``compliance_rule`` findings."""


def run_checks(*, uow: UnitOfWork, checks: Sequence[OrderCheck], tenant_id: str, doc: dict[str, Any]) -> list[Finding]:
    """Every check's findings, in order (checks may enrich the document)."""
    findings: list[Finding] = []
    for check in checks:
        findings += check.check(uow=uow, tenant_id=tenant_id, doc=doc)
    return findings


def hold_on_findings(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    findings: list[Finding],
    lifecycle: Lifecycle,
    actor: str,
    now: datetime,
) -> str | None:
    """Put a placed order on hold for its most important finding; returns the action, or None if none applied."""
    decision = hold_for(findings)
    if decision is None:
        return None
    action, first = decision
    params = {
        "reason": f"{first.code}: {first.message}",
        "reason_code": first.code,
        "findings": [f.as_dict() for f in findings],
    }
    try:
        with uow.savepoint():
            apply_action(
                uow=uow,
                tenant_id=tenant_id,
                order_id=order_id,
                action=action,
                params=params,
                lifecycle=lifecycle,
                actor=actor,
                now=now,
            )
    except DomainError:  # e.g. an order that arrived already closed: nothing to hold
        return None
    return action
