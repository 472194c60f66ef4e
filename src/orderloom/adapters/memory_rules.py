"""In-memory twins of the rules ports (tests and examples)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderloom.domain.audit import AuditEntry
from orderloom.domain.rules import Activation, FeatureToggle, RuleSetVersion

__all__ = ["MemoryRuleHistory", "MemoryRuleStore"]


class MemoryRuleStore:
    """Versions and activations in dicts; audit entries in a list."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, str], list[RuleSetVersion]] = {}
        self.activations: dict[tuple[str, str], Activation] = {}
        self.audit: list[AuditEntry] = []
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}
        self.feature_toggles: dict[tuple[str, str], FeatureToggle] = {}
        self._lock = threading.Lock()

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
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
        with self._lock:
            versions = self.versions.setdefault((tenant_id, kind), [])
            version = RuleSetVersion(
                tenant_id=tenant_id,
                kind=kind,
                version=len(versions) + 1,
                document=json.loads(text),
                status=status,
                created_at=now.isoformat().replace("+00:00", "Z"),
                created_by=created_by,
                checksum=hashlib.sha256(text.encode()).hexdigest(),
                note=note,
            )
            versions.append(version)
        return version

    def get_version(self, tenant_id: str, kind: str, version: int) -> RuleSetVersion | None:
        versions = self.versions.get((tenant_id, kind), [])
        return versions[version - 1] if 0 < version <= len(versions) else None

    def list_versions(self, tenant_id: str, kind: str) -> list[RuleSetVersion]:
        return list(self.versions.get((tenant_id, kind), []))

    def activation(self, tenant_id: str, kind: str) -> Activation | None:
        return self.activations.get((tenant_id, kind))

    def set_activation(self, activation: Activation, *, audit: AuditEntry) -> None:
        with self._lock:
            self.activations[(activation.tenant_id, activation.kind)] = activation
            self.audit.append(audit)

    def history(self, tenant_id: str, kind: str) -> list[dict[str, Any]]:
        return [
            {
                "at": e.at.isoformat().replace("+00:00", "Z"),
                "actor": e.actor,
                "action": e.action,
                "before": e.before,
                "after": e.after,
            }
            for e in self.audit
            if e.tenant_id == tenant_id and e.entity_type == "rule_set" and e.entity_id == kind
        ]

    def get_document(self, tenant_id: str, name: str) -> dict[str, Any] | None:
        found = self.documents.get((tenant_id, name))
        return None if found is None else json.loads(json.dumps(found))

    def list_documents(self, tenant_id: str, prefix: str) -> dict[str, dict[str, Any]]:
        return {
            n: json.loads(json.dumps(d))
            for (t, n), d in sorted(self.documents.items())
            if t == tenant_id and n.startswith(prefix)
        }

    def put_document(self, tenant_id: str, name: str, document: dict[str, Any], *, audit: AuditEntry) -> None:
        with self._lock:
            self.documents[(tenant_id, name)] = json.loads(json.dumps(document))
            self.audit.append(audit)

    def toggles(self, tenant_id: str) -> list[FeatureToggle]:
        return [t for (tid, _), t in sorted(self.feature_toggles.items()) if tid == tenant_id]

    def set_toggle(self, toggle: FeatureToggle, *, audit: AuditEntry) -> None:
        with self._lock:
            self.feature_toggles[(toggle.tenant_id, toggle.name)] = toggle
            self.audit.append(audit)


@dataclass
class MemoryRuleHistory:
    """Order documents per tenant, in placement order."""

    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def is_first_order(self, tenant_id: str, email: str, order_id: str) -> bool:
        return not any(
            d.get("id") != order_id and (d.get("customer") or {}).get("email") == email
            for d in self.documents.get(tenant_id, [])
        )

    def documents_since(self, tenant_id: str, since: datetime) -> Iterator[dict[str, Any]]:
        def placed(doc: dict[str, Any]) -> datetime:
            return datetime.fromisoformat(str(doc["placed_at"]).replace("Z", "+00:00"))

        return iter(sorted((d for d in self.documents.get(tenant_id, []) if placed(d) >= since), key=placed))
