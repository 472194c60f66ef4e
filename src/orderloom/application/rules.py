"""Rule set use cases: author versions, activate (fully or gray), roll back, evaluate, dry-run on history."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from orderloom.application.ports import Clock
from orderloom.application.rules_ports import CompiledRuleSet, RuleCompiler, RuleHistory, RuleStore
from orderloom.domain.audit import AuditEntry
from orderloom.domain.custom_fields import CustomFieldSchema, OrderTemplate, SchemaInvalid
from orderloom.domain.errors import DomainError, FieldError
from orderloom.domain.rules import (
    KINDS,
    TOGGLES,
    Activation,
    Decision,
    FeatureToggle,
    RuleProblem,
    RuleSetInvalid,
    RuleSetVersion,
    parse_rule_set,
)
from orderloom.domain.rules_context import order_context

__all__ = ["DryRunReport", "RuleSets", "RuleVersionNotFound"]

_ACTIVATION_TTL = 2.0
_CUSTOM_FIELDS = "custom_fields"
_TEMPLATE = "template:"


class RuleVersionNotFound(DomainError):
    """No such rule set version (or nothing to roll back to)."""

    def __init__(self, kind: str, version: int | None, why: str | None = None) -> None:
        self.kind = kind
        self.version = version
        super().__init__(why or f"{kind} rule set version {version} not found")


@dataclass
class DryRunReport:
    """How a candidate version would have decided historical orders, compared with the active one."""

    kind: str
    candidate_version: int
    active_version: int | None
    orders: int = 0
    changed: int = 0
    outcome_changed: int = 0
    held_before: int = 0
    held_after: int = 0
    errors_after: int = 0
    by_change: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with hold rates as fractions."""
        n = max(self.orders, 1)
        return {
            "kind": self.kind,
            "candidate_version": self.candidate_version,
            "active_version": self.active_version,
            "orders": self.orders,
            "changed": self.changed,
            "outcome_changed": self.outcome_changed,
            "changes": dict(sorted(self.by_change.items(), key=lambda kv: -kv[1])),
            "hold_rate_before": round(self.held_before / n, 4),
            "hold_rate_after": round(self.held_after / n, 4),
            "hold_rate_change": round((self.held_after - self.held_before) / n, 4),
            "rule_errors_after": self.errors_after,
            "examples": self.examples,
            "seconds": round(self.seconds, 3),
        }


def _audit(tenant_id: str, actor: str, action: str, kind: str, now: datetime, before: Any, after: Any) -> AuditEntry:
    return AuditEntry(
        tenant_id=tenant_id,
        actor=actor,
        action=f"rules.{action}",
        entity_type="rule_set",
        entity_id=kind,
        at=now,
        before=before,
        after=after,
    )


