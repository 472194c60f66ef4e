"""Return authorisation through the rules engine: the tenant's active ``returns`` rule set, else the default one."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orderloom.application.rules import RuleSets
from orderloom.application.rules_ports import CompiledRuleSet
from orderloom.domain.rules import Decision, parse_rule_set

__all__ = ["RETURNS_KIND", "RulesReturnPolicy"]

RETURNS_KIND = "returns"


@dataclass
class RulesReturnPolicy:
    """Evaluates one return line on the order's rule context plus ``rma.*``."""

    rules: RuleSets
    default_document: Mapping[str, Any]
    _default: CompiledRuleSet | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _default_rules(self) -> CompiledRuleSet:
        with self._lock:
            if self._default is None:
                document = parse_rule_set(RETURNS_KIND, dict(self.default_document))
                self._default = self.rules.compiler.compile(document, version=None)
            return self._default

    def evaluate(self, *, tenant_id: str, order_document: Mapping[str, Any], line: Mapping[str, Any]) -> Decision:
        """The decision for one return line (the tenant's active version, or the default rule set)."""
        context = self.rules.context_for(tenant_id=tenant_id, document=order_document)
        context.update({f"rma.{k}": v for k, v in line.items()})
        order_id = str(order_document.get("id", ""))
        channel = str(order_document.get("channel", ""))
        decision = self.rules.evaluate(
            tenant_id=tenant_id, kind=RETURNS_KIND, context=context, order_id=order_id, channel=channel
        )
        return decision if decision is not None else self._default_rules().evaluate(context)
