"""Dry run: what a candidate rule set version would have decided on historical orders, against the active one."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from orderloom.application.rules import DryRunReport, RuleSets
from orderloom.application.rules_ports import CompiledRuleSet, RuleHistory
from orderloom.domain.rules import Decision
from orderloom.domain.rules_context import order_context

__all__ = ["HELD_OUTCOMES", "dry_run"]

HELD_OUTCOMES = frozenset({"hold", "fail", "require_approval", "rule_error"})


def _signature(decision: Decision | None) -> tuple[str, tuple[str, ...]]:
    if decision is None:
        return "pass", ()
    actions = tuple(sorted(str(a) for a in decision.actions))
    outputs = tuple(f"{tid}={rows}" for tid, rows in decision.outputs)
    return decision.outcome, actions + outputs


def _label(sig: tuple[str, tuple[str, ...]]) -> str:
    return sig[0] if not sig[1] else f"{sig[0]} [{', '.join(sig[1])}]"


def dry_run(
    *,
    rules: RuleSets,
    history: RuleHistory,
    tenant_id: str,
    kind: str,
    version: int,
    since: datetime,
    max_examples: int = 10,
) -> DryRunReport:
    """Evaluate the candidate and the active version on orders placed since ``since``; writes nothing."""
    started = time.perf_counter()
    candidate = rules.compiled(tenant_id=tenant_id, kind=kind, version=version)
    activation = rules.store.activation(tenant_id, kind)
    active: CompiledRuleSet | None = None
    if activation is not None and activation.version is not None:
        active = rules.compiled(tenant_id=tenant_id, kind=kind, version=activation.version)
    report = DryRunReport(kind=kind, candidate_version=version, active_version=active.version if active else None)
    seen_emails: set[str] = set()
    for doc in history.documents_since(tenant_id, since):
        email = str((doc.get("customer") or {}).get("email") or "")
        ctx = order_context(doc, tenant_id=tenant_id, is_first_order=bool(email) and email not in seen_emails)
        seen_emails.add(email)
        prepared = rules.compiler.prepare(ctx)
        before = _signature(active.evaluate(ctx, prepared=prepared) if active else None)
        after = _signature(candidate.evaluate(ctx, prepared=prepared))
        _tally(report, doc, before, after, max_examples)
    report.seconds = time.perf_counter() - started
    return report


def _tally(
    report: DryRunReport,
    doc: dict[str, Any],
    before: tuple[str, tuple[str, ...]],
    after: tuple[str, tuple[str, ...]],
    max_examples: int,
) -> None:
    report.orders += 1
    report.held_before += before[0] in HELD_OUTCOMES
    report.held_after += after[0] in HELD_OUTCOMES
    report.errors_after += after[0] == "rule_error"
    if before == after:
        return
    report.changed += 1
    report.outcome_changed += before[0] != after[0]
    change = f"{before[0]} → {after[0]}"
    report.by_change[change] = report.by_change.get(change, 0) + 1
    if len(report.examples) < max_examples:
        report.examples.append(
            {
                "order_id": doc.get("id"),
                "channel_order_id": doc.get("channel_order_id"),
                "grand_total": (doc.get("totals") or {}).get("grand_total"),
                "before": _label(before),
                "after": _label(after),
            }
        )