@dataclass
class RuleSets:
    """The rules engine: versions in a store, compiled once per version, the active one per tenant and kind."""

    store: RuleStore
    compiler: RuleCompiler
    clock: Clock
    history: RuleHistory | None = None
    _compiled: dict[tuple[str, str, int], CompiledRuleSet] = field(default_factory=dict, init=False, repr=False)
    _active: dict[tuple[str, str], tuple[float, Activation | None]] = field(default_factory=dict, init=False)
    _tenant_data: dict[tuple[str, str], tuple[float, Any]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # --- authoring -------------------------------------------------------------------------------------------

    def create_version(
        self, *, tenant_id: str, kind: str, document: Any, actor: str, draft: bool = False, note: str | None = None
    ) -> RuleSetVersion:
        """Parse, compile and type-check a rule set and store it as the next immutable version (drafts unchecked)."""
        if kind not in KINDS:
            raise RuleSetInvalid([RuleProblem(f"unknown rule kind {kind!r} (one of {', '.join(KINDS)})", field="kind")])
        if draft:
            if not isinstance(document, Mapping):
                raise RuleSetInvalid([RuleProblem("a rule set is a mapping with 'rules' and/or 'tables'")])
        else:
            self.compiler.compile(parse_rule_set(kind, document))
        return self.store.add_version(
            tenant_id=tenant_id,
            kind=kind,
            document=dict(document),
            status="draft" if draft else "valid",
            created_by=actor,
            now=self.clock(),
            note=note,
        )

    def get_version(self, *, tenant_id: str, kind: str, version: int) -> RuleSetVersion:
        """One version, or RuleVersionNotFound."""
        found = self.store.get_version(tenant_id, kind, version)
        if found is None:
            raise RuleVersionNotFound(kind, version)
        return found

    def compiled(self, *, tenant_id: str, kind: str, version: int) -> CompiledRuleSet:
        """The compiled program of a version (compiled once, then cached); drafts and invalid ones raise."""
        key = (tenant_id, kind, version)
        hit = self._compiled.get(key)
        if hit is not None:
            return hit
        stored = self.get_version(tenant_id=tenant_id, kind=kind, version=version)
        if stored.status != "valid":
            raise RuleSetInvalid([RuleProblem(f"version {version} is a draft; store it as a checked version first")])
        program = self.compiler.compile(parse_rule_set(kind, stored.document), version=version)
        with self._lock:
            self._compiled[key] = program
        return program

    # --- activation ------------------------------------------------------------------------------------------

    def activation(self, *, tenant_id: str, kind: str) -> Activation | None:
        """The current activation (cached for a couple of seconds; activations in this process refresh it)."""
        key = (tenant_id, kind)
        hit = self._active.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        current = self.store.activation(tenant_id, kind)
        self._active[key] = (time.monotonic() + _ACTIVATION_TTL, current)
        return current

    def activate(
        self,
        *,
        tenant_id: str,
        kind: str,
        version: int,
        actor: str,
        percent: float | None = None,
        channels: Iterable[str] = (),
    ) -> Activation:
        """Make a checked version the active one, or gray-release it to a share of orders / some channels."""
        self.compiled(tenant_id=tenant_id, kind=kind, version=version)  # unknown → 404, draft/invalid → 422
        current = self.store.activation(tenant_id, kind) or Activation(tenant_id, kind, None)
        chans = tuple(sorted(set(channels)))
        if percent is None or (percent >= 100 and not chans):
            new = Activation(tenant_id, kind, version, previous_version=current.version)
        else:
            if not 0 <= percent <= 100:
                raise RuleSetInvalid([RuleProblem("percent is between 0 and 100", field="percent")])
            bps = round(percent * 100)
            new = replace(current, candidate_version=version, candidate_bps=bps, candidate_channels=chans)
        self._save(new, current, actor, "activate")
        return new

    def rollback(self, *, tenant_id: str, kind: str, actor: str) -> Activation:
        """End a gray release, or go back to the previously active version."""
        current = self.store.activation(tenant_id, kind)
        if current is None or (current.candidate_version is None and current.previous_version is None):
            raise RuleVersionNotFound(kind, None, f"no earlier {kind} rule set version to roll back to")
        if current.candidate_version is not None:
            new = replace(current, candidate_version=None, candidate_bps=0, candidate_channels=())
        else:
            new = Activation(tenant_id, kind, current.previous_version, previous_version=current.version)
        self._save(new, current, actor, "rollback")
        return new

    def _save(self, new: Activation, current: Activation, actor: str, action: str) -> None:
        entry = _audit(new.tenant_id, actor, action, new.kind, self.clock(), current.as_dict(), new.as_dict())
        self.store.set_activation(new, audit=entry)
        self._active[(new.tenant_id, new.kind)] = (time.monotonic() + _ACTIVATION_TTL, new)

    # --- evaluation ------------------------------------------------------------------------------------------

    def evaluate(
        self,
        *,
        tenant_id: str,
        kind: str,
        context: Mapping[str, Any],
        order_id: str = "",
        channel: str = "",
        prepared: Any = None,
    ) -> Decision | None:
        """The active (or gray-released) version's decision for a context; None when nothing is active."""
        act = self.activation(tenant_id=tenant_id, kind=kind)
        version = act.version_for(order_id=order_id, channel=channel) if act else None
        if version is None:
            return None
        return self.compiled(tenant_id=tenant_id, kind=kind, version=version).evaluate(context, prepared=prepared)

    def context_for(self, *, tenant_id: str, document: Mapping[str, Any]) -> dict[str, Any]:
        """The rule context of a stored order document (first-order flag from the history when available;
        the order template's defaults filled into ``order.custom``)."""
        email = (document.get("customer") or {}).get("email")
        first = bool(email) and self.history is not None
        if first and self.history is not None and email:
            first = self.history.is_first_order(tenant_id, str(email), str(document.get("id")))
        context = order_context(document, tenant_id=tenant_id, is_first_order=first)
        template = self._template_of(tenant_id, context["order.custom"])
        if template is not None:
            context["order.custom"] = template.apply_defaults(context["order.custom"])
        return context

    # --- tenant data: custom fields, templates, toggles ------------------------------------------------------

    def _cached(self, tenant_id: str, key: str, load: Any) -> Any:
        hit = self._tenant_data.get((tenant_id, key))
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        value = load()
        self._tenant_data[(tenant_id, key)] = (time.monotonic() + _ACTIVATION_TTL, value)
        return value

    def _forget(self, tenant_id: str) -> None:
        for key in [k for k in self._tenant_data if k[0] == tenant_id]:
            self._tenant_data.pop(key, None)

    def set_custom_fields(self, *, tenant_id: str, schema: Any, actor: str) -> dict[str, Any]:
        """Declare the tenant's custom order fields (JSON Schema subset); SchemaInvalid names the problems."""
        CustomFieldSchema.from_json_schema(schema)
        before = self.store.get_document(tenant_id, _CUSTOM_FIELDS)
        entry = _audit(tenant_id, actor, "custom_fields", _CUSTOM_FIELDS, self.clock(), before, dict(schema))
        self.store.put_document(tenant_id, _CUSTOM_FIELDS, dict(schema), audit=entry)
        self._forget(tenant_id)
        return dict(schema)

    def custom_fields(self, *, tenant_id: str) -> dict[str, Any] | None:
        """The tenant's custom field schema, if declared."""
        return self.store.get_document(tenant_id, _CUSTOM_FIELDS)

    def set_template(self, *, tenant_id: str, name: str, document: Any, actor: str) -> OrderTemplate:
        """Store an order template (required custom fields and defaults)."""
        template = OrderTemplate.from_document(name, document)
        key = _TEMPLATE + name
        before = self.store.get_document(tenant_id, key)
        entry = _audit(tenant_id, actor, "template", key, self.clock(), before, template.as_dict())
        self.store.put_document(tenant_id, key, template.as_dict(), audit=entry)
        self._forget(tenant_id)
        return template

    def templates(self, *, tenant_id: str) -> list[OrderTemplate]:
        """The tenant's order templates."""
        docs = self.store.list_documents(tenant_id, _TEMPLATE)
        return [OrderTemplate.from_document(name[len(_TEMPLATE) :], doc) for name, doc in docs.items()]

    def _template_of(self, tenant_id: str, custom: Mapping[str, Any]) -> OrderTemplate | None:
        name = custom.get("template")
        if not isinstance(name, str) or not name:
            return None
        doc = self._cached(tenant_id, _TEMPLATE + name, lambda: self.store.get_document(tenant_id, _TEMPLATE + name))
        return None if doc is None else OrderTemplate.from_document(name, doc)

    def custom_field_errors(self, *, tenant_id: str, document: Mapping[str, Any]) -> list[FieldError]:
        """Problems of an order's custom fields against the tenant's schema and its template (none if undeclared)."""
        raw = self._cached(tenant_id, _CUSTOM_FIELDS, lambda: self.store.get_document(tenant_id, _CUSTOM_FIELDS))
        values = dict(document.get("custom_fields") or {})
        name = values.get("template")
        template = self._template_of(tenant_id, values)
        errors = []
        if name not in (None, "") and template is None:
            errors.append(FieldError("custom_fields.template", f"no order template named {name!r}"))
        if raw is None and template is None:
            return errors
        schema = CustomFieldSchema.from_json_schema(raw) if raw is not None else CustomFieldSchema({})
        if template is not None:
            values = template.apply_defaults(values)
        return errors + schema.validate(values, also_required=template.required if template else ())

    def set_toggle(
        self,
        *,
        tenant_id: str,
        name: str,
        enabled: bool,
        actor: str,
        percent: float = 100.0,
        channels: Iterable[str] = (),
    ) -> FeatureToggle:
        """Switch an engine feature on or off for a share of orders and/or some channels (audited)."""
        if name not in TOGGLES:
            raise SchemaInvalid(f"unknown feature toggle {name!r} (known: {', '.join(TOGGLES)})")
        if not 0 <= percent <= 100:
            raise SchemaInvalid("percent is between 0 and 100")
        toggle = FeatureToggle(tenant_id, name, enabled, round(percent * 100), tuple(sorted(set(channels))))
        entry = _audit(tenant_id, actor, "toggle", name, self.clock(), None, toggle.as_dict())
        self.store.set_toggle(toggle, audit=entry)
        self._forget(tenant_id)
        return toggle

    def toggles(self, *, tenant_id: str) -> list[FeatureToggle]:
        """Every known toggle of the tenant (stored ones, the rest on by default)."""
        stored = {t.name: t for t in self.store.toggles(tenant_id)}
        return [stored.get(name, FeatureToggle(tenant_id, name)) for name in TOGGLES]

    def configured(self, *, tenant_id: str, kinds: Iterable[str]) -> bool:
        """Whether any of these kinds is active, or custom fields / templates are declared (cached; cheap)."""
        if any(self.activation(tenant_id=tenant_id, kind=kind) is not None for kind in kinds):
            return True
        return bool(self._cached(tenant_id, "documents", lambda: bool(self.store.list_documents(tenant_id, ""))))

    def feature_on(self, *, tenant_id: str, name: str, order_id: str, channel: str) -> bool:
        """Whether an engine feature applies to an order (on when no toggle is stored)."""
        toggles = self._cached(tenant_id, "toggles", lambda: {t.name: t for t in self.store.toggles(tenant_id)})
        toggle = toggles.get(name)
        return True if toggle is None else bool(toggle.is_on(order_id=order_id, channel=channel))
