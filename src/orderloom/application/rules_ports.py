"""Ports of the rules engine: the compiler (compiled CEL), the version store, the order history it reads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from orderloom.domain.audit import AuditEntry
from orderloom.domain.rules import Activation, Decision, FeatureToggle, RuleSetDocument, RuleSetVersion

__all__ = ["CompiledRuleSet", "RuleCompiler", "RuleHistory", "RuleStore", "RulesEngine"]


class CompiledRuleSet(Protocol):
    """A compiled, type-checked rule set version."""

    kind: str
    version: int | None

    def evaluate(self, context: Mapping[str, Any], *, prepared: Any = None) -> Decision:
        """The decision for one context; rules that raise are reported in ``errors``, never thrown.

        ``prepared`` is the compiler's ``prepare(context)``, to share one conversion between rule sets.
        """


class RuleCompiler(Protocol):
    """Compiles rule sets against the declared context schema."""

    def compile(self, document: RuleSetDocument, *, version: int | None = None) -> CompiledRuleSet:
        """Compile and type-check; RuleSetInvalid lists every problem with rule id and line/column."""

    def prepare(self, context: Mapping[str, Any]) -> Any:
        """The evaluator's form of a context, reusable by every compiled rule set of this compiler."""


class RuleStore(Protocol):
    """Immutable rule set versions and the active version per tenant and kind."""

    def add_version(
        self,
        *,
        tenant_id: str,
        kind: str,
        document: dict[str, Any],
        status: str,
        created_by: str,
        now: datetime,
        note: str | None = None,
    ) -> RuleSetVersion:
        """Store the next version number of the kind and return it."""

    def get_version(self, tenant_id: str, kind: str, version: int) -> RuleSetVersion | None:
        """One version, if it exists."""

    def list_versions(self, tenant_id: str, kind: str) -> list[RuleSetVersion]:
        """Every version of a kind, oldest first."""

    def activation(self, tenant_id: str, kind: str) -> Activation | None:
        """What is active for a kind, if anything."""

    def set_activation(self, activation: Activation, *, audit: AuditEntry) -> None:
        """Replace the activation of a kind and append the audit entry, in one transaction."""

    def history(self, tenant_id: str, kind: str) -> list[dict[str, Any]]:
        """Audited activations and rollbacks of a kind, oldest first (at, actor, action, before, after)."""

    def get_document(self, tenant_id: str, name: str) -> dict[str, Any] | None:
        """A named tenant document (``custom_fields``, ``template:<name>``), if stored."""

    def list_documents(self, tenant_id: str, prefix: str) -> dict[str, dict[str, Any]]:
        """Named tenant documents whose name starts with ``prefix``."""

    def put_document(self, tenant_id: str, name: str, document: dict[str, Any], *, audit: AuditEntry) -> None:
        """Store (replace) a named tenant document and append the audit entry, in one transaction."""

    def toggles(self, tenant_id: str) -> list[FeatureToggle]:
        """The tenant's stored feature toggles."""

    def set_toggle(self, toggle: FeatureToggle, *, audit: AuditEntry) -> None:
        """Store (replace) a feature toggle and append the audit entry, in one transaction."""


class RuleHistory(Protocol):
    """Orders as the rules engine reads them: first-order checks and history for dry runs."""

    def is_first_order(self, tenant_id: str, email: str, order_id: str) -> bool:
        """True when no other order of the tenant has this customer e-mail."""

    def documents_since(self, tenant_id: str, since: datetime) -> Iterator[dict[str, Any]]:
        """Order documents placed at or after ``since``, oldest first."""


class RulesEngine(Protocol):
    """What other capabilities (channels compliance, routing) call to evaluate the active rules synchronously."""

    def evaluate(
        self, *, tenant_id: str, kind: str, context: Mapping[str, Any], order_id: str = "", channel: str = ""
    ) -> Decision | None:
        """The active version's decision for a context (None when no version of the kind is active)."""
